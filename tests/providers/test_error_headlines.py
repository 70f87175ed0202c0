"""Each way a call can fail on the wire gets its own plain headline (``error.headline``), not
"The request failed.": a timeout says how long was waited, a connection closed mid-answer says
so, an answer that is not JSON or not the protocol's response says which. Every case is real:
the fake provider on loopback (tests/provider_server.py) hangs, cuts, garbles, or is not there.
"""

import json

import pytest

from playground.protocols import Target, render
from playground.providers import NO_RETRY, Timeouts
from tests.provider_server import refused_port

from . import cat_prompt, rendered_for, send_one


def failed(server, spec, protocol="chat", **kw):
    server.script([spec])
    outcome = send_one(rendered_for(server, protocol), retry_policy=NO_RETRY, **kw)
    assert not outcome.ok and outcome.error is not None
    # The headline goes with the attempt, which is what a run stores.
    assert outcome.attempts[-1].error["headline"] == outcome.error.headline
    json.dumps(outcome.to_dict())
    return outcome.error


def test_a_provider_that_never_answers(provider_server):
    e = failed(provider_server, "hang", timeouts=Timeouts(read=0.3, total=0.3))
    assert e.headline == "The provider did not answer within 0.3 s (the provider's timeout)."
    assert e.kind == "timeout"


def test_a_read_timeout_without_a_total_says_read_timeout(provider_server):
    e = failed(provider_server, "hang", timeouts=Timeouts(read=0.3))
    assert e.headline == "The provider did not answer within 0.3 s (the read timeout)."


def test_a_connection_closed_mid_answer(provider_server):
    e = failed(provider_server, "cut")
    assert e.headline == "The connection was closed before the answer was complete."
    assert e.kind == "connection"


def test_a_connection_closed_before_any_answer(provider_server):
    e = failed(provider_server, "close")
    assert e.headline == f"127.0.0.1:{provider_server.port} closed the connection without answering."


def test_an_answer_that_is_not_http(provider_server):
    e = failed(provider_server, "garbage")
    assert e.headline == "The provider's answer was not a valid HTTP response."


def test_an_answer_that_is_not_json(provider_server):
    e = failed(provider_server, "malformed")
    assert e.headline == "The provider's answer was not valid JSON."
    assert e.kind == "malformed" and "not valid JSON" in e.message  # the detail keeps the excerpt


@pytest.mark.parametrize(
    "protocol, label",
    [("chat", "OpenAI Chat"), ("responses", "OpenAI Responses"), ("messages", "Anthropic"), ("gemini", "Gemini")],
)
def test_json_that_is_not_the_protocols_response(provider_server, protocol, label):
    e = failed(provider_server, "invalid", protocol)
    assert e.headline == f"The provider's answer was not a valid {label} response."


def test_nothing_listening():
    with refused_port() as port:
        target = Target("chat", "gpt-4o", base_url=f"http://127.0.0.1:{port}/v1")
        outcome = send_one(render(cat_prompt(), {}, target), retry_policy=NO_RETRY)
    assert outcome.error.headline == f"Could not connect to 127.0.0.1:{port}."


def test_tls_to_a_server_that_does_not_speak_it(provider_server):
    # https:// to the fake provider's plain HTTP port: the TLS handshake fails.
    rendered = render(cat_prompt(), {}, Target("chat", "gpt-4o", base_url=f"https://127.0.0.1:{provider_server.port}/v1"))
    outcome = send_one(rendered, retry_policy=NO_RETRY)
    assert outcome.error.headline == f"Could not connect securely to 127.0.0.1:{provider_server.port}: the TLS handshake failed."


def test_http_errors_keep_their_own_words(provider_server):
    # A 429 is described by the run page from its status; no transport headline is invented.
    e = failed(provider_server, "429")
    assert e.headline is None and e.status == 429

