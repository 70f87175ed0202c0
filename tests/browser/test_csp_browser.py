"""Every main page under Prism's Content-Security-Policy, in a real browser: the policy is sent
and strict (no inline script, no eval, no inline style), and nothing on the pages breaks it.

The browser reports each blocked script, handler (onclick=, hx-on) or style attribute as a
`securitypolicyviolation` event and a console error; this test collects both, and also drives
what used to be inline handlers (the picker's close button, a refused card's dismiss button,
the URL form that empties itself, the delete confirmation) to show they still work.
"""

import re
import threading

import pytest
from playwright.sync_api import expect

from playground.lib import demo_media
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolation(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || location.pathname}:${e.lineNumber}` +
  (e.sample ? ` (${e.sample})` : "")));
"""


def _policy(header: str) -> dict[str, set[str]]:
    return {d.split()[0]: set(d.split()[1:]) for d in header.split(";") if d.strip()}


@pytest.fixture
def watched(page):
    """The page, recording CSP violations and the policy of every HTML page it loads."""
    violations, documents = [], []
    page.context.expose_binding("__cspViolation", lambda source, text: violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("response", lambda r: r.request.resource_type == "document" and documents.append(
        (r.url, r.headers.get("content-security-policy"))))
    page.violations, page.documents = violations, documents
    return page


def _visit(page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")


def _finished_run(team, user, server):
    """A run with two results, sent in a thread: asyncio.run cannot run in Playwright's thread."""
    from playground.runs import sending, services
    from playground.runs.models import Result
    from tests.factories import doc_with, make_model, make_provider, make_version

    chat = make_provider(team, server, "chat", name="Fake OpenAI")
    models = [make_model(chat, "gpt-4o"), make_model(chat, "gpt-4o-mini")]
    version = make_version(team, doc_with({"text": "Describe {{subject}} in one line."},
                                          variables={"subject": "a cat"}), user)
    run = services.start_run(version=version, values={"subject": "a cat"}, provider_models=models, user=user, team=team)
    queued = list(run.results.filter(status=Result.Status.QUEUED).values_list("pk", flat=True))
    sender = threading.Thread(target=lambda: [sending.execute(pk) for pk in queued])
    sender.start()
    sender.join(60)
    return run


def test_every_main_page_runs_under_a_strict_csp_without_violations(watched, provider_server, settings):
    from playground.accounts.models import Membership
    from tests.factories import make_item, make_member, make_team

    page = watched
    settings.URL_FETCH_ALLOW_LOOPBACK = False  # the URL form's refusal below needs no network
    team = make_team(name="Vision team")
    owner = make_member(team, Membership.Role.OWNER, username="olive", password=PASSWORD)
    image = make_item(team, demo_media.shapes_jpeg(), name="three-shapes.jpg", user=owner)
    run = _finished_run(team, owner, provider_server)
    prompt = run.prompt_version.prompt
    provider = run.results.first().provider_model.provider

    # The admin's pages link no icon, so Chromium asks for /favicon.ico, which Prism does not serve.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    _visit(page, "/accounts/login/")
    _visit(page, "/admin/login/")
    log_in(page, owner)

    # Library: the URL form (its reset was an hx-on handler) and a refused card's dismiss button.
    page.fill("#id_url", "http://127.0.0.1:9/nothing.png")
    page.click("button:has-text('Add by URL')")
    refused = page.locator("#upload-queue .media-card.refused")
    expect(refused).to_have_count(1)
    refused.locator("button.dismiss").click()
    expect(refused).to_have_count(0)

    # An item's page, and its delete confirmation (was onsubmit=): dismissed, nothing deleted.
    _visit(page, f"/library/{image.pk}/")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("button:has-text('Delete')")
    assert dialogs == ["Delete “three-shapes.jpg” from the library?"]
    expect(page).to_have_url(re.compile(rf"/library/{image.pk}/$"))

    # The prompt editor: previews follow the typing; the picker opens and its × closes it.
    _visit(page, "/prompts/")
    _visit(page, f"/prompts/{prompt.pk}/")
    page.fill("#id_m-0-p-0-text", "Describe {{subject}} in one careful line.")
    expect(page.locator("#preview-columns")).to_contain_text("in one careful line.")
    page.click("#pick-m-0-new")
    picker = page.locator("#media-picker")
    expect(picker).to_be_visible()
    picker.locator("button.dismiss").click()
    expect(picker).to_be_hidden()
    _visit(page, f"/prompts/{prompt.pk}/versions/")

    # Runs: the list, the history with its uPlot chart, a run, a new run.
    _visit(page, "/runs/")
    _visit(page, f"/runs/prompt/{prompt.pk}/")
    expect(page.locator(".uplot")).not_to_have_count(0)
    _visit(page, f"/runs/{run.pk}/")
    page.locator("details.rreq summary").first.click()  # the exact request, loaded by htmx
    expect(page.locator("details.rreq .lazy").first).not_to_be_empty()
    _visit(page, f"/runs/prompt/{prompt.pk}/new/")

    # Providers and the team.
    _visit(page, "/providers/")
    _visit(page, "/providers/new/")
    _visit(page, f"/providers/{provider.pk}/")
    _visit(page, "/accounts/team/")

    assert not page.violations, "CSP violations:\n" + "\n".join(page.violations)
    assert len(page.documents) >= 15
    for url, header in page.documents:
        assert header, f"no Content-Security-Policy on {url}"
        policy = _policy(header)
        assert policy["default-src"] == {"'self'"}, url
        assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}, url  # nothing inline, no eval
        assert policy["object-src"] == {"'none'"} and policy["base-uri"] == {"'none'"}, url
        assert policy["frame-ancestors"] == {"'none'"} and policy["form-action"] == {"'self'"}, url
