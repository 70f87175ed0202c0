"""A provider's "Test connection": one tiny real request through providers.send, to the fake provider.

What it shows (the reply's first 200 characters, latency, tokens, or the error in plain words),
who may send it (owners and editors; viewers 403, another team 404), and its bounds: POST with
CSRF, one per user every few seconds, a short timeout, a capped answer, the key only to the base URL
and never on the page or in the log.
"""

import html
import logging

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from playground.catalog import probe
from tests.factories import PROTOCOL_MODELS, make_model, make_provider
from tests.provider_server import DEFAULT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_turns():
    cache.clear()  # the rate limit lives in the cache: each test starts with a free turn
    yield
    cache.clear()


def _url(provider):
    return reverse("catalog:test", args=[provider.pk])


@pytest.fixture
def chat(team, provider_server):
    provider = make_provider(team, provider_server, "chat", name="Fake OpenAI")
    make_model(provider, "gpt-4o")
    return provider


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages", "gemini", "compatible"])
def test_each_protocol_answers_through_the_sending_code(team, provider_server, protocol):
    provider = make_provider(team, provider_server, protocol)
    model = make_model(provider, PROTOCOL_MODELS.get(protocol, "gpt-4o"))
    outcome = probe.test_connection(provider, model)
    assert outcome.ok, outcome
    assert outcome.reply.startswith("[fake]") and "Reply with the single word OK." in outcome.reply
    assert outcome.latency_ms is not None and outcome.latency_ms >= 0
    assert outcome.input_tokens and outcome.output_tokens
    sent = provider_server.received[-1]
    assert sent.status == 200  # the fake provider checked the body against the protocol
    assert sent.model in (None, model.name) or model.name in sent.path


def test_the_page_shows_the_reply_latency_and_tokens_never_the_key(owner_client, chat, provider_server):
    response = owner_client.post(_url(chat), {"model": chat.models.get().pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Connected." in page and "gpt-4o answered in" in page
    assert " in / " in page and "out tokens" in page
    assert "[fake]" in page
    assert DEFAULT_KEY not in page
    assert len(provider_server.received) == 1
    assert provider_server.received[0].path == "/v1/chat/completions"  # the base URL's server, nowhere else


def test_a_long_reply_shows_its_first_200_characters(owner_client, chat, provider_server, monkeypatch):
    monkeypatch.setattr(probe, "PROBE_TEXT", "word " * 200)
    outcome = probe.test_connection(chat, chat.models.get())
    assert outcome.ok and outcome.truncated and len(outcome.reply) == 200


@pytest.mark.parametrize("protocol, spec", [("responses", "incomplete"), ("chat", "length"), ("gemini", "length")])
def test_an_answer_cut_at_the_tiny_cap_still_means_connected(team, provider_server, protocol, spec):
    provider = make_provider(team, provider_server, protocol)
    model = make_model(provider, PROTOCOL_MODELS[protocol])
    provider_server.script([spec])
    outcome = probe.test_connection(provider, model)
    assert outcome.ok and outcome.capped and outcome.finish_reason == "length"


def test_a_wrong_key_reads_as_the_runs_headline_with_the_providers_words(owner_client, team, provider_server, caplog):
    provider = make_provider(team, provider_server, "messages", key="sk-ant-wrong-key-0123456789")
    make_model(provider, "claude-sonnet-4-5")
    with caplog.at_level(logging.DEBUG):
        page = owner_client.post(_url(provider)).content.decode()
    assert "The provider did not accept the API key" in page
    assert "invalid x-api-key" in page  # Anthropic's own message, from its error body
    assert "HTTP 401" in page
    assert "sk-ant-wrong-key-0123456789" not in page and "sk-ant-wrong-key-0123456789" not in caplog.text


def test_an_error_that_echoes_the_key_is_redacted(owner_client, chat, provider_server):
    provider_server.script(["echo:status=401"])
    page = owner_client.post(_url(chat)).content.decode()
    assert "The provider did not accept the API key" in page
    assert DEFAULT_KEY not in page


@pytest.mark.parametrize("spec, headline", [
    ("500", "The provider had an error or was overloaded."),
    ("429", "Rate limited or out of quota at the provider."),
    ("malformed", "The provider's answer was not valid JSON."),
    ("close", "connection"),
])
def test_provider_failures_in_plain_words(owner_client, chat, provider_server, spec, headline):
    provider_server.script([spec])
    page = html.unescape(owner_client.post(_url(chat)).content.decode())
    assert headline in page
    assert len(provider_server.received) == 1  # one attempt: a probe does not retry


def test_a_hanging_provider_is_cut_off_by_the_short_timeout(owner_client, chat, provider_server, monkeypatch):
    monkeypatch.setattr(probe, "TIMEOUT_S", 0.5)
    provider_server.script(["hang"])
    outcome = probe.test_connection(chat, chat.models.get())
    assert not outcome.ok
    assert "time" in outcome.headline.lower()


def test_an_answer_past_the_cap_is_not_read(chat, provider_server, monkeypatch):
    monkeypatch.setattr(probe, "MAX_BODY", 64)
    outcome = probe.test_connection(chat, chat.models.get())
    assert not outcome.ok
    assert "larger than" in outcome.detail


def test_a_refused_connection(owner_client, team):
    from tests.provider_server import refused_port

    with refused_port() as port:
        provider = make_provider(team, name="Nowhere", base_url=f"http://127.0.0.1:{port}/v1", key="sk-nowhere-0123456789")
        make_model(provider, "gpt-4o")
        page = owner_client.post(_url(provider)).content.decode()
    assert "Could not connect" in page or "connect" in page.lower()
    assert "sk-nowhere-0123456789" not in page


def test_one_test_per_user_every_few_seconds(owner_client, chat, provider_server):
    assert owner_client.post(_url(chat)).status_code == 200
    second = owner_client.post(_url(chat))
    assert second.status_code == 429
    assert "try again in" in second.content.decode()
    assert len(provider_server.received) == 1  # the second click sent nothing


def test_one_test_per_provider_every_few_seconds_whoever_sends_it(client, owner, user, chat, provider_server):
    client.force_login(owner)
    assert "Connected." in client.post(_url(chat)).content.decode()
    client.force_login(user)  # another member, the same provider at once
    second = client.post(_url(chat))
    assert second.status_code == 429 and "per provider" in second.content.decode()
    assert len(provider_server.received) == 1


def test_editors_may_test_viewers_may_not_other_teams_see_nothing(client, user, viewer, other_user, chat, provider_server):
    client.force_login(user)  # an editor
    assert client.post(_url(chat)).status_code == 200
    probe.reset_provider_turns(chat)
    assert 'id="probe-section"' in client.get(reverse("catalog:detail", args=[chat.pk])).content.decode()
    client.force_login(viewer)
    assert client.post(_url(chat)).status_code == 403
    assert 'id="probe-section"' not in client.get(reverse("catalog:detail", args=[chat.pk])).content.decode()
    client.force_login(other_user)
    assert client.post(_url(chat)).status_code == 404
    assert len(provider_server.received) == 1


def test_get_is_refused_and_post_needs_csrf(owner, chat, provider_server):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.get(_url(chat)).status_code == 405
    assert strict.post(_url(chat)).status_code == 403  # no CSRF token
    assert len(provider_server.received) == 0


def test_a_provider_without_models_says_add_one(owner_client, team, provider_server):
    provider = make_provider(team, provider_server, "chat")
    response = owner_client.post(_url(provider))
    assert response.status_code == 400
    assert "Add a model first" in response.content.decode()
    assert len(provider_server.received) == 0


def test_a_model_of_another_provider_or_not_a_model_is_not_tested(owner_client, team, chat, provider_server):
    other = make_provider(team, provider_server, "chat", name="Other")
    foreign = make_model(other, "gpt-4o-mini")
    for value in (foreign.pk, "abc", "²", "9" * 5000):
        response = owner_client.post(_url(chat), {"model": value})
        assert response.status_code == 400, value
        assert "Choose one of the provider" in html.unescape(response.content.decode())
    assert len(provider_server.received) == 0


def test_htmx_gets_only_the_result_fragment(owner_client, chat, provider_server):
    page = owner_client.post(_url(chat), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="probe-section").content.decode()
    assert page.lstrip().startswith('<section class="card" id="probe-section"')
    assert "Connected." in page and "<html" not in page
