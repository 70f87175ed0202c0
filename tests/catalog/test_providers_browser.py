"""The provider pages in a real browser (headless Chromium via Playwright): a model row edited in
place with htmx, the key inputs that follow the chosen key source, and a key that stays out of the
page after a form error. Every test also fails on a console error or a failed request.

Each test (a few seconds: a real browser) drives its own Chromium in a thread of its own: tests/browser keeps a session-wide
Playwright (sync API) running in the main thread, and a second one cannot start beside it there.
"""

import os
import re
import threading

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import CHROMIUM, PASSWORD

pytestmark = pytest.mark.browser
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # as in tests/browser: Playwright runs a loop

KEY = "sk-browser-test-Qw8Er7Ty6Ui5Op4"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def _unused_media_url():
    """The live server cannot start with MEDIA_URL = None (see tests/browser/conftest.py)."""
    from django.conf import settings

    before = settings.MEDIA_URL
    settings.MEDIA_URL = "/__live-server-media-unused__/"
    yield before
    settings.MEDIA_URL = before


@pytest.fixture
def site(_unused_media_url, live_server, transactional_db, chromium_executable):
    from django.conf import settings

    settings.MEDIA_URL = _unused_media_url
    return live_server.url


def in_browser(site: str, owner, path: str, steps) -> None:
    """Log in as owner, open path and run steps(page) in a Chromium of this test's own thread."""
    failures: list[BaseException] = []
    problems: list[str] = []

    def run():
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 860})
                context.set_default_timeout(10_000)
                page = context.new_page()
                page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
                page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
                page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
                page.goto("/accounts/login/")
                page.fill("#id_username", owner.get_username())
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r".*/library/"))
                page.goto(path)
                steps(page)
                browser.close()
        except BaseException as exc:  # handed to the test's own thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the browser steps did not finish"
    if failures:
        raise failures[0]
    assert not problems, "the page had problems:\n" + "\n".join(problems)


@pytest.fixture
def owner(transactional_db):
    from playground.accounts.models import Membership
    from tests.factories import make_member, make_team

    return make_member(make_team(name="Vision team"), Membership.Role.OWNER, username="olivia", password=PASSWORD)


def test_a_model_row_is_edited_in_place(site, owner):
    from playground.catalog import services

    provider = services.apply_preset(team=owner.memberships.get().team, key="anthropic")
    haiku = provider.models.get(name="claude-haiku-4-5")
    in_browser(site, owner, f"/providers/{provider.pk}/", lambda page: edit_a_row(page, haiku.pk))
    haiku.refresh_from_db()
    assert str(haiku.price_output_per_mtok.normalize()) == "4" and not haiku.enabled
    assert not provider.models.filter(name="claude-opus-4-7").exists()


def edit_a_row(page, pk: int) -> None:
    row = page.locator(f"#model-{pk}")
    expect(row).to_contain_text("$1.00 in · $0.10 cached · $5.00 out")

    row.get_by_role("link", name="Edit").click()
    editor = page.locator(f"#model-{pk}.editing")
    expect(editor).to_be_visible()
    editor.get_by_label("Output $/1M").fill("-1")
    editor.get_by_role("button", name="Save").click()
    expect(editor.locator(".errorlist")).to_contain_text("greater than or equal to 0")

    editor.get_by_label("Output $/1M").fill("4")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator(f"#model-{pk}.editing")).to_have_count(0)
    expect(row).to_contain_text("$1.00 in · $0.10 cached · $4.00 out")
    expect(row).to_contain_text("Edited")

    row.get_by_role("button", name="Disable").click()
    expect(row).to_have_class("off")

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    opus = page.locator("#model-section tbody tr").filter(has_text="claude-opus-4-7")
    opus.get_by_role("button", name="Remove").click()
    expect(opus).to_have_count(0)
    assert dialogs == ["Remove claude-opus-4-7? Past runs keep what they sent and received."]  # asked once
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload happened


def test_the_key_inputs_follow_the_key_source_and_a_key_is_not_echoed(site, owner, settings):
    from playground.catalog.models import Provider
    from playground.lib.env import parse_env_keys

    settings.PRISM_ENV_KEYS = parse_env_keys("OPENAI_API_KEY=api.openai.com@*")  # offered in the select
    in_browser(site, owner, "/providers/new/?preset=openai", add_openai_with_a_key)
    assert Provider.objects.get(name="OpenAI").api_key() == KEY


def add_openai_with_a_key(page) -> None:
    key_input, env_input = page.locator("input[name=api_key]"), page.locator("select[name=api_key_env]")
    expect(key_input).to_be_visible()
    expect(env_input).to_be_hidden()
    page.get_by_label("Read from an environment variable").check()
    expect(key_input).to_be_hidden()
    expect(env_input).to_be_visible()
    expect(env_input).to_have_value("OPENAI_API_KEY")
    page.get_by_label("Stored in Prism (encrypted)").check()

    key_input.fill(KEY)
    page.get_by_label("Base URL").fill("ftp://example.com")
    page.get_by_role("button", name="Add provider").click()
    expect(page.locator(".error[role=alert]")).to_contain_text("type the key again")
    expect(page.locator("input[name=api_key]")).to_have_value("")
    assert KEY not in page.content()

    page.locator("input[name=api_key]").fill(KEY)
    page.get_by_label("Base URL").fill("https://api.openai.com/v1")
    page.get_by_role("button", name="Add provider").click()
    expect(page.locator(".key-state")).to_contain_text("stored, set")
    assert KEY not in page.content()
