"""Named, versioned text normalisers for word and character error rates.

A WER is only comparable with another WER made with the same normaliser, so each one has a name that
says its version, and a stored score names the one it used. A normaliser's output never changes under
its name: a change of behaviour is a new name (``-v2``), and tests/scoring/test_normalise.py pins
each one's output on known sentences.

- ``whisper-english-v1``: OpenAI Whisper's English normaliser (the one in the Whisper paper, appendix C,
  and on public ASR leaderboards), as packaged by ``whisper-normalizer`` 0.1.15 (pinned in
  requirements.txt): lower case, drop [bracketed] and (parenthesised) text and the fillers hmm/mm/mhm/
  mmm/uh/um, expand contractions and titles ("won't" → "will not", "mr" → "mister"), strip symbols and
  diacritics, spoken numbers to digits ("twenty five dollars" → "$25"), British to American spelling,
  collapse spaces. ``WhisperEnglishV1`` below gives the package's output exactly (a test compares them
  on thousands of sentences) about ten times faster: the package runs ~60 regular expressions per
  call, most of which cannot match; here each is skipped when the literal text it needs is absent.
- ``basic-v1``: Prism's own, for any language: Unicode NFKC, lower case (casefold), every punctuation
  and symbol character (Unicode categories P* and S*) to a space, spaces collapsed. Numbers stay as
  written ("25" and "twenty five" differ); accents and marks are kept.
- ``none``: the text as it is, spaces collapsed (jiwer splits on whitespace anyway).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

NORMALISERS: dict[str, str] = {
    "whisper-english-v1": "Whisper's English normaliser (whisper-normalizer 0.1.15): lower case, no punctuation, "
    "contractions expanded, spoken numbers as digits, American spelling",
    "basic-v1": "Lower case, punctuation and symbols removed, spaces collapsed; numbers as written; any language",
    "none": "The text as it is (only spaces collapsed)",
}
DEFAULT_NORMALISER = "whisper-english-v1"

_SPACES = re.compile(r"\s+")


def _basic_v1(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_PUNCT_TABLE) if text.isascii() else "".join(
        " " if unicodedata.category(c)[0] in "PS" else c for c in text
    )
    return " ".join(text.split())


_PUNCT_TABLE = {i: " " for i in range(128) if unicodedata.category(chr(i))[0] in "PS"}


def _none(text: str) -> str:
    return " ".join(text.split())


class WhisperEnglishV1:
    """whisper_normalizer.english.EnglishTextNormalizer's __call__, step for step, with the steps that
    cannot change the text skipped. Built from the package's own tables (contractions, number words,
    spellings), so the output is the package's."""

    def __init__(self) -> None:
        from whisper_normalizer.english import EnglishTextNormalizer

        self._reference = EnglishTextNormalizer()
        ref = self._reference
        self._pre = [
            (re.compile(r"[<\[][^>\]]*[>\]]"), "", ("<", "[")),
            (re.compile(r"\(([^)]+?)\)"), "", ("(",)),
            (re.compile(ref.ignore_patterns), "", ("hm", "mm", "uh", "um")),
            (re.compile(r"\s+'"), "'", ("'",)),
        ]
        self._replacers = []
        for pattern, replacement in ref.replacers.items():
            literal = pattern.replace(r"\b", "")
            # A pattern that is plain text apart from \b can only match where that text is; any other is
            # always run (None).
            needs = literal if re.fullmatch(r"[a-z' ]+", literal) else None
            self._replacers.append((re.compile(pattern), replacement, needs))
        self._digit_commas = re.compile(r"(\d),(\d)")
        self._periods = re.compile(r"\.([^0-9]|$)")
        self._tail_symbols = re.compile(r"[.$¢€£]([^0-9])")
        self._tail_percent = re.compile(r"([^0-9])%")
        self._keep = ".%$¢€£"
        self._ascii_symbols = {
            i: " " for i in range(128) if chr(i) not in self._keep and unicodedata.category(chr(i))[0] in "MSP"
        }
        numbers = ref.standardize_numbers
        # The number normaliser leaves text alone (but for spacing) unless it holds a digit, "and a half",
        # or a word of its vocabulary other than "and" ("and" alone is passed through: see process_words).
        self._number_words = frozenset(numbers.words - {"and"})
        self._and_a_half = re.compile(r"\band\s+a\s+half\b")
        self._numbers = numbers
        self._spellings = ref.standardize_spellings.mapping

    def _standardise_numbers(self, s: str) -> str:
        """EnglishNumberNormalizer.__call__(s), with process_words run only on the runs of words between
        plain words. A plain word (no digit, not in its vocabulary) is a barrier in process_words: it is
        output as it is, it leaves no state behind (value and prefix are flushed, skip is never set
        before one), and as a neighbour it tests like the list's ends (in no table, not numeric)."""
        numbers = self._numbers
        s = numbers.preprocess(s)
        vocabulary = numbers.words
        digit = _ASCII_DIGIT if s.isascii() else _ANY_DIGIT
        out: list[str] = []
        run: list[str] = []
        for word in s.split():
            if word in vocabulary or digit.search(word):
                run.append(word)
                continue
            if run:
                out.extend(numbers.process_words(run))
                run = []
            out.append(word)
        if run:
            out.extend(numbers.process_words(run))
        return numbers.postprocess(" ".join(w for w in out if w is not None))

    def __call__(self, s: str) -> str:
        s = s.lower()
        for pattern, replacement, needs in self._pre:
            if any(n in s for n in needs):
                s = pattern.sub(replacement, s)
        for pattern, replacement, needs in self._replacers:
            if needs is None or needs in s:
                s = pattern.sub(replacement, s)
        has_digit = any(c.isdigit() for c in s) if not s.isascii() else bool(_ASCII_DIGIT.search(s))
        if has_digit and "," in s:
            s = self._digit_commas.sub(r"\1\2", s)
        if "." in s:
            s = self._periods.sub(r" \1", s)
        if s.isascii():
            s = s.translate(self._ascii_symbols)
        else:
            from whisper_normalizer.basic import remove_symbols_and_diacritics

            s = remove_symbols_and_diacritics(s, keep=self._keep)
            has_digit = any(c.isdigit() for c in s)
        words = s.split()
        if has_digit or not self._number_words.isdisjoint(words) or ("half" in s and self._and_a_half.search(s)):
            words = self._standardise_numbers(s).split()
        get = self._spellings.get
        s = " ".join([get(w, w) for w in words])
        if any(c in s for c in ".$¢€£"):
            s = self._tail_symbols.sub(r" \1", s)
        if "%" in s:
            s = self._tail_percent.sub(r"\1 ", s)
        return _SPACES.sub(" ", s)


_ASCII_DIGIT = re.compile(r"[0-9]")
_ANY_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=4)
def _build(name: str) -> Callable[[str], str]:
    if name == "whisper-english-v1":
        return lru_cache(maxsize=8192)(WhisperEnglishV1())
    if name == "basic-v1":
        return lru_cache(maxsize=8192)(_basic_v1)
    if name == "none":
        return _none
    raise ValueError(f"unknown normaliser {name!r}: choose one of {', '.join(NORMALISERS)}")


def get_normaliser(name: str) -> Callable[[str], str]:
    """The normaliser called ``name`` (one of NORMALISERS), made once per process. Its results are
    memoised (8,192 texts): an evaluation scores the same reference for every model and arm, and WER and
    CER normalise the same pair."""
    return _build(name)


def normalise(name: str, text: str) -> str:
    return get_normaliser(name)(text)

