"""The preview settings pick a model per column, in a real browser: the team's configured models
are offered first, and picking one makes the column that model's (its name, its capabilities)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_the_settings_pick_a_configured_model_per_column(page, editor):
    from playground.catalog.services import apply_preset
    from tests.factories import doc_with, make_prompt, make_wav

    team = editor.memberships.get().team
    provider = apply_preset(team=team, key="openai", api_key="sk-test", model_names=["gpt-5.4", "gpt-4o-audio-preview"])
    gpt54 = provider.models.get(name="gpt-5.4")
    audio = provider.models.get(name="gpt-4o-audio-preview")
    wav = make_wav(team, "chord.wav")
    prompt = make_prompt(team, "Transcribe", user=editor, doc=doc_with({"text": "Transcribe this."}, {"media": {"item": wav.pk}}))
    log_in(page, editor)
    page.goto(f"/prompts/{prompt.pk}/")

    chat = page.locator("#col-chat")
    select = page.locator("#id_pv-model_chat")
    # The team's models come first; the default is the one taking the most kinds (gpt-5.4: images, PDFs),
    # which takes no audio: the user picks the audio model for this prompt.
    expect(select.locator("optgroup").first).to_have_attribute("label", "Your models")
    expect(select).to_have_value(f"pm:{gpt54.pk}")
    expect(chat.locator(".model-label")).to_have_text("GPT-5.4 (OpenAI)")
    expect(chat.locator(".pcol-remarks")).to_contain_text("Model gpt-5.4 is set up without audio input.")
    expect(chat.locator(".badge")).to_contain_text("cannot send")

    select.select_option(f"pm:{audio.pk}")
    expect(chat.locator(".model-label")).to_have_text("GPT-4o audio (preview) (OpenAI)")
    expect(chat.locator(".badge")).not_to_contain_text("cannot send")

    # A preset is still there to compare with, and the pick is kept with the draft.
    select.select_option("preset:openai:gpt-5.5")
    expect(chat.locator(".model-label")).to_have_text("GPT-5.5 (OpenAI)")
    expect(chat.locator(".model-kind")).to_have_text("preset")
    page.reload()
    expect(page.locator("#id_pv-model_chat")).to_have_value("preset:openai:gpt-5.5")
    expect(page.locator("#col-chat .model-label")).to_have_text("GPT-5.5 (OpenAI)")
