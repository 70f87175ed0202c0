"""Sending the tasks of results, once the transaction that queued them commits.

    enqueue.results([ids])                  # start_run: enqueued_at = now, then a send_result task each
    enqueue.reclaim_stale(run_id=run.pk)    # stale results queued again (sweeper.py), and their tasks sent

A task is only a wake-up (sending.py): it is sent after the commit so that the worker finds the
row. This module sits above tasks.py (tasks -> sending -> models), so nothing imports late.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from playground.runs import sweeper, tasks
from playground.runs.models import Result

__all__ = ["reclaim_stale", "results"]


def _send_on_commit(result_ids: list[int]) -> None:
    def send():
        for pk in result_ids:
            tasks.send_result.delay(pk)

    transaction.on_commit(send)


def results(result_ids) -> None:
    """Send a task per result once the current transaction commits (at once outside one)."""
    ids = list(result_ids)
    if not ids:
        return
    Result.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    _send_on_commit(ids)


def reclaim_stale(*, run_id: int | None = None, limit: int = 500) -> list[int]:
    """Queue stale results again (sweeper.requeue_stale) and send their tasks after the commit;
    returns the ids re-queued. Only the caller that reset a result sends its task."""
    requeued = sweeper.requeue_stale(run_id=run_id, limit=limit)
    if requeued:
        _send_on_commit(requeued)
    return requeued
