"""Every "§N" cited in the code names a section that docs/protocols.md has.

In this project "§" means a section of docs/protocols.md, the protocol reference (cite another document
by name and "section", not "§"). A citation is "§3", "§8.14", a list ("§0, §5") or a range: "§1–5" is
1 to 5, "§8.15–18" is 8.15 to 8.18. The document's sections are its numbered headings: "## 3. Anthropic
Messages", "### 8.14 Size checks". A citation with no such heading fails with its file and line, so a
renumbered or deleted section cannot leave the code pointing at nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocols.md"
SCANNED = ("playground", "templates", "static", "tests")
SUFFIXES = {".py", ".html", ".txt", ".js", ".css", ".md"}
THIS_FILE = Path(__file__).resolve()

_SECTION = r"(\d+(?:\.\d+)?)"
CITATION = re.compile(rf"§\s*{_SECTION}(?:\s*[–-]\s*{_SECTION})?")
HEADING = re.compile(r"^#{2,3}\s+(\d+(?:\.\d+)?)(?:\.|\s)", re.MULTILINE)
ENTITIES = ("&sect;", "&#167;", "&#xa7;", "&#xA7;")


def sections_cited(text: str) -> list[str]:
    """The section numbers a piece of text cites, ranges expanded, in order."""
    for entity in ENTITIES:
        text = text.replace(entity, "§")
    found: list[str] = []
    for match in CITATION.finditer(text):
        start, end = match.group(1), match.group(2)
        found.extend(_expand(start, end) if end else [start])
    return found


def _expand(start: str, end: str) -> list[str]:
    if "." not in start:  # §1–5
        return [str(n) for n in range(int(start), int(end.split(".")[0]) + 1)]
    major, first = start.split(".")
    last = end.split(".")[-1]  # §8.15–18 and §8.15–8.18 alike
    return [f"{major}.{n}" for n in range(int(first), int(last) + 1)]


def doc_sections() -> set[str]:
    return set(HEADING.findall(DOC.read_text(encoding="utf-8")))


def citations() -> list[tuple[str, str]]:
    """(file:line, section) for every citation in the scanned folders."""
    rows = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or path.resolve() == THIS_FILE:
                continue
            if any(part in {"__pycache__", "node_modules", ".venv"} for part in path.parts):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if "§" not in text and "&sect;" not in text and "&#" not in text:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                for section in sections_cited(line):
                    rows.append((f"{path.relative_to(ROOT)}:{number}", section))
    return rows


@pytest.mark.parametrize(
    "text,expected",
    [
        ("protocols.md §7", ["7"]),
        ("(docs/protocols.md §0, §5)", ["0", "5"]),
        ("protocols.md §1–5, §8.15–18", ["1", "2", "3", "4", "5", "8.15", "8.16", "8.17", "8.18"]),
        ("§8.15–8.18", ["8.15", "8.16", "8.17", "8.18"]),
        ("(§3, [2nd])", ["3"]),
        ("§6: (audio rate − text rate)", ["6"]),
        ("see &sect;8.9 in the template", ["8.9"]),
        ("no citation here, 3 sections", []),
    ],
)
def test_citations_are_read_with_lists_and_ranges(text, expected):
    assert sections_cited(text) == expected


def test_the_document_numbers_its_sections_once_each():
    numbers = HEADING.findall(DOC.read_text(encoding="utf-8"))
    assert [n for n in numbers if numbers.count(n) > 1] == []
    assert {str(n) for n in range(9)} <= set(numbers), "sections 0 to 8 keep the shared reference's numbering"


def test_every_citation_resolves_to_a_section_of_the_same_number():
    found = citations()
    assert len(found) > 30, "the scan found almost no citations: is it still reading the right folders?"
    have = doc_sections()
    unresolved = [f"{where}: §{section}" for where, section in found if section not in have]
    assert unresolved == [], "citations with no matching heading in docs/protocols.md:\n" + "\n".join(unresolved)
