"""When to try a provider call again, and how long to wait first (docs/protocols.md §7). No Django, no I/O.

    policy = RetryPolicy(max_retries=3)            # 4 attempts at most
    decision = policy.decide(error, retries_done=0)
    if decision.retry:
        await asyncio.sleep(decision.delay_s)
    else:
        error.message  # says why not, when the reason is ours (e.g. a Retry-After too long)

What is retried (the OpenAI and Anthropic SDKs agree; Gemini's and OpenRouter's lists are subsets):
408, 409, 429 and every 5xx (Anthropic's 529 "overloaded" included), connection errors and
timeouts. ``x-should-retry: true|false`` from the server wins over the status. A 429 whose code is
``insufficient_quota`` is a billing problem, not a transient one, and is never retried.

How long: the server's ``retry-after-ms``, else ``retry-after`` (seconds, or an HTTP date), else
exponential backoff with *full jitter*: a uniform draw in ``[0, min(max_delay_s, base_delay_s *
2**n)]`` for the n-th retry (n from 0), so many clients that failed together spread out instead of
coming back in step. A Retry-After longer than ``max_retry_after_s`` is not waited for: the call
fails at once with a message naming the wait, because a worker slot held for minutes is worse
than a clear failure the user can retry.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class RetryableError(Protocol):
    """What :meth:`RetryPolicy.decide` reads of an error (parse.ProviderError has it). A protocol rather than
    an import of parse.py, which imports this module: retry rules sit below parsing."""

    retryable: bool
    kind: str
    retry_after_s: float | None

__all__ = ["RetryPolicy", "Decision", "NO_RETRY", "retryable_status", "parse_retry_after", "should_retry_header"]

NOT_TRANSIENT_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None and not hasattr(headers, "get_list"):  # a plain dict: compare names case-insensitively
        for k, v in headers.items():
            if k.lower() == name:
                return v
    return value


def should_retry_header(headers: Mapping[str, str] | None) -> bool | None:
    """The server's own ``x-should-retry`` verdict (OpenAI and Anthropic send it), or None."""
    value = (_header(headers, "x-should-retry") or "").strip().lower()
    return True if value == "true" else False if value == "false" else None


def retryable_status(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """docs/protocols.md §7: 408, 409, 429 and >= 500 (529 too), unless ``x-should-retry`` says otherwise."""
    verdict = should_retry_header(headers)
    if verdict is not None:
        return verdict
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``retry-after`` as seconds (a
    float is tolerated) or as an HTTP date. None when absent or unreadable; never negative.

    >>> parse_retry_after({"retry-after-ms": "250"})
    0.25
    """
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = _header(headers, name)
        if raw is None:
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            continue
        if math.isnan(value):
            continue
        return max(0.0, value / divisor) if math.isfinite(value) else math.inf
    raw = _header(headers, "retry-after")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        when = email.utils.mktime_tz(parsed)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay_s: float = 0.0
    reason: str = ""  # why not (shown to the user when it is our choice, not the server's)


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` retries after the first attempt (the SDKs default to 2; we default to 3).

    Example: ``RetryPolicy(max_retries=5, max_delay_s=20)``; ``NO_RETRY`` for a single attempt.
    """

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 60.0
    retry_timeouts: bool = True  # a read timeout is retried like the SDKs do; False for strict budgets

    def __post_init__(self):
        if self.max_retries < 0 or self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("RetryPolicy values must not be negative.")

    def backoff(self, retries_done: int, rng: random.Random | None = None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retries_done)]."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2.0 ** min(retries_done, 60)))
        return (rng or random).uniform(0.0, ceiling)

    def decide(self, error: RetryableError, retries_done: int, rng: random.Random | None = None) -> Decision:
        """Whether to try again after ``error`` when ``retries_done`` retries were made already."""
        if not error.retryable:
            return Decision(False, reason="not retryable")
        if error.kind == "timeout" and not self.retry_timeouts:
            return Decision(False, reason="timeouts are not retried by this policy")
        if retries_done >= self.max_retries:
            return Decision(False, reason=f"gave up after {retries_done + 1} attempt{'s' if retries_done else ''}")
        wait = error.retry_after_s
        if wait is not None and wait > self.max_retry_after_s:
            shown = "a very long time" if math.isinf(wait) else f"{wait:g} s"
            return Decision(
                False,
                reason=f"the provider asked to wait {shown} before retrying, more than the {self.max_retry_after_s:g} s we wait",
            )
        if wait is not None and wait > 0:
            return Decision(True, wait)
        return Decision(True, self.backoff(retries_done, rng))


NO_RETRY = RetryPolicy(max_retries=0)
