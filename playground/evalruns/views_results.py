"""An evaluation's results pages: leaderboard (with chart, agreement, per-tag breakdown, confusion
matrix), the grid of cases × models, a comparison, and the CSV/JSON export. Thin: results.py
computes; every page is a GET and writes nothing.

Access: the run is looked up, then require_membership(its team): another team's is a 404."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from playground.accounts.teams import require_membership
from playground.evalruns import results
from playground.evalruns.models import EvalRun, EvalScore, Review
from playground.lib.ids import parse_id
from playground.runs.markdown import render_markdown

EXPORT_CHUNK = 500  # results a query while streaming an export


def get_eval_run(request, eval_run_id):
    if parse_id(eval_run_id) is None:
        raise Http404("Not found")
    eval_run = get_object_or_404(EvalRun.objects.select_related("eval_set", "prompt_version__prompt"), pk=eval_run_id)
    membership = require_membership(request, eval_run.team_id)  # 404 for another team's
    return eval_run, membership


@require_GET
@never_cache
def results_page(request, eval_run_id: int):
    eval_run, membership = get_eval_run(request, eval_run_id)
    data = results.load(eval_run, request.GET.get("scorer") or None)
    board = results.leaderboard(eval_run, data=data)
    matrix = None
    if results.label_scorer(eval_run):
        label_data = data if data.scorer == results.label_scorer(eval_run) else None
        matrix = results.confusion(eval_run, request.GET.get("col") or None, data=label_data)
    return render(request, "evalruns/results/board.html", {
        "eval_run": eval_run, "board": board, "matrix": matrix, "columns": data.columns,
        "tags": results.tag_breakdown(eval_run, data=data),
        "is_rate": results.is_rate(board.kind), "scorer": data.scorer,
    })


def _cell_view(cell, kind, review_url, scorer=""):
    """What a grid cell shows per result: output as safe markdown, scores (with WER alignment), reviews,
    and whether the reviewers' verdict overrides the chosen scorer's."""
    out = []
    for r, o in zip(cell.results, cell.outcome, strict=False):
        auto = next((s.passed for s in cell.scores.get(r.pk, []) if s.scorer == scorer), None)
        scores = [{"score": s, "alignment": results.alignment_html(s.details) if s.details else ""}
                  for s in cell.scores.get(r.pk, [])]
        out.append({"result": r, "output_html": render_markdown(r.output_text[:4000]),
                    "truncated": len(r.output_text) > 4000, "scores": scores,
                    "reviews": cell.reviews.get(r.pk, []), "outcome": o, "review_url": review_url.format(r.pk),
                    "overridden": isinstance(o, bool) and auto is not None and auto != o})
    return out


@require_GET
@never_cache
def grid(request, eval_run_id: int):
    eval_run, membership = get_eval_run(request, eval_run_id)
    filters = results.clean_filters(request.GET)
    page = results.grid_page(eval_run, request.GET.get("page") or 1, filters)
    # reverse() once, not for each of the page's 250 answers (it was a fifth of the page's time)
    review_url = reverse("evalruns:review", args=[999999999]).replace("999999999", "{}")
    rows = [{"case": row.case, "cells": [{"column": c.column, "items": _cell_view(c, page.kind, review_url, page.scorer)}
                                         for c in row.cells]} for row in page.rows]
    query = request.GET.copy()
    query.pop("page", None)
    tags = sorted({t for row in page.rows for t in row.case.tags})
    return render(request, "evalruns/results/grid.html", {
        "eval_run": eval_run, "page": page, "rows": rows, "filters": filters, "filter_choices": results.FILTERS,
        "query": query.urlencode(), "tags": tags, "me": request.user.pk,
    })


def _parse_side(value: str, eval_run, team_id):
    """'<eval run id>:<column key>' -> (RunData, column key), the run of the same team and set."""
    run_id, _, col = (value or "").partition(":")
    if parse_id(run_id) is None or not col:
        return None
    if int(run_id) == eval_run.pk:
        other = eval_run
    else:
        other = EvalRun.objects.filter(pk=run_id, team_id=team_id, eval_set_id=eval_run.eval_set_id).first()
        if other is None:
            return None
    return other, col


@require_GET
@never_cache
def compare(request, eval_run_id: int):
    eval_run, membership = get_eval_run(request, eval_run_id)
    others = list(EvalRun.objects.filter(team_id=eval_run.team_id, eval_set_id=eval_run.eval_set_id)
                  .order_by("-created_at")[:20])
    choices = []
    for run in others:
        for col in results.run_columns(run):
            choices.append((f"{run.pk}:{col.key}", col.title if run.pk == eval_run.pk else f"{col.title} — {run}"))
    a = _parse_side(request.GET.get("a", ""), eval_run, eval_run.team_id)
    b = _parse_side(request.GET.get("b", ""), eval_run, eval_run.team_id)
    own = [c for c in choices if c[0].startswith(f"{eval_run.pk}:")]
    if a is None and b is None and len(own) >= 2:
        a = _parse_side(own[0][0], eval_run, eval_run.team_id)
        b = _parse_side(own[1][0], eval_run, eval_run.team_id)
    comparison = None
    error = ""
    if a and b:
        scorer = request.GET.get("scorer") or None
        data_a = results.load(a[0], scorer)
        data_b = data_a if b[0].pk == a[0].pk else results.load(b[0], scorer)
        comparison = results.compare(data_a, a[1], data_b, b[1])
        if comparison is None:
            error = "One of the two columns is not in its evaluation."
    elif request.GET.get("a") or request.GET.get("b"):
        error = "Choose two columns of evaluations of this set."
    return render(request, "evalruns/results/compare.html", {
        "eval_run": eval_run, "choices": choices, "comparison": comparison, "error": error,
        "a": request.GET.get("a") or (own[0][0] if own else ""),
        "b": request.GET.get("b") or (own[1][0] if len(own) > 1 else ""),
        "improved_ids": ",".join(map(str, comparison.improved)) if comparison else "",
        "regressed_ids": ",".join(map(str, comparison.regressed)) if comparison else "",
    })


# --- export ------------------------------------------------------------------------------------------


def export_rows(eval_run):
    """One dict per result, streamed: case, column, output, usage, every score and every review.
    Each chunk of EXPORT_CHUNK results costs three queries; memory stays flat."""
    from playground.runs.models import Result

    columns = {c.key: c for c in results.run_columns(eval_run)}
    qs = (Result.objects.filter(run__eval_item__eval_run=eval_run)
          .values_list("id", flat=True).order_by("run__eval_item__case__position", "run__eval_item__case_id",
                                                 "run__eval_item__arm", "run__eval_item__sample", "position"))
    ids = list(qs)
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start:start + EXPORT_CHUNK]
        rows = {r["id"]: r for r in Result.objects.filter(pk__in=chunk).values(
            "id", "run__eval_item__case_id", "run__eval_item__case__position", "run__eval_item__case__expected",
            "run__eval_item__case__tags", "run__eval_item__case__fields", "run__eval_item__arm", "run__eval_item__sample", "provider_model_id",
            "model_name", "provider_name", "status", "output_text", "error_message", "cost_usd", "latency_total_ms",
            "input_tokens", "output_tokens", "reused_from_id")}
        scores = defaultdict(dict)
        for rid, scorer, value, passed, expl in EvalScore.objects.filter(result_id__in=chunk).values_list(
                "result_id", "scorer", "value", "passed", "explanation"):
            scores[rid][scorer] = {"value": value, "passed": passed, "explanation": expl}
        reviews = defaultdict(list)
        for rid, user, verdict, rating, comment, blind in Review.objects.filter(result_id__in=chunk).values_list(
                "result_id", "reviewer__username", "verdict", "rating", "comment", "blind").order_by("created_at", "id"):
            reviews[rid].append({"reviewer": user, "verdict": None if verdict is None else ("correct" if verdict else "incorrect"),
                                 "rating": rating, "comment": comment, "blind": blind})
        for rid in chunk:
            r = rows.get(rid)
            if r is None:
                continue
            col = columns.get(results.column_key(r["provider_model_id"], r["run__eval_item__arm"]))
            yield {
                "case_id": r["run__eval_item__case_id"], "case_position": r["run__eval_item__case__position"],
                "expected": r["run__eval_item__case__expected"], "tags": r["run__eval_item__case__tags"] or [],
                "fields": r["run__eval_item__case__fields"] or {},
                "model": r["model_name"], "provider": r["provider_name"], "arm": r["run__eval_item__arm"],
                "column": col.title if col else r["model_name"], "sample": r["run__eval_item__sample"],
                "result_id": rid, "status": r["status"], "output": r["output_text"], "error": r["error_message"],
                "cost_usd": None if r["cost_usd"] is None else str(r["cost_usd"]),
                "latency_ms": r["latency_total_ms"], "input_tokens": r["input_tokens"],
                "output_tokens": r["output_tokens"], "reused": r["reused_from_id"] is not None,
                "scores": scores.get(rid, {}), "reviews": reviews.get(rid, []),
            }


def _csv_safe(value) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ (or a tab/CR) is read as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_stream(eval_run):
    keys = [k for k, _ in results.scorer_keys(eval_run.scorers)]
    head = ["case_id", "case_position", "expected", "tags", "fields", "model", "provider", "arm", "sample", "result_id",
            "status", "output", "error", "cost_usd", "latency_ms", "input_tokens", "output_tokens", "reused"]
    for k in keys:
        head += [f"{k}_value", f"{k}_passed", f"{k}_explanation"]
    head += ["reviews"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    yield buf.getvalue()
    for n, row in enumerate(export_rows(eval_run)):
        if n % 200 == 0:
            buf.seek(0)
            buf.truncate()
        out = [row["case_id"], row["case_position"], json.dumps(row["expected"], ensure_ascii=False)
               if not isinstance(row["expected"], str) else row["expected"], ";".join(row["tags"]),
               json.dumps(row["fields"], ensure_ascii=False) if row["fields"] else "", row["model"],
               row["provider"], row["arm"], row["sample"], row["result_id"], row["status"], row["output"],
               row["error"], row["cost_usd"], row["latency_ms"], row["input_tokens"], row["output_tokens"],
               row["reused"]]
        for k in keys:
            s = row["scores"].get(k) or {}
            out += [s.get("value"), s.get("passed"), s.get("explanation")]
        out.append(" | ".join(f"{r['reviewer']}: {r['verdict'] or '-'} {r['rating'] or ''} {r['comment']}".strip()
                              for r in row["reviews"]))
        start = buf.tell()
        writer.writerow([_csv_safe(v) for v in out])
        yield buf.getvalue()[start:]


def _json_stream(eval_run):
    head = {"evaluation": {"id": eval_run.pk, "name": str(eval_run), "set": eval_run.eval_set.name,
                           "status": eval_run.status, "scorers": eval_run.scorers, "arms": eval_run.arms}}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "results": ['
    for n, row in enumerate(export_rows(eval_run)):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]}\n"


@require_GET
def export(request, eval_run_id: int, fmt: str):
    eval_run, _ = get_eval_run(request, eval_run_id)
    if fmt not in ("csv", "json"):
        raise Http404("Not found")
    stream = _csv_stream(eval_run) if fmt == "csv" else _json_stream(eval_run)
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8" if fmt == "csv"
                                     else "application/json")
    response["Content-Disposition"] = f'attachment; filename="evaluation-{eval_run.pk}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
