"""Rough edges of issue 12 as a person meets them in a real browser (headless Chromium)."""

import re

import pytest
from playwright.sync_api import expect

from playground.prompts.models import Prompt
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_new_prompt_without_a_name_says_what_to_do(page, editor):
    log_in(page, editor)
    page.click("nav.mainnav >> text=Prompts")

    page.click("#new-prompt-form button[type=submit]")  # the name left empty

    expect(page.locator("#new-prompt-error")).to_have_text("Give the new prompt a name, then press New prompt.")
    expect(page.locator("#id_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_name")).to_be_focused()
    assert not Prompt.objects.exists()

    page.fill("#id_name", "Cat captions")
    page.click("#new-prompt-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/prompts/\d+/$"))
    assert Prompt.objects.get().name == "Cat captions"
