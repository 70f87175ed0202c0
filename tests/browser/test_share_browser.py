"""Share by link as people do it (issue 10, "done means"), in a real browser.

Alice shares a saved prompt with an image and an audio clip from its history page and copies the
link; someone not logged in (a new browser context: a private window) opens it and sees the read-
only page with the picture loaded and the audio playable; Bob, logged in, forks it into his team;
Alice revokes the link; the page and its media URLs are now 404.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PageProblems, log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser]


def _watch(page) -> PageProblems:
    problems = PageProblems()
    page.on("console", lambda msg: msg.type == "error" and problems.console_errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.page_errors.append(f"uncaught: {exc}"))
    page.on("response", lambda r: r.status >= 400 and problems.error_responses.append(f"HTTP {r.status}: {r.url}"))
    return problems


def test_share_open_anonymously_fork_and_revoke(page, browser, live_server, editor):
    from playground.accounts.models import Membership
    from playground.prompts.models import Prompt
    from playground.sharing.models import ForkOrigin, ShareLink
    from tests.factories import doc_with, make_member, make_png, make_prompt, make_team, make_wav

    team = editor.memberships.get().team
    image = make_png(team, "harbour.png", width=160, height=120, user=editor)
    audio = make_wav(team, "gulls.wav", seconds=1.5, user=editor)
    doc = doc_with({"text": "What do you see and hear?"}, {"media": {"item": image.pk}}, {"media": {"item": audio.pk}},
                   system="Answer in one line.", name="Harbour scene")
    prompt = make_prompt(team, "Harbour scene", user=editor, doc=doc, media_items=[image, audio])
    bob_team = make_team(name="Bob's lab")
    bob = make_member(bob_team, Membership.Role.EDITOR, username="bob", password=PASSWORD)

    # 1. Alice clicks Share in the editor, makes a link on the prompt's history page and copies it.
    log_in(page, editor)
    page.goto(f"/prompts/{prompt.pk}/")
    page.locator("#share-prompt").click()
    page.wait_for_url(f"**/prompts/{prompt.pk}/versions/#share-links")
    form = page.locator("#share-links form.share-form")
    form.locator("select[name=version]").select_option("latest")
    form.locator("#make-share-link").click()
    url_field = page.locator("#new-share-url")
    expect(url_field).to_be_visible()
    link_url = url_field.input_value()
    assert link_url.startswith(live_server.url + "/s/")
    page.wait_for_load_state("load")  # copy.js is deferred: a click before it runs does nothing
    page.locator("#copy-share").click()
    expect(page.locator("#copy-share")).to_have_text(re.compile("Copied|Copy failed"))

    # 2. A private window, not logged in: the read-only page with its media.
    anonymous = browser.new_context(base_url=live_server.url)
    try:
        visitor = anonymous.new_page()
        problems = _watch(visitor)
        response = visitor.goto(link_url)
        assert response.status == 200
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
        assert response.headers["referrer-policy"] == "no-referrer"
        expect(visitor.locator("h1")).to_have_text("Harbour scene")
        expect(visitor.locator("meta[name=robots]")).to_have_attribute("content", "noindex")
        expect(visitor.locator(".shared-system pre")).to_have_text("Answer in one line.")
        expect(visitor.locator("#col-chat")).to_be_visible()  # the protocol previews
        assert visitor.locator("a[href^='/prompts/'], a[href^='/library/'], nav.mainnav").count() == 0
        img = visitor.locator(f"#shared-item-{image.pk} img")
        visitor.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
        original = visitor.locator(f"#shared-item-{image.pk} a.shared-original").get_attribute("href")
        assert anonymous.request.get(original).status == 200
        player = visitor.locator(f"#shared-item-{audio.pk} audio")
        visitor.wait_for_function("el => el.readyState >= 1 && el.duration > 0", arg=player.element_handle())
        assert abs(player.evaluate("el => el.duration") - 1.5) < 0.1
        played = player.evaluate("async el => { el.muted = true; await el.play(); return !el.paused; }")
        assert played, "the audio player plays"
        media_urls = [original, img.get_attribute("src"), player.get_attribute("src")]
        media_urls += [u for u in visitor.locator("img.waveform").evaluate_all("els => els.map(e => e.getAttribute('src'))")]
        assert all(u.startswith("/s/") for u in media_urls)
        assert not problems.all(), problems.all()

        # 3. Bob, logged in in his own window, forks it into his team.
        bobs = browser.new_context(base_url=live_server.url)
        try:
            bob_page = bobs.new_page()
            log_in(bob_page, bob)
            bob_page.goto(link_url)
            bob_page.locator("#fork-link").click()
            bob_page.locator("#fork-form select[name=team]").select_option(str(bob_team.pk))
            bob_page.locator("#fork-form button[type=submit]").click()
            bob_page.wait_for_url("**/prompts/*/")
            expect(bob_page.locator(".flash")).to_contain_text("Forked “Harbour scene” v1 into Bob's lab")
            forked = Prompt.objects.get(team=bob_team)
            origin = ForkOrigin.objects.get(prompt=forked)
            assert (origin.source_prompt_id, origin.source_number) == (prompt.pk, 1)
            assert set(forked.latest_version().media_items.values_list("team_id", flat=True)) == {bob_team.pk}
            bob_page.goto(f"/prompts/{forked.pk}/versions/")
            expect(bob_page.locator("#fork-origin")).to_contain_text("Forked from Harbour scene v1")
        finally:
            bobs.close()

        # 4. Alice revokes the link.
        page.goto(f"/prompts/{prompt.pk}/versions/")
        row = page.locator("#share-links tr.share-row").first
        expect(row.locator(".views")).to_have_text("2")  # the anonymous visit and Bob's
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button.revoke").click()
        expect(page.locator("#share-links tr.share-row").first).to_have_attribute("data-state", "revoked")
        assert ShareLink.objects.get().revoked_at is not None

        # 5. The page and every media URL it used are 404 now, at once.
        assert visitor.goto(link_url).status == 404
        expect(visitor.locator("h1")).to_have_text("This link does not open anything")
        assert "Harbour" not in visitor.content()
        for url in media_urls:
            assert anonymous.request.get(url).status == 404, url
    finally:
        anonymous.close()
