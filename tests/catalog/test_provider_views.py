"""Providers pages: listing, creating (blank and from presets), editing, deleting; who may do what."""

import pytest
from django.urls import reverse

from playground.accounts.models import Membership
from playground.catalog import presets, services
from playground.catalog.models import Provider, ProviderModel
from playground.lib.env import parse_env_keys
from tests.factories import make_member, make_provider

LIST = "/providers/"


@pytest.fixture
def provider(team):
    return services.apply_preset(team=team, key="openai", api_key="sk-test-not-a-real-key-123")


def blank_post(**overrides):
    data = {
        "name": "My gateway",
        "protocol": "compatible",
        "base_url": "https://gateway.example/v1",
        "api_version": "",
        "key_source": "stored",
        "api_key": "",
        "api_key_env": "",
        "max_concurrency": "8",
        "timeout_s": "120",
        "notes": "",
    }
    data.update(overrides)
    return data


# --- the list ----------------------------------------------------------------------------------------


def test_it_lists_the_teams_providers_with_protocol_url_key_status_and_model_count(owner_client, provider, team):
    make_provider(team, protocol="compatible", name="Ollama", base_url="http://localhost:11434/v1", key_source="none")
    page = owner_client.get(LIST).content.decode()
    assert "OpenAI Chat Completions" in page
    assert "https://api.openai.com/v1" in page
    assert f"stored, set {provider.key_updated_at:%Y-%m-%d}" in page
    assert f'<td>{len(presets.OPENAI.models)}</td>' in page
    assert "no key needed" in page
    assert "Start from a preset" in page  # owners see the presets


def test_it_reports_granted_env_keys_as_set_or_missing(owner_client, team, monkeypatch, settings):
    settings.PRISM_ENV_KEYS = parse_env_keys("FAKE_OPENAI_KEY=api.openai.com@*")
    make_provider(team, name="Env", base_url="https://api.openai.com/v1", key_source="env", api_key_env="FAKE_OPENAI_KEY")
    monkeypatch.delenv("FAKE_OPENAI_KEY", raising=False)
    assert "from $FAKE_OPENAI_KEY: missing" in owner_client.get(LIST).content.decode()
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-from-the-environment")
    page = owner_client.get(LIST).content.decode()
    assert "from $FAKE_OPENAI_KEY: set" in page
    assert "sk-from-the-environment" not in page


def test_a_stored_source_without_a_key_says_no_key(owner_client, team):
    make_provider(team, name="Empty", base_url="https://api.openai.com/v1")
    assert '<span class="key-state missing">no key</span>' in owner_client.get(LIST).content.decode()


def test_editors_and_viewers_see_the_list_without_management(client, user, viewer, provider):
    for member in (user, viewer):
        client.force_login(member)
        page = client.get(LIST).content.decode()
        assert "OpenAI" in page
        assert "Start from a preset" not in page
        assert reverse("catalog:create") not in page
        assert reverse("catalog:edit", args=[provider.pk]) not in page
        assert "Only team owners" in page


def test_it_shows_only_the_current_teams_providers(client, other_user, provider):
    client.force_login(other_user)
    page = client.get(LIST).content.decode()
    assert "api.openai.com" not in page and "No providers yet" in page


def test_it_needs_a_login(client, db):
    response = client.get(LIST)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_team_page_links_to_providers(owner_client):
    assert reverse("catalog:list") in owner_client.get(reverse("accounts:team")).content.decode()


# --- creating ------------------------------------------------------------------------------------------


def test_an_owner_creates_a_blank_provider(owner_client, team):
    response = owner_client.post(reverse("catalog:create"), blank_post())
    provider = Provider.objects.get(team=team, name="My gateway")
    assert response.status_code == 302 and response.url == reverse("catalog:detail", args=[provider.pk])
    assert provider.base_url == "https://gateway.example/v1" and provider.preset == ""
    assert provider.models.count() == 0


def test_an_owner_creates_a_provider_from_a_preset_with_the_chosen_models(owner_client, team):
    form = owner_client.get(reverse("catalog:create") + "?preset=anthropic").content.decode()
    assert 'value="https://api.anthropic.com"' in form and 'value="2023-06-01"' in form
    assert "2026-10-21" in form  # the note and the suggestions
    assert "check them before billing" in form

    data = blank_post(name="Anthropic", protocol="messages", base_url="https://api.anthropic.com",
                      api_version="2023-06-01", preset="anthropic", api_key="sk-ant-xyz",
                      models=["claude-sonnet-4-6", "claude-haiku-4-5"])
    response = owner_client.post(reverse("catalog:create"), data)
    assert response.status_code == 302
    provider = Provider.objects.get(team=team, name="Anthropic")
    assert provider.preset == "anthropic" and provider.api_version == "2023-06-01"
    assert sorted(provider.models.values_list("name", flat=True)) == ["claude-haiku-4-5", "claude-sonnet-4-6"]
    sonnet = provider.models.get(name="claude-sonnet-4-6")
    assert str(sonnet.price_input_per_mtok.normalize()) == "3" and sonnet.inputs == ["image", "pdf"]
    assert "preset" in sonnet.price_source


def test_an_unknown_preset_is_a_404(owner_client):
    assert owner_client.get(reverse("catalog:create") + "?preset=nope").status_code == 404


def test_a_second_preset_of_the_same_name_is_offered_a_new_name(owner_client, provider):
    form = owner_client.get(reverse("catalog:create") + "?preset=openai").content.decode()
    assert 'value="OpenAI 2"' in form


def test_names_are_unique_per_team(owner_client, provider):
    response = owner_client.post(reverse("catalog:create"), blank_post(name="openai"))
    assert response.status_code == 200
    assert "already has a provider with that name" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example/v1", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:secret@api.example/v1", "not in the address"),
        ("https://api.example/v1?key=abc", "no query string"),
    ],
)
def test_the_base_url_must_be_plain_http_or_https(owner_client, url, message):
    response = owner_client.post(reverse("catalog:create"), blank_post(base_url=url))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Provider.objects.exists()


def test_local_and_private_base_urls_are_allowed(owner_client, team):
    for i, url in enumerate(["http://localhost:11434/v1", "http://127.0.0.1:8000/v1/", "http://10.0.0.5:1234/v1"]):
        owner_client.post(reverse("catalog:create"), blank_post(name=f"Local {i}", base_url=url, key_source="none"))
    assert list(Provider.objects.filter(team=team).values_list("base_url", flat=True).order_by("name")) == [
        "http://localhost:11434/v1", "http://127.0.0.1:8000/v1", "http://10.0.0.5:1234/v1"]


def test_the_form_says_the_key_goes_to_the_base_url(owner_client):
    page = owner_client.get(reverse("catalog:create")).content.decode()
    assert "Prism sends the API key to this address" in page and "only team owners" in page


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"protocol": "messages", "api_version": "latest"}, "Anthropic versions are dates"),
        ({"protocol": "chat", "api_version": "2023-06-01"}, "Only Anthropic Messages and Gemini have an API version"),
        ({"protocol": "gemini", "api_version": "2023-06-01"}, "Gemini versions look like v1beta"),
        ({"protocol": "messages", "gateway_extensions": "on"}, "only in the Chat Completions shape"),
        ({"key_source": "env", "api_key_env": ""}, "granted no environment variable to this team"),
        ({"key_source": "env", "api_key_env": "OPENAI_API_KEY"}, "Choose one of the variables the operator granted"),
        ({"key_source": "none", "api_key": "sk-typed-anyway"}, "leave it empty or switch"),
        ({"max_concurrency": "0"}, "greater than or equal to 1"),
    ],
)
def test_it_validates_protocol_specific_fields(owner_client, overrides, field_error):
    response = owner_client.post(reverse("catalog:create"), blank_post(**overrides))
    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert not Provider.objects.exists()


def test_gemini_and_anthropic_versions_are_accepted(owner_client, team):
    owner_client.post(reverse("catalog:create"), blank_post(name="G", protocol="gemini", api_version="v1beta"))
    owner_client.post(reverse("catalog:create"), blank_post(name="A", protocol="messages", api_version="2026-10-21"))
    assert set(Provider.objects.values_list("api_version", flat=True)) == {"v1beta", "2026-10-21"}


# --- editing and deleting -------------------------------------------------------------------------------


def test_an_owner_edits_a_provider(owner_client, provider):
    response = owner_client.post(reverse("catalog:edit", args=[provider.pk]),
                                 blank_post(name="OpenAI EU", protocol="chat", base_url="https://eu.api.openai.com/v1",
                                            api_key="sk-key-for-the-eu-endpoint"))
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "OpenAI EU" and provider.base_url == "https://eu.api.openai.com/v1"
    assert provider.api_key() == "sk-key-for-the-eu-endpoint"


def test_the_detail_page_shows_settings_and_models(client, user, provider):
    client.force_login(user)  # an editor may look
    page = client.get(reverse("catalog:detail", args=[provider.pk])).content.decode()
    assert "gpt-5.4-mini" in page and "gpt-4o-audio-preview" in page
    assert "$0.75 in · $0.075 cached · $4.50 out" in page
    assert "check them before billing" in page
    assert "Add a model" not in page and "Edit provider" not in page


def test_an_owner_deletes_a_provider_after_confirming(owner_client, provider):
    confirm = owner_client.get(reverse("catalog:delete", args=[provider.pk]))
    assert confirm.status_code == 200 and "Past runs keep" in confirm.content.decode()
    assert Provider.objects.filter(pk=provider.pk).exists()
    response = owner_client.post(reverse("catalog:delete", args=[provider.pk]))
    assert response.status_code == 302 and response.url == reverse("catalog:list")
    assert not Provider.objects.filter(pk=provider.pk).exists()
    assert not ProviderModel.objects.filter(provider_id=provider.pk).exists()


# --- who may do what ---------------------------------------------------------------------------------------


def _change_requests(provider):
    model = provider.models.first()
    return [
        ("get", reverse("catalog:create"), None),
        ("post", reverse("catalog:create"), blank_post()),
        ("get", reverse("catalog:edit", args=[provider.pk]), None),
        ("post", reverse("catalog:edit", args=[provider.pk]), blank_post(name="Hijacked")),
        ("get", reverse("catalog:delete", args=[provider.pk]), None),
        ("post", reverse("catalog:delete", args=[provider.pk]), {}),
        ("post", reverse("catalog:model_add", args=[provider.pk]), {"name": "x"}),
        ("post", reverse("catalog:preset_models_add", args=[provider.pk]), {}),
        ("get", reverse("catalog:model_edit", args=[model.pk]), None),
        ("post", reverse("catalog:model_edit", args=[model.pk]), {"name": "y"}),
        ("post", reverse("catalog:model_toggle", args=[model.pk]), {}),
        ("post", reverse("catalog:model_delete", args=[model.pk]), {}),
    ]


@pytest.mark.parametrize("member", ["user", "viewer"])
def test_editors_and_viewers_cannot_change_anything(client, provider, member, request):
    client.force_login(request.getfixturevalue(member))
    before = (Provider.objects.count(), ProviderModel.objects.count(), list(ProviderModel.objects.values_list("enabled", flat=True)))
    for method, url, data in _change_requests(provider):
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 403, (method, url)
    provider.refresh_from_db()
    assert provider.name == "OpenAI"
    after = (Provider.objects.count(), ProviderModel.objects.count(), list(ProviderModel.objects.values_list("enabled", flat=True)))
    assert before == after
    assert client.get(reverse("catalog:detail", args=[provider.pk])).status_code == 200
    assert client.get(reverse("catalog:model_row", args=[provider.models.first().pk])).status_code == 200


def test_another_teams_provider_is_a_404_even_for_its_owners(client, other_team, provider):
    stranger = make_member(other_team, Membership.Role.OWNER, username="owner-elsewhere")
    client.force_login(stranger)
    model = provider.models.first()
    assert client.get(reverse("catalog:detail", args=[provider.pk])).status_code == 404
    assert client.get(reverse("catalog:model_row", args=[model.pk])).status_code == 404
    for method, url, data in _change_requests(provider)[2:]:  # the first two are about the current team
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 404, (method, url)
    assert Provider.objects.get(pk=provider.pk).name == "OpenAI"


def test_pages_reject_the_wrong_method(owner_client, provider):
    model = provider.models.first()
    assert owner_client.get(reverse("catalog:model_toggle", args=[model.pk])).status_code == 405
    assert owner_client.get(reverse("catalog:model_delete", args=[model.pk])).status_code == 405
    assert owner_client.get(reverse("catalog:model_add", args=[provider.pk])).status_code == 405
    assert owner_client.post(reverse("catalog:list")).status_code == 405


def test_a_change_whose_audit_record_fails_is_not_kept(owner_client, team, monkeypatch):
    """The provider and its audit record are written in one transaction: an owner's change is
    never left unrecorded."""
    from playground.catalog import services

    def broken(*args, **kwargs):
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr(services, "audit_provider_saved", broken)
    with pytest.raises(RuntimeError):
        owner_client.post(reverse("catalog:create"), blank_post())

    assert not team.providers.exists()
