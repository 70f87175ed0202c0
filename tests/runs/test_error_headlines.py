"""A failed result's card says what went wrong when Prism knows it: the provider's timeout, a
connection closed mid-answer, an answer that is not JSON or not the protocol's response, no
server listening, a failed TLS handshake. Never just "The request failed.".

Each run is real: sent in this process (sending.execute) to the fake provider on loopback
(tests/provider_server.py), which hangs, cuts or garbles its answer as the model name asks.
"""

import html as htmllib
import re

import pytest
from django.urls import reverse

from playground.runs import sending, services
from playground.runs.models import Result
from tests.factories import make_model, make_provider
from tests.provider_server import refused_port


@pytest.fixture(autouse=True)
def no_retries(settings):
    settings.PRISM_RUN_MAX_RETRIES = 0
    settings.PRISM_RESULT_LEASE_S = 3


def run_one(team, user, version, provider):
    model = make_model(provider, "gpt-4o")
    run = services.start_run(version=version, values={"subject": "a cat"}, provider_models=[model], user=user, team=team)
    [result] = run.results.all()
    sending.execute(result.pk)
    result.refresh_from_db()
    assert result.status == Result.Status.FAILED
    return run, result


def card_text(client, run, result) -> tuple[str, str]:
    """(headline, the rest of the error box) as a person reads them."""
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    start = page.index(f'id="result-{result.pk}"')
    card = page[start : page.index("</article>", start)]
    box = re.search(r'<div class="rerror" role="alert">(.*?)</div>', card, re.S).group(1)
    headline = re.search(r'<p class="rerror-plain">(.*?)</p>', box, re.S).group(1)
    text = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", box)).split())
    return htmllib.unescape(headline), text


def scripted(team, server, spec, **kw):
    return make_provider(team, server, "chat", name=spec, **kw)


@pytest.mark.parametrize(
    "spec, headline",
    [
        ("cut", "The connection was closed before the answer was complete."),
        ("malformed", "The provider's answer was not valid JSON."),
        ("invalid", "The provider's answer was not a valid OpenAI Chat response."),
        ("garbage", "The provider's answer was not a valid HTTP response."),
    ],
)
def test_each_known_cause_has_its_own_headline(client_logged_in, team, user, text_version, provider_server, spec, headline):
    provider = scripted(team, provider_server, spec)
    provider_server.script([spec])
    run, result = run_one(team, user, text_version, provider)

    shown, text = card_text(client_logged_in, run, result)

    assert shown == headline
    assert "The request failed." not in text
    # The technical detail stays, labelled as Prism's, not as something the provider said.
    assert result.error_message and result.error_message[:40] in text
    assert "Details:" in text and "The provider said" not in text


def test_the_providers_timeout(client_logged_in, team, user, text_version, provider_server):
    provider = scripted(team, provider_server, "hang", timeout_s=1)
    provider_server.script(["hang"])
    run, result = run_one(team, user, text_version, provider)

    shown, _ = card_text(client_logged_in, run, result)

    assert shown == "The provider did not answer within 1 s (the provider's timeout)."
    assert result.error_kind == "timeout"


def test_nothing_listening(client_logged_in, team, user, text_version, provider_server):
    provider = scripted(team, provider_server, "down")
    with refused_port() as port:
        provider.base_url = f"http://127.0.0.1:{port}/v1"
        provider.save()
        run, result = run_one(team, user, text_version, provider)

    assert card_text(client_logged_in, run, result)[0] == f"Could not connect to 127.0.0.1:{port}."


def test_a_failed_tls_handshake(client_logged_in, team, user, text_version, provider_server):
    provider = scripted(team, provider_server, "tls")
    provider.base_url = f"https://127.0.0.1:{provider_server.port}/v1"  # the fake speaks plain HTTP only
    provider.save()
    run, result = run_one(team, user, text_version, provider)

    shown, _ = card_text(client_logged_in, run, result)
    assert shown == f"Could not connect securely to 127.0.0.1:{provider_server.port}: the TLS handshake failed."


def test_results_stored_before_headlines_still_say_their_kind(client_logged_in, team, user, text_version, provider_server):
    # A result failed by an older Prism: no headline in its attempts, only error_kind.
    provider = scripted(team, provider_server, "old")
    provider_server.script(["close"])
    run, result = run_one(team, user, text_version, provider)
    for kind, expected in [
        ("timeout", "The provider did not answer in time."),
        ("connection", "Could not connect to the provider, or the connection broke before the answer was complete."),
        ("malformed", "The provider's answer could not be read."),
    ]:
        attempts = [{**a, "error": {k: v for k, v in (a.get("error") or {}).items() if k != "headline"}} for a in result.attempts]
        Result.objects.filter(pk=result.pk).update(error_kind=kind, attempts=attempts)
        assert card_text(client_logged_in, run, result)[0] == expected
