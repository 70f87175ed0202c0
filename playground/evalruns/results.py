"""What an evaluation run's results pages show: leaderboard, grid, per-tag breakdown, confusion
matrix, comparison, accuracy-against-cost chart. The numbers come from playground/scoring (stats,
words); this module only gathers rows and groups them.

    board = leaderboard(eval_run)                  # Board: one Line per model × arm, agreement
    page = grid_page(eval_run, 1, {"filter": "failures", "tag": "star"})
    tags = tag_breakdown(eval_run); matrix = confusion(eval_run)
    cmp = compare(col_a, col_b)                    # two Columns, of one run or two runs of a set

Loading is a handful of values() queries for the whole run (results joined to their eval items,
the chosen scorer's scores, the reviews), never one per case: a leaderboard of 1,000 cases ×
5 models with two reviewers each is 5 queries and a few tens of milliseconds of Python. The pure
part (``aggregate``, ``outcomes``, ``filter_cases``...) takes plain rows, so it is tested without
a database.

Human verdicts override automatic ones: where reviewers gave a verdict on a result, the majority
of their verdicts is the result's outcome in every accuracy here (a tie leaves the automatic
outcome standing). Error rates (WER/CER) stay the scorer's: a verdict is no rate.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from playground.scoring import registry, stats, words

GRID_PAGE = 50  # cases a page of the grid
FILTERS = {
    "": "All cases",
    "failures": "Failures: any model wrong or failed",
    "disagree": "Models disagree",
    "human": "Scorer and human disagree",
    "unreviewed": "Not reviewed yet",
}


# ---------------------------------------------------------------- columns and rows


@dataclass(frozen=True)
class Column:
    """One model at one arm: a column of the grid, a line of the leaderboard."""

    key: str  # "m<provider model id>.<arm key>", stable in URLs
    model_id: int | None
    arm: str
    model_name: str
    arm_title: str
    show_arm: bool = False  # the run has more than one arm

    @property
    def title(self) -> str:
        return f"{self.model_name} · {self.arm_title}" if self.show_arm else self.model_name


def column_key(model_id, arm: str) -> str:
    return f"m{model_id if model_id is not None else 0}.{arm}"


def scorer_keys(scorers: Sequence[dict]) -> list[tuple[str, dict]]:
    """(EvalScore.scorer key, scorer entry) for each of a run's scorers: the name, or name#n for the
    n-th (from 2) use of the same scorer (as the design stores them)."""
    seen: Counter = Counter()
    out = []
    for entry in scorers or []:
        name = entry.get("name") or entry.get("type") or ""
        seen[name] += 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", entry))
    return out


def scorer_kind(entry: dict | None) -> str:
    """"pass_fail", "fraction", "error_rate" or "judge" (the scoring registry's kinds)."""
    name = (entry or {}).get("name") or (entry or {}).get("type") or ""
    spec = registry.SCORERS.get(name)
    return spec.kind if spec else "pass_fail"


def is_rate(kind: str) -> bool:
    return kind == "error_rate"


# ---------------------------------------------------------------- human verdicts


def human_verdicts(reviews: Iterable[dict]) -> dict[int, bool | None]:
    """result id -> the majority of its reviewers' verdicts (True/False), None on a tie; results
    no reviewer gave a verdict on are absent."""
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in reviews:
        if r.get("verdict") is None:
            continue
        tally[r["result_id"]][0 if r["verdict"] else 1] += 1
    return {rid: (None if yes == no else yes > no) for rid, (yes, no) in tally.items()}


def outcome(result: dict, score: dict | None, human: dict[int, bool | None], kind: str):
    """A result's outcome under the chosen scorer: passed (bool/None) for pass/fail kinds, with a human
    majority verdict overriding; the rate (float/None) for error rates. Failed and refused results
    are wrong (pass/fail) or not scored (rates): a failed call recognised nothing."""
    if is_rate(kind):
        return None if score is None else score.get("value")
    verdict = human.get(result["id"])
    if verdict is not None:
        return verdict
    if score is not None and score.get("passed") is not None:
        return bool(score["passed"])
    if score is not None and kind == "fraction" and score.get("value") is not None:
        return score["value"] >= 1.0
    if result["status"] in ("failed",):
        return False
    return None


# ---------------------------------------------------------------- leaderboard


@dataclass
class Line:
    column: Column
    results: int = 0
    scored: int = 0
    correct: int = 0
    failed: int = 0
    refused: int = 0
    reused: int = 0
    reviewed: int = 0
    accuracy: stats.Interval | None = None  # pass/fail kinds
    rate: stats.Interval | None = None  # error rates: mean with a bootstrap interval
    cost_total: float | None = None
    cost_per_case: float | None = None
    cost_per_correct: float | None = None
    latency: dict = field(default_factory=dict)  # p50, p95 in seconds, n
    tokens_in: int = 0
    tokens_out: int = 0
    on_front: bool = False

    @property
    def accuracy_words(self) -> str:
        return words.interval_words(self.accuracy)

    @property
    def rate_words(self) -> str:
        """"12.5% (95% CI 8.1% to 17.0%, n = 50)" for a mean error rate."""
        r = self.rate
        if r is None:
            return "no data"
        return f"{r.estimate:.1%} ({r.confidence:.0%} CI {r.low:.1%} to {r.high:.1%}, n = {r.n})"

    @property
    def cost_total_text(self) -> str:
        return money(self.cost_total)

    @property
    def cost_per_case_text(self) -> str:
        return money(self.cost_per_case)

    @property
    def cost_per_correct_text(self) -> str:
        return money(self.cost_per_correct)

    @property
    def metric(self) -> float | None:
        """The number the chart plots (accuracy, or 1 - rate for error rates)."""
        if self.accuracy is not None:
            return self.accuracy.estimate
        if self.rate is not None:
            return max(0.0, 1.0 - self.rate.estimate)
        return None


@dataclass
class Board:
    lines: list[Line]
    scorer: str  # the EvalScore key used
    kind: str
    scorer_choices: list[tuple[str, str]]  # (key, title)
    cases: int
    agreement: list[dict] = field(default_factory=list)  # {"title", "agreement", "words"}
    chart: SafeString | str = ""


def _num(v) -> float | None:
    if v is None:
        return None
    return float(v) if isinstance(v, Decimal | int | float) else None


def aggregate(columns: Sequence[Column], results: Sequence[dict], scores: dict[int, dict],
              reviews: Sequence[dict], kind: str, resamples: int = stats.DEFAULT_RESAMPLES) -> list[Line]:
    """One Line per column from plain rows.

    results: {"id", "col" (Column.key), "case_id", "sample", "status", "cost", "latency_ms",
              "in_tok", "out_tok", "reused"}
    scores: result id -> {"value", "passed"} of the chosen scorer; reviews: {"result_id", "verdict"}.
    """
    human = human_verdicts(reviews)
    reviewed = {r["result_id"] for r in reviews}
    by_col: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_col[r["col"]].append(r)
    lines = []
    for col in columns:
        rows = by_col.get(col.key, [])
        line = Line(col, results=len(rows))
        outs, costs, latencies = [], [], []
        for r in rows:
            out = outcome(r, scores.get(r["id"]), human, kind)
            outs.append(out)
            line.failed += r["status"] == "failed"
            line.refused += r["status"] == "refused"
            line.reused += bool(r.get("reused"))
            line.reviewed += r["id"] in reviewed
            cost = _num(r.get("cost"))
            if cost is not None:
                costs.append(cost)
            if r.get("latency_ms") is not None and not r.get("reused"):  # a reused answer took no time
                latencies.append(r["latency_ms"] / 1000)
            line.tokens_in += r.get("in_tok") or 0
            line.tokens_out += r.get("out_tok") or 0
        scored = [o for o in outs if o is not None]
        line.scored = len(scored)
        if is_rate(kind):
            line.rate = stats.bootstrap_mean(scored, n_resamples=resamples)
            line.correct = 0
        else:
            line.correct = sum(1 for o in scored if o)
            line.accuracy = stats.accuracy(scored)
        if costs:
            line.cost_total = sum(costs)
            line.cost_per_case = line.cost_total / len(rows) if rows else None
            if not is_rate(kind):
                line.cost_per_correct = stats.cost_per_correct(line.cost_total, line.correct)
        line.latency = stats.latency_summary(latencies)
        lines.append(line)
    front = set(stats.pareto_front([(ln.column.key, ln.cost_per_case, ln.metric) for ln in lines]))
    for ln in lines:
        ln.on_front = ln.column.key in front
    return lines


# ---------------------------------------------------------------- agreement


def reviewer_agreement(reviews: Sequence[dict], on: str = "verdict") -> stats.Agreement | None:
    """Agreement between reviewers on the results several reviewed, on their verdicts (or their
    ratings, as categories): Cohen's kappa for two reviewers, Fleiss' for more."""
    by_result: dict[int, dict[int, Any]] = defaultdict(dict)
    for r in reviews:
        if r.get(on) is not None:
            by_result[r["result_id"]][r["reviewer_id"]] = r[on]
    reviewers = sorted({rv for v in by_result.values() for rv in v})
    if len(reviewers) < 2:
        return None
    if len(reviewers) == 2:
        a, b = reviewers
        pairs = [(v.get(a), v.get(b)) for v in by_result.values()]
        return stats.cohens_kappa([p[0] for p in pairs], [p[1] for p in pairs])
    return stats.fleiss_kappa([list(v.values()) for v in by_result.values()])


def scorer_human_agreement(scores: dict[int, dict], reviews: Sequence[dict]) -> stats.Agreement | None:
    """Cohen's kappa between a pass/fail scorer (a judge model too) and the humans' majority verdict,
    over the results both judged."""
    human = human_verdicts(reviews)
    pairs = [(scores[rid].get("passed"), v) for rid, v in human.items()
             if v is not None and rid in scores and scores[rid].get("passed") is not None]
    if not pairs:
        return None
    return stats.cohens_kappa([bool(p[0]) for p in pairs], [p[1] for p in pairs])


def agreement_words(title: str, agreement: stats.Agreement | None, method: str) -> dict:
    if agreement is None:
        return {"title": title, "agreement": None,
                "words": "Not enough overlap yet: it needs results judged by both."}
    kappa = "undefined" if agreement.kappa is None else f"{agreement.kappa:.2f}"
    text = (f"{method} κ = {kappa}: {agreement.words}. They agree on {agreement.observed:.0%} of "
            f"{agreement.n_items} result{'s' if agreement.n_items != 1 else ''}.")
    return {"title": title, "agreement": agreement, "words": text}


# ---------------------------------------------------------------- the chart


def money(v: float | None, figures: int = 3) -> str:
    """"$0.0125", "$1.20", "$0.000012": enough decimals for ``figures`` significant ones, never
    scientific notation; "" for None."""
    if v is None:
        return ""
    if v == 0:
        return "$0"
    if abs(v) >= 1:
        return f"${v:,.2f}"
    digits = max(2, -math.floor(math.log10(abs(v))) + figures - 1)
    return "$" + f"{v:.{digits}f}".rstrip("0").rstrip(".")


def _fmt_cost(v: float) -> str:
    return money(v, 2)


def cost_chart(lines: Sequence[Line], metric_label: str = "Accuracy") -> SafeString | str:
    """Accuracy (y) against cost per case (x), one dot per line, the Pareto front joined and marked:
    inline SVG drawn here, styled only by classes (static/evalruns-results.css), as the CSP allows
    no style attributes and no script. Empty when no line has both numbers."""
    pts = [(ln, ln.cost_per_case, ln.metric) for ln in lines if ln.cost_per_case is not None and ln.metric is not None]
    if not pts:
        return ""
    w, h, left, right, top, bottom = 560, 300, 56, 20, 16, 44
    xmax = max(c for _, c, _ in pts) or 1.0
    xmax *= 1.1
    ymin = max(0.0, math.floor(min(a for _, _, a in pts) * 10) / 10 - 0.1)

    def x(c):
        return left + (w - left - right) * (c / xmax)

    def y(a):
        return top + (h - top - bottom) * (1 - (a - ymin) / ((1 - ymin) or 1))

    out = [f'<svg class="ev-chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="ev-chart-title">',
           f'<title id="ev-chart-title">{escape(metric_label)} against cost per case; the Pareto front is the '
           f'joined, ringed dots: none cheaper is as good.</title>']
    for i in range(6):  # grid lines and y labels
        a = ymin + (1 - ymin) * i / 5
        out.append(f'<line class="ev-grid" x1="{left}" x2="{w - right}" y1="{y(a):.1f}" y2="{y(a):.1f}"/>')
        out.append(f'<text class="ev-tick" x="{left - 6}" y="{y(a) + 4:.1f}" text-anchor="end">{a:.0%}</text>')
    for i in range(5):
        c = xmax * i / 4
        out.append(f'<text class="ev-tick" x="{x(c):.1f}" y="{h - bottom + 16}" text-anchor="middle">{_fmt_cost(c)}</text>')
    out.append(f'<line class="ev-axis" x1="{left}" x2="{w - right}" y1="{h - bottom}" y2="{h - bottom}"/>')
    out.append(f'<line class="ev-axis" x1="{left}" x2="{left}" y1="{top}" y2="{h - bottom}"/>')
    out.append(f'<text class="ev-label" x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle">Cost per case (USD)</text>')
    out.append(f'<text class="ev-label" x="14" y="{(top + h - bottom) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(top + h - bottom) / 2})">{escape(metric_label)}</text>')
    front = sorted([(c, a) for ln, c, a in pts if ln.on_front])
    if len(front) > 1:
        path = " ".join(f"{x(c):.1f},{y(a):.1f}" for c, a in front)
        out.append(f'<polyline class="ev-front" points="{path}"/>')
    for n, (ln, c, a) in enumerate(pts):
        cls = "ev-dot ev-on-front" if ln.on_front else "ev-dot"
        out.append(f'<g class="{cls} ev-c{n % 8}"><circle cx="{x(c):.1f}" cy="{y(a):.1f}" r="6"/>'
                   f'<title>{escape(ln.column.title)}: {a:.1%} at {_fmt_cost(c)} a case'
                   f'{" (Pareto front)" if ln.on_front else ""}</title>'
                   f'<text class="ev-name" x="{x(c) + 9:.1f}" y="{y(a) - 8:.1f}">{escape(ln.column.title[:40])}</text></g>')
    out.append("</svg>")
    return mark_safe("".join(out))


# ---------------------------------------------------------------- grid filters and breakdowns


def case_outcomes(results: Sequence[dict], scores: dict[int, dict], reviews: Sequence[dict], kind: str,
                  threshold: float | None = None) -> dict[int, dict[str, list]]:
    """case id -> column key -> [outcome per sample] (pass/fail; for rates, rate <= threshold passes
    when a threshold is given, else the rate itself)."""
    human = human_verdicts(reviews)
    out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        o = outcome(r, scores.get(r["id"]), human, kind)
        if is_rate(kind) and threshold is not None and o is not None:
            o = o <= threshold
        out[r["case_id"]][r["col"]].append(o)
    return out


def filter_cases(case_ids: Sequence[int], results: Sequence[dict], scores: dict[int, dict],
                 reviews: Sequence[dict], kind: str, which: str, tags: dict[int, list] | None = None,
                 tag: str = "", only: set | None = None) -> list[int]:
    """The case ids (in order) a grid filter keeps: failures (any result wrong or failed), disagree (the
    columns' outcomes differ), human (a reviewer's verdict differs from the automatic one),
    unreviewed (some result no one reviewed); "human" is any reviewer's verdict against the scorer's; then by tag, then by an explicit set (a matrix cell)."""
    by_case: dict[int, list[dict]] = defaultdict(list)
    for r in results:
        by_case[r["case_id"]].append(r)
    reviewed: dict[int, list[dict]] = defaultdict(list)
    for rv in reviews:
        reviewed[rv["result_id"]].append(rv)
    keep = []
    for cid in case_ids:
        if only is not None and cid not in only:
            continue
        if tag and tag not in (tags or {}).get(cid, []):
            continue
        rows = by_case.get(cid, [])
        if which == "failures":
            bad = any(r["status"] in ("failed", "refused") for r in rows)
            for r in rows:
                o = outcome(r, scores.get(r["id"]), human_verdicts(reviewed.get(r["id"], [])), kind)
                bad = bad or (o is False) or (is_rate(kind) and o is not None and o > 0)
            if not bad:
                continue
        elif which == "disagree":
            if is_rate(kind):
                vals = {round(scores.get(r["id"], {}).get("value") or 0, 6) for r in rows}
            else:
                vals = {outcome(r, scores.get(r["id"]), human_verdicts(reviewed.get(r["id"], [])), kind) for r in rows}
                vals.discard(None)
            if len(vals) < 2:
                continue
        elif which == "human":
            hit = False
            for r in rows:  # any reviewer against the scorer, not only the majority
                auto = scores.get(r["id"], {}).get("passed")
                if auto is not None and any(rv.get("verdict") is not None and rv["verdict"] != bool(auto)
                                            for rv in reviewed.get(r["id"], [])):
                    hit = True
            if not hit:
                continue
        elif which == "unreviewed":
            if rows and all(r["id"] in reviewed for r in rows):
                continue
        keep.append(cid)
    return keep


def tag_breakdown_rows(columns: Sequence[Column], results: Sequence[dict], scores: dict[int, dict],
                       reviews: Sequence[dict], kind: str, tags: dict[int, list]) -> list[dict]:
    """Per tag: its case count and each column's accuracy (or mean rate) over that tag's cases."""
    human = human_verdicts(reviews)
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    cases_per: dict[str, set] = defaultdict(set)
    for r in results:
        for t in tags.get(r["case_id"], []):
            per[t][r["col"]].append(outcome(r, scores.get(r["id"]), human, kind))
            cases_per[t].add(r["case_id"])
    rows = []
    for t in sorted(per, key=lambda s: (-len(cases_per[s]), s)):
        cells = []
        for col in columns:
            vals = [v for v in per[t].get(col.key, []) if v is not None]
            if is_rate(kind):
                cells.append({"text": f"{sum(vals) / len(vals):.1%}" if vals else "—", "n": len(vals),
                              "value": sum(vals) / len(vals) if vals else None})
            else:
                iv = stats.accuracy(vals)
                cells.append({"text": f"{iv.estimate:.0%}" if iv else "—", "n": len(vals),
                              "value": iv.estimate if iv else None,
                              "title": words.interval_words(iv)})
        rows.append({"tag": t, "cases": len(cases_per[t]), "cells": cells})
    return rows


# ---------------------------------------------------------------- comparison


@dataclass
class Comparison:
    a_title: str
    b_title: str
    kind: str
    words: str
    n: int
    improved: list = field(default_factory=list)  # case ids better under B
    regressed: list = field(default_factory=list)  # case ids worse under B
    paired: Any = None  # stats.PairedBinary or stats.Interval


def compare_outcomes(a: dict[tuple, Any], b: dict[tuple, Any], kind: str, a_title: str, b_title: str,
                     noun: str = "case") -> Comparison:
    """a, b: (case id, sample) -> outcome (passed, or rate) of two columns. Pairs the keys both have:
    McNemar's exact test for pass/fail, a paired bootstrap of the mean difference for error rates."""
    keys = sorted(set(a) & set(b), key=lambda k: (str(k[0]), k[1]))
    xs, ys, ids = [a[k] for k in keys], [b[k] for k in keys], [k[0] for k in keys]
    if is_rate(kind):
        diff = stats.paired_bootstrap_diff(xs, ys)
        improved = sorted({i for i, x, y in zip(ids, xs, ys, strict=True) if x is not None and y is not None and y < x})
        regressed = sorted({i for i, x, y in zip(ids, xs, ys, strict=True) if x is not None and y is not None and y > x})
        return Comparison(a_title, b_title, kind, words.paired_rate_words(diff, a_title, b_title, noun=noun),
                          diff.n if diff else 0, improved, regressed, diff)
    pb = stats.paired_binary(xs, ys, ids)
    return Comparison(a_title, b_title, kind, words.paired_binary_words(pb, a_title, b_title), pb.n,
                      sorted(set(pb.improved)), sorted(set(pb.regressed)), pb)


# ---------------------------------------------------------------- WER alignment view


def alignment_html(details: dict) -> SafeString | str:
    """A WER alignment as spans classed equal/substitute/insert/delete (escaped words)."""
    parts = []
    for op in (details or {}).get("alignment") or []:
        t = op.get("type")
        if t not in ("equal", "substitute", "insert", "delete"):
            continue
        ref = " ".join(escape(w) for w in op.get("ref") or [])
        hyp = " ".join(escape(w) for w in op.get("hyp") or [])
        if t == "equal":
            parts.append(f'<span class="al-equal">{ref}</span>')
        elif t == "substitute":
            parts.append(f'<span class="al-substitute" title="said instead of the reference"><del>{ref}</del> '
                         f'<ins>{hyp}</ins></span>')
        elif t == "insert":
            parts.append(f'<span class="al-insert" title="not in the reference"><ins>{hyp}</ins></span>')
        else:
            parts.append(f'<span class="al-delete" title="missing from the output"><del>{ref}</del></span>')
    return mark_safe(" ".join(parts)) if parts else ""


# ---------------------------------------------------------------- loading from the database


@dataclass
class RunData:
    """Everything the results pages aggregate, as plain rows (see aggregate's docstring)."""

    eval_run: Any
    columns: list[Column]
    results: list[dict]
    scores: dict[int, dict]
    reviews: list[dict]
    case_ids: list[int]  # in the set's order
    cases: dict[int, dict]  # id -> {"position", "tags", "expected"}
    scorer: str
    kind: str
    scorer_entries: list[tuple[str, dict]]


def run_columns(eval_run) -> list[Column]:
    """The run's models (in their order) × its arms (in theirs). One query."""
    from playground.evalruns.models import EvalRunModel

    arms = eval_run.arms or [{"key": "as-is", "title": "As uploaded"}]
    links = list(EvalRunModel.objects.filter(eval_run=eval_run).order_by("position", "id")
                 .values_list("provider_model_id", "provider_model__name", "provider_model__provider__name"))
    names = Counter(name for _, name, _ in links)
    cols = []
    for model_id, name, provider in links:
        label = f"{name} ({provider})" if names[name] > 1 else name
        for arm in arms:
            cols.append(Column(column_key(model_id, arm["key"]), model_id, arm["key"], label,
                               arm.get("title") or arm["key"], len(arms) > 1))
    return cols


def choose_scorer(eval_run, wanted: str | None = None) -> tuple[str, dict | None]:
    """The scorer key the pages use: ``wanted`` if the run has it, else the first (the primary)."""
    keys = scorer_keys(eval_run.scorers)
    for key, entry in keys:
        if key == wanted:
            return key, entry
    return (keys[0][0], keys[0][1]) if keys else ("", None)


def load(eval_run, scorer: str | None = None) -> RunData:
    """The run's rows in five queries (models, results joined to items, the chosen scorer's scores,
    reviews, cases), whatever its size."""
    from playground.evalruns.models import EvalScore, Review
    from playground.evals.models import EvalCase
    from playground.runs.models import Result

    key, entry = choose_scorer(eval_run, scorer)
    kind = scorer_kind(entry)
    columns = run_columns(eval_run)
    known = {c.key for c in columns}
    rows = []
    for r in (Result.objects.filter(run__eval_item__eval_run=eval_run)
              .values_list("id", "run__eval_item__case_id", "run__eval_item__arm", "run__eval_item__sample",
                           "provider_model_id", "model_name", "status", "cost_usd", "latency_total_ms",
                           "input_tokens", "output_tokens", "reused_from_id").order_by()):
        col = column_key(r[4], r[2])
        if col not in known:  # a model removed from the run since: still counted, as its own column
            known.add(col)
            columns.append(Column(col, r[4], r[2], r[5], r[2], len(eval_run.arms or []) > 1))
        rows.append({"id": r[0], "case_id": r[1], "arm": r[2], "sample": r[3], "col": col, "status": r[6],
                     "cost": r[7], "latency_ms": r[8], "in_tok": r[9], "out_tok": r[10], "reused": r[11] is not None})
    scores = {rid: {"value": v, "passed": p} for rid, v, p in
              EvalScore.objects.filter(eval_run=eval_run, scorer=key).values_list("result_id", "value", "passed")}
    reviews = list(Review.objects.filter(eval_run=eval_run).values("result_id", "reviewer_id", "verdict", "rating"))
    present = {r["case_id"] for r in rows}
    cases = {}
    for cid, pos, tags, expected in (EvalCase.objects.filter(set_id=eval_run.eval_set_id)
                                     .values_list("id", "position", "tags", "expected").order_by("position", "id")):
        if cid in present:
            cases[cid] = {"position": pos, "tags": tags or [], "expected": expected}
    return RunData(eval_run, columns, rows, scores, reviews, list(cases), cases, key, kind,
                   scorer_keys(eval_run.scorers))


def scorer_title(key: str, entry: dict | None) -> str:
    name = (entry or {}).get("name") or key
    spec = registry.SCORERS.get(name)
    title = spec.title if spec else name
    return f"{title} ({key})" if "#" in key else title


def leaderboard(eval_run, scorer: str | None = None, data: RunData | None = None) -> Board:
    """The leaderboard: a Line per model × arm, the chart, and the agreements (reviewers among
    themselves; each pass/fail scorer against the humans)."""
    data = data or load(eval_run, scorer)
    lines = aggregate(data.columns, data.results, data.scores, data.reviews, data.kind)
    board = Board(lines, data.scorer, data.kind, [(k, scorer_title(k, e)) for k, e in data.scorer_entries],
                  len(data.case_ids))
    if data.reviews:
        agreement = reviewer_agreement(data.reviews)
        n_reviewers = len({r["reviewer_id"] for r in data.reviews if r.get("verdict") is not None})
        method = "Cohen's" if n_reviewers <= 2 else "Fleiss'"
        board.agreement.append(agreement_words("Between reviewers", agreement, method))
        if any(r.get("rating") is not None for r in data.reviews):
            raters = len({r["reviewer_id"] for r in data.reviews if r.get("rating") is not None})
            board.agreement.append(agreement_words("Reviewers' ratings (1–5, as categories)",
                                                   reviewer_agreement(data.reviews, "rating"),
                                                   "Cohen's" if raters <= 2 else "Fleiss'"))
        for key, entry, scores in _pass_fail_scores(eval_run, data):
            board.agreement.append(agreement_words(f"{scorer_title(key, entry)} against the reviewers",
                                                   scorer_human_agreement(scores, data.reviews), "Cohen's"))
    board.chart = cost_chart(lines, "1 − error rate" if is_rate(data.kind) else "Accuracy")
    return board


def _pass_fail_scores(eval_run, data: RunData) -> list[tuple[str, dict, dict[int, dict]]]:
    """Every pass/fail scorer of the run (a judge model's too) with its scores, so each can be held
    against the humans: the chosen one's from ``data``, the others' in one more query."""
    from playground.evalruns.models import EvalScore

    wanted = [(k, e) for k, e in data.scorer_entries if not is_rate(scorer_kind(e))]
    others = [k for k, _ in wanted if k != data.scorer]
    by_key: dict[str, dict[int, dict]] = defaultdict(dict)
    if others:
        for rid, key, passed in (EvalScore.objects.filter(eval_run=eval_run, scorer__in=others)
                                 .values_list("result_id", "scorer", "passed")):
            by_key[key][rid] = {"passed": passed}
    return [(k, e, data.scores if k == data.scorer else by_key.get(k, {})) for k, e in wanted]


def tag_breakdown(eval_run, scorer: str | None = None, data: RunData | None = None) -> list[dict]:
    data = data or load(eval_run, scorer)
    tags = {cid: c["tags"] for cid, c in data.cases.items()}
    return tag_breakdown_rows(data.columns, data.results, data.scores, data.reviews, data.kind, tags)


def label_scorer(eval_run) -> str | None:
    for key, entry in scorer_keys(eval_run.scorers):
        if (entry.get("name") or entry.get("type")) == "label":
            return key
    return None


@dataclass
class Matrix:
    column: Column
    matrix: stats.ConfusionMatrix
    scorer: str
    max_count: int

    @property
    def rows(self) -> list[tuple[str, list[dict]]]:
        """(expected label, [{"predicted", "n", "ids" (comma-joined case ids), "diagonal"}]) per row."""
        out = []
        for label in self.matrix.labels:
            cells = []
            for col in self.matrix.columns:
                ids = self.matrix.cases.get((label, col), [])
                cells.append({"predicted": col, "n": len(ids), "ids": ",".join(map(str, ids)), "diagonal": col == label})
            out.append((label, cells))
        return out


def confusion(eval_run, column: str | None = None, data: RunData | None = None) -> Matrix | None:
    """The confusion matrix of one column (the first by default) under the run's label scorer: expected
    label (rows) against the label the output named (columns). None without a label scorer."""
    from playground.evalruns.models import EvalScore

    key = label_scorer(eval_run)
    if key is None:
        return None
    data = data or load(eval_run, key)
    col = next((c for c in data.columns if c.key == column), data.columns[0] if data.columns else None)
    if col is None:
        return None
    mine = {r["id"]: r["case_id"] for r in data.results if r["col"] == col.key}
    items = []
    for rid, det in (EvalScore.objects.filter(eval_run=eval_run, scorer=key, result_id__in=list(mine))
                     .values_list("result_id", "details")):
        det = det or {}
        if det.get("expected_label") is None:
            continue
        items.append((mine[rid], det["expected_label"], det.get("predicted")))
    labels = []
    for entry in scorer_keys(eval_run.scorers):
        if entry[0] == key:
            labels = [x["label"] if isinstance(x, dict) else str(x) for x in (entry[1].get("config") or {}).get("labels") or []]
    if not labels:
        labels = [x.get("label") for x in (eval_run.eval_set.labels or []) if x.get("label")]
    items.sort(key=lambda t: data.cases.get(t[0], {}).get("position", 0))
    matrix = stats.confusion_matrix(items, labels or None)
    return Matrix(col, matrix, key, max((max(r) for r in matrix.counts if r), default=0))


@dataclass
class Cell:
    column: Column
    results: list  # runs.Result instances (one per sample)
    scores: dict  # result id -> [EvalScore]
    reviews: dict  # result id -> [Review]
    outcome: list  # per result


@dataclass
class GridRow:
    case: Any
    cells: list[Cell]


@dataclass
class GridPage:
    rows: list[GridRow]
    columns: list[Column]
    number: int
    pages: int
    count: int
    filters: dict
    kind: str
    scorer: str

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def clean_filters(raw) -> dict:
    """The grid's filters from a query dict, unknown values dropped: filter, tag, col (a column key),
    cases (ids, from a confusion-matrix cell or a comparison list), scorer."""
    get = raw.get if hasattr(raw, "get") else dict(raw).get
    which = get("filter") or ""
    ids = []
    for part in (get("cases") or "").split(","):
        if part.strip().isdigit() and len(part.strip()) < 12:
            ids.append(int(part))
    return {"filter": which if which in FILTERS else "", "tag": (get("tag") or "")[:200],
            "cases": ids[:5000], "scorer": (get("scorer") or "")[:100]}


def grid_page(eval_run, page: int | str = 1, filters: dict | None = None, data: RunData | None = None) -> GridPage:
    """A page of the grid: GRID_PAGE cases (after the filters) × every column, each cell the case's
    results with all their scores and reviews. About ten queries a page, whatever the run's size."""
    from playground.evalruns.models import EvalScore, Review
    from playground.evals.models import EvalCase
    from playground.runs.models import Result

    filters = filters or {}
    data = data or load(eval_run, filters.get("scorer") or None)
    tags = {cid: c["tags"] for cid, c in data.cases.items()}
    ids = filter_cases(data.case_ids, data.results, data.scores, data.reviews, data.kind,
                       filters.get("filter") or "", tags, filters.get("tag") or "",
                       set(filters["cases"]) if filters.get("cases") else None)
    pages = max(1, math.ceil(len(ids) / GRID_PAGE))
    try:
        number = min(max(1, int(page)), pages)
    except (TypeError, ValueError):
        number = 1
    page_ids = ids[(number - 1) * GRID_PAGE:number * GRID_PAGE]
    wanted = set(page_ids)
    rows_by_case: dict[int, list[dict]] = defaultdict(list)
    for r in data.results:
        if r["case_id"] in wanted:
            rows_by_case[r["case_id"]].append(r)
    result_ids = [r["id"] for rows in rows_by_case.values() for r in rows]
    results = {r.pk: r for r in Result.objects.filter(pk__in=result_ids).only(
        "id", "status", "output_text", "model_name", "provider_name", "cost_usd", "latency_total_ms",
        "error_message", "error_kind", "reused_from_id", "input_tokens", "output_tokens", "run_id")}
    scores: dict[int, list] = defaultdict(list)
    for s in EvalScore.objects.filter(result_id__in=result_ids).order_by("scorer"):
        scores[s.result_id].append(s)
    reviews: dict[int, list] = defaultdict(list)
    for rv in Review.objects.filter(result_id__in=result_ids).select_related("reviewer").order_by("created_at", "id"):
        reviews[rv.result_id].append(rv)
    cases = {c.pk: c for c in EvalCase.objects.filter(pk__in=page_ids).prefetch_related("media__item")}
    human = human_verdicts(data.reviews)
    grid_rows = []
    for cid in page_ids:
        by_col: dict[str, list[dict]] = defaultdict(list)
        for r in sorted(rows_by_case.get(cid, []), key=lambda r: r["sample"]):
            by_col[r["col"]].append(r)
        cells = []
        for col in data.columns:
            rs = [results[r["id"]] for r in by_col.get(col.key, []) if r["id"] in results]
            outs = [outcome(r, data.scores.get(r["id"]), human, data.kind) for r in by_col.get(col.key, [])]
            cells.append(Cell(col, rs, {r.pk: scores.get(r.pk, []) for r in rs},
                              {r.pk: reviews.get(r.pk, []) for r in rs}, outs))
        if cid in cases:
            grid_rows.append(GridRow(cases[cid], cells))
    return GridPage(grid_rows, data.columns, number, pages, len(ids), filters, data.kind, data.scorer)


def column_outcomes(data: RunData, col_key: str) -> dict[tuple, Any]:
    """(case id, sample) -> outcome for one column."""
    human = human_verdicts(data.reviews)
    return {(r["case_id"], r["sample"]): outcome(r, data.scores.get(r["id"]), human, data.kind)
            for r in data.results if r["col"] == col_key}


def compare(data_a: RunData, col_a: str, data_b: RunData, col_b: str) -> Comparison | None:
    """Column col_a of one run against col_b of the same or another run of the same set."""
    ca = next((c for c in data_a.columns if c.key == col_a), None)
    cb = next((c for c in data_b.columns if c.key == col_b), None)
    if ca is None or cb is None:
        return None
    ta, tb = ca.title, cb.title
    if data_a.eval_run.pk != data_b.eval_run.pk:
        ta, tb = f"{ta} in {data_a.eval_run}", f"{tb} in {data_b.eval_run}"
    if ta == tb:
        ta, tb = f"A ({ta})", f"B ({tb})"
    kind = data_a.kind if data_a.kind == data_b.kind else "pass_fail"
    noun = "clip" if is_rate(kind) else "case"
    return compare_outcomes(column_outcomes(data_a, col_a), column_outcomes(data_b, col_b), kind, ta, tb, noun)
