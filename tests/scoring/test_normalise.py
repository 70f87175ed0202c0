"""The named normalisers: each one's output pinned on known sentences, and whisper-english-v1 equal to
the whisper-normalizer package's EnglishTextNormalizer (which it speeds up) on many generated texts."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whisper_normalizer.english import EnglishTextNormalizer

from playground.scoring.normalise import NORMALISERS, WhisperEnglishV1, get_normaliser, normalise

WHISPER = EnglishTextNormalizer()
FAST = WhisperEnglishV1()


@pytest.mark.parametrize(("text", "expected"), [
    ("Mr. Smith bought twenty-five apples for $3.50, didn't he?", "mister smith bought 25 apples for $3.50 did not he"),
    ("I won't go [noise] (laughs) um now", "i will not go now"),
    ("The colour of the centre", "the color of the center"),
    ("One oh one point five percent", "101.5%"),
    ("He was born in the 1960s, the first of two.", "he was born in the 1960s the 1st of 2"),
    ("Café naïve — “quoted”", "cafe naive quoted"),
    ("ten thousand dollars and fifty cents", "$10000.50"),
    ("", ""),
])
def test_whisper_english_v1_pinned(text, expected):
    assert normalise("whisper-english-v1", text) == expected
    assert WHISPER(text) == expected  # the package this name is pinned to says the same


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello,   World!", "hello world"),
    ("It's 25 — twenty-five.", "it s 25 twenty five"),  # numbers as written; punctuation is a space
    ("ＡＢＣ café", "abc café"),  # NFKC folds full-width letters; accents are kept
    ("Straße", "strasse"),  # casefold
    ("$5 + 3 = 8", "5 3 8"),  # symbols too
    ("  \n ", ""),
])
def test_basic_v1_pinned(text, expected):
    assert normalise("basic-v1", text) == expected


def test_none_only_collapses_spaces():
    assert normalise("none", "  Hello,\n World! ") == "Hello, World!"


def test_unknown_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown normaliser 'whisper-v9'.*basic-v1"):
        get_normaliser("whisper-v9")
    assert set(NORMALISERS) == {"whisper-english-v1", "basic-v1", "none"}


NUMBERISH = ("o oh zero one two three eleven twenty thirty first second third fifth twelfth twentieth ones twos "
             "sixes twenties hundred thousand million hundredth millions minus negative plus positive pound pounds "
             "euro euros dollar dollars cent cents per percent and double triple point half a 1 2 10 1.5 3.14 $5 £3 "
             "-2 +7 1st 2nd 1960s 100 0 007 1,000 ¢7 €2").split()
PLAIN = ("the cat is a it won't can't mr. mrs dr st. colour centre café naïve hmm um [noise] (laugh) i'm you're "
         "he'd they'll we've it's o'brien , . ! ? % $ £ - — “x” × ² ½ e.g.").split()


def test_whisper_english_v1_equals_the_package_on_generated_text():
    rng = random.Random(11)
    for _ in range(20_000):
        words = [rng.choice(NUMBERISH if rng.random() < 0.5 else PLAIN) for _ in range(rng.randint(0, 14))]
        text = " ".join(words)
        if rng.random() < 0.2:  # words run together: "5dollars", "a1st"
            text = text.replace(" ", "", rng.randint(1, 3))
        if rng.random() < 0.2:
            text = text.upper()
        assert FAST(text) == WHISPER(text), text


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdeot 0123456789.,$%£¢'-[]()<>éß’\n")), max_size=40))
def test_whisper_english_v1_equals_the_package_on_any_text(text):
    assert FAST(text) == WHISPER(text)


def test_memoised_normaliser_is_shared_and_still_right():
    n = get_normaliser("whisper-english-v1")
    assert n is get_normaliser("whisper-english-v1")
    assert n("Twenty Two") == n("twenty two") == "22"
