"""A word-level diff of two texts, for comparing two models' outputs.

    word_diff("the red circle", "the blue circle")
    -> [Segment("same", "the "), Segment("del", "red"), Segment("ins", "blue"), Segment("same", " circle")]

Texts are split into words, runs of whitespace and single punctuation marks, so a changed word
is marked alone and "cat." vs "cat!" marks only the mark. Joining the "same" and "del" segments
gives the first text back, "same" and "ins" the second (tested). Segments hold plain text: the
template escapes it.

difflib's matcher is quadratic in the worst case, so very long outputs are compared on their
first MAX_TOKENS tokens and the rest is shown as one replaced block (``truncated`` says so).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

MAX_TOKENS = 20_000
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Segment:
    op: str  # "same" | "del" | "ins"
    text: str


@dataclass
class WordDiff:
    segments: list[Segment]
    truncated: bool = False

    @property
    def inserted(self) -> int:
        return sum(1 for s in self.segments if s.op == "ins" and s.text.strip())

    @property
    def deleted(self) -> int:
        return sum(1 for s in self.segments if s.op == "del" and s.text.strip())

    @property
    def identical(self) -> bool:
        return all(s.op == "same" for s in self.segments)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def word_diff(a: str, b: str) -> WordDiff:
    ta, tb = tokens(a), tokens(b)
    truncated = len(ta) > MAX_TOKENS or len(tb) > MAX_TOKENS
    head_a, tail_a = ta[:MAX_TOKENS], ta[MAX_TOKENS:]
    head_b, tail_b = tb[:MAX_TOKENS], tb[MAX_TOKENS:]
    out: list[Segment] = []

    def add(op: str, words: list[str]) -> None:
        text = "".join(words)
        if not text:
            return
        if out and out[-1].op == op:
            out[-1] = Segment(op, out[-1].text + text)
        else:
            out.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in _opcodes(head_a, head_b):
        if tag == "equal":
            add("same", head_a[i1:i2])
        else:
            add("del", head_a[i1:i2])
            add("ins", head_b[j1:j2])
    if tail_a != tail_b:
        add("del", tail_a)
        add("ins", tail_b)
    else:
        add("same", tail_a)
    return WordDiff(out, truncated)


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with a lone space between two changes folded into them, so "red
    circle" -> "blue square" reads as one replaced phrase rather than two words and a space."""
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    out: list[list] = []
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        between = 0 < k < len(ops) - 1 and ops[k - 1][0] != "equal" and ops[k + 1][0] != "equal"
        if tag == "equal" and between and all(not t.strip() for t in a[i1:i2]):
            tag = "replace"
        if out and tag != "equal" and out[-1][0] != "equal":
            out[-1][2], out[-1][4] = i2, j2
        else:
            out.append([tag if tag == "equal" else "replace", i1, i2, j1, j2])
    return [tuple(o) for o in out]
