"""The token formulas' reference, docs/protocols.md §6, names every model family of
playground/protocols/tokens.py (its tables): a family added to the code but not to the reference,
or renamed in one and not the other, fails here."""

from pathlib import Path

from playground.protocols import tokens

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols.md"


def section_6() -> str:
    text = DOCS.read_text(encoding="utf-8")
    return text[text.index("## 6."):text.index("## 7.")]


def test_every_family_of_the_token_tables_is_in_the_reference():
    s6 = section_6()
    missing = sorted({f.label() for families in tokens.FAMILIES.values() for f in families if f.label() not in s6})
    assert missing == []
