"""Models per provider: the table, adding, editing in place (htmx), enabling, removing; capabilities
checked against the provider's protocol; prices and what a request costs."""

from decimal import Decimal

import pytest
from django.urls import reverse

from playground.catalog import services
from playground.catalog.models import ProviderModel
from tests.conftest import HX
from tests.factories import make_model, make_provider


@pytest.fixture
def provider(team):
    return make_provider(team, protocol="compatible", name="Gateway", base_url="https://gateway.example/v1")


def model_data(**overrides):
    data = {"name": "vision-1", "label": "Vision One", "inputs": ["image", "pdf"],
            "image_formats": ["image/png", "image/jpeg"], "max_image_edge": "2048", "max_images": "10",
            "accepts_urls": "on", "price_input_per_mtok": "1.25", "price_cached_input_per_mtok": "0.125",
            "price_output_per_mtok": "10", "price_per_image": "", "price_per_audio_second": "", "enabled": "on",
            "notes": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- adding -----------------------------------------------------------------------------------------


def test_an_owner_adds_a_model_with_htmx_and_gets_the_section_back(owner_client, provider):
    response = owner_client.post(reverse("catalog:model_add", args=[provider.pk]), model_data(), headers=HX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and 'id="model-section"' in page
    assert "Vision One" in page and "$1.25 in · $0.125 cached · $10.00 out" in page
    assert "models-changed" in response.headers["HX-Trigger"]
    model = provider.models.get()
    assert model.inputs == ["image", "pdf"] and model.image_formats == ["image/png", "image/jpeg"]
    assert model.max_image_edge == 2048 and model.max_images == 10 and model.accepts_urls
    assert model.price_output_per_mtok == Decimal("10") and model.price_per_image is None
    assert model.price_source.startswith("Edited ") and "olivia" in model.price_source


def test_adding_without_htmx_redirects_to_the_provider(owner_client, provider):
    response = owner_client.post(reverse("catalog:model_add", args=[provider.pk]), model_data())
    assert response.status_code == 302 and response.url == reverse("catalog:detail", args=[provider.pk])


def test_an_invalid_model_re_renders_the_section_with_errors(owner_client, provider):
    response = owner_client.post(reverse("catalog:model_add", args=[provider.pk]),
                                 model_data(name="has space", price_input_per_mtok="-1"), headers=HX)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert "A model id has no spaces" in page
    assert "greater than or equal to 0" in page
    assert "<details class=\"add-model form-section gap-above\" open>" in page
    assert not provider.models.exists()


def test_the_same_model_id_cannot_be_added_twice(owner_client, provider):
    owner_client.post(reverse("catalog:model_add", args=[provider.pk]), model_data())
    response = owner_client.post(reverse("catalog:model_add", args=[provider.pk]), model_data(), headers=HX)
    assert "already has a model with that id" in response.content.decode()
    assert provider.models.count() == 1


@pytest.mark.parametrize(
    ("protocol", "gateway", "inputs", "formats", "error"),
    [
        ("messages", False, ["audio"], [], "Anthropic Messages cannot carry audio"),
        ("responses", False, ["image", "audio", "video"], [], "OpenAI Responses cannot carry audio, video"),
        ("chat", False, ["video"], [], "cannot carry video"),
        ("compatible", False, ["video"], [], "video needs gateway extensions"),
        ("gemini", False, ["image"], ["image/gif"], "does not take GIF"),
        ("messages", False, ["image"], ["image/heic"], "does not take HEIC"),
    ],
)
def test_capabilities_must_fit_the_protocol(owner_client, team, protocol, gateway, inputs, formats, error):
    provider = make_provider(team, protocol=protocol, name=protocol, gateway_extensions=gateway, base_url="https://x.example")
    response = owner_client.post(reverse("catalog:model_add", args=[provider.pk]),
                                 model_data(inputs=inputs, image_formats=formats), headers=HX)
    assert error in response.content.decode()
    assert not provider.models.exists()


def test_a_gateway_may_take_video_and_gemini_takes_everything(owner_client, team):
    gateway = make_provider(team, protocol="compatible", name="OR", gateway_extensions=True,
                            base_url="https://openrouter.ai/api/v1")
    gemini = make_provider(team, protocol="gemini", name="G", base_url="https://generativelanguage.googleapis.com")
    owner_client.post(reverse("catalog:model_add", args=[gateway.pk]), model_data(inputs=["image", "video"]))
    owner_client.post(reverse("catalog:model_add", args=[gemini.pk]),
                      model_data(inputs=["image", "audio", "video", "pdf"], image_formats=["image/heic"]))
    assert gateway.models.get().inputs == ["image", "video"]
    assert gemini.models.get().image_formats == ["image/heic"]


def test_image_formats_are_dropped_when_the_model_takes_no_images(owner_client, provider):
    owner_client.post(reverse("catalog:model_add", args=[provider.pk]), model_data(inputs=["pdf"]))
    assert provider.models.get().image_formats == []


# --- editing in place ---------------------------------------------------------------------------------------


@pytest.fixture
def model(provider):
    return make_model(provider, "vision-1", label="Vision One", inputs=["image"], prices=False,
                      price_input_per_mtok=Decimal("2.5"), price_output_per_mtok=Decimal("10"),
                      price_source="List prices 2026-07 (preset)")


def test_edit_returns_the_row_editor_for_htmx_and_a_page_otherwise(owner_client, model):
    url = reverse("catalog:model_edit", args=[model.pk])
    fragment = owner_client.get(url, headers=HX).content.decode()
    assert "<html" not in fragment and f'<tr id="model-{model.pk}" class="editing">' in fragment
    assert 'value="2.5"' in fragment and 'value="10"' in fragment  # not 2.500000
    page = owner_client.get(url).content.decode()
    assert "<html" in page and "Edit vision-1" in page


def test_saving_a_row_returns_the_row(owner_client, model):
    response = owner_client.post(reverse("catalog:model_edit", args=[model.pk]),
                                 model_data(label="Vision One (EU)", inputs=["image"], image_formats=[]), headers=HX)
    row = response.content.decode()
    assert row.strip().startswith(f'<tr id="model-{model.pk}"') and "<html" not in row
    assert "Vision One (EU)" in row
    assert "models-changed" in response.headers["HX-Trigger"]
    model.refresh_from_db()
    assert model.label == "Vision One (EU)" and model.price_input_per_mtok == Decimal("1.25")


def test_unchanged_prices_keep_their_source(owner_client, model):
    owner_client.post(reverse("catalog:model_edit", args=[model.pk]),
                      model_data(label="Renamed", inputs=["image"], image_formats=[], price_input_per_mtok="2.50",
                                 price_cached_input_per_mtok="", price_output_per_mtok="10.0"), headers=HX)
    model.refresh_from_db()
    assert model.label == "Renamed" and model.price_source == "List prices 2026-07 (preset)"


def test_an_invalid_row_comes_back_as_the_editor_with_errors(owner_client, model):
    response = owner_client.post(reverse("catalog:model_edit", args=[model.pk]),
                                 model_data(max_images="0"), headers=HX)
    row = response.content.decode()
    assert response.status_code == 200 and 'class="editing"' in row
    assert "greater than or equal to 1" in row


def test_cancel_fetches_the_plain_row(owner_client, model):
    row = owner_client.get(reverse("catalog:model_row", args=[model.pk]), headers=HX).content.decode()
    assert row.strip().startswith(f'<tr id="model-{model.pk}"') and "editing" not in row


def test_a_model_is_disabled_and_enabled(owner_client, team, model):
    url = reverse("catalog:model_toggle", args=[model.pk])
    row = owner_client.post(url, headers=HX).content.decode()
    assert 'class="off"' in row and "Enable" in row
    assert model not in services.provider_models_for(team)
    owner_client.post(url, headers=HX)
    assert model in services.provider_models_for(team)


def test_a_model_is_removed(owner_client, model):
    response = owner_client.post(reverse("catalog:model_delete", args=[model.pk]), headers=HX)
    assert response.status_code == 200 and response.content == b""
    assert not ProviderModel.objects.filter(pk=model.pk).exists()


def test_the_detail_page_and_its_model_section(owner_client, model):
    url = reverse("catalog:detail", args=[model.provider_id])
    page = owner_client.get(url).content.decode()
    assert "<html" in page and "Add a model" in page and f'id="model-{model.pk}"' in page
    section = owner_client.get(url, headers={**HX, "HX-Target": "model-section"}).content.decode()
    assert "<html" not in section and section.strip().startswith('<section class="card" id="model-section">')


def test_kinds_the_protocol_cannot_carry_are_marked(owner_client, team):
    provider = make_provider(team, protocol="messages", name="A", base_url="https://api.anthropic.com")
    make_model(provider, "odd", inputs=["image", "audio"], prices=False)
    page = owner_client.get(reverse("catalog:detail", args=[provider.pk])).content.decode()
    assert 'class="kind kind-audio refused" title="Anthropic Messages cannot carry audio"' in page


# --- the run picker -------------------------------------------------------------------------------------------------


def test_provider_models_for_lists_enabled_models_by_provider(team, other_team):
    b = services.apply_preset(team=team, key="anthropic")
    a = services.apply_preset(team=team, key="local", name="A local server")
    services.apply_preset(team=other_team, key="openai")
    b.models.filter(name="claude-haiku-4-5").update(enabled=False)
    models = services.provider_models_for(team)
    assert [m.provider.name for m in models] == ["A local server"] * a.models.count() + ["Anthropic"] * 2
    assert "claude-haiku-4-5" not in [m.name for m in models]
    assert all(m.provider.team_id == team.pk for m in models)


def test_provider_models_for_needs_one_query(team, django_assert_num_queries):
    services.apply_preset(team=team, key="gemini")
    with django_assert_num_queries(1):
        models = services.provider_models_for(team)
        assert {m.provider.name for m in models} == {"Google Gemini"}


# --- cost ---------------------------------------------------------------------------------------------------------------


def test_cost_uses_input_output_and_cheaper_cached_tokens(team):
    provider = services.apply_preset(team=team, key="openai")
    mini = provider.models.get(name="gpt-5.4-mini")  # $0.75 in, $0.075 cached, $4.50 out
    assert mini.cost(input_tokens=1_000_000, output_tokens=0) == Decimal("0.75")
    assert mini.cost(input_tokens=10_000, output_tokens=2_000) == Decimal("0.0165")  # 0.0075 + 0.009
    cached = mini.cost(input_tokens=10_000, cached_input_tokens=8_000, output_tokens=2_000)
    assert cached == Decimal("0.0111")  # (2000×0.75 + 8000×0.075 + 2000×4.5) per million
    assert cached < mini.cost(input_tokens=10_000, output_tokens=2_000)


def test_cost_without_a_cached_price_counts_cached_tokens_at_the_input_price(team):
    provider = services.apply_preset(team=team, key="openai")
    audio = provider.models.get(name="gpt-4o-audio-preview")
    assert audio.price_cached_input_per_mtok is None
    assert audio.cost(input_tokens=1000, cached_input_tokens=500, output_tokens=0) == Decimal("0.0025")


def test_cost_is_unknown_without_prices_or_counts(team):
    provider = services.apply_preset(team=team, key="openrouter")
    qwen = provider.models.get(name="qwen/qwen2.5-vl-72b-instruct")
    assert qwen.cost(input_tokens=1000, output_tokens=100) is None
    sonnet = provider.models.get(name="anthropic/claude-sonnet-4.6")
    assert sonnet.cost(input_tokens=None, output_tokens=100) is None
    assert sonnet.cost(input_tokens=100, output_tokens=None) is None


def test_cost_adds_audio_seconds_and_images(team):
    provider = services.apply_preset(team=team, key="gemini")
    flash = provider.models.get(name="gemini-2.5-flash")  # audio tokens $1.00/M vs text $0.30/M, 32 per second
    text_only = flash.cost(input_tokens=32 * 60, output_tokens=0)
    with_audio = flash.cost(input_tokens=32 * 60, output_tokens=0, audio_seconds=60)
    assert with_audio == Decimal("0.00192")  # as if the 1920 audio tokens were billed at $1.00/M
    assert with_audio > text_only
    flash.price_per_image = Decimal("0.01")
    assert flash.cost(input_tokens=0, output_tokens=0, images=3) == Decimal("0.03")
    local = services.apply_preset(team=team, key="local").models.first()
    assert local.cost(input_tokens=5000, output_tokens=500, images=2) == Decimal("0")
