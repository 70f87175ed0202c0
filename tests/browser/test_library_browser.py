"""The Library as a new user drives it in a real browser (headless Chromium via Playwright).

Logs in through the login form, uploads with the file picker and by dropping files on the page,
and checks what the page shows: cards with thumbnails that really loaded, the facts the server
read from the bytes, the red card of a refused file, the progress bar while a file uploads, and
the detail pages' players. Every test also fails if the page logged a console error or a request
failed (the `page` fixture), so htmx, app.js, the CSS and every thumbnail must load.
"""

import base64
import re
import time

import pytest
from playwright.sync_api import expect

from tests import media_samples as samples
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PNG = ("photo.png", "image/png", samples.png_bytes(64, 48))
WAV = ("tone.wav", "audio/wav", samples.wav_bytes(seconds=1.0, rate=16000))
PDF = ("brief.pdf", "application/pdf", samples.pdf_bytes(pages=3))
NOT_AUDIO = ("speech.wav", "audio/wav", samples.text_bytes())  # text with an audio name


def as_input_files(*files):
    return [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]


def grid_card(page, name):
    return page.locator("#media-grid .media-card").filter(has=page.locator(f'.name[title="{name}"]'))


def expect_three_good_cards(page):
    """The PNG, the WAV and the PDF are in the grid with their facts, and nothing was refused."""
    cards = page.locator("#media-grid .media-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#upload-queue .media-card")).to_have_count(0)  # no placeholder left, no refusal
    expect(page.locator(".media-card.refused")).to_have_count(0)
    expect(page.locator("#media-grid .empty")).to_be_hidden()

    png, wav, pdf = grid_card(page, "photo.png"), grid_card(page, "tone.wav"), grid_card(page, "brief.pdf")
    expect(png.locator(".facts")).to_contain_text("64×48")
    expect(png.locator(".facts .kind")).to_have_text("PNG")
    expect(wav.locator(".badge-duration")).to_have_text("0:01")
    expect(wav.locator(".facts .kind")).to_have_text("WAV")
    expect(pdf.locator(".facts")).to_contain_text("3 pages")
    expect(pdf.locator(".facts .kind")).to_have_text("PDF")

    # Every card has a thumbnail (image, waveform, first page) that the browser really decoded.
    thumbs = page.locator("#media-grid .media-card .thumb img")
    expect(thumbs).to_have_count(3)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#media-grid .thumb img'))
                      .every(img => img.complete && img.naturalWidth > 0)"""
    )
    # The kind counters in the filter tabs follow the uploads.
    for kind in ("image", "audio", "pdf"):
        expect(page.locator(f'.tabs label:has(input[value="{kind}"]) .count')).to_have_text("1")


def test_a_new_user_uploads_an_image_a_wav_and_a_pdf_with_the_file_picker(page, editor):
    log_in(page, editor)
    expect(page.locator("h1")).to_have_text("Library")
    expect(page.locator("#media-grid .empty")).to_contain_text("Your library is empty")
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert page.evaluate("typeof window.prismUpload") == "function", "app.js did not load"

    page.set_input_files("#file-input", as_input_files(PNG, WAV, PDF))

    expect_three_good_cards(page)

    # The WAV's detail page: a player that loads the audio, and what the decoder read.
    grid_card(page, "tone.wav").locator("a.name").click()
    expect(page.locator("h1.item-title")).to_have_text("tone.wav")
    audio = page.locator(".player audio")
    expect(audio).to_have_count(1)
    page.wait_for_function("() => document.querySelector('.player audio').readyState >= 1")  # metadata loaded
    assert audio.evaluate("a => a.duration") == pytest.approx(1.0, abs=0.05)
    facts = page.locator(".facts-table")
    expect(facts.locator("dt", has_text="Sample rate")).to_have_count(1)
    expect(facts).to_contain_text("16000 Hz")
    expect(facts).to_contain_text("0:01")
    expect(page.locator(".player img.waveform")).to_have_count(1)
    page.wait_for_function("() => document.querySelector('.player img.waveform').naturalWidth > 0")

    # Back in the Library, the cards added on the page are still there (the browser's cached copy
    # of the page predates them; app.js notices and loads the page afresh).
    page.go_back()
    expect(page.locator("#media-grid .media-card")).to_have_count(3)
    # The image's detail page shows the original, full size.
    grid_card(page, "photo.png").locator("a.thumb").click()
    expect(page.locator("h1.item-title")).to_have_text("photo.png")
    page.wait_for_function(
        "() => { const i = document.querySelector('.player img'); return i && i.complete && i.naturalWidth === 64 }"
    )
    expect(page.locator(".facts-table")).to_contain_text("64 × 48 px")


def test_dropping_files_anywhere_on_the_page_uploads_them(page, editor):
    log_in(page, editor)
    files = [{"name": n, "type": t, "b64": base64.b64encode(d).decode()} for n, t, d in (PNG, WAV, PDF)]
    # A DataTransfer holding real File objects, as the browser builds one when files are dragged in.
    data_transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        files,
    )

    # Dragging over the page, far from the drop zone, shows the drop overlay; leaving hides it...
    page.dispatch_event("h1", "dragenter", {"dataTransfer": data_transfer})
    expect(page.locator("body")).to_have_class("dragging")
    assert page.evaluate("getComputedStyle(document.body, '::after').content") == '"Drop to upload"'
    page.dispatch_event("h1", "dragleave", {"dataTransfer": data_transfer})
    expect(page.locator("body")).not_to_have_class("dragging")
    page.dispatch_event("h1", "dragenter", {"dataTransfer": data_transfer})
    page.dispatch_event("h1", "dragover", {"dataTransfer": data_transfer})
    expect(page.locator("body")).to_have_class("dragging")
    # ...and dropping there (on the filter bar, not the drop zone) uploads the files.
    page.dispatch_event(".filters", "drop", {"dataTransfer": data_transfer})
    expect(page.locator("body")).not_to_have_class("dragging")

    expect_three_good_cards(page)


def test_a_file_that_is_not_media_gets_a_red_refused_card_with_the_reason(page, editor):
    log_in(page, editor)

    page.set_input_files("#file-input", as_input_files(NOT_AUDIO))

    refused = page.locator("#upload-queue .media-card.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("role", "alert")
    expect(refused.locator(".name")).to_have_text("speech.wav")
    expect(refused.locator(".reason")).to_contain_text("not a supported image, audio, video or PDF")
    expect(refused).to_contain_text("Nothing was stored.")
    colours = refused.evaluate("c => [getComputedStyle(c).borderTopColor, getComputedStyle(c.querySelector('.reason')).color]")
    assert colours == ["rgb(198, 40, 40)", "rgb(198, 40, 40)"], "the refused card is not red"
    expect(page.locator("#media-grid .media-card")).to_have_count(0)
    expect(page.locator("#media-grid .empty")).to_be_visible()

    refused.locator("button.dismiss").click()
    expect(refused).to_have_count(0)


def test_a_file_shows_a_progress_bar_while_it_uploads(page, editor):
    log_in(page, editor)
    big = ("long-take.wav", "audio/wav", samples.wav_bytes(seconds=60.0, rate=16000))  # about 1.9 MB
    # Hold the upload request in the browser until the placeholder has been seen; then let it go
    # to the real server unchanged (nothing is mocked).
    held = []
    page.route("**/library/upload/", lambda route: held.append(route))
    page.evaluate(
        """() => {
            window.seenProgress = [];
            new MutationObserver(() => {
                const bar = document.querySelector('.media-card.uploading [role=progressbar]');
                if (bar) window.seenProgress.push(Number(bar.getAttribute('aria-valuenow')));
            }).observe(document.getElementById('upload-queue'), { subtree: true, childList: true, attributes: true });
        }"""
    )

    page.set_input_files("#file-input", as_input_files(big))

    uploading = page.locator("#upload-queue .media-card.uploading")
    expect(uploading).to_have_count(1)
    expect(uploading.locator(".name")).to_have_text("long-take.wav")
    expect(uploading.locator("[role=progressbar]")).to_be_visible()
    expect(uploading.locator(".status")).to_have_text(re.compile(r"Uploading|Checking"))
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)  # Playwright calls the route handler while the test waits
    assert len(held) == 1, "the upload request was not seen"
    held[0].continue_()

    card = grid_card(page, "long-take.wav")
    expect(card).to_have_count(1)
    expect(card.locator(".badge-duration")).to_have_text("1:00")
    expect(uploading).to_have_count(0)
    assert max(page.evaluate("window.seenProgress")) == 100, "the progress bar never reached 100%"


def test_an_upload_hidden_by_the_kind_filter_is_announced_not_mixed_in(page, editor):
    log_in(page, editor)
    page.locator('.tabs label:has(input[value="audio"])').click()
    expect(page).to_have_url(re.compile(r"kind=audio"))

    page.set_input_files("#file-input", as_input_files(PNG))

    note = page.locator("#upload-queue .added-note")
    expect(note).to_contain_text("photo.png")
    expect(note).to_contain_text("not shown under the current filter")
    expect(page.locator("#media-grid .media-card")).to_have_count(0)
    expect(page.locator('.tabs label:has(input[value="image"]) .count')).to_have_text("1")
    note.locator("a").click()
    expect(page.locator("h1.item-title")).to_have_text("photo.png")
