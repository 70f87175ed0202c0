"""Preparing an evaluation run: its EvalItems and their Runs, chunk by chunk, in the background.

Each chunk of CHUNK cases is one transaction: its items, their runs (runs.services.start_run,
origin "eval") and the tasks to send them, sent when the chunk commits, so sending starts with
the first chunk. Idempotent: a case whose items all exist is skipped, and the unique (eval_run,
case, arm, sample) makes a second worker's copy of a chunk roll back whole, so a redelivered or
doubled task never doubles a request. A task works SLICE_S then queues its continuation.
"""

from __future__ import annotations

import logging
import time

from django.db import IntegrityError, transaction

from playground.evalruns import scoring, services
from playground.evalruns.models import EvalItem, EvalRun
from playground.evals.models import EvalCase
from playground.prompts.library_source import LibrarySource
from playground.runs.models import Result

log = logging.getLogger("playground.evalruns")

CHUNK = 50
FIRST_CHUNK = 10
SLICE_S = 120.0


def _chunk(er: EvalRun, models: list, kinds: dict, source, cases: list[EvalCase]) -> list[int]:
    """Items and runs for these cases (those missing); returns the ids of results already finished
    (refused, or answered from a stored response) so they are scored at once."""
    wanted = [(a["key"], s) for a in er.arms for s in range(er.samples)]
    have = set(EvalItem.objects.filter(eval_run=er, case__in=cases, run__isnull=False)
               .values_list("case_id", "arm", "sample"))  # fmt: skip
    arms = {a["key"]: a for a in er.arms}
    finished = []
    version = er.prompt_version
    for case in cases:
        values = services.case_values(case, er.bindings, services.media_by_slot(case))
        for arm_key, sample in wanted:
            if (case.pk, arm_key, sample) in have:
                continue
            content = services.arm_content(version.content, arms[arm_key], values, kinds)
            run = services.runs_services.start_run(
                version=version, values=values, provider_models=models, user=er.created_by, team=er.team,
                content=content, origin="eval", reuse=er.reuse_identical, source=source,
            )  # fmt: skip
            # create, not update: a second task's copy of the chunk fails here and rolls back whole
            EvalItem.objects.create(eval_run=er, case=case, arm=arm_key, sample=sample, run=run)
            finished += list(Result.objects.filter(run=run, status__in=Result.FINISHED).values_list("pk", flat=True))
    return finished


def prepare(eval_run_id: int, *, slice_s: float = SLICE_S) -> str:
    """Prepare what is missing; "done", "stopped" (cancelled, budget) or "more" (continue in a new task)."""
    er = EvalRun.objects.select_related("eval_set", "prompt_version", "team", "created_by").get(pk=eval_run_id)
    if er.status != EvalRun.Status.PREPARING:
        return "stopped"
    models = er.ordered_models()
    kinds = dict(services.prompt_slots(er.prompt_version)["media"])
    source = LibrarySource(er.team)
    started = time.monotonic()
    case_ids = list(EvalCase.objects.filter(set=er.eval_set).order_by("position", "id").values_list("pk", flat=True))
    per_case = len(er.arms) * er.samples
    done_cases = {c for c, n in _items_per_case(er).items() if n >= per_case}
    todo = [c for c in case_ids if c not in done_cases]
    EvalRun.objects.filter(pk=er.pk).update(prepared_cases=len(done_cases))
    # The first chunk is small so that sending starts within a moment; then CHUNK at a time.
    bounds = [0, *range(min(FIRST_CHUNK, CHUNK), len(todo), CHUNK)]
    for n, i in enumerate(bounds):
        end = bounds[n + 1] if n + 1 < len(bounds) else len(todo)
        er.refresh_from_db(fields=["status"])
        if er.status != EvalRun.Status.PREPARING:
            return "stopped"
        cases = list(EvalCase.objects.filter(pk__in=todo[i:end]).order_by("position", "id").prefetch_related("media"))
        source.prefetch([m.item_id for c in cases for m in c.ordered_media()])
        try:
            with transaction.atomic():
                finished = _chunk(er, models, kinds, source, cases)
                EvalRun.objects.filter(pk=er.pk).update(prepared_cases=len(done_cases) + i + len(cases))
        except IntegrityError:  # another worker prepared this chunk at the same time: its copy stands
            log.info("evaluation %s: a chunk was prepared by another task; skipped", er.pk)
            continue
        if finished:
            scoring.score_results(er, finished)
        if services.check_budget(er):
            return "stopped"
        if end < len(todo) and time.monotonic() - started > slice_s:
            return "more"  # a fresh task continues (under the task time limit)
    EvalRun.objects.filter(pk=er.pk, status=EvalRun.Status.PREPARING).update(
        status=EvalRun.Status.RUNNING, prepared_cases=len(case_ids))
    er.refresh_from_db(fields=["status", "prepared_cases"])
    scoring.finish(er)
    return "done"


def _items_per_case(er: EvalRun) -> dict[int, int]:
    counts: dict[int, int] = {}
    for case_id in EvalItem.objects.filter(eval_run=er, run__isnull=False).values_list("case_id", flat=True):
        counts[case_id] = counts.get(case_id, 0) + 1
    return counts
