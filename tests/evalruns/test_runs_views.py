"""The evaluation runs' pages: new (bindings pre-filled, preflight, start), detail and progress,
cancel, re-score; another team's is a 404, a viewer's POST a 403 that changes nothing."""

import json

import pytest

from playground.accounts.models import Membership
from playground.evalruns.models import EvalRun, EvalScore
from playground.runs.models import Result
from tests.evalruns import runs_world
from tests.evalruns.runs_world import start
from tests.factories import make_member

world = runs_world.world  # the fixture, used by name

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, world):
    client.force_login(world.user)
    return client


def form(world, **extra):
    data = {"set": str(world.eval_set.pk), "version": str(world.version.pk), "models": [str(world.models[0].pk)],
            "media-image": "image", "var-shape": "shape", "arms": ["as-is", "edge-512"], "samples": "1", "budget": ""}
    data.update(extra)
    return data


def test_the_new_page_prefills_bindings_by_name(editor_client, world):
    page = editor_client.get("/evaluations/new/", {"set": world.eval_set.pk, "version": world.version.pk}).content.decode()
    assert '<option value="image" selected>' in page and '<option value="shape" selected>' in page
    assert "Image max edge 512 px" in page and "fake-see-err=0" in page


def test_preflight_shows_requests_cost_and_refusals_and_sends_nothing(editor_client, world):
    from tests.factories import make_model

    make_model(world.provider, "text-only-model", inputs=["text"])
    data = form(world, models=[str(pm.pk) for pm in world.models] + [str(world.provider.models.get(name="text-only-model").pk)])
    page = editor_client.post("/evaluations/new/", {**data, "action": "preflight"}).content.decode()
    assert 'class="preflight-requests">12<' in page  # 6 cases x 2 arms on the model that takes images
    assert page.count('class="preflight-row"') == 4
    assert "refusal" in page and "Start the evaluation" in page
    assert not EvalRun.objects.exists() and not Result.objects.exists()


def test_bad_choices_are_named_and_start_nothing(editor_client, world):
    for extra, words in [({"media-image": "audio"}, "no media slot"), ({"models": []}, "at least one model"),
                         ({"samples": "x"}, "whole number"), ({"budget": "lots"}, "number of USD"),
                         ({"arms": ["edge-9999"]}, "Unknown media setting")]:  # fmt: skip
        page = editor_client.post("/evaluations/new/", {**form(world, **extra), "action": "start"}).content.decode()
        assert words in page, words
    assert not EvalRun.objects.exists()


def test_start_redirects_to_the_page_with_progress(editor_client, world, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post("/evaluations/new/", {**form(world), "action": "start", "name": "Shapes v1"})
    er = EvalRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{er.pk}/"
    assert er.name == "Shapes v1" and [a["key"] for a in er.arms] == ["as-is", "edge-512"]
    assert er.bindings == {"media": {"image": "image"}, "variables": {"shape": "shape"}}
    page = editor_client.get(f"/evaluations/{er.pk}/").content.decode()
    assert "Shapes v1" in page and "Done" in page and "12 answered" in page
    progress = editor_client.get(f"/evaluations/{er.pk}/progress/")
    assert progress.status_code == 286  # finished: htmx stops polling
    assert "prepared <span class=\"count-prepared\">6</span> of 6 cases" in progress.content.decode()
    assert "/evaluations/" in editor_client.get("/evaluations/").content.decode()


def test_progress_polls_while_running(editor_client, world, monkeypatch):
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    er = start(world)
    response = editor_client.get(f"/evaluations/{er.pk}/progress/")
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in response.content.decode()


def test_cancel_from_the_page(editor_client, world, monkeypatch):
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    er = start(world)
    assert editor_client.post(f"/evaluations/{er.pk}/cancel/").status_code == 302
    assert EvalRun.objects.get(pk=er.pk).status == EvalRun.Status.CANCELLED


def test_rescore_from_the_page_sends_nothing(editor_client, world, celery_eager, django_capture_on_commit_callbacks, provider_server):
    with django_capture_on_commit_callbacks(execute=True):
        er = start(world)
    sent = len(provider_server.received)
    bad = editor_client.post(f"/evaluations/{er.pk}/rescore/", {"scorers": '[{"name": "nope"}]'})
    assert bad.status_code == 302 and EvalRun.objects.get(pk=er.pk).scorers == er.scorers
    ok = editor_client.post(f"/evaluations/{er.pk}/rescore/", {"scorers": json.dumps([{"name": "contains", "config": {}}])})
    assert ok.status_code == 302
    assert set(EvalScore.objects.filter(eval_run=er).values_list("scorer", flat=True)) == {"contains"}
    assert len(provider_server.received) == sent


def test_another_team_gets_404_and_a_viewer_403(client, world, other_user, monkeypatch):
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    er = start(world)
    client.force_login(other_user)
    for url in (f"/evaluations/{er.pk}/", f"/evaluations/{er.pk}/progress/"):
        assert client.get(url).status_code == 404
    for url in (f"/evaluations/{er.pk}/cancel/", f"/evaluations/{er.pk}/rescore/"):
        assert client.post(url).status_code == 404
    # Another team's set or version in the form reads as missing: the outsider sees only their own.
    page = client.get("/evaluations/new/", {"set": world.eval_set.pk, "version": world.version.pk}).content.decode()
    assert "Shapes" not in page
    viewer = make_member(world.team, Membership.Role.VIEWER)
    client.force_login(viewer)
    assert client.get(f"/evaluations/{er.pk}/").status_code == 200
    assert client.post(f"/evaluations/{er.pk}/cancel/").status_code == 403
    assert client.post("/evaluations/new/", {**form(world), "action": "start"}).status_code == 403
    assert EvalRun.objects.get(pk=er.pk).status == EvalRun.Status.PREPARING and EvalRun.objects.count() == 1


def test_a_set_used_by_an_evaluation_cannot_be_deleted(world, monkeypatch):
    from playground.evals import services as evals_services

    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    start(world)
    with pytest.raises(evals_services.SetInUse, match="1 evaluation run"):
        evals_services.delete_set(world.eval_set)


def test_the_runs_history_leaves_evaluation_runs_out(editor_client, world, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        start(world)
    assert Result.objects.count() == 6
    page = editor_client.get("/runs/").content.decode()
    assert "fake-see-err=0" not in page


def test_the_share_link_form_offers_no_evaluation_runs(world, celery_eager, django_capture_on_commit_callbacks):
    from playground.runs.services import start_run
    from playground.sharing.forms import LinkForm

    with django_capture_on_commit_callbacks(execute=True):
        start(world)
    own = start_run(version=world.version, values={"shape": "star"}, provider_models=world.models, user=world.user, team=world.team)
    form = LinkForm(prompt=world.version.prompt)
    assert [r.pk for r in form.run_rows] == [own.pk]
