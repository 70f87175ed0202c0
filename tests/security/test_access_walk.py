"""Access control, walked over every URL pattern of the URL conf (issue 7, "Prove it stays closed").

Each pattern is requested with team A's objects (tests/security/conftest.py) as
  1. anonymous: a redirect to a login page, or 403/404; never the object's content;
  2. an owner of another team B: 403/404 for team A's objects (their own team's page for team
     pages), never a marker of team A in the body, nothing of team A changed;
  3. a viewer of team A: each write (POST) is a 403 and changes nothing; reads work;
  4. an owner of team A: 2xx/3xx for every method the view answers (so the fixtures are right).
A pattern without a Case in tests/security/walk.py fails the walk.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests import media_samples as samples
from tests.factories import make_prompt
from tests.security import walk
from tests.security.conftest import MARK

PATTERNS = walk.patterns()
BY_KEY = {p.key: p for p in PATTERNS}
APP_KEYS = [p.key for p in PATTERNS if p.namespace != "admin"]
ADMIN_KEYS = [p.key for p in PATTERNS if p.namespace == "admin"]

UPLOADS = {"prompts:import": ("walk.json", json.dumps({"system": "imported", "messages": []}).encode())}


def dump(world, *, personal_of=None) -> dict:
    """Every row that belongs to team A, field by field. ``personal_of``: leave out that user's
    own drafts (a viewer may keep a draft of their own previews)."""
    from playground.accounts.models import AuditEvent, Invite, Membership, Team
    from playground.catalog.models import Provider, ProviderModel
    from playground.evalruns.models import EvalItem, EvalRun, EvalRunModel, EvalScore, Review
    from playground.evals.models import EvalCase, EvalCaseMedia, EvalImport, EvalSet
    from playground.prompts.models import Prompt, PromptDraft, PromptVersion
    from playground.runs.models import Result, Run
    from playground.sharing.models import ForkOrigin, ShareLink
    from playground.uploads.models import MediaItem, MediaVariant, VariantFile

    team = world.team
    drafts = PromptDraft.objects.filter(prompt__team=team)
    reviews = Review.objects.filter(eval_run__team=team)
    if personal_of is not None:  # a viewer may keep a draft of their own, and review
        drafts = drafts.exclude(user=personal_of)
        reviews = reviews.exclude(reviewer=personal_of)
    querysets = {
        "team": Team.objects.filter(pk=team.pk),
        "memberships": Membership.objects.filter(team=team),
        "items": MediaItem.objects.filter(team=team),
        "variants": MediaVariant.objects.filter(source__items__team=team).distinct(),
        "variant_files": VariantFile.objects.filter(variant__source__items__team=team).distinct(),
        "prompts": Prompt.objects.filter(team=team),
        "versions": PromptVersion.objects.filter(prompt__team=team),
        "drafts": drafts,
        "providers": Provider.objects.filter(team=team),
        "models": ProviderModel.objects.filter(provider__team=team),
        "runs": Run.objects.filter(team=team),
        "results": Result.objects.filter(run__team=team),
        "invites": Invite.objects.filter(team=team),
        "audit": AuditEvent.objects.filter(team=team),
        "share_links": ShareLink.objects.filter(prompt__team=team),
        "fork_origins": ForkOrigin.objects.filter(prompt__team=team),
        "eval_sets": EvalSet.objects.filter(team=team),
        "eval_cases": EvalCase.objects.filter(set__team=team),
        "eval_case_media": EvalCaseMedia.objects.filter(case__set__team=team),
        "eval_imports": EvalImport.objects.filter(set__team=team),
        "eval_runs": EvalRun.objects.filter(team=team),
        "eval_run_models": EvalRunModel.objects.filter(eval_run__team=team),
        "eval_items": EvalItem.objects.filter(eval_run__team=team),
        "eval_scores": EvalScore.objects.filter(eval_run__team=team),
        "reviews": reviews,
    }
    # A visit of a live share link counts itself (its one write, by design): the rest of the link must not change.
    unchanged = {"share_links": [f.name for f in ShareLink._meta.concrete_fields if f.name not in ("view_count", "last_viewed_at")]}
    return {name: sorted(map(repr, qs.order_by("pk").values(*unchanged.get(name, ())))) for name, qs in querysets.items()}


def client_for(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def send(client, method, path, data, files):
    if method == "GET":
        return client.get(path, data)
    if files:
        body = walk.multipart(data, files)
        return client.generic("POST", path, body, content_type=walk.MULTIPART)
    return client.post(path, data)


def body(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", "replace")


def _request(pattern, case, world):
    data = case.data(world) if case.data else {}
    upload = UPLOADS.get(pattern.key, ("walk.png", samples.png_bytes(12, 10)))
    files = {f: upload for f in case.files}
    return walk.valid_path(pattern, world), data, files


def _methods(case) -> list[str]:
    return (["GET"] if case.get else []) + (["POST"] if case.post else [])


def _say(who, method, path, response) -> str:
    return f"{who} {method} {path} -> {response.status_code} {response.get('Location', '')}"


def test_every_url_pattern_has_a_case_in_the_walk_table():
    missing = [p.key for p in PATTERNS if walk.case_for(p) is None]
    assert not missing, f"Add a Case to tests/security/walk.py CASES for each new URL pattern: {missing}"


@pytest.mark.parametrize("key", APP_KEYS)
def test_only_team_a_reaches_team_a(key, walk_world, walk_no_network):
    w = walk_world
    pattern = BY_KEY[key]
    case = walk.case_for(pattern)
    if case is None:
        pytest.fail(f"{key} has no Case in tests/security/walk.py")
    path, data, files = _request(pattern, case, w)
    methods = _methods(case)
    login = reverse("accounts:login")

    # 1. Anonymous.
    for method in methods:
        before = dump(w)
        response = send(client_for(), method, path, data, files)
        text = body(response)
        if case.scope in ("public", "share"):  # a share link opens for anyone: team B's link here
            assert response.status_code < 500, _say("anonymous", method, path, response)
        elif response.status_code == 302:
            assert response["Location"].startswith(login), _say("anonymous", method, path, response)
        else:
            assert response.status_code in (403, 404), _say("anonymous", method, path, response)
        assert MARK not in text, f"anonymous {method} {path} shows team A's content"
        assert dump(w) == before, f"anonymous {method} {path} changed team A"

    # 2. An owner of another team.
    outsider = client_for(w.outsider)
    for method in methods:
        before = dump(w)
        response = send(outsider, method, path, data, files)
        text = body(response)
        if case.scope == "object":
            assert response.status_code in (403, 404), _say("team B owner", method, path, response)
        else:
            assert response.status_code < 500, _say("team B owner", method, path, response)
            if response.status_code == 302 and method == "POST":
                text += body(outsider.get(response["Location"]))  # where it lands shows nothing of A either
        assert MARK not in text, f"team B's owner: {method} {path} shows team A's content"
        assert dump(w) == before, f"team B's owner: {method} {path} changed team A"
    assert outsider.session.get("team_id") in (None, w.other_team.pk)

    # 3. A viewer of team A: reads work, writes are refused and change nothing.
    viewer = client_for(w.viewer)
    for method in methods:
        before = dump(w, personal_of=w.viewer)
        response = send(viewer, method, path, data, files)
        if case.owner_only or (method == "POST" and case.write):
            assert response.status_code == 403, _say("viewer", method, path, response)
        else:
            assert 200 <= response.status_code < 400, _say("viewer", method, path, response)
        assert dump(w, personal_of=w.viewer) == before, f"viewer: {method} {path} changed team A"

    # PUT, DELETE and PATCH: no view takes them today (405; the class-based redirect and login
    # views redirect); should one start to, they are writes and must be refused here.
    for who, client in (("team B owner", client_for(w.outsider)), ("viewer", client_for(w.viewer))):
        for method in ("PUT", "DELETE", "PATCH"):
            before = dump(w, personal_of=w.viewer)
            response = client.generic(method, path, walk.urlencoded(data), content_type="application/x-www-form-urlencoded")
            assert response.status_code in (302, 403, 404, 405), _say(who, method, path, response)
            assert MARK not in body(response)
            assert dump(w, personal_of=w.viewer) == before, f"{who}: {method} {path} changed team A"

    # 4. An owner of team A: every method works (GET first; a POST may delete the object).
    owner = client_for(w.owner)
    for method in methods:
        response = send(owner, method, path, data, files)
        body(response)
        assert 200 <= response.status_code < 400, _say("owner", method, path, response)


def test_the_admin_is_for_staff_only(walk_world):
    """Django's admin (its patterns follow the registered models): every page but its login is a
    redirect to the login for anyone who is not staff, team owners included."""
    w = walk_world
    for who, user in (("anonymous", None), ("team B owner", w.outsider), ("viewer", w.viewer), ("owner", w.owner)):
        client = client_for(user)
        before = dump(w)
        for key in ADMIN_KEYS:
            pattern = BY_KEY[key]
            path = pattern.path(walk.admin_values(pattern))
            for method in ("GET", "POST"):
                response = send(client, method, path, {}, {})
                if key in walk.ADMIN_PUBLIC:
                    assert response.status_code in (200, 302), _say(who, method, path, response)
                else:
                    assert response.status_code == 302 and "login" in response["Location"], _say(who, method, path, response)
                assert MARK not in body(response), f"{who}: {method} {path} shows team A's content"
        assert dump(w) == before, f"{who} changed team A through the admin"


@pytest.mark.parametrize("path", walk.PUBLIC_PATHS)
def test_static_files_are_public_and_hold_nothing_of_a_team(path, walk_world):
    response = client_for().get(path)

    assert response.status_code in (200, 404)  # 404 when collectstatic has not run (tests)
    assert MARK not in body(response)


def test_team_a_ids_in_another_teams_own_forms_reach_nothing_of_team_a(walk_world, walk_no_network):
    """Ids can travel in form fields too: team B's owner, on team B's own prompt, names team A's
    media item (a reference, a pick) and team A's model (a run). Nothing of team A is shown,
    used or changed."""
    from playground.prompts import editor
    from playground.prompts.document import normalize
    from playground.runs.models import Result

    w = walk_world
    b_prompt = make_prompt(w.other_team, "B prompt", user=w.outsider, doc=normalize(
        {"system": "b", "messages": [{"role": "user", "parts": [{"text": "Hi {{subject}}"}]}], "variables": {"subject": "x"}}))
    doc = normalize({"name": "B prompt", "system": "b", "variables": {"photo": {"media": {"item": w.item.pk}}},
                     "messages": [{"role": "user", "parts": [{"text": "Hi"}, {"media": {"item": w.item.pk}}]}]})
    data = editor.form_data(doc, {})
    client = client_for(w.outsider)
    before = dump(w)
    steps = [
        ("POST", reverse("prompts:preview", args=[b_prompt.pk]), data),
        ("POST", reverse("prompts:action", args=[b_prompt.pk]), {**data, "pick": f"m-0-new|{w.item.pk}"}),
        ("POST", reverse("prompts:action", args=[b_prompt.pk]), {**data, "pick": f"var-photo|{w.audio.pk}"}),
        ("POST", reverse("prompts:save", args=[b_prompt.pk]), data),
        ("GET", reverse("prompts:body", args=[b_prompt.pk, "chat"]), {}),
        ("GET", reverse("prompts:picker", args=[b_prompt.pk]), {"q": "photo"}),  # team A has a photo
        ("GET", reverse("runs:new", args=[b_prompt.pk]), {"models": [w.model.pk]}),
        ("POST", reverse("runs:preflight", args=[b_prompt.pk]), {"version": "1", "models": [w.model.pk]}),
        ("POST", reverse("runs:start", args=[b_prompt.pk]), {"version": "1", "models": [w.model.pk]}),
        ("GET", reverse("runs:diff", args=[w.run.pk]), {"a": w.result.pk, "b": w.other_result.pk}),
        ("POST", reverse("accounts:team_switch"), {"team": w.team.pk}),
    ]
    for method, path, form in steps:
        response = send(client, method, path, form, {})
        assert response.status_code < 500, _say("team B owner", method, path, response)
        assert MARK not in body(response), f"team B's owner: {method} {path} shows team A's content"
    assert dump(w) == before
    assert not b_prompt.versions.filter(media_items=w.item).exists()
    assert not Result.objects.filter(run__team=w.other_team).exists()  # team A's model was not run
    assert client.session.get("team_id") != w.team.pk
