"""Fixtures for the browser tests: Playwright's sync API driving Debian's Chromium against
pytest-django's live server.

Playwright never downloads a browser here (no `playwright install`): it launches the Chromium
named by PRISM_CHROMIUM (default /usr/bin/chromium), and the tests skip with a reason when there
is none (bin/test installs it, and fails in CI without it).
"""

import os
import re
from dataclasses import dataclass, field

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API runs an asyncio event loop in the test thread, so Django's async-safety
# check would refuse the ORM calls the tests make between browser steps. This is the documented
# workaround for Playwright + Django tests; the live server itself runs in its own thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch_chromium(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def live_server(live_server_media_url, live_server):
    """pytest-django's live server, started with a MEDIA_URL it can parse (see below)."""
    from django.conf import settings

    settings.MEDIA_URL = live_server_media_url  # running now: its handler has read the setting
    return live_server


@pytest.fixture(scope="session")
def live_server_media_url():
    """Prism has no public media URL (settings.MEDIA_URL = None: every stored file is served by a
    view that checks the team). Django's live server wraps the site in a media-files handler that
    parses MEDIA_URL when it starts, and with None every request fails with "TypeError:
    startswith first arg must be str or a tuple of str, not bytes". So the server starts with a
    prefix that no page links to, and the setting is put back as soon as the server runs."""
    from django.conf import settings

    before = settings.MEDIA_URL
    settings.MEDIA_URL = "/__live-server-media-unused__/"
    yield before
    settings.MEDIA_URL = before


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium_executable)
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What went wrong in the page while a test drove it: console errors, uncaught exceptions,
    requests that failed or were answered with an error status."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.console_errors + self.page_errors + self.failed_requests + self.error_responses

    def expect(self, status: int, path: str) -> None:
        """The test provoked this error answer on purpose: not a problem (nor the console's line for it)."""
        self.error_responses = [e for e in self.error_responses if not (e.startswith(f"HTTP {status}:") and path in e)]
        self.console_errors = [e for e in self.console_errors if f"status of {status}" not in e]


# A media element stops downloading once it has what it needs (preload="metadata"), and leaving a
# page cancels what is still loading: Chromium reports both as net::ERR_ABORTED. Not a problem.
_HARMLESS_FAILURE = re.compile(r"net::ERR_ABORTED")


def open_page(browser, base_url: str):
    """A browser context of its own (its own cookies: another person) and a page in it whose
    ``problems`` collect console errors and uncaught exceptions. Returns (context, page)."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", lambda msg: msg.type == "error" and problems.console_errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.page_errors.append(f"uncaught: {exc}"))
    page.problems = problems
    return context, page


@pytest.fixture
def page(browser, live_server, transactional_db):
    """A fresh browser context and page on the live server; fails the test if the page logged a
    console error, threw, or had a request fail (static files, htmx, thumbnails, uploads...)."""
    context, page = open_page(browser, live_server.url)
    problems = page.problems

    def request_failed(request):
        if not _HARMLESS_FAILURE.search(request.failure or ""):
            problems.failed_requests.append(f"failed: {request.method} {request.url} ({request.failure})")

    def response(resp):
        if resp.status >= 400:
            problems.error_responses.append(f"HTTP {resp.status}: {resp.request.method} {resp.url}")

    page.on("requestfailed", request_failed)
    page.on("response", response)
    yield page
    context.close()
    assert not problems.all(), "the page had problems:\n" + "\n".join(problems.all())


@pytest.fixture
def editor(transactional_db):
    """A new user who edits a team's library; their password is editor.raw_password."""
    from playground.accounts.models import Membership
    from tests.factories import make_member, make_team

    team = make_team(name="Vision team")
    return make_member(team, Membership.Role.EDITOR, username="alice", password=PASSWORD)


def log_in(page, user) -> None:
    """Log in through the real login form, as a person would, and land on the Library."""
    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", user.raw_password)
    page.click("button[type=submit]")
    page.wait_for_url("**/library/")

