"""Scoring an evaluation run's results with its scorers (playground/scoring), stored as EvalScores.

    score_results(er, result_ids)   # those results (answered ones), replacing their rows
    rescore(er)                     # every result again, after the scorers were edited; nothing is sent

One pass: the results with their cases in one query, each scorer built once (registry.make_scorer),
the rows written with bulk_create. The judge scorer needs a model's answer: it is left to the
judge step (not scored here; its rows say so).
"""

from __future__ import annotations

from django.db import transaction

from playground.evalruns.models import EvalItem, EvalRun, EvalScore
from playground.evalruns import services
from playground.evalruns.services import labels_filled
from playground.runs.models import Result
from playground.scoring import registry
from playground.scoring.types import ConfigError, Score

NO_EXPECTED = "The case has no expected answer yet, so this scorer cannot judge it."


def scorer_keys(scorers: list[dict]) -> list[str]:
    """Each scorer's stored name: its registry name, or name#n for the n-th time it appears."""
    seen: dict[str, int] = {}
    keys = []
    for s in scorers:
        n = seen[s["name"]] = seen.get(s["name"], 0) + 1
        keys.append(s["name"] if n == 1 else f"{s['name']}#{n}")
    return keys


def _built(er: EvalRun):
    """[(key, spec, callable or None, error)] for the run's scorers."""
    out = []
    for key, s in zip(scorer_keys(er.scorers), er.scorers, strict=True):
        name = s["name"]
        spec = registry.SCORERS.get(name)
        if spec is None:
            out.append((key, None, None, f"Unknown scorer “{name}”."))
            continue
        if name == "judge":
            out.append((key, spec, None, None))
            continue
        try:
            fn = registry.make_scorer(name, labels_filled(name, s.get("config") or {}, er.eval_set))
        except ConfigError as exc:
            out.append((key, spec, None, "; ".join(exc.errors)))
            continue
        out.append((key, spec, fn, None))
    return out


def _rows(er: EvalRun, results) -> list[EvalScore]:
    built = _built(er)
    rows = []
    for result_id, output, case_id, expected in results:
        for key, spec, fn, error in built:
            if fn is None:
                if spec is not None and spec.name == "judge":
                    continue  # scored when the judge answers
                score = Score(None, None, error or "Not scored.", {})
            elif expected is None and spec.expected != "unused" and not (spec.name == "regex"):
                score = Score(None, None, NO_EXPECTED, {})
            else:
                try:
                    score = fn(output or "", expected)
                except Exception as exc:  # a scorer's bug must not stop the others; said on the row
                    score = Score(None, None, f"The scorer failed ({type(exc).__name__}).", {})
            rows.append(EvalScore(eval_run=er, result_id=result_id, case_id=case_id, scorer=key, value=score.value,
                                  passed=score.passed, explanation=score.explanation, details=score.details or {}))
    return rows


def _answered(er: EvalRun, result_ids=None):
    qs = Result.objects.filter(run__eval_item__eval_run=er, status=Result.Status.SUCCEEDED)
    if result_ids is not None:
        qs = qs.filter(pk__in=list(result_ids))
    return qs.values_list("pk", "output_text", "run__eval_item__case_id", "run__eval_item__case__expected")


def score_results(er: EvalRun, result_ids) -> int:
    """Score these results (the answered ones among them), replacing their automatic rows."""
    ids = list(result_ids)
    if not ids or not er.scorers:
        return 0
    rows = _rows(er, _answered(er, ids))
    keys = [k for k, s in zip(scorer_keys(er.scorers), er.scorers, strict=True) if s["name"] != "judge"]
    with transaction.atomic():
        EvalScore.objects.filter(eval_run=er, result_id__in=ids, scorer__in=keys).delete()
        EvalScore.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rescore(er: EvalRun) -> int:
    """Every answered result scored again with the run's current scorers (the judge's stored
    rows are kept for judge scorers still listed); nothing is sent."""
    rows = _rows(er, _answered(er).iterator(chunk_size=2000))
    keep = [k for k, s in zip(scorer_keys(er.scorers), er.scorers, strict=True) if s["name"] == "judge"]
    with transaction.atomic():
        EvalScore.objects.filter(eval_run=er).exclude(scorer__in=keep).delete()
        EvalScore.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def eval_runs_of(run_ids) -> list[int]:
    return list(EvalItem.objects.filter(run_id__in=list(run_ids)).values_list("eval_run_id", flat=True).distinct())


def score_missing(er: EvalRun) -> int:
    """Score the answered results that have no automatic score yet: those whose batch's
    results_recorded never came (the worker was killed between recording and the signal)."""
    keys = [k for k, s in zip(scorer_keys(er.scorers), er.scorers, strict=True) if s["name"] != "judge"]
    if not keys:
        return 0
    missing = (Result.objects.filter(run__eval_item__eval_run=er, status=Result.Status.SUCCEEDED)
               .exclude(eval_scores__scorer=keys[0]).values_list("pk", flat=True))  # fmt: skip
    return score_results(er, list(missing))


def finish(er: EvalRun) -> bool:
    """When nothing is left to answer: catch up on scores, then mark the evaluation DONE."""
    if er.status != EvalRun.Status.RUNNING or services.results_of(er).filter(
            status__in=(Result.Status.QUEUED, Result.Status.RUNNING)).exists():
        return False
    score_missing(er)
    return services.finish_if_complete(er)
