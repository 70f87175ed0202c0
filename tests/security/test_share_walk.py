"""The access walk over the share-link patterns (scope "share" in walk.py) with team A's own
links: a revoked link, an expired link, a guessed token, the database's hash used as a token,
and a live link's URLs for media it does not share (another prompt's, another team's). Each is
a 404 for everyone (anonymous, team B's owner, a viewer and the owner of team A), shows nothing
of team A, and changes nothing. A live link shows its one prompt and none of the team's secrets.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from playground.sharing.models import ShareLink
from tests.factories import doc_with, make_prompt, make_share_link
from tests.security import walk
from tests.security.conftest import MARK
from tests.security.test_access_walk import body, client_for, dump, send

PATTERNS = walk.patterns()
SHARE_KEYS = [p.key for p in PATTERNS if (walk.case_for(p) or walk.Case("-")).scope == "share"]
BY_KEY = {p.key: p for p in PATTERNS}
MEDIA_KEYS = [k for k in SHARE_KEYS if "item_id" in BY_KEY[k].params]


def test_every_share_pattern_is_under_a_token():
    assert set(SHARE_KEYS) == {"sharing:page", "sharing:file", "sharing:thumbnail", "sharing:fork"}
    assert all("token" in BY_KEY[k].params for k in SHARE_KEYS)
    # Every pattern taking a token of the sharing app is walked here.
    assert {p.key for p in PATTERNS if p.namespace == "sharing" and "token" in p.params} == set(SHARE_KEYS)


def _everyone(w):
    return [("anonymous", client_for()), ("team B owner", client_for(w.outsider)), ("viewer", client_for(w.viewer)),
            ("owner", client_for(w.owner))]


def _dead(w, state: str) -> str:
    """A token of team A's prompt in the given state."""
    link, token = make_share_link(w.prompt, version=w.version, runs=[w.run], user=w.owner)
    if state == "revoked":
        ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    elif state == "expired":
        ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "guessed":
        return token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    elif state == "stored hash":
        return link.token_hash
    return token


def _path(key: str, token: str, item_id: int | None) -> str:
    values = {"token": token}
    if "item_id" in BY_KEY[key].params:
        values["item_id"] = item_id
    return BY_KEY[key].path(values)


def _data(key, w):
    case = walk.case_for(BY_KEY[key])
    return case.data(w) if case.data else {}


@pytest.mark.parametrize("state", ["revoked", "expired", "guessed", "stored hash"])
@pytest.mark.parametrize("key", SHARE_KEYS)
def test_a_dead_or_guessed_link_is_a_404_for_everyone_and_shows_nothing(key, state, walk_world, walk_no_network):
    w = walk_world
    token = _dead(w, state)
    path = _path(key, token, w.item.pk)
    case = walk.case_for(BY_KEY[key])
    for who, client in _everyone(w):
        for method in (["GET"] if case.get else []) + (["POST"] if case.post else []):
            before = dump(w)
            response = send(client, method, path, _data(key, w), {})
            assert response.status_code == 404, f"{who} {method} {path} ({state}) -> {response.status_code}"
            assert MARK not in body(response), f"{who} {method} {path} ({state}) shows team A's content"
            assert response["X-Robots-Tag"] == "noindex, nofollow" and response["Referrer-Policy"] == "no-referrer"
            assert dump(w) == before, f"{who} {method} {path} ({state}) changed team A"
    assert not ShareLink.objects.filter(view_count__gt=0).exists()


@pytest.mark.parametrize("key", MEDIA_KEYS)
def test_a_live_link_serves_no_media_but_its_own(key, walk_world, walk_no_network):
    w = walk_world
    link, token = make_share_link(w.prompt, version=w.version, user=w.owner)
    other = make_prompt(w.team, f"{MARK} other prompt", user=w.owner,
                        doc=doc_with({"media": {"item": w.audio.pk}}, name=f"{MARK} other prompt"), media_items=[w.audio])
    _, b_token, b_item = walk.walk_share(w)
    cases = [
        (token, w.audio.pk, "another prompt's media"),
        (token, b_item.pk, "another team's media"),
        (token, 2**63 - 1, "no such item"),
        (b_token, w.item.pk, "team A's media through team B's link"),
    ]
    for tok, item_id, what in cases:
        for who, client in _everyone(w):
            response = client.get(_path(key, tok, item_id))
            assert response.status_code == 404, f"{who}: {what} -> {response.status_code}"
            assert MARK not in body(response)
    assert other.versions.count() == 1
    # The link's own media do open, for anyone.
    assert client_for().get(_path(key, token, w.item.pk)).status_code == 200


def test_a_live_link_shows_its_prompt_and_none_of_the_teams_secrets(walk_world, walk_no_network):
    w = walk_world
    link, token = make_share_link(w.prompt, version=w.version, runs=[w.run], user=w.owner)
    secrets = ["sk-walk-not-a-real-key-0000", "api.example.invalid", f"{MARK} provider", f"{MARK}-notes",
               f"{MARK} team", f"{MARK}-tone.wav", "walk_owner", "walk_viewer", "walk_outsider"]
    for who, client in _everyone(w):
        before = dump(w)
        response = client.get(_path("sharing:page", token, None))
        html = body(response)
        assert response.status_code == 200, who
        assert f"{MARK}-system" in html and f"{MARK}-photo.png" in html and f"{MARK}-output-0" in html
        assert not [s for s in secrets if s in html], f"{who} sees {[s for s in secrets if s in html]}"
        assert dump(w) == before
    assert ShareLink.objects.get(pk=link.pk).view_count == 4
