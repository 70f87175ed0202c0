"""Per-target choices in a real browser (issue 9): "Send 8 key frames" pressed in the Chat column
turns Chat to stills while Gemini keeps the video; the choice is shown on the part ("Chat: 8 key
frames"), survives a reload and a saved version, and can be undone; "Leave out for models that
cannot take it" makes the Chat column sendable with a warning, Gemini unchanged."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

REFUSED = r"has no video part|set up without video input"


def test_a_fallback_for_chat_only_and_leave_out(page, editor):
    import re

    from playground.prompts.document import normalize
    from tests import media_samples as samples
    from tests.factories import make_item, make_prompt

    team = editor.memberships.get().team
    video = make_item(team, samples.mp4_bytes(seconds=2.0, width=64, height=48, fps=10), "clip.mp4", editor)
    doc = normalize({"name": "Clip", "messages": [{"role": "user", "parts": [
        {"text": "What happens in this clip?"}, {"media": {"item": video.pk}}]}]})
    prompt = make_prompt(team, user=editor, doc=doc, media_items=[video])
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, editor)
    page.goto(f"/prompts/{prompt.pk}/")

    chat, gemini, part = page.locator("#col-chat"), page.locator("#col-gemini"), page.locator("#part-0-1")
    refused = re.compile(REFUSED)
    expect(chat.locator(".pcol-remarks")).to_contain_text(refused)
    expect(gemini.locator("pre.json")).to_contain_text("video/mp4")

    # The Chat column's own button: Chat gets key frames, Gemini still the video.
    chat.locator("button.fallback", has_text="Send 8 key frames").click()
    expect(part.locator(".per-target")).to_contain_text("Chat: 8 key frames")
    expect(chat).not_to_contain_text(refused)
    expect(chat.locator("pre.json")).to_contain_text("image_url")
    expect(gemini.locator("pre.json")).to_contain_text("video/mp4")
    expect(gemini.locator("pre.json")).not_to_contain_text("image/jpeg")

    # Kept in the draft (a reload) and in a saved version.
    page.reload()
    expect(part.locator(".per-target")).to_contain_text("Chat: 8 key frames")
    page.click("#save-version")
    expect(page.locator("#draft-bar")).to_contain_text("Saved as v2.")
    assert prompt.latest_version().content["messages"][0]["parts"][1]["variant_for"] == {"chat": {"frames": 8}}
    page.reload()
    expect(part.locator(".per-target")).to_contain_text("Chat: 8 key frames")
    expect(gemini.locator("pre.json")).to_contain_text("video/mp4")

    # Undo: Chat refuses the video again.
    part.locator("#unfallback-0-1-chat").click()
    expect(part.locator(".per-target")).to_have_count(0)
    expect(chat.locator(".pcol-remarks")).to_contain_text(refused)

    # Leave it out where it cannot go: Chat sendable, with the warning; Gemini unchanged.
    page.locator("#id_m-0-p-1-optional").check()
    expect(chat.locator(".pcol-remarks")).to_contain_text("Left out for")
    expect(chat.locator(".remark-error")).to_have_count(0)
    expect(chat.locator("pre.json")).not_to_contain_text("image_url")
    expect(gemini.locator("pre.json")).to_contain_text("video/mp4")
    expect(gemini).not_to_contain_text("Left out")
    page.reload()
    expect(page.locator("#id_m-0-p-1-optional")).to_be_checked()
