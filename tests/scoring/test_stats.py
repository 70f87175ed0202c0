"""Statistics against published values and hand computations."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from playground.scoring import stats


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine
# 17:857-872, table I, method 3 (Wilson score, no continuity correction); and 8/10 worked by hand.
@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (8, 10, 0.4902, 0.9433),
])
def test_wilson_against_published_values(k, n, low, high):
    got = stats.wilson(k, n)
    assert (round(got.low, 4), round(got.high, 4)) == (low, high)
    assert got.estimate == k / n and got.n == n
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert got.low == pytest.approx(ref_low, abs=1e-9) and got.high == pytest.approx(ref_high, abs=1e-9)


def test_accuracy_leaves_out_unscored():
    assert stats.accuracy([True, False, None, True, True]) == stats.wilson(3, 4)
    assert stats.accuracy([None]) is None


def test_wilson_edges():
    assert stats.wilson(0, 0) is None
    full = stats.wilson(10, 10)
    assert full.high == 1.0 and round(full.low, 4) == 0.7225
    assert stats.wilson(5, 10, confidence=0.99).low < stats.wilson(5, 10).low
    with pytest.raises(ValueError):
        stats.wilson(11, 10)


def test_mcnemar_exact_by_hand_and_against_scipy():
    assert stats.mcnemar_exact(1, 5) == float(2 * Fraction(1 + 6, 64))  # 0.21875
    assert stats.mcnemar_exact(0, 10) == 2 / 1024
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(4, 4) == 1.0
    for b, c in [(12, 37), (3, 9), (20, 21), (0, 1), (50, 80), (250, 300)]:
        assert stats.mcnemar_exact(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_paired_binary_table_and_cases():
    a = [True, True, False, False, True, None, False]
    b = [True, False, True, True, True, True, False]
    got = stats.paired_binary(a, b, case_ids=["c1", "c2", "c3", "c4", "c5", "c6", "c7"])
    assert (got.both_right, got.only_a, got.only_b, got.both_wrong) == (2, 1, 2, 1)
    assert got.improved == ["c3", "c4"] and got.regressed == ["c2"] and got.n == 6  # c6 left out: A not scored
    assert got.p_value == stats.mcnemar_exact(1, 2)


def test_bootstrap_mean_is_seeded_and_covers_the_mean():
    rng = np.random.default_rng(5)
    values = list(rng.uniform(0, 0.4, 200))
    one = stats.bootstrap_mean(values)
    assert one == stats.bootstrap_mean(values)  # same data, same interval: pages do not flicker
    assert one.low < one.estimate < one.high
    se = float(np.std(values, ddof=1) / math.sqrt(len(values)))  # the percentile interval ≈ mean ± 1.96 SE
    assert one.high - one.low == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert stats.bootstrap_mean([0.3]) == stats.Interval(0.3, 0.3, 0.3, 1)
    assert stats.bootstrap_mean([]) is None


def test_bootstrap_in_chunks_matches_small_samples(monkeypatch):
    monkeypatch.setattr(stats, "_CHUNK", 7)  # many small draws: same distribution, still seeded
    got = stats.bootstrap_mean([0.1, 0.2, 0.3, 0.9], n_resamples=2_000)
    assert 0.1 <= got.low < got.high <= 0.9


def test_paired_bootstrap_diff():
    a = [0.30, 0.20, 0.25, 0.40, 0.10] * 10
    b = [0.25, 0.18, 0.20, 0.35, 0.10] * 10
    got = stats.paired_bootstrap_diff(a, b)
    assert got.estimate == pytest.approx(-0.034) and got.n == 50
    assert got.low < got.estimate < got.high < 0  # B is lower on every clip or equal: the whole interval is below 0
    same = stats.paired_bootstrap_diff(a, a)
    assert same.low == same.high == 0
    assert stats.paired_bootstrap_diff([0.1, None], [None, 0.2]) is None
    with pytest.raises(ValueError):
        stats.paired_bootstrap_diff([0.1], [0.1, 0.2])


def test_latency_percentiles_and_cost_per_correct():
    assert stats.latency_summary([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == {"p50": 5.5, "p95": pytest.approx(9.55), "n": 10}
    assert stats.latency_summary([]) == {"p50": None, "p95": None, "n": 0}
    assert stats.cost_per_correct(2.5, 10) == 0.25
    assert stats.cost_per_correct(2.5, 0) is None


def test_cohens_kappa_textbook_example():
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 -> p_o 0.70, p_e 0.50, kappa 0.40
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    got = stats.cohens_kappa(a, b)
    assert got.kappa == pytest.approx(0.4) and got.observed == pytest.approx(0.7)
    assert got.n_items == 50 and got.words == "fair agreement"


def test_cohens_kappa_edges():
    assert stats.cohens_kappa(["a", "b", "a"], ["a", "b", "a"]).kappa == pytest.approx(1.0)
    same = stats.cohens_kappa(["a", "a"], ["a", "a"])
    assert same.kappa is None and "cannot be measured" in same.words
    assert stats.cohens_kappa([None], ["a"]) is None


# Fleiss' kappa: the worked example on its Wikipedia page (10 subjects, 14 raters, 5 categories),
# kappa 0.210 (P-bar 0.378, Pe-bar 0.213).
FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_textbook_example():
    ratings = [[cat for cat, count in enumerate(row, start=1) for _ in range(count)] for row in FLEISS_TABLE]
    got = stats.fleiss_kappa(ratings)
    assert round(got.kappa, 3) == 0.210 and round(got.observed, 3) == 0.378
    assert (got.n_items, got.n_raters) == (10, 14) and got.words == "fair agreement"


def test_fleiss_kappa_uneven_items_and_edges():
    got = stats.fleiss_kappa([["a", "a", "a"], ["a", "b", "b"], ["b", "b", "b"], ["a", None, None]])
    assert got.n_items == 3 and got.n_raters == 3  # the item with one rating is left out
    assert stats.fleiss_kappa([["a", "a"], ["a", "a"]]).kappa is None
    assert stats.fleiss_kappa([]) is None


@pytest.mark.parametrize(("kappa", "words"), [
    (-0.1, "poor agreement (no better than chance)"), (0.1, "slight agreement"), (0.3, "fair agreement"),
    (0.5, "moderate agreement"), (0.7, "substantial agreement"), (0.9, "almost perfect agreement"),
])
def test_kappa_words(kappa, words):
    assert stats.kappa_words(kappa) == words


def test_pareto_front():
    points = [("cheap", 1.0, 0.60), ("mid", 2.0, 0.80), ("worse", 3.0, 0.70), ("best", 5.0, 0.90),
              ("tie-cost", 1.0, 0.50), ("dup", 2.0, 0.80), ("free-ish", 0.5, 0.60), ("none", None, 0.99)]
    assert stats.pareto_front(points) == ["free-ish", "mid", "best"]
    assert stats.pareto_front([]) == []


def test_confusion_matrix():
    m = stats.confusion_matrix([(1, "cat", "cat"), (2, "cat", "dog"), (3, "dog", "dog"), (4, "dog", None),
                                (5, "cat", "cat"), (6, "bird", "cat")], labels=["cat", "dog"])
    assert m.labels == ["cat", "dog", "bird"] and m.columns == ["cat", "dog", "bird", "(none)"]
    assert m.counts == [[2, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]]
    assert m.cases[("cat", "cat")] == [1, 5] and m.cases[("dog", "(none)")] == [4]
    assert m.count("dog", None) == 1 and m.count("bird", "dog") == 0
