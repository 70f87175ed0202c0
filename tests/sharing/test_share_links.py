"""Share links (issue 10): the token, who sees what, media through a link, revoking and expiring,
fixed vs latest, chosen runs, view counts, and that a visit writes nothing but its counter."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from playground.sharing.models import ShareLink, token_hash
from tests.database_text import database_text
from tests.factories import doc_with, logged_in, make_share_link
from tests.sharing.conftest import KEY


def anon() -> Client:
    return Client()




def text_of(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", "replace")


def snapshot() -> dict[str, list]:
    """Every row of every table, by table (sessions left out: a logged-in client has one)."""
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table == "django_session":
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            out[table] = sorted(map(repr, cursor.fetchall()))
    return out


def page_url(token: str) -> str:
    return reverse("sharing:page", args=[token])


def file_url(token: str, item) -> str:
    return reverse("sharing:file", args=[token, item.pk])


def thumb_url(token: str, item) -> str:
    return reverse("sharing:thumbnail", args=[token, item.pk])


# --- the token ---------------------------------------------------------------------------------------


def test_a_token_carries_256_random_bits_and_only_its_hash_is_stored(world):
    tokens = [make_share_link(world.prompt, user=world.owner)[1] for _ in range(40)]

    assert len(set(tokens)) == 40
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) == 32, "256 bits (>= 128 asked)"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    # Every byte value appears across 40 x 32 random bytes: not a counter or a timestamp.
    assert len({b for t in tokens for b in base64.urlsafe_b64decode(t + "=")}) > 200
    rows = list(ShareLink.objects.values_list("token_hash", "token_hint"))
    assert {h for h, _ in rows} == {token_hash(t) for t in tokens}
    everything = database_text()
    assert not [t for t in tokens if t in everything], "a token is stored in the database in clear"
    assert all(len(hint) == 4 for _, hint in rows)


def test_the_new_link_is_shown_once_to_the_sharer_and_never_again(world):
    client = logged_in(world.editor)
    response = client.post(reverse("sharing:create", args=[world.prompt.pk]), {"version": "latest", "expires": ""})

    assert response.status_code == 200
    link = ShareLink.objects.get()
    found = re.search(r'value="(http://testserver/s/([A-Za-z0-9_-]{43})/)"', text_of(response))
    assert found, "the full link is on the page"
    token = found.group(2)
    assert token_hash(token) == link.token_hash
    assert response["Cache-Control"] == "no-store"
    assert link.created_by == world.editor and link.is_latest and not link.runs.exists()
    for page in (reverse("sharing:manage", args=[world.prompt.pk]), reverse("prompts:versions", args=[world.prompt.pk])):
        later = client.get(page)
        assert later.status_code == 200
        assert token not in text_of(later)
        assert f"/s/{link.token_hint}…" in text_of(later)


# --- the page, for anyone --------------------------------------------------------------------------


def test_an_anonymous_visitor_sees_the_prompt_its_media_and_the_previews(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    response = anon().get(page_url(token))
    html = text_of(response)

    assert response.status_code == 200
    assert "Shared caption" in html and "You are a careful listener." in html
    assert "Describe {{subject}} and the sound." in html and "a tabby cat" in html and "max_tokens" in html
    assert f'href="{file_url(token, world.image)}"' in html and f'src="{thumb_url(token, world.image)}"' in html
    assert f'<audio controls preload="metadata" src="{file_url(token, world.audio)}"' in html
    assert f'src="{thumb_url(token, world.audio)}"' in html  # the waveform
    for protocol in ("OpenAI Chat Completions", "OpenAI Responses", "Anthropic Messages", "Google Gemini"):
        assert protocol in html
    assert "https://api.openai.com/v1/chat/completions" in html  # a preset's public endpoint
    assert "Log in to fork" in html and 'name="csrfmiddlewaretoken"' not in html
    assert anon().get(file_url(token, world.image)).status_code == 200


def test_share_pages_and_media_say_noindex_and_send_no_referrer(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    revoked, revoked_token = make_share_link(world.prompt, user=world.owner)
    ShareLink.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    urls = [page_url(token), file_url(token, world.image), thumb_url(token, world.image), file_url(token, world.audio),
            page_url(revoked_token), file_url(revoked_token, world.image), page_url("guessed" * 6)]
    for url in urls:
        response = anon().get(url)
        assert response["X-Robots-Tag"] == "noindex, nofollow", url
        assert response["Referrer-Policy"] == "no-referrer", url
        assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"], url
        assert "public" not in response["Cache-Control"] and "immutable" not in response["Cache-Control"], url
    html = text_of(anon().get(page_url(token)))
    assert '<meta name="robots" content="noindex">' in html
    assert '<meta name="referrer" content="no-referrer">' in html
    media = anon().get(file_url(token, world.image))
    assert media["Cache-Control"] == "private, no-cache"
    assert "private" in anon().get(thumb_url(token, world.image))["Cache-Control"]


def test_nothing_of_the_team_but_the_prompt_shows_even_with_runs(world):
    link, token = make_share_link(world.prompt, runs=[world.run], user=world.owner)
    for client in (anon(), logged_in(world.outsider), logged_in(world.owner)):
        html = text_of(client.get(page_url(token)))
        assert "Shared caption" in html
        leaked = [s for s in world.secrets if s in html]
        assert not leaked, f"the shared page shows {leaked}"
        assert KEY not in html
    for item in (world.image, world.audio):
        assert KEY.encode() not in b"".join(anon().get(file_url(token, item)).streaming_content)


def test_a_logged_in_visitor_sees_no_navigation_and_forks_from_a_page_of_their_teams(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    client = logged_in(world.outsider)
    html = text_of(client.get(page_url(token)))

    assert 'class="mainnav"' not in html and "team-chip" not in html and "Log out" not in html
    assert "bob_outsider" not in html and "Bob" not in html
    assert f'href="{reverse("sharing:fork", args=[token])}"' in html
    fork_page = client.get(reverse("sharing:fork", args=[token]))
    form = text_of(fork_page)
    assert fork_page.status_code == 200
    assert re.search(rf'<option value="{world.team_b.pk}"[^>]*>Bob&#x27;s Team</option>', form)
    assert "Carol" not in form  # a viewer there: not a team to fork into
    assert not [s for s in world.secrets if s in form]
    # Its form must carry an Origin header to pass CSRF: same-origin, never to another site.
    assert fork_page["Referrer-Policy"] == "same-origin" and fork_page["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="referrer" content="same-origin">' in form
    # Not logged in: the login page first, then back to the fork page.
    login = anon().get(reverse("sharing:fork", args=[token]))
    assert login.status_code == 302 and login["Location"].startswith(reverse("accounts:login"))


# --- revoked, expired, guessed -----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["revoked", "expired", "guessed", "too long", "hash as token"])
def test_a_dead_or_guessed_link_is_a_404_for_its_page_and_media(world, state):
    link, token = make_share_link(world.prompt, user=world.owner)
    if state == "revoked":
        ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    elif state == "expired":
        ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "guessed":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif state == "too long":
        token = token * 4
    else:
        token = link.token_hash  # someone who read the database
    for who in (anon(), logged_in(world.owner)):
        for url in (page_url(token), file_url(token, world.image), thumb_url(token, world.image)):
            response = who.get(url)
            assert response.status_code == 404, (state, url)
            html = text_of(response)
            assert "Shared caption" not in html and "cat-photo" not in html
        response = who.post(reverse("sharing:fork", args=[token]), {"team": str(world.team_b.pk)})
        assert response.status_code == 404
    assert ShareLink.objects.get(pk=link.pk).view_count == 0


def test_revoking_stops_the_page_and_its_media_at_once(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    visitor = anon()
    assert visitor.get(page_url(token)).status_code == 200
    assert visitor.get(file_url(token, world.audio)).status_code == 200

    response = logged_in(world.editor).post(reverse("sharing:revoke", args=[link.pk]))

    assert response.status_code == 302
    assert visitor.get(page_url(token)).status_code == 404
    assert visitor.get(file_url(token, world.audio)).status_code == 404
    assert visitor.get(thumb_url(token, world.image)).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at and link.revoked_by == world.editor
    # Setting an expiry does not bring a revoked link back.
    logged_in(world.editor).post(reverse("sharing:expiry", args=[link.pk]), {"expires": "7d"})
    assert visitor.get(page_url(token)).status_code == 404


def test_an_expiry_can_be_set_and_changed_and_an_expired_link_opened_again(world):
    link, token = make_share_link(world.prompt, user=world.owner, expires="1h")
    assert timedelta(minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=1)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert anon().get(page_url(token)).status_code == 404

    owner = logged_in(world.owner)
    assert owner.post(reverse("sharing:expiry", args=[link.pk]), {"expires": "30d"}).status_code == 302
    link.refresh_from_db()
    assert timedelta(days=29) < link.expires_at - timezone.now() <= timedelta(days=30)
    assert anon().get(page_url(token)).status_code == 200
    owner.post(reverse("sharing:expiry", args=[link.pk]), {"expires": ""})
    link.refresh_from_db()
    assert link.expires_at is None
    before = link.expires_at
    owner.post(reverse("sharing:expiry", args=[link.pk]), {"expires": "forever and ever"})
    link.refresh_from_db()
    assert link.expires_at == before


# --- media through a link ----------------------------------------------------------------------------


def test_only_the_shared_versions_media_are_served(world):
    link, token = make_share_link(world.prompt, version=world.v1, user=world.owner)  # v1: the image only
    _, other_token = make_share_link(world.other_prompt, user=world.owner)

    assert anon().get(file_url(token, world.image)).status_code == 200
    for item in (world.audio, world.private_image, world.other_team_image):  # v2's, another prompt's, another team's
        assert anon().get(file_url(token, item)).status_code == 404
        assert anon().get(thumb_url(token, item)).status_code == 404
    # Another prompt's link does not open this prompt's media either.
    assert anon().get(file_url(other_token, world.image)).status_code == 404
    assert anon().get(file_url(other_token, world.private_image)).status_code == 200
    assert anon().get(reverse("sharing:file", args=[token, 2**62])).status_code == 404


def test_media_are_served_with_their_type_and_ranges_for_players(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    response = anon().get(file_url(token, world.audio), HTTP_RANGE="bytes=0-99")

    assert response.status_code == 206
    assert response["Content-Type"] == "audio/wav"
    assert len(b"".join(response.streaming_content)) == 100
    image = anon().get(file_url(token, world.image))
    assert image["Content-Type"] == "image/png" and image["X-Content-Type-Options"] == "nosniff"
    assert b"".join(image.streaming_content) == world.image.file.open().read()


# --- fixed or latest ---------------------------------------------------------------------------------


def test_a_fixed_link_keeps_its_version_and_a_latest_link_follows_the_newest(world):
    _, fixed = make_share_link(world.prompt, version=world.v1, user=world.owner)
    _, latest = make_share_link(world.prompt, user=world.owner)
    assert "You are terse." in text_of(anon().get(page_url(fixed)))
    assert "You are a careful listener." in text_of(anon().get(page_url(latest)))

    world.prompt.save_version(doc_with({"text": "A third take."}, system="Version three speaks.", name="Shared caption"),
                              user=world.owner)

    fixed_html, latest_html = text_of(anon().get(page_url(fixed))), text_of(anon().get(page_url(latest)))
    assert "You are terse." in fixed_html and "Version three" not in fixed_html and ">v1<" in fixed_html
    assert "Version three speaks." in latest_html and ">v3<" in latest_html
    # The previews follow too (the cache is keyed by the version shown).
    assert "A third take." in latest_html.split("The exact request")[1]
    assert "A third take." not in fixed_html
    # v3 has no media: the latest link no longer serves v2's audio.
    assert anon().get(file_url(latest, world.audio)).status_code == 404


# --- runs ----------------------------------------------------------------------------------------------


def test_runs_show_only_when_chosen_with_their_results_escaped(world):
    _, without = make_share_link(world.prompt, user=world.owner)
    _, with_runs = make_share_link(world.prompt, runs=[world.run], user=world.owner)

    plain = text_of(anon().get(page_url(without)))
    assert "gpt-share-test" not in plain and "A tabby" not in plain and "shared-run" not in plain
    html = text_of(anon().get(page_url(with_runs)))
    assert f'id="shared-run-{world.run.pk}"' in html
    assert "gpt-share-test" in html
    assert "<strong>A tabby</strong>" in html  # markdown, as the run page shows it
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # escaped
    assert "1234" in html and "56" in html and "$0.0042" in html and "987 ms" in html
    assert "Secret Provider Co" not in html and "llm.internal-share.example" not in html


def test_a_link_can_only_include_runs_of_its_own_prompt(world):
    from tests.sharing.conftest import _run

    other_run, _ = _run(world.team, world.other_prompt.latest_version(), world.owner, output="roadmap secrets")
    client = logged_in(world.owner)
    response = client.post(reverse("sharing:create", args=[world.prompt.pk]),
                           {"version": "2", "runs": [str(world.run.pk), str(other_run.pk)], "expires": "7d"})

    assert response.status_code == 400  # a choice that is not offered is a form error
    assert not ShareLink.objects.exists()
    response = client.post(reverse("sharing:create", args=[world.prompt.pk]),
                           {"version": "2", "runs": [str(world.run.pk)], "expires": "7d"})
    link = ShareLink.objects.get()
    assert response.status_code == 200 and link.version == world.v2 and list(link.runs.all()) == [world.run]
    with pytest.raises(ValueError):
        make_share_link(world.prompt, runs=[other_run], user=world.owner)


# --- counting views; a GET writes nothing else ----------------------------------------------------------


def test_each_page_visit_counts_once_and_media_do_not_count(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    before = timezone.now()
    for _ in range(3):
        anon().get(page_url(token))
    anon().get(file_url(token, world.image))
    anon().get(thumb_url(token, world.image))

    link.refresh_from_db()
    assert link.view_count == 3
    assert link.last_viewed_at >= before
    listed = text_of(logged_in(world.viewer).get(reverse("prompts:versions", args=[world.prompt.pk])))
    assert re.search(r'<td class="views">3</td>', listed)


def test_a_visit_writes_nothing_but_the_counter(world):
    link, token = make_share_link(world.prompt, runs=[world.run], user=world.owner)
    anon().get(page_url(token))  # the first visit makes the cached previews and the .b64 files
    visitor = logged_in(world.outsider)  # logging in writes (last_login): before the snapshot
    before = snapshot()
    for url in (page_url(token), file_url(token, world.image), thumb_url(token, world.audio), file_url(token, world.audio)):
        assert visitor.get(url).status_code == 200
    after = snapshot()

    changed = {table for table in before if before[table] != after.get(table)}
    assert changed <= {"sharing_sharelink"}, changed
    link.refresh_from_db()
    assert link.view_count == 2


def test_a_warm_visit_does_not_render_the_previews_again(world, monkeypatch):
    from playground.sharing import display

    calls = []
    real = display.render_previews
    monkeypatch.setattr(display, "render_previews", lambda **kw: calls.append(1) or real(**kw))
    _, fixed = make_share_link(world.prompt, version=world.v2, user=world.owner)
    _, latest = make_share_link(world.prompt, user=world.owner)  # the same version: the same entry

    first = text_of(anon().get(page_url(fixed)))
    second = text_of(anon().get(page_url(latest)))

    assert len(calls) == 1
    assert first.split("The exact request")[1] .split("</section>")[0] == second.split("The exact request")[1].split("</section>")[0]


# --- who may make and revoke links -----------------------------------------------------------------------


def test_viewers_see_the_links_but_cannot_make_revoke_or_retime_them(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    viewer = logged_in(world.viewer)

    listed = text_of(viewer.get(reverse("prompts:versions", args=[world.prompt.pk])))
    assert f"/s/{link.token_hint}…" in listed and "Make link" not in listed and "Revoke" not in listed
    assert viewer.post(reverse("sharing:create", args=[world.prompt.pk]), {"version": "latest"}).status_code == 403
    assert viewer.post(reverse("sharing:revoke", args=[link.pk])).status_code == 403
    assert viewer.post(reverse("sharing:expiry", args=[link.pk]), {"expires": "1h"}).status_code == 403
    assert ShareLink.objects.count() == 1
    link.refresh_from_db()
    assert link.revoked_at is None and link.expires_at is None


def test_another_team_cannot_see_or_touch_the_links(world):
    link, token = make_share_link(world.prompt, user=world.owner)
    outsider = logged_in(world.outsider)

    assert outsider.get(reverse("sharing:manage", args=[world.prompt.pk])).status_code == 404
    assert outsider.post(reverse("sharing:create", args=[world.prompt.pk]), {"version": "latest"}).status_code == 404
    assert outsider.post(reverse("sharing:revoke", args=[link.pk])).status_code == 404
    assert outsider.post(reverse("sharing:expiry", args=[link.pk]), {"expires": "1h"}).status_code == 404
    link.refresh_from_db()
    assert link.is_live and ShareLink.objects.count() == 1


def test_a_prompt_without_a_saved_version_cannot_be_shared(world):
    from tests.factories import make_prompt

    empty = make_prompt(world.team, "Nothing saved", user=world.owner)
    response = logged_in(world.owner).post(reverse("sharing:create", args=[empty.pk]), {"version": "latest"})
    assert response.status_code == 400
    assert "Save a version" in text_of(response)
    assert not ShareLink.objects.exists()


def test_video_pdf_and_media_variables_show_with_their_players_and_first_page(world):
    from tests import media_samples as samples
    from tests.factories import make_item, make_prompt

    video = make_item(world.team, samples.mp4_bytes(seconds=1.0), "clip.mp4", world.owner)
    pdf = make_item(world.team, samples.pdf_bytes(pages=2), "report.pdf", world.owner)
    doc = doc_with({"media": {"item": video.pk}}, {"media": {"item": pdf.pk}, "detail": "high"},
                   {"media_variable": "photo", "kind": "image"},
                   {"media": {"url": "https://cdn.example.org/far.png", "kind": "image", "mime_type": "image/png"}},
                   variables={"photo": {"media": {"item": world.image.pk}}}, name="Mixed media")
    prompt = make_prompt(world.team, "Mixed media", user=world.owner, doc=doc, media_items=[video, pdf, world.image])
    _, token = make_share_link(prompt, user=world.owner)
    html = text_of(anon().get(page_url(token)))

    assert f'<video controls preload="metadata" src="{file_url(token, video)}"' in html
    assert f'poster="{thumb_url(token, video)}"' in html
    assert f'<img class="page" src="{thumb_url(token, pdf)}" alt="First page of report.pdf">' in html
    assert "2 pages" in html and "detail high" in html
    assert "slot filled from <code>{{photo}}</code>" in html
    assert f'src="{thumb_url(token, world.image)}"' in html  # the variable's value, in the variables list
    assert "<code>https://cdn.example.org/far.png</code>" in html and 'src="https://cdn.example.org' not in html
    for item in (video, pdf, world.image):
        assert anon().get(file_url(token, item)).status_code == 200
        assert anon().get(thumb_url(token, item)).status_code == 200
    pdf_response = anon().get(file_url(token, pdf))
    assert pdf_response["Content-Disposition"].startswith("attachment")  # never shown inline


def test_a_failed_result_says_what_went_wrong_without_the_providers_host_or_message(world):
    from playground.runs.models import Result

    Result.objects.create(
        run=world.run, position=1, provider_name="Secret Provider Co", protocol="chat", model_name="gpt-share-down",
        url="https://llm.internal-share.example/v1/chat/completions", status=Result.Status.FAILED,
        error_kind="connection", error_message="Could not connect to llm.internal-share.example:443: refused.",
        attempts=[{"error": {"kind": "connection",
                             "headline": "Could not connect to llm.internal-share.example:443."}}])
    Result.objects.create(
        run=world.run, position=2, provider_name="Secret Provider Co", protocol="chat", model_name="gpt-share-401",
        url="https://llm.internal-share.example/v1/chat/completions", status=Result.Status.FAILED, error_status=401,
        error_type="invalid_api_key", error_message=f"Incorrect API key provided: {KEY[:8]}... at llm.internal-share.example")
    _, token = make_share_link(world.prompt, runs=[world.run], user=world.owner)
    html = text_of(anon().get(page_url(token)))

    assert "gpt-share-down" in html and "Could not connect to the provider" in html
    assert "The provider did not accept the API key" in html
    assert "llm.internal-share.example" not in html and KEY[:8] not in html and "invalid_api_key" not in html


def test_an_anonymous_visit_sets_no_cookie(world):
    _, token = make_share_link(world.prompt, user=world.owner)
    for url in (page_url(token), file_url(token, world.image), thumb_url(token, world.audio), page_url("nope" * 11)):
        response = anon().get(url)
        assert not response.cookies, (url, response.cookies)
