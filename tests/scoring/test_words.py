"""Comparisons in plain words."""

import pytest

from playground.scoring import stats
from playground.scoring.words import format_p, interval_words, paired_binary_words, paired_rate_words


@pytest.mark.parametrize(("p", "text"), [
    (0.00004, "p < 0.0001"), (0.00047, "p = 0.00047"), (0.0004, "p = 0.0004"), (0.0031, "p = 0.0031"),
    (0.03, "p = 0.03"), (0.5, "p = 0.5"), (1.0, "p = 1"),
])
def test_format_p(p, text):
    assert format_p(p) == text


def test_paired_binary_words_from_the_issue():
    result = stats.PairedBinary(both_right=40, only_a=12, only_b=37, both_wrong=11, p_value=stats.mcnemar_exact(12, 37))
    assert paired_binary_words(result, "A", "B") == (
        "B is right on 37 cases where A is wrong and wrong on 12 where A is right; p = 0.00047. "
        "B is better on these 100 cases, and chance is an unlikely explanation.")


def test_paired_binary_words_not_significant_and_edges():
    close = stats.PairedBinary(10, 5, 6, 2, stats.mcnemar_exact(5, 6))
    assert paired_binary_words(close, "gpt", "claude").endswith("On these 23 cases the difference could well be chance.")
    assert "1 case where" in paired_binary_words(stats.PairedBinary(0, 0, 1, 0, 1.0))
    assert "exactly the same 3 cases" in paired_binary_words(stats.PairedBinary(2, 0, 0, 1, 1.0))
    assert "no scored case in common" in paired_binary_words(stats.PairedBinary(0, 0, 0, 0, 1.0))


def test_paired_rate_words():
    lower = stats.Interval(-0.031, -0.050, -0.012, 50)
    assert paired_rate_words(lower, "A", "B") == "B's WER is 3.1 points lower (95% CI 1.2 to 5.0) on the same 50 clips."
    higher = stats.Interval(0.02, -0.01, 0.05, 40)
    assert paired_rate_words(higher, "A", "B", metric="CER") == (
        "B's CER is 2.0 points higher (95% CI -1.0 to +5.0: the interval includes no difference) on the same 40 clips.")
    assert "the same as A's" in paired_rate_words(stats.Interval(0.0, -0.01, 0.01, 5))
    assert "no scored clip" in paired_rate_words(None)


def test_interval_words():
    assert interval_words(stats.wilson(8, 10)) == "80% (95% CI 49% to 94%, n = 10)"
    assert interval_words(None) == "no data"
