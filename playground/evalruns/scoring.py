"""Scoring an evaluation run's results with its scorers (playground/scoring), stored as EvalScores.

    score_results(er, result_ids)   # those results (answered ones), replacing their rows
    rescore(er)                     # every result again, after the scorers were edited; nothing is sent

One pass: the results with their cases in one query, each scorer built once (registry.make_scorer),
the rows written with bulk_create. The judge scorer needs a model's answer: it is left to the
judge step (not scored here; its rows say so).
"""

from __future__ import annotations

from django.db import transaction

from playground.evalruns import services
from playground.evalruns.models import EvalItem, EvalRun, EvalScore
from playground.evalruns.services import labels_filled
from playground.prompts.document import normalize
from playground.runs.models import Result
from playground.scoring import judge, registry
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
    # The judge's stored answers read again with the judge's current config (nothing sent).
    judged = [d["judge_run"] for d in EvalScore.objects.filter(eval_run=er, scorer__in=keep).values_list("details", flat=True)
              if isinstance(d, dict) and "judge_run" in d]  # fmt: skip
    return len(rows) + (record_judgements(judged) if judged else 0)


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
    """When nothing is left to answer: catch up on scores, send the judge's requests, then mark
    the evaluation DONE (the judge's scores arrive as its answers do)."""
    if er.status != EvalRun.Status.RUNNING or services.results_of(er).filter(
            status__in=(Result.Status.QUEUED, Result.Status.RUNNING)).exists():
        return False
    score_missing(er)
    if not services.finish_if_complete(er):
        return False
    request_judgements(er)  # by whoever moved it to DONE (one UPDATE decides): sent once
    return True


# --- the judge: a model's answer read into a score ------------------------------------------------

# The judge's request: the whole prompt built by playground.scoring.judge, as one user message. It is
# sent as the evaluation's own prompt version with this document instead (start_run's content), so
# no prompt is added to the team's list; its runs have origin "eval" like the evaluation's.
JUDGE_DOC = normalize({"system": "", "messages": [{"role": "user", "parts": [{"text": "{{judge_prompt}}"}]}],
                       "variables": {}, "options": {"max_tokens": 400}})  # fmt: skip
PENDING = "Waiting for the judge's answer."


def judge_scorers(er: EvalRun) -> list[tuple[str, dict]]:
    return [(k, registry.resolve_config("judge", s.get("config") or {}))
            for k, s in zip(scorer_keys(er.scorers), er.scorers, strict=True) if s["name"] == "judge"]  # fmt: skip


def request_judgements(er: EvalRun) -> int:
    """For each answered result without a judge score: a judge request (a run on er.judge_model)
    and a pending EvalScore naming it. Returns how many were sent."""
    from playground.runs import services as runs_services

    judges = judge_scorers(er)
    if not judges or er.judge_model_id is None:
        return 0
    sent = 0
    for key, config in judges:
        have = set(EvalScore.objects.filter(eval_run=er, scorer=key).values_list("result_id", flat=True))
        rows = []
        for result_id, output, case_id, expected in _answered(er):
            if result_id in have:
                continue
            request = judge.build_judge_request(config, output or "", expected)
            run = runs_services.start_run(version=er.prompt_version, content=JUDGE_DOC, values={"judge_prompt": request.prompt},
                                          provider_models=[er.judge_model], user=er.created_by, team=er.team, origin="eval")  # fmt: skip
            rows.append(EvalScore(eval_run=er, result_id=result_id, case_id=case_id, scorer=key, explanation=PENDING,
                                  details={"judge_run": run.pk, "pending": True}))  # fmt: skip
        EvalScore.objects.bulk_create(rows, ignore_conflicts=True)
        sent += len(rows)
    return sent


def record_judgements(run_ids) -> int:
    """Read the judge's answers of these runs into their pending EvalScores."""
    pending = list(EvalScore.objects.filter(details__judge_run__in=list(run_ids)).select_related("eval_run"))
    if not pending:
        return 0
    answers = {r.run_id: r for r in Result.objects.filter(run_id__in=[p.details["judge_run"] for p in pending])
               .only("pk", "run_id", "status", "output_text", "cost_usd", "error_message")}  # fmt: skip
    done = 0
    for row in pending:
        answer = answers.get(row.details["judge_run"])
        if answer is None or not answer.is_finished:
            continue
        configs = dict(judge_scorers(row.eval_run))
        if answer.status == Result.Status.SUCCEEDED and row.scorer in configs:
            score = judge.score_judge_answer(configs[row.scorer], answer.output_text)
        else:
            score = Score(None, None, f"The judge's request did not succeed: {answer.error_message or answer.status}", {})
        row.value, row.passed, row.explanation = score.value, score.passed, score.explanation
        row.details = {**(score.details or {}), "judge_run": answer.run_id, "judge_result": answer.pk,
                       "judge_cost_usd": str(answer.cost_usd) if answer.cost_usd is not None else None}  # fmt: skip
        row.save(update_fields=["value", "passed", "explanation", "details"])
        done += 1
    return done


def judge_progress(er: EvalRun) -> dict:
    """Judge requests pending and their cost so far (counted apart from the models')."""
    from django.db.models import Sum

    rows = EvalScore.objects.filter(eval_run=er, details__has_key="judge_run")
    run_ids = [r["judge_run"] for r in rows.values_list("details", flat=True)]
    cost = Result.objects.filter(run_id__in=run_ids).aggregate(c=Sum("cost_usd"))["c"] if run_ids else None
    return {"requests": len(run_ids), "pending": rows.filter(details__pending=True).count(), "cost": cost}
