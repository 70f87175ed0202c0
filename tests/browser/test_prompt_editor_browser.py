"""The prompt editor as a new user drives it in a real browser (headless Chromium via Playwright).

The issue's "done means": a new user builds a prompt with a variable, an image picked from the
library and a WAV uploaded from the editor; the four previews follow the typing; the columns
whose preset model takes no audio (Chat, Responses, Anthropic) say why the audio cannot be sent
(and so does the audio part); the Gemini body downloaded from the page is byte for byte what the
server renders for that model, and parses as JSON with the typed text, the image and the audio.

Each test takes a few seconds (a real browser, and typing that waits for the debounced previews).
Set PRISM_UPDATE_SCREENSHOTS=1 to also write docs/screenshot-editor.png (1400×900) from the
finished editor; otherwise the screenshot goes to the test's tmp_path only.
"""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.lib import demo_media
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FOUR = ("chat", "responses", "messages", "gemini")


def _team_of(user):
    return user.memberships.get().team


def _new_prompt(page, name: str) -> None:
    page.click("nav.mainnav >> text=Prompts")
    expect(page.locator("h1")).to_have_text("Prompts")
    page.fill("#id_name", name)
    page.click("button:has-text('New prompt')")
    page.wait_for_url("**/prompts/*/")
    expect(page.locator("#prompt-head h1")).to_have_text(name)


def test_a_new_user_builds_a_prompt_with_a_variable_an_image_and_a_wav_and_downloads_the_exact_body(page, editor, tmp_path):
    from playground.prompts.document import build_prompt
    from playground.prompts.forms import PreviewSettingsForm
    from playground.prompts.library_source import LibrarySource
    from playground.prompts.models import PromptDraft
    from playground.prompts.previews import targets_for
    from playground.protocols import render
    from tests.factories import make_item

    team = _team_of(editor)
    make_item(team, demo_media.shapes_jpeg(), name="three-shapes.jpg", user=editor)  # already in the library
    page.set_viewport_size({"width": 1400, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, editor)
    _new_prompt(page, "Scene and sound")

    # A text with a variable: the test values panel offers a field for it.
    page.fill("#id_system", "You are a careful visual and audio analyst.")
    page.fill("#id_m-0-p-0-text", "Describe {{subject}} in this picture.")
    subject = page.locator("#id_var-subject")
    expect(subject).to_be_visible()
    expect(page.locator("#remarks-var-subject")).to_contain_text("{{subject}} is empty: it is sent as nothing.")
    subject.fill("the red circle")
    expect(page.locator("#remarks-var-subject")).to_be_empty()
    # The previews refreshed for that typing may answer late on a loaded machine and re-draw the
    # parts, moving the focus checked below: wait until no htmx request is in flight.
    page.wait_for_function("() => !document.querySelector('.htmx-request')")

    # The image, picked from the library in the picker (thumbnails, kind filter).
    page.click("#pick-m-0-new")
    picker = page.locator("#media-picker")
    expect(picker).to_be_visible()
    picker.locator(".tab", has_text="Image").click()
    expect(picker.locator(".pick-item")).to_have_count(1)
    picker.locator(".pick-item[aria-label='Use three-shapes.jpg'] img").wait_for()
    picker.locator(".pick-item[aria-label='Use three-shapes.jpg']").click()
    expect(picker).to_be_hidden()
    image = page.locator("#part-0-1")
    expect(image.locator(".media-meta .name")).to_have_text("three-shapes.jpg")
    expect(image.locator(".thumb-button img")).to_have_count(1)
    expect(page.locator("#pick-m-0-p-1")).to_be_focused()

    # The WAV, uploaded from the editor: it joins the library and goes into the prompt.
    page.click("#pick-m-0-new")
    expect(picker).to_be_visible()
    page.set_input_files("#picker-file", [{"name": "chord.wav", "mimeType": "audio/wav", "buffer": demo_media.chord_wav()}])
    audio = page.locator("#part-0-2")
    expect(audio.locator(".media-meta .name")).to_have_text("chord.wav")
    expect(picker).to_be_hidden()
    assert team.media_items.filter(name="chord.wav").exists()

    # Typing in the text part updates all four previews.
    text = page.locator("#id_m-0-p-0-text")
    text.click()
    text.press("End")
    text.press_sequentially(" Then name the chord you hear.", delay=15)
    typed = "Describe the red circle in this picture. Then name the chord you hear."
    for key in FOUR:
        expect(page.locator(f"#col-{key} pre.json")).to_contain_text(typed)
    expect(page.locator("#col-chat pre.json")).to_contain_text('"url": "data:image/jpeg;base64,<base64 JPEG')

    # Every column is a model now: the Chat preset's model takes no audio (Chat carries it, for audio
    # models), Responses and Anthropic have no audio part at all; each says so in the column and on the
    # part. Gemini's takes it.
    refusals = {"chat": "is set up without audio input.", "responses": "OpenAI Responses has no audio input",
                "messages": "Anthropic Messages has no audio block."}
    for key, words in refusals.items():
        expect(page.locator(f"#col-{key} .pcol-remarks")).to_contain_text(words)
        expect(page.locator(f"#col-{key} .badge")).to_contain_text("cannot send")
    expect(page.locator("#col-messages button:has-text('Download body')")).to_be_disabled()
    expect(audio.locator(".remarks")).to_contain_text("is set up without audio input.")
    assert audio.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(198, 40, 40)", "the audio part is not outlined in red"
    expect(page.locator("#col-gemini .badge")).not_to_contain_text("cannot send")
    for key in FOUR:
        expect(page.locator(f"#col-{key} .est")).to_have_text("estimate")

    # The unsaved bar shows the draft; the server has it.
    expect(page.locator("#draft-bar")).to_have_attribute("data-dirty", "true")
    _screenshot(page, tmp_path)

    # Download the Gemini body: exactly what the server renders for this prompt and that model.
    with page.expect_download() as download_info:
        page.click("#col-gemini a.download-body")
    download = download_info.value
    assert download.suggested_filename == "scene-and-sound-gemini.json"
    downloaded = Path(download.path()).read_bytes()
    draft = PromptDraft.objects.get(prompt__team=team, user=editor)
    assert draft.stamp > 1_600_000_000_000  # ordered by the page's clock (ms), not left at 0
    built = build_prompt(draft.document, LibrarySource(team))
    [target] = targets_for({**PreviewSettingsForm.defaults(), "columns": ["gemini"]}, team)
    assert downloaded == render(built.prompt, built.values, target).body_bytes()
    body = json.loads(downloaded)
    assert body["contents"][-1]["parts"][0] == {"text": typed}
    assert body["contents"][-1]["parts"][1]["inlineData"]["mimeType"] == "image/jpeg"
    assert body["contents"][-1]["parts"][2]["inlineData"]["mimeType"] == "audio/wav"

    # Copy body puts the same bytes on the clipboard.
    page.click("#col-gemini .copy-body")
    expect(page.locator("#col-gemini .copy-body")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").encode() == downloaded

    # Save a version: the bar clears, the head says v2.
    page.click("#save-version")
    expect(page.locator("#draft-bar")).to_contain_text("Saved as v2.")
    expect(page.locator("#draft-bar")).to_have_attribute("data-dirty", "false")
    expect(page.locator("#prompt-head .chip")).to_have_text("v2")


def test_parts_move_with_the_keyboard_and_the_focus_follows(page, editor):
    from tests.factories import make_item

    team = _team_of(editor)
    make_item(team, demo_media.spectrum_png(), name="prism-spectrum.png", user=editor)
    log_in(page, editor)
    _new_prompt(page, "Keyboard")
    page.fill("#id_m-0-p-0-text", "First")
    page.click("#add-text-0")
    expect(page.locator("#id_m-0-p-1-text")).to_be_focused()  # the new text part
    page.keyboard.type("Second")
    expect(page.locator("#col-chat pre.json")).to_contain_text("Second")

    page.focus("#up-part-0-1")
    page.keyboard.press("Enter")
    expect(page.locator("#id_m-0-p-0-text")).to_have_value("Second")
    expect(page.locator("#id_m-0-p-1-text")).to_have_value("First")
    expect(page.locator("#down-part-0-0")).to_be_focused()  # "up" is disabled at the top
    page.keyboard.press("Enter")
    expect(page.locator("#id_m-0-p-0-text")).to_have_value("First")
    expect(page.locator("#up-part-0-1")).to_be_focused()

    chat = page.locator("#col-chat pre.json")
    expect(chat).to_contain_text('"text": "First"')
    assert chat.inner_text().index('"First"') < chat.inner_text().index('"Second"')

    # A second message, then removing it, from the keyboard too.
    page.click("#add-message")
    expect(page.locator("#message-1 select")).to_have_value("assistant")
    expect(page.locator("#id_m-1-p-0-text")).to_be_focused()
    page.focus("#remove-message-1")
    page.keyboard.press("Enter")
    expect(page.locator("#message-1")).to_have_count(0)
    expect(page.locator("#message-0")).to_be_focused()


def _screenshot(page, tmp_path: Path) -> None:
    page.evaluate("document.getElementById('editor-pane').scrollTop = 0")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(1, 1)
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")
    targets = [tmp_path / "screenshot-editor.png"]
    if os.environ.get("PRISM_UPDATE_SCREENSHOTS"):
        targets.append(ROOT / "docs" / "screenshot-editor.png")
    for target in targets:
        page.screenshot(path=str(target))
