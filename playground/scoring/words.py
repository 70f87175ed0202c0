"""Comparisons in plain words, for the compare screen and exports.

    paired_binary_words(stats.paired_binary(a, b), "A", "B")
      -> "B is right on 37 cases where A is wrong and wrong on 12 where A is right; p = 0.0004."
    paired_rate_words(stats.paired_bootstrap_diff(wer_a, wer_b), "A", "B")
      -> "B's WER is 3.1 points lower (95% CI 1.2 to 5.0) on the same 50 clips."
"""

from __future__ import annotations

from playground.scoring.stats import Interval, PairedBinary


def format_p(p: float) -> str:
    """"p < 0.0001", "p = 0.00047", "p = 0.0004", "p = 0.0031", "p = 0.03", "p = 1"."""
    if p < 0.0001:
        return "p < 0.0001"
    if p < 0.01:  # two significant figures: "p = 0.00047", "p = 0.0031"
        return f"p = {p:.2g}"
    text = f"{p:.2f}".rstrip("0").rstrip(".")
    return f"p = {text}"


def _cases(n: int, noun: str = "case") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def paired_binary_words(result: PairedBinary, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
    """The discordant pairs and McNemar's p, then whether the difference is likely chance."""
    if result.n == 0:
        return f"{a} and {b} have no scored case in common."
    if result.only_a == result.only_b == 0:
        return f"{a} and {b} are right and wrong on exactly the same {_cases(result.n)}; no difference to test."
    text = (f"{b} is right on {_cases(result.only_b)} where {a} is wrong and wrong on {result.only_a} "
            f"where {a} is right; {format_p(result.p_value)}.")
    if result.p_value < alpha:
        better = b if result.only_b > result.only_a else a
        text += f" {better} is better on these {_cases(result.n)}, and chance is an unlikely explanation."
    else:
        text += f" On these {_cases(result.n)} the difference could well be chance."
    return text


def paired_rate_words(diff: Interval | None, a: str = "A", b: str = "B", metric: str = "WER",
                      noun: str = "clip") -> str:
    """A paired bootstrap of mean(b) - mean(a) for an error rate, in percentage points."""
    if diff is None or diff.n == 0:
        return f"{a} and {b} have no scored {noun} in common."
    points = abs(diff.estimate) * 100
    level = f"{diff.confidence:.0%} CI"
    if round(points, 1) == 0:
        return (f"{b}'s {metric} is the same as {a}'s to 0.1 points ({level} {diff.low * 100:+.1f} to "
                f"{diff.high * 100:+.1f}) on the same {_cases(diff.n, noun)}.")
    way = "lower" if diff.estimate < 0 else "higher"
    text = f"{b}'s {metric} is {points:.1f} points {way} "
    if diff.low * diff.high > 0:  # the interval is on one side of zero: said as the size of the change
        lo, hi = sorted((abs(diff.low) * 100, abs(diff.high) * 100))
        text += f"({level} {lo:.1f} to {hi:.1f})"
    else:
        text += f"({level} {diff.low * 100:+.1f} to {diff.high * 100:+.1f}: the interval includes no difference)"
    return text + f" on the same {_cases(diff.n, noun)}."


def interval_words(interval: Interval | None, percent: bool = True) -> str:
    """"80% (95% CI 49% to 94%, n = 10)"."""
    if interval is None:
        return "no data"
    level = f"{interval.confidence:.0%} CI"
    if percent:
        return (f"{interval.estimate:.0%} ({level} {interval.low:.0%} to {interval.high:.0%}, n = {interval.n})")
    return f"{interval.estimate:.3g} ({level} {interval.low:.3g} to {interval.high:.3g}, n = {interval.n})"
