"""WER and CER: known sentence pairs by hand, and counts and alignments equal to jiwer's."""

import random

import jiwer
import pytest

from playground.scoring.registry import make_scorer, score
from playground.scoring.scorers import align

WER = make_scorer("wer", {"normaliser": "none"})
CER = make_scorer("cer", {"normaliser": "none"})


@pytest.mark.parametrize(("ref", "hyp", "s", "d", "i", "wer"), [
    ("the cat sat on the mat", "the cat sat on the mat", 0, 0, 0, 0.0),
    ("the cat sat on the mat", "the cat sat on mat", 0, 1, 0, 1 / 6),
    ("the cat sat on the mat", "the dog sat on the mat", 1, 0, 0, 1 / 6),
    ("the cat sat", "the cat sat down there", 0, 0, 2, 2 / 3),  # inserts: WER can pass 1 in general
    ("a b", "c d e f", 2, 0, 2, 2.0),
    ("hello world", "", 0, 2, 0, 1.0),
])
def test_wer_of_known_pairs(ref, hyp, s, d, i, wer):
    got = WER(hyp, ref)
    assert (got.details["substitutions"], got.details["deletions"], got.details["insertions"]) == (s, d, i)
    assert got.value == pytest.approx(wer)
    assert got.passed is None  # no max_rate: a rate, not a verdict


def test_wer_alignment_for_the_view():
    got = WER("the quick brown fox jumped over a lazy dog fast", "the quick brown fox jumps over the lazy dog")
    assert got.details["alignment"] == [
        {"type": "equal", "ref": ["the", "quick", "brown", "fox"], "hyp": ["the", "quick", "brown", "fox"]},
        {"type": "substitute", "ref": ["jumps"], "hyp": ["jumped"]},
        {"type": "equal", "ref": ["over"], "hyp": ["over"]},
        {"type": "substitute", "ref": ["the"], "hyp": ["a"]},
        {"type": "equal", "ref": ["lazy", "dog"], "hyp": ["lazy", "dog"]},
        {"type": "insert", "ref": [], "hyp": ["fast"]},
    ]
    assert got.explanation == "WER 33.3%: 2 substituted, 0 deleted, 1 inserted of 9 reference words (none)"


def test_cer_counts_characters_and_spaces():
    got = CER("kitten sat", "sitting sat")  # kitten→sitting is 3 edits of the 11 characters "sitting sat"
    assert got.value == pytest.approx(3 / 11)
    assert got.details["reference_length"] == 11


def test_the_normaliser_applies_before_counting():
    raw = score("wer", {"normaliser": "none"}, "Mr. Smith didn't go.", "mister smith did not go")
    whisper = score("wer", {"normaliser": "whisper-english-v1"}, "Mr. Smith didn't go.", "mister smith did not go")
    assert raw.value > 0 and whisper.value == 0.0
    assert whisper.details["normaliser"] == "whisper-english-v1"
    assert "(whisper-english-v1)" in whisper.explanation


def test_max_rate_gives_a_verdict():
    config = {"normaliser": "basic-v1", "max_rate": 0.2}
    assert score("wer", config, "the cat sat on the mat", "the cat sat on a mat").passed is True  # 1/6
    failed = score("wer", config, "the dog sat on a mat", "the cat sat on the mat")  # 2/6
    assert failed.passed is False and "over the limit of 20.0%" in failed.explanation


def test_empty_reference_is_not_scored():
    got = score("wer", {}, "something", "[noise]")  # whisper drops bracketed text: nothing left
    assert got.value is None and got.passed is None and "undefined" in got.explanation


def _random_pair(rng):
    vocab = "a b c d e f g h the cat dog".split()
    ref = [rng.choice(vocab) for _ in range(rng.randint(1, 15))]
    hyp = [w for w in ref if rng.random() > 0.2]
    for _ in range(rng.randint(0, 4)):
        hyp.insert(rng.randint(0, len(hyp)), rng.choice(vocab))
    return " ".join(ref), " ".join(hyp)


def test_counts_and_alignment_equal_jiwers():
    rng = random.Random(3)
    for _ in range(2_000):
        ref, hyp = _random_pair(rng)
        if not hyp:
            continue
        mine, ops = align(ref.split(), hyp.split())
        theirs = jiwer.process_words(ref, hyp)
        assert mine == {k: getattr(theirs, k) for k in ("hits", "substitutions", "deletions", "insertions")}
        assert [(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx)
                for c in theirs.alignments[0]] == ops
        assert WER(hyp, ref).value == pytest.approx(theirs.wer)
        assert CER(hyp, ref).value == pytest.approx(jiwer.process_characters(ref, hyp).cer)
