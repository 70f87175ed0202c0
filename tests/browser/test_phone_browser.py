"""The main screens on a 390 × 844 phone (issue 12, rough edge 7), in a real browser.

With realistic data (a file with a very long name, a run of ten models, a prompt of several
messages, a provider with a long base URL), each screen must fit the phone's width: the page
never scrolls sideways (wide tables and the result cards scroll inside their own box), the whole
navigation is on screen (it wraps under the brand, "Team" included), and in the editor the
previews are one tap away: the "Previews" link of the editor's section bar brings the first
preview column into view. Each screen is saved as a PNG in the test's tmp folder (390 css px at
device scale 2, so 780 px wide); set PRISM_PHONE_SCREENSHOTS=<folder> to keep them.

The desktop layout is unchanged: the same screens at 1280 px keep the top bar on one line.
"""

import os
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.lib import demo_media
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SCALE = 2
# Screenshots keep the caret: hiding it injects a <style>, which the strict CSP refuses (a console error).
LONG_NAME = "IMG_20261207_holiday-photo-from-the-beach-at-sunset-with-the-whole-family-final-final-v2_edited.png"


def _png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def _world():
    """A team with an owner and the data that used to push the phone screens sideways."""
    from playground.accounts.models import Membership
    from playground.prompts.document import normalize
    from playground.runs.models import Result, Run
    from tests import factories as f

    team = f.make_team(name="Vision and audio research team")
    owner = f.make_member(team, Membership.Role.OWNER, username="olive.longname@example.org", password=PASSWORD)
    image = f.make_item(team, demo_media.shapes_jpeg(), name=LONG_NAME, user=owner)
    provider = f.make_provider(team, None, "chat", name="OpenAI-compatible gateway (staging)",
                             base_url="https://llm-gateway.staging.internal.example-corporation.com/openai/v1/deployments")
    models = [f.make_model(provider, f"vendor/very-long-model-name-{n}-instruct-2026-12-01-preview", label=f"Model {n}")
              for n in range(10)]
    doc = normalize({
        "name": "Shapes described at length",
        "system": "You are a careful visual analyst. " * 6,
        "messages": [
            {"role": "user", "parts": [{"text": "Describe {{subject}} in this picture. " * 4},
                                       {"media": {"item": image.pk}, "detail": "low"}]},
            {"role": "assistant", "parts": [{"text": "There is a red circle, a blue square and a green triangle. " * 3}]},
            {"role": "user", "parts": [{"text": "Which one is the largest, and by how much? " * 3}]},
            {"role": "assistant", "parts": [{"text": "The square is the largest, about twice the circle's area. " * 3}]},
            {"role": "user", "parts": [{"text": "Answer in JSON with keys shape, colour and area_px. " * 2}]},
        ],
        "variables": {"subject": "the red circle"}, "options": {"max_tokens": 200, "temperature": 0.2},
    })
    prompt = f.make_prompt(team, user=owner, doc=doc, media_items=[image])
    run = Run.objects.create(team=team, prompt_version=prompt.latest_version(), values={"subject": "the red circle"},
                             status=Run.Status.DONE, created_by=owner)
    for position, model in enumerate(models):
        Result.objects.create(
            run=run, position=position, provider_model=model, provider_name=provider.name, protocol="chat",
            model_name=model.name, url=f"{provider.base_url}/chat/completions", status=Result.Status.SUCCEEDED,
            output_text='{"shape": "circle", "colour": "red", "area_px": 1234, "note": "' + "x" * 180 + '"}',
            input_tokens=1234 + position, output_tokens=56, total_tokens=1290 + position,
            cost_usd=Decimal("0.00421") * (position + 1), latency_total_ms=900 + 37 * position,
            latency_first_byte_ms=300, finish_reason="stop")
    shapes = f.make_eval_set(team, "Shapes with a rather long name for an evaluation set", user=owner)
    f.make_eval_case(shapes, image, expected="red circle")
    return owner, image, prompt, run, provider, shapes


def _log_in(page, user):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", user.raw_password)
    page.click("button[type=submit]")
    page.wait_for_url("**/library/")


def _widths(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


# The innermost elements whose right edge passes the viewport and that no scrolling box contains:
# what to fix when a screen overflows.
CULPRITS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  const clipped = (el) => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o !== "visible") return true; } return false; };
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0 && !clipped(el) && ![...el.children].some(c => c.getBoundingClientRect().right > width + 1))
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")} right=${Math.round(r.right)}`);
  }
  return out.slice(0, 8);
}"""


# Each table, row of result cards and row of previews that is not on screen in full, and is not
# inside a box that scrolls sideways (itself, or a wrapper such as the provider pages' .table-scroll)
# and is on screen: [its name, its right edge].
SCROLL_BOXES = """() => {
  const width = document.documentElement.clientWidth, bad = [];
  for (const el of document.querySelectorAll("table.table, .result-cards, .preview-columns")) {
    let ok = el.getBoundingClientRect().right <= width + 1 && !(el.scrollWidth > el.clientWidth + 1
             && !["auto", "scroll"].includes(getComputedStyle(el).overflowX));
    for (let box = el; !ok && box && box !== document.body; box = box.parentElement)
      ok = ["auto", "scroll"].includes(getComputedStyle(box).overflowX) && box.getBoundingClientRect().right <= width + 1;
    if (!ok) bad.push([`${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`, Math.round(el.getBoundingClientRect().right)]);
  }
  return bad;
}"""


def _screens(image, prompt, run, provider, shapes) -> list[tuple[str, str]]:
    return [
        ("library", "/library/"),
        ("item", f"/library/{image.pk}/"),
        ("prompts", "/prompts/"),
        ("editor", f"/prompts/{prompt.pk}/"),
        ("runs", "/runs/"),
        ("run", f"/runs/{run.pk}/"),
        ("run-history", f"/runs/prompt/{prompt.pk}/"),
        ("providers", "/providers/"),
        ("provider", f"/providers/{provider.pk}/"),
        ("team", "/accounts/team/"),
        ("evaluations", "/evals/"),
        ("evaluation-set", f"/evals/{shapes.pk}/"),
        ("evaluation-runs", "/evaluations/"),
        ("new-evaluation-run", "/evaluations/new/"),
        ("versions", f"/prompts/{prompt.pk}/versions/"),
        ("new-run", f"/runs/prompt/{prompt.pk}/new/"),
        ("new-provider", "/providers/new/"),
    ]


@pytest.fixture
def phone(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, device_scale_factor=SCALE,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
    yield page
    context.close()
    assert not errors, "\n".join(errors)


def test_every_main_screen_fits_a_390px_phone(phone, tmp_path):
    owner, image, prompt, run, provider, shapes = _world()
    page = phone
    _log_in(page, owner)
    keep = os.environ.get("PRISM_PHONE_SCREENSHOTS")
    overflowing, figures = [], []
    for name, path in _screens(image, prompt, run, provider, shapes):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        scroll_width, client_width = _widths(page)
        figures.append(f"{name}: {scroll_width}/{client_width}")
        if scroll_width > client_width + 1:
            overflowing.append(f"{name} ({path}): scrollWidth {scroll_width} > {client_width}: {page.evaluate(CULPRITS)}")
        # What is wider than the phone scrolls inside its own box, which stays on screen.
        for box_name, right in page.evaluate(SCROLL_BOXES):
            overflowing.append(f"{name}: {box_name} ends at {right} px, in no box that scrolls sideways on screen")
        team = page.locator("nav.mainnav a", has_text="Team")
        box = team.bounding_box()
        if not (box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]):
            overflowing.append(f"{name}: the navigation's Team is off screen at {box}")
        shot = tmp_path / f"phone-{name}.png"
        page.screenshot(path=str(shot), caret="initial")
        assert _png_size(shot)[0] == PHONE["width"] * SCALE, (name, _png_size(shot))
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(keep) / shot.name), full_page=True, caret="initial")
    print("scrollWidth/clientWidth at 390 px:", ", ".join(figures))
    assert not overflowing, "\n".join(overflowing)
    # The ten result cards are all there, side by side in their own scrolling row.
    page.goto(f"/runs/{run.pk}/")
    cards = page.locator("#result-cards")
    expect(cards.locator(".rcard")).to_have_count(10)
    assert page.evaluate("(el) => el.scrollWidth > 5 * el.clientWidth", cards.element_handle())
    cards.locator(".rcard").last.scroll_into_view_if_needed()
    expect(cards.locator(".rcard").last).to_be_in_viewport()
    assert _widths(page)[0] <= PHONE["width"]


def test_the_editor_reaches_its_previews_in_one_tap_on_a_phone(phone, tmp_path):
    owner, image, prompt, run, provider, shapes = _world()
    page = phone
    _log_in(page, owner)
    page.goto(f"/prompts/{prompt.pk}/")
    first = page.locator("#preview-columns .pcol").first
    expect(first).to_be_visible()
    top = page.evaluate("(el) => el.getBoundingClientRect().top + scrollY", first.element_handle())
    assert top > 2 * PHONE["height"], f"the previews start at {top} px: the stacked layout this test is about"

    # The section bar is on screen from the start, wherever the page is scrolled.
    bar = page.get_by_role("navigation", name="Editor sections")
    jump = bar.get_by_role("link", name="Previews")
    box = jump.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    jump.tap()
    page.wait_for_function("() => document.querySelector('#preview-columns .pcol').getBoundingClientRect().top < innerHeight / 2")
    shown = first.bounding_box()
    assert 0 <= shown["y"] < PHONE["height"] / 2, shown
    assert page.evaluate("scrollY") > PHONE["height"]
    print(f"the first preview starts {top:.0f} px down; after one tap it is {shown['y']:.0f} px from the top of the screen")
    shot = tmp_path / "phone-editor-previews.png"
    page.screenshot(path=str(shot), caret="initial")
    assert _png_size(shot) == (PHONE["width"] * SCALE, PHONE["height"] * SCALE)
    if os.environ.get("PRISM_PHONE_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["PRISM_PHONE_SCREENSHOTS"]) / shot.name), caret="initial")

    # Back to the prompt in one tap, and typing still updates the previews.
    bar.get_by_role("link", name="Prompt").tap()
    page.wait_for_function("() => Math.abs(document.querySelector('#editor-page').getBoundingClientRect().top - 8) < 2")
    expect(page.locator("#save-version")).to_be_in_viewport()
    page.fill("#id_m-0-p-0-text", "Say which shape is largest.")
    expect(page.locator("#preview-columns")).to_contain_text("Say which shape is largest.")
    scroll_width, client_width = _widths(page)
    assert scroll_width <= client_width + 1, (scroll_width, client_width)


def test_the_desktop_layout_keeps_one_top_bar_line_and_no_section_bar(browser, live_server, transactional_db):
    owner, image, prompt, run, provider, shapes = _world()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        _log_in(page, owner)
        for path in ("/library/", f"/prompts/{prompt.pk}/", f"/runs/{run.pk}/"):
            page.goto(path)
            topbar = page.locator("header.topbar").bounding_box()
            brand = page.locator("header.topbar .brand").bounding_box()
            team = page.locator("nav.mainnav a", has_text="Team").bounding_box()
            assert topbar["height"] < 60, (path, topbar)  # one line: brand, navigation, account
            assert abs((team["y"] + team["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 4, (path, team, brand)
            assert page.evaluate("getComputedStyle(document.querySelector('header.topbar')).position") == "sticky"
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        # Side by side: the previews beside the editor, no section bar.
        page.goto(f"/prompts/{prompt.pk}/")
        expect(page.locator(".phone-jump")).to_be_hidden()
        editor = page.locator("#editor-pane").bounding_box()
        previews = page.locator("#previews").bounding_box()
        assert previews["x"] > editor["x"] + editor["width"] - 1 and previews["y"] < editor["y"] + 100, (editor, previews)
    finally:
        context.close()
