"""Sending evaluation tasks once the transaction that made their rows commits."""

from django.db import transaction

from playground.evalruns import tasks


def prepare(eval_run_id: int) -> None:
    transaction.on_commit(lambda: tasks.prepare_eval_run.delay(eval_run_id))


def rescore(eval_run_id: int) -> None:
    transaction.on_commit(lambda: tasks.rescore_eval_run.delay(eval_run_id))
