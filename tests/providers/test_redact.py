"""A key a server echoes back is redacted in every form and every place: the fake provider's
``echo`` behaviour sends it JSON-escaped, half escaped, base64 and percent-encoded in its body and
plain in ``x-request-id`` / ``request-id`` (tests/provider_server.py)."""

import base64
import json

import pytest

from playground.providers import NO_RETRY
from playground.providers.redact import REDACTED, Redactor
from tests.provider_server import echo_forms

from . import KEY, PROTOCOLS, rendered_for, send_one

ODD_KEY = "sk-odd+Key/With=Plus7Hq2Zx9Lm4Pw8"  # base64 and percent forms differ from the plain text


def everything(outcome) -> str:
    return json.dumps(outcome.to_dict()) + repr(outcome) + str(outcome.error)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_answer_echoing_the_key_json_escaped_is_redacted_after_parsing(provider_server, protocol):
    provider_server.script(["echo"])
    outcome = send_one(rendered_for(provider_server, protocol), retry_policy=NO_RETRY)

    assert outcome.ok, outcome.error
    text = outcome.result.output_text
    assert text.startswith(f"[fake] key escaped={REDACTED} mixed={REDACTED} b64={REDACTED} pct={REDACTED} images=1")
    assert outcome.response_json["prism_echo"] == {"auth": text.split(" images=")[0].removeprefix("[fake] key "),
                                                   "id": text.split(" images=")[0].removeprefix("[fake] key ")}
    assert outcome.request_id == REDACTED and outcome.attempts[0].request_id == REDACTED  # the header was the key
    assert KEY not in everything(outcome) and "\\u0073\\u006b" not in everything(outcome)


@pytest.mark.parametrize("spec", ["echo:status=400", "echo:status=401", "echo:status=502,html"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_error_echoing_the_key_is_redacted(provider_server, protocol, spec):
    provider_server.script([spec])
    outcome = send_one(rendered_for(provider_server, protocol), retry_policy=NO_RETRY)

    assert not outcome.ok and outcome.status == int(spec.split("=")[1].split(",")[0])
    assert f"escaped={REDACTED} mixed={REDACTED} b64={REDACTED} pct={REDACTED}" in outcome.error.message
    assert outcome.request_id == REDACTED
    dumped = everything(outcome)
    for form in (KEY, base64.b64encode(KEY.encode()).decode(), "\\u0073\\u006b", "%73%6B"):
        assert form not in dumped, form


def test_every_form_is_found_in_text_bytes_and_parsed_json():
    redact = Redactor(ODD_KEY)
    forms = echo_forms(ODD_KEY)  # as JSON text
    assert redact.text(forms) == f"escaped={REDACTED} mixed={REDACTED} b64={REDACTED} pct={REDACTED}"
    assert redact.bytes(forms.encode()) == redact.text(forms).encode()
    assert redact.text("%73%6b%2d%6f%64%64%2b" + ODD_KEY[7:]) == REDACTED  # lower-case hex, part-encoded
    assert redact.text(ODD_KEY.replace("/", "\\/")) == REDACTED  # JSON's escaped solidus
    assert redact.text(f"a {ODD_KEY.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')} b") == f"a {REDACTED} b"
    for prefix in ("user:", "ab:", "a:"):  # inside a longer base64 text, at each of the three alignments
        basic = base64.b64encode(f"{prefix}{ODD_KEY}".encode()).decode()
        assert REDACTED in redact.text(basic) and len(redact.text(basic)) < len(basic) - 20
    assert redact.deep({"k": [ODD_KEY, {ODD_KEY: (1, ODD_KEY)}], "n": 3}) == {
        "k": [REDACTED, {REDACTED: (1, REDACTED)}], "n": 3}


def test_text_without_the_key_is_left_alone_and_short_keys_are_not_redacted():
    redact = Redactor(ODD_KEY)
    for text in ("50% of sk-odd+Key", "\\u0073\\u006b-odd", base64.b64encode(b"nothing to see here").decode(), ""):
        assert redact.text(text) == text
    assert Redactor("abc").text("abc abc") == "abc abc" and Redactor(None).deep({"a": "b"}) == {"a": "b"}
