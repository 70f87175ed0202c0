"""The Team page as two people drive it in real browsers (headless Chromium via Playwright).

An owner makes an invite link for a viewer and copies it; a second person, not logged in, opens
it in a browser of their own, logs in, sees the team and the role, joins, and sees the team's
prompts without any edit control (and a POST of theirs is refused). The owner promotes them to
editor: they can now create a prompt. The owner removes them: they lose access. The owner's audit
list shows each step.
"""

import pytest
from playwright.sync_api import expect

from playground.accounts.models import Membership
from tests.browser.conftest import log_in, open_page
from tests.conftest import PASSWORD
from tests.factories import make_member, make_prompt, make_team, make_user

pytestmark = pytest.mark.browser


def post_as(context, path: str, form: dict) -> int:
    """A POST from this person's browser session, CSRF token and all, as a hand-made form would send."""
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = context.request.post(path, form=form, headers={"X-CSRFToken": token}, max_redirects=0)
    return response.status


def test_an_owner_invites_a_viewer_promotes_them_and_removes_them(page, browser, live_server):
    team = make_team(name="Vision team")
    owner = make_member(team, Membership.Role.OWNER, username="olivia", password=PASSWORD)
    make_prompt(team, "Cat captions", user=owner)
    nina = make_user(username="nina", password=PASSWORD)

    # The owner makes a single-use invite link for a viewer and copies it.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, owner)
    page.click("nav.mainnav >> text=Team")
    expect(page.locator("h1")).to_have_text("Team")
    page.select_option("#invite select[name=role]", "viewer")
    page.fill("#invite input[name=max_uses]", "1")
    page.click("text=Make invite link")
    expect(page.locator("h1")).to_have_text("Invite link for Vision team")
    link = page.input_value("#invite-link")
    assert "/accounts/join/" in link
    page.wait_for_load_state("load")  # copy.js is deferred: a click before it runs does nothing
    page.click("button#copy-invite")
    expect(page.locator("button#copy-invite")).to_have_text("Copied ✓")
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.click("text=Back to the Team page")
    expect(page.locator(".invite-table tbody tr")).to_have_count(1)
    expect(page.locator(".invite-table tbody tr")).to_contain_text("1 of 1")

    # The second person opens the link without being logged in: the login, then back to the link.
    context, guest = open_page(browser, live_server.url)
    try:
        guest.goto(link)
        guest.wait_for_url("**/accounts/login/**")
        guest.fill("#id_username", "nina")
        guest.fill("#id_password", PASSWORD)
        guest.click("button[type=submit]")
        guest.wait_for_url("**/accounts/join/**")
        expect(guest.locator(".invite-card")).to_contain_text("Vision team")
        expect(guest.locator(".invite-role")).to_have_text("viewer")
        guest.click("button:has-text(\"Join Vision team\")")
        guest.wait_for_url("**/prompts/")
        expect(guest.locator(".flash")).to_contain_text("You joined Vision team as viewer.")

        # A viewer sees the team's prompts, without edit controls, and a POST is refused.
        expect(guest.locator(".prompt-table")).to_contain_text("Cat captions")
        expect(guest.locator("button:has-text(\"New prompt\")")).to_have_count(0)
        guest.click("text=Cat captions")
        expect(guest.locator("#save-version")).to_have_count(0)
        assert post_as(context, "/prompts/new/", {"name": "Sneaky"}) == 403
        assert not team.prompts.filter(name="Sneaky").exists()

        # The link was single use: it is gone from the owner's open invites.
        page.reload()
        expect(page.locator(".invite-table")).to_have_count(0)
        row = page.locator('tr[data-username="nina"]')
        expect(row.locator(".member-role")).to_have_text("Viewer")

        # The owner promotes them to editor; now they can create a prompt.
        row.locator("select[name=role]").select_option("editor")
        row.locator("text=Change role").click()
        expect(page.locator(".flash")).to_contain_text("nina is now editor.")
        expect(page.locator('tr[data-username="nina"] .member-role')).to_have_text("Editor")

        guest.goto("/prompts/")
        guest.fill("input[name=name]", "Nina's prompt")
        guest.click("button:has-text(\"New prompt\")")
        guest.wait_for_url("**/prompts/*/")
        expect(guest.locator("#save-version")).to_have_count(1)
        assert team.prompts.filter(name="Nina's prompt").exists()
        # The same hand-made POST that was refused to the viewer works now (so that 403 was the role's).
        assert post_as(context, "/prompts/new/", {"name": "By hand"}) == 302
        assert team.prompts.filter(name="By hand").exists()

        assert not guest.problems.all(), guest.problems.all()

        # The owner removes them; they lose access (the refusals below are the browser's only errors).
        page.locator('tr[data-username="nina"]').locator("text=Remove").click()
        expect(page.locator(".flash")).to_contain_text("Removed nina from Vision team.")
        expect(page.locator('tr[data-username="nina"]')).to_have_count(0)

        response = guest.goto("/prompts/")
        assert response.status == 403
        expect(guest.locator("body")).not_to_contain_text("Cat captions")
        prompt_pk = team.prompts.get(name="Cat captions").pk
        assert guest.goto(f"/prompts/{prompt_pk}/").status == 404
        assert post_as(context, "/prompts/new/", {"name": "After"}) == 403
        assert not Membership.objects.filter(user=nina).exists()
        unexpected = [p for p in guest.problems.all() if "status of 403" not in p and "status of 404" not in p]
        assert not unexpected, unexpected
    finally:
        context.close()

    # The audit list shows every step, newest first.
    audit = page.locator("#audit .audit-table tbody tr")
    expect(audit).to_have_count(4)
    expect(audit.nth(0)).to_contain_text("olivia removed nina (editor).")
    expect(audit.nth(1)).to_contain_text("olivia made nina editor (was viewer).")
    expect(audit.nth(2)).to_contain_text("nina joined as viewer with invite #")
    expect(audit.nth(3)).to_contain_text("olivia made invite #")
    expect(audit.nth(3)).to_contain_text("viewer, usable once")
