"""The keyboard reaches the page without tabbing through it (issue 12, rough edge 12): a "Skip to
content" link first on every page, landmarks, and in the prompt editor Alt+1 (the first message),
Alt+2 (the previews), Ctrl+S (save), Ctrl+Enter (run), "?" (the list of shortcuts)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def _team_of(user):
    return user.memberships.get().team


def _focused(page) -> str:
    return page.evaluate("document.activeElement && (document.activeElement.id || document.activeElement.className)")


def test_the_first_tab_stop_is_a_visible_skip_link_to_the_main_content(page, editor):
    log_in(page, editor)
    page.goto("/prompts/")
    skip = page.locator("a.skip-link")
    box = skip.bounding_box()
    assert box is None or box["y"] + box["height"] <= 0  # off screen until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] > 10  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the content, not the navigation
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    expect(page.locator("nav.mainnav[aria-label=Main]")).to_have_count(1)
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("nav.mainnav >> text=Providers")).to_have_attribute("href", "/providers/")


def test_editor_shortcuts_reach_the_message_and_the_previews_save_and_run(page, editor):
    from playground.prompts.models import Prompt
    from tests.factories import doc_with, make_prompt

    prompt = make_prompt(_team_of(editor), "Shortcuts", user=editor, doc=doc_with({"text": "Describe the cat."}))
    log_in(page, editor)
    page.goto(f"/prompts/{prompt.pk}/")
    expect(page.locator("#col-chat pre.json")).to_contain_text("Describe the cat.")

    page.keyboard.press("Alt+1")
    expect(page.locator("#id_m-0-p-0-text")).to_be_focused()
    page.keyboard.press("Alt+2")
    assert page.evaluate("document.getElementById('preview-columns').contains(document.activeElement)"), _focused(page)
    page.keyboard.press("Alt+Shift+1")  # the same, where a browser keeps Alt+digit for its tabs
    expect(page.locator("#id_m-0-p-0-text")).to_be_focused()

    # "?" typed in a field is text, not the help.
    page.keyboard.type(" Why?")
    expect(page.locator("#id_m-0-p-0-text")).to_have_value("Describe the cat. Why?")
    expect(page.locator("#shortcuts-help")).to_have_count(0)

    page.keyboard.press("Control+s")  # save a version (prompts.js), after the preview caught up
    expect(page.locator("#run-prompt")).to_have_text("Run v2")
    assert Prompt.objects.get(pk=prompt.pk).versions.count() == 2

    # "?" outside a field lists the shortcuts; Escape closes the list.
    page.locator("main#content").focus()
    page.keyboard.press("Shift+?")
    help_ = page.locator("#shortcuts-help")
    expect(help_).to_be_visible()
    for text in ("Keyboard shortcuts", "Go to the prompt editor", "Go to the previews", "Save a version", "Run the prompt"):
        expect(help_).to_contain_text(text)
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()

    # The second tab stop opens the same list.
    page.goto(f"/prompts/{prompt.pk}/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("button.skip-link-next")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("Alt+1")
    page.keyboard.press("Control+Enter")  # run: the Run page for the saved version
    page.wait_for_url(f"**/prompt/{prompt.pk}/new/**")


def test_outside_the_editor_the_help_lists_only_the_general_keys(page, editor):
    log_in(page, editor)
    page.keyboard.press("Shift+?")
    help_ = page.locator("#shortcuts-help")
    expect(help_).to_be_visible()
    expect(help_).to_contain_text("Skip to content")
    expect(help_).not_to_contain_text("Go to the previews")
    page.keyboard.press("Alt+1")  # nothing to go to: no error either


def test_providers_are_in_the_navigation_and_test_connection_works_from_the_keyboard(page, provider_server):
    from playground.accounts.models import Membership
    from tests.conftest import PASSWORD
    from tests.factories import make_member, make_model, make_provider, make_team

    team = make_team(name="Keys team")
    owner = make_member(team, Membership.Role.OWNER, username="olga", password=PASSWORD)
    provider = make_provider(team, provider_server, "messages", name="Fake Anthropic")
    make_model(provider, "claude-sonnet-4-5")
    log_in(page, owner)
    page.click("nav.mainnav >> text=Providers")
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("Providers")
    page.click("text=Fake Anthropic")
    page.focus("#probe-button")
    page.keyboard.press("Enter")
    result = page.locator("#probe-section .probe-result")
    expect(result).to_contain_text("Connected.")
    expect(result).to_contain_text("claude-sonnet-4-5 answered in")
    expect(page.locator("#probe-button")).to_be_focused()  # htmx kept the focus on the button
    assert provider_server.received[-1].path == "/v1/messages"
    page.keyboard.press("Enter")  # again at once: the limit says when, nothing is sent
    expect(result).to_contain_text("try again in")
    assert len(provider_server.received) == 1
    page.problems.expect(429, f"/providers/{provider.pk}/test/")  # the second press, refused on purpose
    # On a phone the test's section fits its width (the reply wraps, long words too).
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("(() => { const s = document.getElementById('probe-section'); "
                         "return s.scrollWidth <= s.clientWidth; })()")


def test_the_owner_fetches_the_providers_model_list_and_adds_ticked_models(page, provider_server):
    from playground.accounts.models import Membership
    from tests.conftest import PASSWORD
    from tests.factories import make_member, make_provider, make_team

    team = make_team(name="List team")
    owner = make_member(team, Membership.Role.OWNER, username="otto", password=PASSWORD)
    provider = make_provider(team, provider_server, "gemini", name="Fake Gemini")
    log_in(page, owner)
    page.goto(f"/providers/{provider.pk}/")
    page.click("#fetch-models")
    listing = page.locator("#listing-section")
    expect(listing).to_contain_text("gemini-2.5-flash")
    expect(listing).to_contain_text("Gemini 2.5 Pro")
    expect(listing).not_to_contain_text("text-embedding-004")  # not a generateContent model
    listing.locator("input[value='gemini-2.5-flash']").check()
    page.click("text=Add ticked models")
    expect(page.locator(".flash")).to_contain_text("Added 1 model from the provider's list")
    expect(page.locator("#model-section")).to_contain_text("gemini-2.5-flash")
    assert provider.models.get().name == "gemini-2.5-flash"
