"""Celery tasks of evaluation runs, on the default queue (CPU work: rendering, variants). Thin."""

from celery import shared_task

from playground.evalruns import prepare as preparing
from playground.evalruns import scoring
from playground.evalruns.models import EvalRun


@shared_task(bind=True, acks_late=True, ignore_result=True)
def prepare_eval_run(self, eval_run_id: int) -> None:
    # Idempotent (prepare.py): a redelivered task resumes where the last chunk committed.
    if preparing.prepare(eval_run_id) == "more":
        prepare_eval_run.delay(eval_run_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def rescore_eval_run(self, eval_run_id: int) -> None:
    er = EvalRun.objects.select_related("eval_set").filter(pk=eval_run_id).first()
    if er is not None:
        scoring.rescore(er)
