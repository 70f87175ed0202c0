"""The provider's own model list: fetched per protocol (paths, headers, pages, errors), shown to the
owner to tick, and the ticked ones added with a preset's settings where one knows the name.

Most answers here are each provider's documented list format served by an httpx transport (the
HTTP layer under probe.list_models, which runs for real); the tests at the end ask the fake
provider (tests/provider_server.py) over a real socket.
"""

import json

import httpx
import pytest
from django.core.cache import cache
from django.urls import reverse

from playground.accounts.models import AuditEvent
from playground.catalog import presets, probe
from playground.catalog.models import Provider, ProviderModel
from tests.factories import make_model, make_provider

pytestmark = pytest.mark.django_db

KEY = "sk-list-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh_turns():
    cache.clear()
    yield
    cache.clear()


class Served:
    """An httpx transport answering from ``pages`` (a function of the request), keeping the requests."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def _json(data, status=200, **kw) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(data).encode(), headers={"content-type": "application/json"}, **kw)


def _provider(team, protocol, base, **kw):
    return make_provider(team, protocol=protocol, base_url=base, key=KEY, name=f"P {protocol}", **kw)


def test_openai_lists_models_with_bearer_auth_and_knows_presets(team):
    provider = _provider(team, "chat", "https://api.openai.com/v1")
    make_model(provider, "gpt-4o")
    served = Served(lambda r: _json({"object": "list", "data": [
        {"id": "gpt-5.4-mini", "object": "model", "created": 1, "owned_by": "system"},
        {"id": "ft:gpt-4o:acme::abc", "object": "model", "created": 2, "owned_by": "acme"},
        {"id": "gpt-4o", "object": "model", "created": 3, "owned_by": "system"},
    ]}))
    listing = probe.list_models(provider, transport=served.transport())
    assert listing.ok and listing.pages == 1
    (request,) = served.requests
    assert str(request.url) == "https://api.openai.com/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    by_name = {m.name: m for m in listing.models}
    assert set(by_name) == {"gpt-5.4-mini", "ft:gpt-4o:acme::abc", "gpt-4o"}
    assert by_name["gpt-5.4-mini"].preset is presets.OPENAI.model("gpt-5.4-mini")
    assert by_name["ft:gpt-4o:acme::abc"].preset is None
    assert by_name["gpt-4o"].added and not by_name["gpt-5.4-mini"].added
    assert listing.models[-1].name == "gpt-4o"  # the ones already added last


def test_anthropic_follows_has_more_with_after_id(team):
    provider = _provider(team, "messages", "https://api.anthropic.com", api_version="2023-06-01")

    def answer(request):
        after = request.url.params.get("after_id")
        if after is None:
            return _json({"data": [{"type": "model", "id": "claude-opus-4-7", "display_name": "Claude Opus 4.7",
                                    "created_at": "2026-04-16T00:00:00Z"}],
                          "has_more": True, "first_id": "claude-opus-4-7", "last_id": "claude-opus-4-7"})
        assert after == "claude-opus-4-7"
        return _json({"data": [{"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5",
                                "created_at": "2025-10-01T00:00:00Z"}],
                      "has_more": False, "first_id": "claude-haiku-4-5", "last_id": "claude-haiku-4-5"})

    served = Served(answer)
    listing = probe.list_models(provider, transport=served.transport())
    assert listing.ok and listing.pages == 2 and not listing.capped
    assert [m.name for m in listing.models] == ["claude-haiku-4-5", "claude-opus-4-7"]
    assert {m.label for m in listing.models} == {"Claude Opus 4.7", "Claude Haiku 4.5"}
    first = served.requests[0]
    assert first.url.path == "/v1/models" and first.url.params["limit"] == "1000"
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in first.headers


def test_gemini_follows_next_page_token_keeps_generate_content_models_and_sends_the_key_in_a_header(team):
    provider = _provider(team, "gemini", "https://generativelanguage.googleapis.com")

    def answer(request):
        if request.url.params.get("pageToken") != "page-2":
            return _json({"models": [
                {"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
                 "supportedGenerationMethods": ["generateContent", "countTokens"]},
                {"name": "models/text-embedding-004", "displayName": "Text Embedding 004",
                 "supportedGenerationMethods": ["embedContent"]},
            ], "nextPageToken": "page-2"})
        return _json({"models": [{"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro",
                                  "supportedGenerationMethods": ["generateContent"]}]})

    served = Served(answer)
    listing = probe.list_models(provider, transport=served.transport())
    assert listing.ok and listing.pages == 2
    assert [m.name for m in listing.models] == ["gemini-2.5-flash", "gemini-2.5-pro"]  # no embedding model
    for request in served.requests:
        assert request.url.path == "/v1beta/models"
        assert request.headers["x-goog-api-key"] == KEY
        assert KEY not in str(request.url)
    assert served.requests[1].url.params["pageToken"] == "page-2"


def test_pages_stop_at_the_cap(team):
    provider = _provider(team, "messages", "https://api.anthropic.com")
    count = iter(range(10_000))

    def answer(request):
        n = next(count)
        return _json({"data": [{"id": f"m-{n}", "type": "model"}], "has_more": True, "last_id": f"m-{n}"})

    served = Served(answer)
    listing = probe.list_models(provider, transport=served.transport())
    assert listing.ok and listing.capped
    assert len(served.requests) == probe.MAX_PAGES


@pytest.mark.parametrize("protocol, base, body, words", [
    ("chat", "https://api.openai.com/v1",
     {"error": {"message": "Incorrect API key provided: sk-list-***", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}}, "Incorrect API key provided"),
    ("messages", "https://api.anthropic.com",
     {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, "invalid x-api-key"),
    ("gemini", "https://generativelanguage.googleapis.com",
     {"error": {"code": 401, "message": "API key not valid. Please pass a valid API key.", "status": "UNAUTHENTICATED"}},
     "API key not valid"),
])
def test_a_401_reads_in_plain_words_with_the_providers_message(team, protocol, base, body, words):
    provider = _provider(team, protocol, base)
    listing = probe.list_models(provider, transport=Served(lambda r: _json(body, 401)).transport())
    assert not listing.ok
    assert listing.headline == "The provider did not accept the API key (or the key may not use this model)."
    assert words in listing.detail


def test_geminis_400_for_a_wrong_key_reads_as_a_key_problem(team):
    provider = _provider(team, "gemini", "https://generativelanguage.googleapis.com")
    body = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                      "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}
    listing = probe.list_models(provider, transport=Served(lambda r: _json(body, 400)).transport())
    assert listing.headline.startswith("The provider did not accept the API key")


def test_an_echoed_key_is_redacted_and_a_redirect_not_followed(team):
    provider = _provider(team, "chat", "https://gateway.example/v1")
    listing = probe.list_models(provider, transport=Served(
        lambda r: _json({"error": {"message": f"bad key {KEY}"}}, 403)).transport())
    assert KEY not in listing.detail
    served = Served(lambda r: httpx.Response(302, headers={"location": "https://elsewhere.example/models"}))
    listing = probe.list_models(provider, transport=served.transport())
    assert not listing.ok and "redirect" in listing.headline
    assert len(served.requests) == 1  # the key went nowhere else


def test_a_large_or_unreadable_answer_is_refused(team, monkeypatch):
    provider = _provider(team, "chat", "https://gateway.example/v1")
    monkeypatch.setattr(probe, "MAX_BODY", 1000)
    big = _json({"data": [{"id": f"model-{n}"} for n in range(500)]})
    listing = probe.list_models(provider, transport=Served(lambda r: big).transport())
    assert not listing.ok and "larger than" in listing.detail
    deep = httpx.Response(200, content=b"[" * 5000 + b"]" * 5000)
    listing = probe.list_models(provider, transport=Served(lambda r: deep).transport())
    assert not listing.ok and listing.headline == "The provider's answer could not be read."


def test_names_a_model_id_cannot_have_are_dropped(team):
    provider = _provider(team, "compatible", "http://localhost:11434/v1", key_source="none")
    served = Served(lambda r: _json({"data": [{"id": "llama3.2:latest"}, {"id": "has space"}, {"id": "x" * 201},
                                              {"id": 42}, {"id": "llama3.2:latest"}]}))
    listing = probe.list_models(provider, transport=served.transport())
    assert [m.name for m in listing.models] == ["llama3.2:latest"]
    assert "authorization" not in served.requests[0].headers  # a local server without a key


# --- the pages ------------------------------------------------------------------------------------------


@pytest.fixture
def openai(team):
    return _provider(team, "chat", "https://api.openai.com/v1")


def _fetch(client, provider, served, monkeypatch, **kw):
    real = probe.list_models
    monkeypatch.setattr(probe, "list_models", lambda p: real(p, transport=served.transport()))
    return client.post(reverse("catalog:models_fetch", args=[provider.pk]), **kw)


def test_the_owner_fetches_the_list_and_names_are_escaped(owner_client, openai, monkeypatch):
    served = Served(lambda r: _json({"data": [{"id": "gpt-5.4"}, {"id": "<script>alert(1)</script>"}]}))
    page = _fetch(owner_client, openai, served, monkeypatch).content.decode()
    assert 'value="gpt-5.4"' in page and "preset: GPT-5.4" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert KEY not in page


def test_fetching_is_rate_limited_and_for_owners_only(client, owner_client, user, openai, monkeypatch):
    served = Served(lambda r: _json({"data": [{"id": "gpt-5.4"}]}))
    assert _fetch(owner_client, openai, served, monkeypatch).status_code == 200
    again = _fetch(owner_client, openai, served, monkeypatch)
    assert again.status_code == 429 and "try again in" in again.content.decode()
    assert len(served.requests) == 1
    client.force_login(user)  # an editor
    assert client.post(reverse("catalog:models_fetch", args=[openai.pk])).status_code == 403
    assert client.get(reverse("catalog:models_fetch", args=[openai.pk])).status_code in (403, 405)


def test_ticked_models_are_added_with_preset_settings_or_the_forms_defaults(owner_client, openai, owner):
    make_model(openai, "gpt-4o")
    response = owner_client.post(reverse("catalog:models_from_list", args=[openai.pk]), {
        "models": ["gpt-5.4-mini", "my-finetune", "gpt-4o", "bad name"],
        "label:my-finetune": "My fine-tune",
    })
    assert response.status_code == 302
    mini = ProviderModel.objects.get(provider=openai, name="gpt-5.4-mini")
    assert mini.label == "GPT-5.4 mini" and mini.price_output_per_mtok is not None and "image" in mini.inputs
    tuned = ProviderModel.objects.get(provider=openai, name="my-finetune")
    assert tuned.label == "My fine-tune" and tuned.inputs == [] and tuned.price_input_per_mtok is None
    assert ProviderModel.objects.filter(provider=openai).count() == 3  # gpt-4o kept once, "bad name" refused
    event = AuditEvent.objects.filter(team=openai.team, action=AuditEvent.Action.MODEL_ADDED).latest("pk")
    assert "gpt-5.4-mini" in event.summary and "my-finetune" in event.summary


def test_a_preset_model_keeps_only_what_the_protocol_carries(owner_client, team):
    # A Responses provider listing the Chat preset's audio model: Responses carries no audio.
    provider = _provider(team, "responses", "https://api.openai.com/v1")
    owner_client.post(reverse("catalog:models_from_list", args=[provider.pk]), {"models": ["gpt-4o-audio-preview"]})
    added = ProviderModel.objects.get(provider=provider, name="gpt-4o-audio-preview")
    assert "audio" not in added.inputs


def test_adding_from_the_list_is_for_owners_of_the_team(client, user, other_user, openai):
    url = reverse("catalog:models_from_list", args=[openai.pk])
    client.force_login(user)
    assert client.post(url, {"models": ["gpt-5.4"]}).status_code == 403
    client.force_login(other_user)
    assert client.post(url, {"models": ["gpt-5.4"]}).status_code == 404
    assert not Provider.objects.get(pk=openai.pk).models.exists()


# --- over a real socket: the fake provider's model lists (tests/provider_server.py) --------------------


@pytest.mark.parametrize("protocol, names", [
    ("chat", ["ft:gpt-4o:acme::fake", "gpt-4o", "gpt-4o-mini", "gpt-5.4-mini", "text-embedding-3-small"]),
    ("compatible", ["ft:gpt-4o:acme::fake", "gpt-4o", "gpt-4o-mini", "gpt-5.4-mini", "text-embedding-3-small"]),
    ("responses", ["ft:gpt-4o:acme::fake", "gpt-4o", "gpt-4o-mini", "gpt-5.4-mini", "text-embedding-3-small"]),
    ("messages", ["claude-haiku-4-5", "claude-opus-4-7", "claude-sonnet-4-5"]),
    ("gemini", ["gemini-2.5-flash", "gemini-2.5-pro"]),  # not the embedding model
])
def test_the_fake_provider_lists_its_models_in_each_protocols_format(team, provider_server, protocol, names):
    provider = make_provider(team, provider_server, protocol)
    listing = probe.list_models(provider)
    assert listing.ok, listing
    assert [m.name for m in listing.models] == names
    assert {r.status for r in provider_server.received} == {200}
    assert all(r.path in ("/v1/models", "/v1beta/models") for r in provider_server.received)


@pytest.mark.parametrize("protocol, pages", [("messages", 3), ("gemini", 3)])
def test_the_fake_providers_pages_are_followed(team, provider_server, protocol, pages):
    provider_server.models_page_size = 1
    provider = make_provider(team, provider_server, protocol)
    listing = probe.list_models(provider)
    assert listing.ok and listing.pages == pages and not listing.capped
    assert len(listing.models) == (3 if protocol == "messages" else 2)
    assert len(provider_server.received) == pages


@pytest.mark.parametrize("protocol, words", [
    ("chat", "Incorrect API key provided"), ("messages", "invalid x-api-key"), ("gemini", "API key not valid"),
])
def test_a_wrong_key_at_the_fake_provider(team, provider_server, protocol, words):
    provider = make_provider(team, provider_server, protocol, key="sk-wrong-key-0123456789abcdef")
    listing = probe.list_models(provider)
    assert not listing.ok
    assert listing.headline.startswith("The provider did not accept the API key")
    assert words in listing.detail
    assert "sk-wrong-key-0123456789abcdef" not in listing.detail


def test_a_scripted_failure_and_the_page_end_to_end(owner_client, team, provider_server):
    provider = make_provider(team, provider_server, "messages")
    provider_server.script(["529"])
    page = owner_client.post(reverse("catalog:models_fetch", args=[provider.pk])).content.decode()
    assert "The provider had an error or was overloaded." in page
    cache.clear()
    page = owner_client.post(reverse("catalog:models_fetch", args=[provider.pk])).content.decode()
    assert 'value="claude-opus-4-7"' in page and "Claude Opus 4.7" in page
    owner_client.post(reverse("catalog:models_from_list", args=[provider.pk]),
                      {"models": ["claude-opus-4-7"], "label:claude-opus-4-7": "Claude Opus 4.7"})
    assert provider.models.get().name == "claude-opus-4-7"
