"""The word-level diff between two outputs."""

import random

from playground.runs import wdiff
from playground.runs.wdiff import Segment, word_diff


def _sides(d):
    left = "".join(s.text for s in d.segments if s.op != "ins")
    right = "".join(s.text for s in d.segments if s.op != "del")
    return left, right


def test_it_marks_a_changed_word_alone():
    d = word_diff("The red circle is left.", "The blue circle is left.")
    assert d.segments == [Segment("same", "The "), Segment("del", "red"), Segment("ins", "blue"),
                          Segment("same", " circle is left.")]
    assert (d.inserted, d.deleted, d.identical) == (1, 1, False)


def test_a_phrase_replaced_reads_as_one_change():
    d = word_diff("a red circle here", "a blue square here")
    assert d.segments == [Segment("same", "a "), Segment("del", "red circle"), Segment("ins", "blue square"),
                          Segment("same", " here")]


def test_punctuation_is_its_own_token():
    d = word_diff("cat.", "cat!")
    assert d.segments == [Segment("same", "cat"), Segment("del", "."), Segment("ins", "!")]


def test_identical_and_empty_texts():
    assert word_diff("same text", "same text").identical
    assert word_diff("", "").segments == []
    assert word_diff("", "new").segments == [Segment("ins", "new")]
    assert word_diff("old", "").segments == [Segment("del", "old")]


def test_both_texts_are_recovered_exactly():
    rng = random.Random(7)
    words = ["the", "cat", "sat", "on", "a", "mat", ".", ",", "\n", "  ", "é", "<b>", "🙂"]
    for _ in range(200):
        a = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        assert _sides(word_diff(a, b)) == (a, b)


def test_long_texts_are_cut_for_the_matcher_and_still_recovered(monkeypatch):
    monkeypatch.setattr(wdiff, "MAX_TOKENS", 10)
    a = "one two three four five six seven eight nine ten eleven"
    b = "one two three four five six seven eight nine ten twelve"
    d = word_diff(a, b)
    assert d.truncated
    assert _sides(d) == (a, b)
