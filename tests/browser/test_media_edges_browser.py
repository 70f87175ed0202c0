"""Rough edges of issue 12 in a real browser: the media picker's names at every width (a 390 px
phone too), and paging through a PDF on its item page."""

import pytest
from playwright.sync_api import expect

from tests import media_samples as samples
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

LONG = "holiday-photo-from-the-beach-at-sunset-with-the-whole-family-2026.png"


def _names_fit(page) -> list[dict]:
    """Each picker card's name: shown (a line tall, inside its card, not covered by the thumbnail)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#picker-grid .pick-item')).map(card => {
            const name = card.querySelector('.name'), thumb = card.querySelector('.thumb');
            const n = name.getBoundingClientRect(), c = card.getBoundingClientRect(), t = thumb.getBoundingClientRect();
            const style = getComputedStyle(name);
            return {text: name.textContent, title: name.title, height: n.height, inside: n.left >= c.left - 0.5 &&
                    n.right <= c.right + 0.5 && n.bottom <= c.bottom + 0.5, below: n.top >= t.bottom - 0.5,
                    ellipsis: style.textOverflow, clipped: name.scrollWidth > name.clientWidth,
                    wide: document.getElementById('media-picker').getBoundingClientRect().right > window.innerWidth + 0.5};
        })"""
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_the_media_picker_shows_every_name_under_its_thumbnail(page, editor, width):
    from tests.factories import make_item, make_prompt

    team = editor.memberships.get().team
    make_item(team, samples.png_bytes(640, 480), name=LONG, user=editor)
    make_item(team, samples.png_bytes(48, 640), name="tall.png", user=editor)
    make_item(team, samples.wav_bytes(seconds=1.0), name="tone.wav", user=editor)
    # Enough cards to fill the picker's scrolling grid: its rows must not shrink to fit.
    more = [f"shot-{i:02d}.png" for i in range(12)]
    for i, name in enumerate(more):
        make_item(team, samples.png_bytes(64 + i, 48), name=name, user=editor)
    prompt = make_prompt(team, "Pictures", user=editor)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, editor)
    page.goto(f"/prompts/{prompt.pk}/")
    page.click("#pick-m-0-new")
    expect(page.locator("#media-picker")).to_be_visible()
    expect(page.locator("#picker-grid .pick-item")).to_have_count(15)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#picker-grid img')).every(i => i.complete && i.naturalWidth > 0)"
    )
    names = {n["text"]: n for n in _names_fit(page)}
    assert set(names) == {LONG, "tall.png", "tone.wav", *more}
    for text, seen in names.items():
        assert seen["height"] >= 12, f"{text}: name not visible ({seen})"
        assert seen["inside"] and seen["below"], f"{text}: name outside its card or under the thumbnail ({seen})"
        assert seen["title"] == text
        assert seen["ellipsis"] == "ellipsis"
        assert not seen["wide"], "the picker is wider than the screen"
    assert names[LONG]["clipped"], "the long name should be cut with an ellipsis, whole in its title"
    page.screenshot(path=f"/tmp/me/picker-{width}.png")


def _page_drawn(page) -> None:
    page.wait_for_function("() => { const i = document.querySelector('.player img.page'); return i && i.complete && i.naturalWidth > 0; }")


def test_a_pdf_is_paged_through_on_its_item_page(page, editor):
    from tests.factories import make_item

    team = editor.memberships.get().team
    item = make_item(team, samples.pdf_bytes(pages=3), name="brief.pdf", user=editor)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, editor)
    page.goto(f"/library/{item.pk}/")
    pager = page.locator(".pdf-pager")
    expect(pager.locator(".page-count")).to_have_text("Page 1 of 3")
    _page_drawn(page)
    expect(pager.locator("[aria-disabled=true]", has_text="Prev")).to_be_visible()

    pager.locator("a", has_text="Next").click()
    page.wait_for_url("**/?page=2")
    expect(pager.locator(".page-count")).to_have_text("Page 2 of 3")
    _page_drawn(page)
    src = page.locator(".player img.page").get_attribute("src")
    assert src.endswith("/pages/2")
    pager.locator("a", has_text="Next").click()
    expect(pager.locator(".page-count")).to_have_text("Page 3 of 3")
    _page_drawn(page)
    expect(pager.locator("[aria-disabled=true]", has_text="Next")).to_be_visible()
    pager.locator("a", has_text="Prev").click()
    expect(pager.locator(".page-count")).to_have_text("Page 2 of 3")
    wide = page.evaluate("() => document.querySelector('.player img.page').getBoundingClientRect().right <= window.innerWidth")
    assert wide, "the page picture is wider than the phone's screen"
    page.screenshot(path="/tmp/me/pdf-390.png")


def test_uploading_a_file_already_in_the_library_says_so(page, editor):
    png = [{"name": "photo.png", "mimeType": "image/png", "buffer": samples.png_bytes(64, 48)}]
    log_in(page, editor)
    page.set_input_files("#file-input", png)
    expect(page.locator("#media-grid .media-card")).to_have_count(1)
    page.set_input_files("#file-input", [{**png[0], "name": "copy.png"}])
    note = page.locator("#upload-queue .already")
    expect(note).to_contain_text("Already in your library as “photo.png”")
    expect(page.locator("#media-grid .media-card")).to_have_count(1)
    expect(page.locator('.tabs label:has(input[value="image"]) .count')).to_have_text("1")
