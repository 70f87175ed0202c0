"""Presets: each one makes a valid provider whose models fit its protocol and carry list prices."""

import re

import pytest
from django.urls import reverse

from playground.accounts.models import Membership
from playground.catalog import presets, services
from playground.catalog.forms import ProviderForm, ProviderModelForm
from tests.factories import make_member, make_provider


def test_prices_are_dated():
    assert re.fullmatch(r"2026-\d{2}(-\d{2})?", presets.PRICES_AS_OF)
    assert presets.PRICES_AS_OF in presets.PRICES_NOTE and "before billing" in presets.PRICES_NOTE


def test_there_is_a_preset_for_each_vendor_and_a_local_server():
    assert set(presets.PRESETS) == {"openai", "openai-responses", "anthropic", "gemini", "openrouter", "local"}
    assert {p.protocol for p in presets.PRESETS.values()} == {"chat", "responses", "messages", "gemini", "compatible"}


@pytest.mark.parametrize("key", list(presets.PRESETS))
def test_each_preset_passes_the_forms_an_owner_would_use(team, key):
    preset = presets.PRESETS[key]
    data = {**preset.provider_fields(), "max_concurrency": 8, "timeout_s": 120}
    data = {k: v for k, v in data.items() if v is not False}  # an unticked box is absent from a POST
    form = ProviderForm(data, team=team)
    assert form.is_valid(), form.errors
    provider = form.save()
    assert provider.base_url == preset.base_url
    for model in preset.models:
        fields = {k: v for k, v in model.fields().items() if v is not None and k != "price_source"}
        fields = {k: v for k, v in fields.items() if v is not False}
        model_form = ProviderModelForm({**fields, "enabled": True}, provider=provider)
        assert model_form.is_valid(), (model.name, model_form.errors)


@pytest.mark.parametrize("key", list(presets.PRESETS))
def test_applying_a_preset_creates_the_provider_and_its_priced_models(team, key):
    preset = presets.PRESETS[key]
    provider = services.apply_preset(team=team, key=key)
    assert provider.preset == key and provider.protocol == preset.protocol
    models = list(provider.models.all())
    assert len(models) == len(preset.models) >= 3
    carried = presets.kinds_for(preset.protocol, preset.gateway_extensions)
    for model in models:
        assert set(model.inputs) <= carried, model.name
        assert set(model.image_formats) <= set(presets.PROTOCOL_IMAGE_FORMATS[preset.protocol]), model.name
        if model.price_input_per_mtok is not None:
            assert model.price_output_per_mtok is not None
            assert model.price_source == f"List prices {presets.PRICES_AS_OF} (preset)"
            assert model.cost(input_tokens=1000, output_tokens=1000) is not None
    priced = [m for m in models if m.price_input_per_mtok is not None]
    assert len(priced) >= len(models) - 1  # at most one "look it up" model per preset


def test_openai_chat_takes_audio_only_on_its_audio_model_and_never_video(team):
    provider = services.apply_preset(team=team, key="openai")
    assert provider.base_url == "https://api.openai.com/v1" and provider.api_key_env == "OPENAI_API_KEY"
    by_name = {m.name: m for m in provider.models.all()}
    assert [n for n, m in by_name.items() if "audio" in m.inputs] == ["gpt-4o-audio-preview"]
    assert not any("video" in m.inputs for m in by_name.values())
    assert by_name["gpt-5.4-mini"].image_formats == ["image/png", "image/jpeg", "image/webp", "image/gif"]
    assert "pdf" in by_name["gpt-5.4"].inputs


def test_openai_responses_has_no_audio(team):
    provider = services.apply_preset(team=team, key="openai-responses")
    assert provider.protocol == "responses"
    assert not any({"audio", "video"} & set(m.inputs) for m in provider.models.all())


def test_anthropic_names_its_api_version_and_takes_no_audio_or_video(team):
    provider = services.apply_preset(team=team, key="anthropic")
    assert provider.base_url == "https://api.anthropic.com" and provider.api_version == "2023-06-01"
    assert "2026-10-21" in provider.notes
    for model in provider.models.all():
        assert model.inputs == ["image", "pdf"]
        assert model.image_formats == ["image/jpeg", "image/png", "image/gif", "image/webp"]
        assert model.max_image_edge == 8000


def test_gemini_takes_every_kind_and_heic_but_not_gif(team):
    provider = services.apply_preset(team=team, key="gemini")
    assert provider.base_url == "https://generativelanguage.googleapis.com"
    for model in provider.models.all():
        assert set(model.inputs) == {"image", "audio", "video", "pdf"}
        assert "image/heic" in model.image_formats and "image/gif" not in model.image_formats


def test_openrouter_is_a_gateway(team):
    provider = services.apply_preset(team=team, key="openrouter")
    assert provider.protocol == "compatible" and provider.gateway_extensions
    assert provider.base_url == "https://openrouter.ai/api/v1"
    assert any("video" in m.inputs for m in provider.models.all())


def test_the_local_server_needs_no_key_and_costs_nothing(team):
    provider = services.apply_preset(team=team, key="local")
    assert provider.base_url == "http://localhost:11434/v1" and provider.key_source == "none"
    assert provider.has_key and provider.api_key() == ""
    assert "vLLM" in provider.notes and "LM Studio" in provider.notes
    for model in provider.models.all():
        assert not model.accepts_urls
        assert model.cost(input_tokens=100_000, output_tokens=10_000) == 0


def test_a_stored_key_given_to_apply_preset_is_encrypted(team):
    provider = services.apply_preset(team=team, key="gemini", name="Gemini EU", api_key="AIza-not-a-real-key")
    assert provider.name == "Gemini EU" and provider.key_source == "stored"
    assert "AIza" not in provider.api_key_encrypted and provider.api_key() == "AIza-not-a-real-key"


def test_only_the_chosen_preset_models_are_added(team):
    provider = services.apply_preset(team=team, key="anthropic", model_names=["claude-haiku-4-5"])
    assert list(provider.models.values_list("name", flat=True)) == ["claude-haiku-4-5"]


def test_missing_preset_models_can_be_added_back(client, team):
    owner = make_member(team, Membership.Role.OWNER)
    client.force_login(owner)
    provider = services.apply_preset(team=team, key="anthropic", model_names=["claude-haiku-4-5"])
    page = client.get(reverse("catalog:detail", args=[provider.pk])).content.decode()
    assert "From the Anthropic preset" in page and 'value="claude-opus-4-7"' in page
    client.post(reverse("catalog:preset_models_add", args=[provider.pk]), {"models": ["claude-opus-4-7"]})
    assert sorted(provider.models.values_list("name", flat=True)) == ["claude-haiku-4-5", "claude-opus-4-7"]
    client.post(reverse("catalog:preset_models_add", args=[provider.pk]))  # none ticked: nothing to add
    assert provider.models.count() == 2
    client.post(reverse("catalog:preset_models_add", args=[provider.pk]), {"models": ["claude-sonnet-4-6"]})
    assert provider.models.count() == 3
    assert "From the Anthropic preset" not in client.get(reverse("catalog:detail", args=[provider.pk])).content.decode()


def test_a_provider_without_a_preset_has_no_preset_models_to_add(client, team):
    client.force_login(make_member(team, Membership.Role.OWNER))
    provider = make_provider(team, name="X", base_url="https://x.example/v1")
    assert client.post(reverse("catalog:preset_models_add", args=[provider.pk])).status_code == 404
