"""Sending the tasks of results, once the transaction that queued them commits.

    enqueue.results([ids])                  # start_run: enqueued_at = now, then a send_results task per batch
    enqueue.reclaim_stale(run_id=run.pk)    # stale results queued again (sweeper.py), and their tasks sent
    enqueue.batches(ids)                    # the ids cut into tasks' batches (PRISM_RUNS_BATCH each)

A task is only a wake-up (sending.py): it is sent after the commit so that the worker finds the
rows. It carries a batch of results, sent all at once by one worker: a broker message, a claim
and a load per batch rather than per request. Batches stay small (10 by default) so that several
workers share a long run, and one slow model holds only its batch's task thread. This module sits
above tasks.py (tasks -> sending -> models), so nothing imports late.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from playground.runs import sweeper, tasks
from playground.runs.models import Result, batches

__all__ = ["batches", "reclaim_stale", "results"]


def send_now(result_ids: list[int]) -> None:
    for batch in batches(result_ids):
        tasks.send_results.delay(batch)


def _send_on_commit(result_ids: list[int]) -> None:
    transaction.on_commit(lambda: send_now(result_ids))


def results(result_ids) -> None:
    """Send a task per batch of results once the current transaction commits (at once outside one)."""
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
