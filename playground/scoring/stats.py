"""The numbers a leaderboard and a comparison show, and how sure they are.

Intervals are 95% unless asked otherwise. Bootstrap intervals are seeded (the same data always gives
the same interval, so a page does not flicker on reload) and vectorised with numpy. Kappas come from
statsmodels (its inter_rater module, imported on first use: it takes about a second to load).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np

# Efron & Tibshirani (An Introduction to the Bootstrap, 1993) ask for 1,000 or more resamples for a
# percentile interval; 2,000 keeps a leaderboard of 1,000 cases × 10 columns within ~0.1 s of CPU.
DEFAULT_RESAMPLES = 2_000
_CHUNK = 1_000_000  # resampled values drawn at once: memory stays ~8 MB whatever the sample size


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int
    confidence: float = 0.95


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval for a proportion (successes of n); None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({successes} of {n})")
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, confidence)


def accuracy(passed: Iterable[bool | None], confidence: float = 0.95) -> Interval | None:
    """Share passed, with its Wilson interval, of the outcomes that were scored (None: not scored,
    left out); None when none was."""
    scored = [p for p in passed if p is not None]
    return wilson(sum(1 for p in scored if p), len(scored), confidence)


def _bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    means = np.empty(n_resamples)
    per_chunk = max(1, _CHUNK // n)
    for start in range(0, n_resamples, per_chunk):
        k = min(per_chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(k, n), dtype=np.int32)  # half the memory and time of int64
        means[start:start + k] = values[idx].mean(axis=1)
    return means


def bootstrap_mean(values: Sequence[float], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                   confidence: float = 0.95) -> Interval | None:
    """Percentile bootstrap interval for a mean (e.g. mean WER); None for no values."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return None
    means = _bootstrap_means(data, n_resamples, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(data.mean()), float(low), float(high), int(data.size), confidence)


def paired_bootstrap_diff(a: Sequence[float], b: Sequence[float], n_resamples: int = DEFAULT_RESAMPLES,
                          seed: int = 0, confidence: float = 0.95) -> Interval | None:
    """Interval for mean(b) - mean(a) over the same cases (a[i] and b[i] are one case), resampling
    cases: for WER, a negative estimate means B makes fewer errors. Cases where either is None are
    left out. None when no case has both."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length ({len(a)} and {len(b)})")
    diffs = np.asarray([y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None], dtype=float)
    if diffs.size == 0:
        return None
    means = _bootstrap_means(diffs, n_resamples, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(diffs.mean()), float(low), float(high), int(diffs.size), confidence)


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95)) -> list[float] | None:
    """Percentiles with linear interpolation between order statistics (numpy's default, Excel's
    PERCENTILE.INC); None for no values."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return None
    return [float(x) for x in np.percentile(data, qs)]


def latency_summary(seconds: Iterable[float]) -> dict[str, float | None]:
    """{"p50": ..., "p95": ..., "n": ...} of latencies (None when there are none)."""
    data = [s for s in seconds if s is not None]
    got = percentiles(data)
    return {"p50": got[0] if got else None, "p95": got[1] if got else None, "n": len(data)}


def cost_per_correct(total_cost: float, correct: int) -> float | None:
    """Total cost over correct answers; None when nothing was correct (it is unbounded, not zero)."""
    return total_cost / correct if correct > 0 else None


# ---------------------------------------------------------------- paired binary outcomes


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact test: the two-sided binomial p-value (p = 1/2) of the discordant pairs, b cases
    where only the first is right and c where only the second is. Exact in rational arithmetic.
    No discordant pairs: 1.0."""
    if b < 0 or c < 0:
        raise ValueError("counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2 ** n)
    return float(min(Fraction(1), 2 * tail))


@dataclass(frozen=True)
class PairedBinary:
    both_right: int
    only_a: int  # A right, B wrong
    only_b: int  # B right, A wrong
    both_wrong: int
    p_value: float
    improved: list[Hashable] = field(default_factory=list)  # case ids right under B only
    regressed: list[Hashable] = field(default_factory=list)  # case ids right under A only

    @property
    def n(self) -> int:
        return self.both_right + self.only_a + self.only_b + self.both_wrong


def paired_binary(a: Sequence[bool | None], b: Sequence[bool | None],
                  case_ids: Sequence[Hashable] | None = None) -> PairedBinary:
    """A and B's outcomes on the same cases (a[i], b[i] are one case), counted into the 2×2 table,
    with McNemar's exact p. Cases where either is None (not scored) are left out."""
    if len(a) != len(b) or (case_ids is not None and len(case_ids) != len(a)):
        raise ValueError("paired outcomes must have the same length")
    ids = list(case_ids) if case_ids is not None else list(range(len(a)))
    cells = [0, 0, 0, 0]
    improved, regressed = [], []
    for x, y, cid in zip(a, b, ids, strict=True):
        if x is None or y is None:
            continue
        if x and y:
            cells[0] += 1
        elif x:
            cells[1] += 1
            regressed.append(cid)
        elif y:
            cells[2] += 1
            improved.append(cid)
        else:
            cells[3] += 1
    return PairedBinary(cells[0], cells[1], cells[2], cells[3], mcnemar_exact(cells[1], cells[2]), improved, regressed)


# ---------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    kappa: float | None  # None when undefined (e.g. every rating the same category)
    observed: float  # share of agreeing pairs
    n_items: int
    n_raters: int
    words: str  # Landis & Koch's band, e.g. "substantial agreement"


def kappa_words(kappa: float | None) -> str:
    """Landis & Koch (1977)'s bands, the usual plain reading of a kappa."""
    if kappa is None:
        return "agreement cannot be measured (every rating is the same)"
    for upper, words in ((0.0, "poor agreement (no better than chance)"), (0.20, "slight agreement"),
                         (0.40, "fair agreement"), (0.60, "moderate agreement"), (0.80, "substantial agreement")):
        if kappa <= upper:
            return words
    return "almost perfect agreement"


def cohens_kappa(rater1: Sequence[Hashable | None], rater2: Sequence[Hashable | None]) -> Agreement | None:
    """Cohen's kappa between two raters over the same items (statsmodels.stats.inter_rater.cohens_kappa).
    Items either rater left out (None) are dropped; None when no item is left."""
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

    if len(rater1) != len(rater2):
        raise ValueError("both raters must rate the same items")
    pairs = [(x, y) for x, y in zip(rater1, rater2, strict=True) if x is not None and y is not None]
    if not pairs:
        return None
    categories = sorted({v for p in pairs for v in p}, key=repr)
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for x, y in pairs:
        table[index[x], index[y]] += 1
    observed = float(np.trace(table) / len(pairs))
    expected = float((table.sum(0) * table.sum(1)).sum() / len(pairs) ** 2)
    kappa = None if math.isclose(expected, 1.0) else float(sm_cohens_kappa(table, return_results=False))
    return Agreement(kappa, observed, len(pairs), 2, kappa_words(kappa))


def fleiss_kappa(ratings: Sequence[Sequence[Hashable | None]]) -> Agreement | None:
    """Fleiss' kappa: ratings[i] holds every rater's category for item i (statsmodels'
    aggregate_raters and fleiss_kappa). Fleiss' kappa needs the same number of ratings on every item:
    items with fewer ratings than the most common count are left out. None when no item is left."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    rows = [[r for r in item if r is not None] for item in ratings]
    rows = [r for r in rows if len(r) >= 2]
    if not rows:
        return None
    counts: dict[int, int] = {}
    for r in rows:
        counts[len(r)] = counts.get(len(r), 0) + 1
    m = max(counts, key=lambda k: (counts[k], k))
    rows = [r for r in rows if len(r) == m]
    categories = sorted({v for r in rows for v in r}, key=repr)
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(rows), len(categories)))
    for i, r in enumerate(rows):
        for v in r:
            table[i, index[v]] += 1
    observed = float(((table * (table - 1)).sum(1) / (m * (m - 1))).mean())
    p = table.sum(0) / table.sum()
    kappa = None if math.isclose(float((p * p).sum()), 1.0) else float(sm_fleiss_kappa(table, method="fleiss"))
    return Agreement(kappa, observed, len(rows), m, kappa_words(kappa))


# ---------------------------------------------------------------- accuracy against cost


def pareto_front(points: Iterable[tuple[Hashable, float, float]]) -> list[Hashable]:
    """The keys of the (key, cost, accuracy) points no other point beats: none is at most as costly and
    at least as accurate, and better in one of the two. Cheapest first. Points with a None are left out."""
    pts = sorted(((c, -a, k) for k, c, a in points if c is not None and a is not None), key=lambda t: (t[0], t[1]))
    front, best = [], -math.inf
    for _cost, neg_acc, key in pts:
        if -neg_acc > best:
            front.append(key)
            best = -neg_acc
    return front


# ---------------------------------------------------------------- confusion matrix

NO_LABEL = "(none)"  # the column for outputs that named no label, or several


@dataclass(frozen=True)
class ConfusionMatrix:
    labels: list[str]  # rows: expected; columns: predicted, with NO_LABEL last when used
    columns: list[str]
    counts: list[list[int]]  # counts[row][column]
    cases: dict[tuple[str, str], list[Any]]  # (expected, predicted) -> case ids, in order

    def count(self, expected: str, predicted: str | None) -> int:
        return len(self.cases.get((expected, predicted or NO_LABEL), []))


def confusion_matrix(items: Iterable[tuple[Any, str, str | None]], labels: Sequence[str] | None = None) -> ConfusionMatrix:
    """(case id, expected label, predicted label or None) triples into a labels × labels table. labels
    gives the order (else: as first seen); a label seen but not listed is appended."""
    order = list(labels or [])
    cases: dict[tuple[str, str], list[Any]] = {}
    none_used = False
    for case_id, expected, predicted in items:
        for label in (expected, predicted):
            if label is not None and label not in order:
                order.append(label)
        if predicted is None:
            none_used = True
        cases.setdefault((expected, predicted if predicted is not None else NO_LABEL), []).append(case_id)
    columns = order + ([NO_LABEL] if none_used else [])
    counts = [[len(cases.get((row, col), [])) for col in columns] for row in order]
    return ConfusionMatrix(order, columns, counts, cases)
