"""What the run screens show, as plain dataclasses built from the run's snapshots; the views hand
them to the templates, so no model instance carries attributes made up for a page.

    cards = result_cards(results)      # ResultCard: marks, usage, estimate vs reported, output HTML, plain error, notes, tries
    RunCounts.of(counts_by_status)     # a run's counts in the words every screen uses; RunCounts.of_run(run) in history
    run_values(run)                    # RunValue per variable: its text, or the media item's name
    preflight_columns(checks)          # PreflightColumn: a check, its body highlighted, the model's past estimate error
    stored_request(result)             # RequestView: masked headers, the body elided (or too big)
    response_html(result)              # the provider's answer, elided and highlighted
    download_name(result, "request")   # run-12-gpt-4o-request.json
    chart_data(results)                # per model: points for the charts, ModelSummary (with the estimate error) for the table

Base64 is shown the way the preview shows it, by the protocol package's own words
(protocols.serialize.describe_base64 / display_data). Model output is untrusted text: templates
escape it, and markdown goes through runs/markdown.py.
"""

from __future__ import annotations

import json
import re
import statistics
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import slugify

from playground.catalog.models import Provider
from playground.prompts.highlight import highlight_json
from playground.protocols.serialize import describe_base64, display_data
from playground.providers import words
from playground.runs import reconcile, services
from playground.runs.markdown import render_markdown
from playground.runs.models import Result, Run
from playground.uploads.models import MediaItem, StoredFile

__all__ = [
    "OUTCOMES",
    "EstimateView",
    "LatencyView",
    "RunCounts",
    "ModelSummary",
    "PreflightColumn",
    "RequestView",
    "ResultCard",
    "RunValue",
    "Usage",
    "chart_data",
    "download_name",
    "known_statuses",
    "plain_error",
    "preflight_columns",
    "response_html",
    "result_cards",
    "run_values",
    "stored_request",
]

# A stored body bigger than this is offered as a download only (parsing it to elide its base64
# would hold it in memory several times over).
MAX_DISPLAY_BYTES = 64 * 1024 * 1024
CHART_POINTS = 2000  # per model, the newest
PROTOCOL_LABELS = dict(Provider.Protocol.choices)


# --- a result's card -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Tokens as the card and the exports show them: the stored columns, else the provider's usage object."""

    input: int | None
    output: int | None
    cached: int | None
    reasoning: int | None
    total: int | None

    @classmethod
    def of(cls, r: Result) -> Usage:
        usage = r.usage or {}
        return cls(
            input=r.input_tokens if r.input_tokens is not None else usage.get("input"),
            output=r.output_tokens if r.output_tokens is not None else usage.get("output"),
            cached=usage.get("cached_input"),
            reasoning=usage.get("reasoning"),
            total=r.total_tokens if r.total_tokens is not None else usage.get("total"),
        )


KIND_LABELS = {"text": "Text", "image": "Images", "audio": "Audio", "video": "Video", "pdf": "PDFs"}


def _n(value: int) -> str:
    return f"{value:,}"


def _off(c: reconcile.Comparison) -> str:
    """How far the report is from the estimate, in brackets: +2.7%, exact, or +258 tokens where
    the estimate was 0; "" when either side is unknown."""
    if c.diff is None:
        return ""
    if c.diff == 0:
        return " (exact)"
    if c.pct is None:
        return f" ({c.diff:+,} tokens)"
    return f" ({c.pct:+.1f}%)"


@dataclass(frozen=True)
class EstimateLine:
    kind: str  # "input" or a modality
    label: str  # "Images"
    text: str  # "estimated 765 · reported 780 (+2.0%)"
    off: bool  # off by more than reconcile.UNRELIABLE_PCT


@dataclass(frozen=True)
class EstimateView:
    """The preview's input-token estimate against what the provider reported, on a result's card."""

    headline: str  # "Estimated 1,560 input tokens · reported 1,602 (+2.7%)"
    off: bool  # the total is off by more than reconcile.UNRELIABLE_PCT
    lines: list[EstimateLine]  # per modality, where either side has a figure
    unknown: list[str]  # what the estimate left out

    off_text = f"estimate off by more than {reconcile.UNRELIABLE_PCT:g}%"

    @classmethod
    def of(cls, r: Result) -> EstimateView | None:
        """None when there is nothing to compare: no estimate stored, or the request was not sent."""
        if r.status not in (Result.Status.SUCCEEDED, Result.Status.FAILED):
            return None
        rec = reconcile.reconcile(r.estimate, r.usage, r.input_tokens)
        if not rec.has_estimate:
            return None
        t = rec.total
        reported = f"reported {_n(t.reported)}{_off(t)}" if t.reported is not None else "not reported by the provider"
        lines = [
            EstimateLine(c.kind, KIND_LABELS.get(c.kind, c.kind),
                         f"{f'estimated {_n(c.estimated)}' if c.estimated is not None else 'not estimated'}"
                         f" · {f'reported {_n(c.reported)}' if c.reported is not None else 'not reported'}{_off(c)}",
                         _is_off(c.pct))
            for c in rec.modalities
        ]  # fmt: skip
        # A lone text line on a protocol that gives no breakdown repeats the headline: left out.
        if len(rec.modalities) == 1 and rec.modalities[0].kind == "text" and rec.modalities[0].reported is None:
            lines = []
        return cls(f"Estimated {_n(t.estimated)} input tokens · {reported}", _is_off(t.pct), lines, list(rec.unknown))


def _is_off(pct: float | None) -> bool:
    return pct is not None and abs(pct) > reconcile.UNRELIABLE_PCT


@dataclass(frozen=True)
class ResultCard:
    """One result on the run page: the stored result, and what the page says about it."""

    result: Result
    marks: frozenset[str]  # "cheapest", "fastest"
    usage: Usage
    estimate: EstimateView | None  # the preview's estimate against the reported usage
    output_html: str  # the output's markdown as safe HTML
    plain_error: str  # what went wrong in plain words; "" when nothing did
    protocol_label: str
    note_texts: list[str]  # the changes made to send it
    attempt_texts: list[str]  # one line per try
    latency: LatencyView | None = None  # None: not sent, or no time recorded
    error_label: str = ""  # what the line under the headline is: "Failed after 4 attempts", "Why"...; "" for none
    error_text: str = ""  # the provider's message (or the refusal's reasons), without what the label says
    notes_summary: str = ""  # "1 change made to send it"; for a result not sent, what was tried


@dataclass(frozen=True)
class LatencyView:
    """The time a result took as the user waited for it: every attempt and the waits between
    them, with each attempt's own time in ``breakdown`` (the card's hover and details)."""

    total_ms: int
    attempts: int
    last_ms: int | None  # the last attempt alone (latency_total_ms)
    breakdown: list[str]

    @property
    def text(self) -> str:
        return f"{self.total_ms:,} ms"

    @property
    def title(self) -> str:
        if self.attempts < 2:
            return "Time from sending the request to the end of the answer"
        return f"{self.attempts} attempts and the waits between them: " + "; ".join(self.breakdown)

    @classmethod
    def of(cls, r: Result) -> LatencyView | None:
        attempts = [a for a in (r.attempts or []) if isinstance(a, dict)]
        breakdown = []
        for i, a in enumerate(attempts, 1):
            took = _seconds_ms(a.get("latency_s"))
            wait = _seconds_ms(a.get("wait_s"))
            line = f"try {i}: {took:,} ms" if took is not None else f"try {i}: time unknown"
            if wait:
                line += f", then waited {wait:,} ms"
            breakdown.append(line)
        total = r.elapsed_ms
        if total is None and len(attempts) > 1:
            total = sum((_seconds_ms(a.get("latency_s")) or 0) + (_seconds_ms(a.get("wait_s")) or 0) for a in attempts)
        if total is None or len(attempts) < 2:
            total = r.latency_total_ms if r.latency_total_ms is not None else total
        if total is None:
            return None
        return cls(total_ms=total, attempts=max(len(attempts), 1), last_ms=r.latency_total_ms, breakdown=breakdown)


def _seconds_ms(value) -> int | None:
    return round(value * 1000) if isinstance(value, int | float) else None


# The providers' client adds this when it stops retrying (providers/client.py); the card says it in its label.
_GAVE_UP = re.compile(r"\s*Not retried: gave up after \d+ attempts?\.\s*$")


def _error_line(r: Result) -> tuple[str, str]:
    """(label, text) of the line under a card's headline: the provider's own words, and only
    when the provider said something. A cancelled result has none (Prism cancelled it)."""
    S = Result.Status
    if r.status == S.REFUSED:
        return ("Why", r.error_message) if r.error_message else ("", "")
    if r.status != S.FAILED:
        return "", ""
    message = _GAVE_UP.sub("", r.error_message or "")
    n = len(r.attempts or [])
    if n > 1:
        label = f"Failed after {n} attempts"
    elif r.error_kind in TRANSPORT_KINDS:
        label = "Details"
    else:
        label = "The provider said"
    if not (message or r.error_type or r.error_status):
        return "", ""
    return label, message


def _notes_summary(r: Result) -> str:
    """What a card's list of notes is: the changes made to send the request; for a result that
    was not sent, the automatic changes preflight tried before it still could not send it."""
    n = len(r.notes or [])
    if not n:
        return ""
    changes = f"{n} change{'s' if n != 1 else ''}"
    if r.status == Result.Status.REFUSED:
        return f"Not sent even after {changes} to fit the model"
    if r.request_body_id is None:
        return f"{changes} prepared (the request was not sent)"
    return f"Sent after {changes} to fit the model"


def result_cards(results: list[Result]) -> list[ResultCard]:
    marks = _marks(results)
    return [
        ResultCard(
            result=r,
            marks=frozenset(marks[r.pk]),
            usage=Usage.of(r),
            estimate=EstimateView.of(r),
            output_html=render_markdown(r.output_text),
            plain_error=plain_error(r),
            protocol_label=PROTOCOL_LABELS.get(r.protocol, r.protocol),
            note_texts=[_note_text(n) for n in (r.notes or [])],
            attempt_texts=[_attempt_text(i, a) for i, a in enumerate(r.attempts or [], 1)],
            latency=LatencyView.of(r),
            error_label=label,
            error_text=text,
            notes_summary=_notes_summary(r),
        )
        for r in results
        for label, text in [_error_line(r)]
    ]


def known_statuses(cards: list[ResultCard]) -> str:
    """What the page shows now, sent back by the progress poll: only changed cards are redrawn."""
    return ",".join(f"{c.result.pk}:{c.result.status}" for c in cards)


def _marks(results: list[Result]) -> dict[int, set[str]]:
    """Cheapest and fastest among the results that succeeded (ties: all of them)."""
    done = [r for r in results if r.status == Result.Status.SUCCEEDED]
    marks: dict[int, set[str]] = {r.pk: set() for r in results}
    if len(done) < 2:
        return marks
    for mark, field in (("cheapest", "cost_usd"), ("fastest", "latency_total_ms")):
        known = [r for r in done if getattr(r, field) is not None]
        if known:
            low = min(getattr(r, field) for r in known)
            for r in known:
                if getattr(r, field) == low:
                    marks[r.pk].add(mark)
    return marks


# error_kind -> headline when no attempt carries a more precise one.
TRANSPORT_KINDS = words.TRANSPORT
OTHER_KINDS = {
    "key": "The provider's API key cannot be used.",
    "config": "This request cannot be sent as the provider is configured now.",
    "internal": "Prism failed while sending this request.",
    "response": words.RESPONSE,
}


def plain_error(r: Result) -> str:
    """What went wrong, in plain words; the provider's own type and message are shown beside it."""
    if r.status == Result.Status.REFUSED:
        return "Not sent: this model or protocol cannot take the prompt as it is."
    if r.status == Result.Status.CANCELLED:
        return "Cancelled before an answer arrived."
    if r.status != Result.Status.FAILED:
        return ""
    if headline := _known_cause(r):
        return headline
    if said := words.status_words(r.error_status, r.error_type, message=r.error_message, retried=True):
        return said
    kind = (r.error_type or "").lower()
    # Results stored before headlines: their kind still says more than "failed".
    if r.error_kind in TRANSPORT_KINDS or "connection" in kind or "malformed" in kind:
        return TRANSPORT_KINDS.get(r.error_kind) or (
            TRANSPORT_KINDS["connection"] if "connection" in kind else TRANSPORT_KINDS["malformed"]
        )
    return OTHER_KINDS.get(r.error_kind, "The request failed.")


def _known_cause(r: Result) -> str:
    """The client's plain headline for a timeout, a broken connection or an unreadable answer
    (providers/client.py), kept with the last attempt; "" if it does not describe this error."""
    if r.error_kind not in TRANSPORT_KINDS or not r.attempts or not isinstance(r.attempts[-1], dict):
        return ""
    error = r.attempts[-1].get("error")
    if not isinstance(error, dict) or error.get("kind") != r.error_kind:
        return ""
    headline = error.get("headline")
    return headline if isinstance(headline, str) else ""


def _note_text(note) -> str:
    if isinstance(note, dict):
        where = note.get("where")
        message = note.get("message") or note.get("text") or json.dumps(note, ensure_ascii=False)
        return f"{where}: {message}" if where else str(message)
    return str(note)


def _attempt_text(i: int, attempt) -> str:
    if not isinstance(attempt, dict):
        return f"Try {i}: {attempt}"
    bits = []
    status = attempt.get("status") or attempt.get("http_status")
    if status:
        bits.append(str(status))
    for key in ("error_type", "kind"):
        if attempt.get(key):
            bits.append(str(attempt[key]))
            break
    latency = attempt.get("latency_ms") or attempt.get("latency_total_ms") or _seconds_ms(attempt.get("latency_s"))
    if latency is not None:
        bits.append(f"{latency:,} ms")
    error = attempt.get("error") or attempt.get("message") or attempt.get("error_message")
    if isinstance(error, dict):
        error = error.get("message")
    if error:
        bits.append(_GAVE_UP.sub("", str(error)))
    if wait := _seconds_ms(attempt.get("wait_s")):
        bits.append(f"then waited {wait:,} ms")
    return f"Try {i}: " + (" · ".join(bits) if bits else "ok")


# --- a run's counts ---------------------------------------------------------------------------------

# What each status counts as, in the words every screen uses (the run page, its progress, the
# history and the exports' "outcome" column).
OUTCOMES = {
    Result.Status.SUCCEEDED: "succeeded",
    Result.Status.FAILED: "failed",
    Result.Status.REFUSED: "not sent",
    Result.Status.CANCELLED: "cancelled",
    Result.Status.RUNNING: "waiting",
    Result.Status.QUEUED: "waiting",
}


@dataclass(frozen=True)
class CountPart:
    key: str  # "succeeded", "failed", "refused", "cancelled", "waiting"
    n: int
    text: str  # "4 succeeded"


@dataclass(frozen=True)
class RunCounts:
    """A run's results counted one way for every screen (models.status_counts): succeeded and
    failed were answered; "not sent" (refused by preflight) never goes out, so progress is
    counted over what is sent; cancelled ones were sent for but got no answer; waiting ones
    (queued, or in flight) have not finished."""

    total: int
    succeeded: int
    failed: int
    refused: int
    cancelled: int
    running: int
    queued: int
    run_cancelled: bool = False

    @classmethod
    def of(cls, counts: dict, run_status: str = "") -> RunCounts:
        """From counts_by_status() (or services.run_progress(), which adds to it)."""
        return cls(*(int(counts.get(k) or 0) for k in ("total", "succeeded", "failed", "refused", "cancelled",
                                                       "running", "queued")),
                   run_cancelled=run_status == Run.Status.CANCELLED)  # fmt: skip

    @classmethod
    def of_run(cls, run: Run) -> RunCounts:
        """From a run of Run.objects.with_counts()."""
        return cls(run.n_total, run.n_succeeded, run.n_failed, run.n_refused, run.n_cancelled, run.n_running,
                   run.n_queued, run_cancelled=run.status == Run.Status.CANCELLED)  # fmt: skip

    @property
    def sent(self) -> int:
        """The results Prism sends (or sent for): every one but those not sent."""
        return self.total - self.refused

    @property
    def answered(self) -> int:
        return self.succeeded + self.failed

    @property
    def waiting(self) -> int:
        return self.queued + self.running

    @property
    def done(self) -> bool:
        return self.waiting == 0

    @property
    def percent(self) -> int:
        """Of what is sent, the share answered (a cancelled run stays below 100)."""
        return round(100 * self.answered / self.sent) if self.sent else 100

    @property
    def parts(self) -> list[CountPart]:
        """The non-zero counts, in one order everywhere."""
        out = [("succeeded", self.succeeded, "succeeded"), ("failed", self.failed, "failed"),
               ("refused", self.refused, "not sent"), ("cancelled", self.cancelled, "cancelled"),
               ("waiting", self.waiting, "waiting")]  # fmt: skip
        return [CountPart(key, n, f"{n} {word}") for key, n, word in out if n]

    @property
    def summary(self) -> str:
        """"4 succeeded · 1 failed · 3 not sent"; "no results" for an empty run."""
        return " · ".join(p.text for p in self.parts) or "no results"

    @property
    def headline(self) -> str:
        """The progress line: answers over what is sent, what is still waiting, a cancelled run said so."""
        if not self.sent:
            return "Nothing was sent" if self.total else "No results"
        answered = f"{self.answered} of {self.sent} sent answered"
        if self.run_cancelled:
            return f"Cancelled: {self.answered} of {self.sent} answered before it was cancelled"
        if self.done:
            return answered
        flight = f", {self.running} in flight" if self.running else ""
        return f"{answered} ({self.percent}%) · {self.waiting} waiting{flight}"


# --- the run's values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunValue:
    """One variable's value as the run used it: ``text``, or for media the item's ``media`` name."""

    name: str
    text: str | None
    media: str | None


def run_values(run: Run) -> list[RunValue]:
    media_names = _media_names(run)
    return [
        RunValue(name, None, media_names.get(name)) if isinstance(value, dict) else RunValue(name, value, None)
        for name, value in (run.values or {}).items()
    ]


def _media_names(run: Run) -> dict[str, str]:
    out = {}
    ids = {}
    for name, value in (run.values or {}).items():
        if isinstance(value, dict):
            ref = value.get("media")
            item_id = ref.get("item") if isinstance(ref, dict) else ref
            if isinstance(item_id, int):
                ids[item_id] = name
            else:
                out[name] = json.dumps(ref)
    for item in MediaItem.objects.filter(team_id=run.team_id, pk__in=ids):
        out[ids[item.pk]] = item.name
    for item_id, name in ids.items():
        out.setdefault(name, f"media item {item_id} (deleted)")
    return out


# --- preflight ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreflightColumn:
    check: services.Preflight
    body_html: str  # the body as it will be sent, base64 elided, highlighted; "" when nothing renders
    # How far this model's estimates were from its reported input in its latest runs; None: no such result yet.
    past_error: reconcile.Accuracy | None = None


PAST_RESULTS = 100  # per model, the newest succeeded results with both figures, for the preview's warning


def past_estimate_error(provider_model_id: int) -> reconcile.Accuracy | None:
    """The model's estimate error over its newest PAST_RESULTS succeeded results with both figures."""
    rows = (
        Result.objects.filter(provider_model_id=provider_model_id, status=Result.Status.SUCCEEDED, input_tokens__isnull=False)
        .exclude(estimate={})
        .order_by("-pk")
        .values_list("estimate", "input_tokens")[:PAST_RESULTS]
    )
    return reconcile.accuracy(reconcile.pct_error((e or {}).get("total"), n) for e, n in rows)


def preflight_columns(checks: list[services.Preflight]) -> list[PreflightColumn]:
    errors = {pk: past_estimate_error(pk) for pk in {c.provider_model.pk for c in checks}}
    return [
        PreflightColumn(check=c, body_html=highlight_json(c.rendered.display()) if c.rendered is not None else "",
                        past_error=errors[c.provider_model.pk])
        for c in checks
    ]  # fmt: skip


# --- one result's request and response ------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    """The stored request of a result as its page shows it."""

    headers: dict[str, str]  # every credential-like header masked
    body_html: str | None  # the body pretty-printed, base64 elided, highlighted
    too_big: bool  # a body too large to show: offered as a download only


def stored_request(result: Result) -> RequestView:
    body_html, too_big = None, False
    if result.request_body is not None:
        text = _stored_body_text(result)
        if text is None:
            too_big = True
        else:
            body_html = highlight_json(text)
    return RequestView(headers=_safe_headers(result.request_headers), body_html=body_html, too_big=too_big)


def response_html(result: Result) -> str | None:
    """The provider's answer as stored, base64 elided, highlighted; None if none was stored."""
    if result.response_json is None:
        return None
    return highlight_json(display_data(result.response_json))


_SECRETISH = re.compile(r"(authorization|api[-_]?key|x-goog-api-key|x-api-key|token|secret|cookie)", re.I)


def _safe_headers(headers: dict | None) -> dict[str, str]:
    """The stored headers (the engine masks the key); any header that looks like a credential is
    masked again here, in case a provider's header name is one we did not know."""
    out = {}
    for k, v in (headers or {}).items():
        v = str(v)
        if _SECRETISH.search(k) and not v.startswith(("$", "Bearer $", "<")):
            v = "<hidden>"
        out[k] = v
    return out


_DATA_MIME = re.compile(r"^data:([^;,]+)")


def _stored_body_text(result: Result) -> str | None:
    """The stored body pretty-printed with its base64 elided, keys in the order sent; None when
    it is too big to show.

    Read from RequestBody.pieces (the exact text with each stored file's base64 as a reference),
    so showing a request with ten photos reads none of them: each reference is described by its
    stored file's type and size, as the preview describes the same file. Older rows without
    pieces are read byte for byte instead, when not too big."""
    body = result.request_body
    pieces = body.pieces
    if not pieces:
        if body.size > MAX_DISPLAY_BYTES:
            return None
        return _display_text(b"".join(services.result_body_iter(result)).decode("utf-8", errors="replace"))
    refs = [p for p in pieces if not isinstance(p, str)]
    mimes = dict(StoredFile.objects.filter(pk__in={p.get("$b64") for p in refs}).values_list("sha256", "mime_type"))
    token = "prism-b64-" + uuid.uuid4().hex  # random: never in the body's own text, needs no JSON escaping
    slot = re.compile(re.escape(token) + r":(\d+)")
    text = "".join(p if isinstance(p, str) else f"{token}:{i}" for i, p in enumerate(pieces))

    def describe(m: re.Match, prefix: str) -> str:
        ref = pieces[int(m.group(1))]
        data_url = _DATA_MIME.match(prefix)
        mime = mimes.get(ref.get("$b64")) or (data_url.group(1) if data_url else None)
        return describe_base64(mime, int(ref.get("size") or 0))

    def show(node):
        if isinstance(node, dict):
            return {k: show(v) for k, v in node.items()}
        if isinstance(node, list):
            return [show(v) for v in node]
        if isinstance(node, str) and token in node:
            return slot.sub(lambda m: describe(m, node), node)
        return node

    try:
        data = json.loads(text)
    except ValueError:
        return slot.sub(lambda m: describe(m, ""), text)
    return display_data(show(data))


def _display_text(text: str) -> str:
    try:
        return display_data(json.loads(text))
    except ValueError:
        return text


def download_name(result: Result, what: str) -> str:
    """run-12-gpt-4o-request.json: a file name for a result's request or response."""
    return f"run-{result.run_id}-{slugify(result.model_name)[:60] or 'model'}-{what}.json"


# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSummary:
    """One model's row beside the charts (and for readers who do not see them)."""

    model: str  # "Provider / model"
    results: int
    median_tokens: float | None
    median_cost: Decimal | None
    total_cost: Decimal | None
    median_latency: float | None
    # The preview's input estimate against the reported input, over the results with both.
    estimate_error: reconcile.Accuracy | None = None


def chart_data(results) -> tuple[dict, list[ModelSummary]]:
    """Per model, of the succeeded ``results``: a series of (run time, tokens, cost, latency) for
    the charts (JSON for runs.js), and the medians for the table that stands beside them."""
    rows = (
        results.filter(status=Result.Status.SUCCEEDED)
        .order_by("run__created_at", "run_id", "position")
        .values_list(
            "provider_name",
            "model_name",
            "run__created_at",
            "run_id",
            "total_tokens",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "latency_total_ms",
            "estimate",
        )
    )
    per_model: OrderedDict[str, list] = OrderedDict()
    errors: dict[str, list] = {}
    for provider, model, created, run_id, total, tin, tout, cost, latency, estimate in rows.iterator():
        if total is None and tin is not None and tout is not None:
            total = tin + tout
        name = f"{provider} / {model}"
        per_model.setdefault(name, []).append((created, run_id, total, cost, latency))
        errors.setdefault(name, []).append(reconcile.pct_error((estimate or {}).get("total"), tin))
    series = {"models": [], "points": []}
    summary = []
    for name, points in per_model.items():
        tokens = [p[2] for p in points if p[2] is not None]
        costs = [p[3] for p in points if p[3] is not None]
        latencies = [p[4] for p in points if p[4] is not None]
        summary.append(
            ModelSummary(
                model=name,
                results=len(points),
                median_tokens=statistics.median(tokens) if tokens else None,
                median_cost=statistics.median(costs) if costs else None,
                total_cost=sum(costs, Decimal(0)) if costs else None,
                median_latency=statistics.median(latencies) if latencies else None,
                estimate_error=reconcile.accuracy(errors[name]),
            )
        )
        series["models"].append(name)
        for created, run_id, total, cost, latency in points[-CHART_POINTS:]:
            series["points"].append(
                [
                    len(series["models"]) - 1,
                    int(created.timestamp()),
                    run_id,
                    total,
                    float(cost) if cost is not None else None,
                    latency,
                ]
            )
    return series, summary
