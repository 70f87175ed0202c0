"""The family tables of tokens.py (docs/protocols.md §6): every family has a source, each table
ends with exactly one explicit fallback, and every preset model is in a family of its own."""

import re

import pytest

from playground.catalog.presets import PRESETS
from playground.protocols.tokens import FAMILIES, family_for, markdown_table
from playground.protocols.types import PROTOCOLS


def test_a_table_per_protocol():
    assert set(FAMILIES) == set(PROTOCOLS)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_family_has_a_source_and_a_valid_pattern(protocol):
    for family in FAMILIES[protocol]:
        assert family.name and family.models and family.source.strip(), family
        re.compile(family.pattern)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_one_explicit_fallback_last(protocol):
    table = FAMILIES[protocol]
    assert table[-1].fallback and not any(f.fallback for f in table[:-1])
    assert family_for(protocol, "no-such-model-xyz") is table[-1]


def _preset_targets():
    for preset in PRESETS.values():
        protocol = "chat" if preset.protocol == "compatible" else preset.protocol
        for model in preset.models:
            yield pytest.param(protocol, model.name, id=f"{preset.key}:{model.name}")


@pytest.mark.parametrize("protocol,model", list(_preset_targets()))
def test_every_preset_model_has_a_family(protocol, model):
    family = family_for(protocol, model)
    assert not family.fallback, f"{model} ({protocol}) falls to the fallback family"


@pytest.mark.parametrize(
    "protocol,model,family",
    [  # first match wins: the more specific names come first
        ("chat", "gpt-4o-mini", "gpt-4o-mini tiles"),
        ("chat", "gpt-4o", "gpt-4o tiles"),
        ("chat", "gpt-5-mini", "gpt-5-mini patches"),
        ("chat", "gpt-5", "gpt-5 tiles"),
        ("chat", "gpt-5.4-nano", "gpt-5.4 mini/nano patches"),
        ("chat", "gpt-5.4", "gpt-5.4 patches"),
        ("chat", "gpt-5.2-chat-latest", "gpt-5.2/5.3 patches"),
        ("chat", "o4-mini", "o4-mini patches"),
        ("chat", "o3", "o1/o3 tiles"),
        ("chat", "o3-mini", "gpt-4o tiles (not recognised)"),  # no vision: no family of its own
        ("chat", "ft:gpt-4o-mini-2024-07-18:acme::abc123", "gpt-4o-mini tiles"),  # a fine-tuned model
        ("chat", "openai/gpt-4.1-nano", "gpt-4.1-nano patches"),
        ("messages", "claude-opus-4-7", "Claude high-resolution tier"),
        ("messages", "claude-opus-4-6", "Claude standard tier"),
        ("gemini", "gemini-2.5-flash-lite", "Gemini 2 tiles"),
        ("gemini", "gemini-3.1-pro-preview", "Gemini 3 media resolution"),
        ("gemini", "gemini-1.5-pro", "Gemini 1.5 tiles"),
        ("gemini", "gemma-3-27b-it", "Gemma 3"),
    ],
)
def test_first_match_wins(protocol, model, family):
    assert family_for(protocol, model).label() == family


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_markdown_table_lists_every_family_with_its_source(protocol):
    table = markdown_table(protocol)
    lines = table.splitlines()
    assert len(lines) == 2 + len(FAMILIES[protocol])
    for family, line in zip(FAMILIES[protocol], lines[2:], strict=True):
        assert line.startswith(f"| {family.label()} |") and family.source in line
