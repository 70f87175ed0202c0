"""Estimates against the bill: the preflight's input-token estimate of a result beside the input
tokens the provider reported for it, per result and per model. Plain arithmetic, no Django.

    snap = estimate_snapshot(check.tokens)      # what start_run stores in Result.estimate
    rec = reconcile(result.estimate, result.usage, result.input_tokens)
    rec.total.estimated, rec.total.reported, rec.total.pct      # 1560, 1602, 2.69...
    [c.kind for c in rec.modalities]                            # ["text", "image"]
    acc = accuracy([2.69, -10.0, None])       # n=2, mean_abs_pct=6.345, mean_pct=-3.655; acc.unreliable False

The error of a result is ``(reported − estimated) / estimated``, in percent: +2.7% means the
provider counted 2.7% more input tokens than the preview said, so the preview's input cost was
that much too low. A model's error is the mean of its results' errors, absolute (how far off, either way) and
signed (whether it leans low or high), over the results that have both figures.

Unknown stays unknown, never 0: a kind the estimate could not count (audio to OpenAI, a PDF
without a page count) is None, and so is a kind the provider did not report (Anthropic and
Responses give no breakdown by modality; docs/protocols.md §8.15).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "KINDS",
    "UNRELIABLE_PCT",
    "Accuracy",
    "Comparison",
    "Reconciliation",
    "accuracy",
    "estimate_snapshot",
    "pct_error",
    "reconcile",
]

KINDS = ("text", "image", "audio", "video", "pdf")
# The normalized usage's per-modality fields (providers/parse.py), by estimate kind.
USAGE_FIELDS = {"text": "text_in", "image": "image_in", "audio": "audio_in", "video": "video_in", "pdf": "pdf_in"}
# A model whose estimates are off by more than this, on average, is flagged: its preview cost is not to be trusted.
UNRELIABLE_PCT = 25.0


def estimate_snapshot(tokens) -> dict:
    """A protocols.TokenEstimate as stored on a Result: ``{"total", "text", "image", "audio",
    "video", "pdf", "method", "unknown"}``. A kind with a part the estimate could not count is
    None (its known parts are in no figure but ``total``, which counts what was estimated);
    ``unknown`` says, in words, what the estimate leaves out."""
    kinds: dict[str, int | None] = {k: getattr(tokens, k) for k in KINDS}
    for part in tokens.parts:
        if part.tokens is None and part.kind in kinds:
            kinds[part.kind] = None
    return {"total": tokens.total, **kinds, "method": tokens.text_method, "unknown": list(tokens.unknown)}


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def pct_error(estimated: int | None, reported: int | None) -> float | None:
    """(reported − estimated) / estimated × 100; 0.0 when both are 0; None when either is unknown
    or only the estimate is 0 (no percentage of nothing: the difference in tokens says it)."""
    if estimated is None or reported is None:
        return None
    if estimated == 0:
        return 0.0 if reported == 0 else None
    return (reported - estimated) * 100.0 / estimated


@dataclass(frozen=True)
class Comparison:
    """One figure both ways: ``kind`` is "input" (all input tokens) or a modality of KINDS."""

    kind: str
    estimated: int | None
    reported: int | None

    @property
    def diff(self) -> int | None:
        """Tokens the provider counted beyond the estimate (negative: fewer); None if either is unknown."""
        if self.estimated is None or self.reported is None:
            return None
        return self.reported - self.estimated

    @property
    def pct(self) -> float | None:
        return pct_error(self.estimated, self.reported)

    @property
    def both(self) -> bool:
        return self.estimated is not None and self.reported is not None


@dataclass(frozen=True)
class Reconciliation:
    """A result's estimate against its reported usage. ``modalities``: the kinds where either side
    has something to say (a kind neither sent nor reported is left out; a 0 the provider reports
    for a kind that was not sent says nothing either)."""

    total: Comparison
    modalities: tuple[Comparison, ...]
    unknown: tuple[str, ...]  # what the estimate left out, in words

    @property
    def has_estimate(self) -> bool:
        return self.total.estimated is not None


def reconcile(estimate: dict | None, usage: dict | None, input_tokens: int | None = None) -> Reconciliation:
    """Compare a stored estimate (estimate_snapshot) with the stored normalized usage; the
    Result's ``input_tokens`` column, when given, is the reported total."""
    estimate, usage = estimate or {}, usage or {}
    reported = _count(input_tokens)
    if reported is None:
        reported = _count(usage.get("input"))
    total = Comparison("input", _count(estimate.get("total")), reported)
    modalities = []
    for kind in KINDS if estimate else ():  # no estimate stored (an older result): nothing to compare
        est, rep = _count(estimate.get(kind)), _count(usage.get(USAGE_FIELDS[kind]))
        if (est is None and rep is None) or (est == 0 and not rep):
            continue  # neither side knows, or nothing was sent of it and nothing was counted
        modalities.append(Comparison(kind, est, rep))
    unknown = tuple(str(u) for u in (estimate.get("unknown") or ()) if u)
    return Reconciliation(total, tuple(modalities), unknown)


@dataclass(frozen=True)
class Accuracy:
    """A model's estimate error over ``n`` results with both figures: the mean absolute and the
    mean signed error, in percent. ``unreliable``: off by more than UNRELIABLE_PCT on average."""

    n: int
    mean_abs_pct: float
    mean_pct: float

    @property
    def unreliable(self) -> bool:
        return self.mean_abs_pct > UNRELIABLE_PCT


def accuracy(pcts: Iterable[float | None]) -> Accuracy | None:
    """The mean absolute and signed error of the known ``pcts`` (None ones are skipped); None
    when none is known."""
    known = [p for p in pcts if p is not None]
    if not known:
        return None
    return Accuracy(len(known), sum(abs(p) for p in known) / len(known), sum(known) / len(known))
