"""anthropic-version (docs/protocols.md §3, "API versions"): Prism's default, what a body for each
version may carry, and the name of the version a body is for (the preview column shows it)."""

import pytest

from playground.protocols import anthropic_messages
from playground.protocols.anthropic_messages import (
    DEFAULT_VERSION,
    NO_SAMPLING_VERSION,
    takes_sampling,
    version,
    version_summary,
)
from playground.protocols.render import render
from playground.protocols.serialize import materialize
from playground.protocols.types import Message, Options, Prompt, Target, TextPart

from .helpers import image, image_url, pdf, pdf_url
from .sdk_check import Invalid, check_typed, validate_params

anthropic = pytest.importorskip("anthropic")

from anthropic._constants import ANTHROPIC_API_VERSION  # noqa: E402
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming  # noqa: E402

from .test_sdk_validation import MessageCreateParams20230601  # noqa: E402

MODEL = "claude-sonnet-4-5"
OLD, NEW = "2023-06-01", "2026-10-21"


def hi(**options):
    return Prompt(messages=[Message("user", [TextPart("Hi")])], options=Options(max_tokens=10, **options))


def test_the_default_is_2023_06_01_and_the_sdk_default_is_the_other_documented_version():
    """Prism's choice (anthropic_messages.DEFAULT_VERSION says why); the SDK installed sends the
    newer one, which the test keeps in view: if the SDK moves past 2026-10-21, this fails."""
    assert DEFAULT_VERSION == OLD
    assert ANTHROPIC_API_VERSION == NO_SAMPLING_VERSION == NEW
    assert anthropic_messages.VERSIONS == (OLD, NEW)


@pytest.mark.parametrize(("api_version", "expected"), [(None, OLD), (OLD, OLD), (NEW, NEW)])
def test_the_version_a_body_is_for_is_the_header_it_is_sent_with(api_version, expected):
    target = Target("messages", MODEL, api_version=api_version)
    r = render(hi(), {}, target)
    assert version(target) == r.headers["anthropic-version"] == expected


def test_what_each_version_takes_in_words():
    assert takes_sampling(OLD) and not takes_sampling(NEW)
    assert version_summary(OLD) == "anthropic-version 2023-06-01: takes temperature (on models that still accept it)"
    assert version_summary(NEW) == "anthropic-version 2026-10-21: no temperature, and no PDFs in assistant turns"


def test_temperature_is_sent_under_2023_06_01_and_left_out_with_a_warning_under_2026_10_21():
    old = render(hi(temperature=0.3), {}, Target("messages", MODEL))
    assert old.ok and materialize(old.body)["temperature"] == 0.3 and old.notes == []
    validate_params(materialize(old.body), MessageCreateParams20230601)
    with pytest.raises(Invalid, match="temperature"):
        check_typed(materialize(old.body), MessageCreateParamsNonStreaming)  # the SDK's own types: 2026-10-21

    new = render(hi(temperature=0.3), {}, Target("messages", MODEL, api_version=NEW))
    assert new.ok and "temperature" not in new.body
    [note] = new.notes
    assert (note.where, note.level) == ("temperature", "warning")
    assert note.message == (
        "API version 2026-10-21 rejects temperature (even at its default): not sent. "
        "Choose anthropic-version 2023-06-01 to set it on models that still accept it."
    )
    validate_params(materialize(new.body), MessageCreateParamsNonStreaming)


def test_temperature_1_left_out_is_only_a_note_nothing_changes():
    """1 is Anthropic's default: leaving it out sends the same request in effect."""
    [note] = render(hi(temperature=1), {}, Target("messages", MODEL, api_version=NEW)).notes
    assert note.level == "info" and "rejects temperature" in note.message
    [note] = render(hi(temperature=1.0), {}, Target("messages", "claude-opus-4-7")).notes
    assert note.level == "info" and "deprecated for this model" in note.message


def test_a_pdf_in_an_assistant_turn_goes_under_2023_06_01_and_is_refused_under_2026_10_21_with_what_to_do():
    p = Prompt(messages=[Message("user", [TextPart("Read this")]), Message("assistant", [pdf(), TextPart("Read.")]),
                         Message("user", [TextPart("Summary?")])], options=Options(max_tokens=10))
    old = render(p, {}, Target("messages", MODEL))
    assert old.ok
    assert materialize(old.body)["messages"][1]["content"][0]["type"] == "document"
    validate_params(materialize(old.body), MessageCreateParams20230601)
    new = render(p, {}, Target("messages", MODEL, api_version=NEW))
    [ref] = new.refusals
    assert (ref.message_index, ref.part_index, ref.modality) == (1, 0, "pdf")
    assert ref.reason == (
        "API version 2026-10-21 rejects document blocks in assistant turns: move the PDF to a user message, "
        "or choose anthropic-version 2023-06-01."
    )
    # The same PDF in a user turn is fine under both.
    q = Prompt(messages=[Message("user", [pdf(), pdf_url(), image(), image_url(), TextPart("Compare")])], options=Options(max_tokens=10))
    for v in (OLD, NEW):
        r = render(q, {}, Target("messages", MODEL, api_version=v))
        assert r.ok
        validate_params(materialize(r.body), MessageCreateParams20230601 if v == OLD else MessageCreateParamsNonStreaming)


@pytest.mark.parametrize("odd", ["2025-01-01", "latest", "2023-01-01"])
def test_a_version_anthropic_does_not_document_for_messages_is_warned(odd):
    r = render(hi(), {}, Target("messages", MODEL, api_version=odd))
    assert r.headers["anthropic-version"] == odd
    [note] = [n for n in r.notes if n.where == "anthropic-version"]
    assert note.level == "warning" and f"anthropic-version {odd} is not one Anthropic documents (2023-06-01, 2026-10-21)" in note.message
    assert not [n for n in render(hi(), {}, Target("messages", MODEL, api_version=NEW)).notes if n.where == "anthropic-version"]
