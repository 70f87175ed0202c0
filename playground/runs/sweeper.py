"""The stale-result sweeper: results whose worker was lost, or whose task never came, queued again.

    ids = requeue_stale(run_id=None)    # set back to queued; the caller sends their tasks
    start_sweeper(tasks.send_results)   # in a runs worker: a thread doing that, and sending, every lease/2 s

Why a sweeper at all (brokers bring a killed worker's task back late, or never): sending.py,
"Redelivery". The run page does the same for its own run through enqueue.reclaim_stale. The task
is handed to start_sweeper by tasks.py's worker_ready handler: tasks.py imports this module, so
this module does not import tasks.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection
from django.utils import timezone

from playground.runs.models import Result, batches, lease_s

__all__ = ["requeue_stale", "start_sweeper"]

log = logging.getLogger("playground.runs")


def requeue_stale(*, run_id: int | None = None, limit: int = 500) -> list[int]:
    """Set stale results (Result.objects.stale) back to queued and return the ids this caller
    reset; sending their tasks is the caller's. Safe to run anywhere, any number of times: each
    result is reset by one conditional UPDATE, so when two sweepers see it, one of them wins."""
    now = timezone.now()
    requeued = []
    for pk, status in Result.objects.stale(now=now, run_id=run_id).values_list("pk", "status")[:limit]:
        one = Result.objects.filter(pk=pk)
        still_stale = one.lost(now) if status == Result.Status.RUNNING else one.forgotten(now)
        if still_stale.update(status=Result.Status.QUEUED, claim_token="", claimed_until=None, enqueued_at=now):
            requeued.append(pk)
    if requeued:
        log.warning("re-queued %d result(s) whose worker was lost or whose task never came: %s", len(requeued), requeued[:20])
    return requeued


_sweeper: threading.Thread | None = None


def start_sweeper(task, interval_s: float | None = None) -> threading.Thread:
    """A daemon thread in this worker process re-queuing stale results now and every ``lease/2``
    s, sending ``task`` (the Celery task that sends a batch of results: tasks.send_results) for them,
    in batches of PRISM_RUNS_BATCH."""
    global _sweeper
    if _sweeper is not None and _sweeper.is_alive():
        return _sweeper
    interval = interval_s or max(0.5, lease_s() / 2)

    def loop():
        while True:
            try:
                close_old_connections()
                for batch in batches(requeue_stale()):  # no transaction here: reset rows are committed already
                    task.delay(batch)
            except Exception:  # a database hiccup must not end the sweeper
                log.exception("the stale-result sweeper failed; trying again in %g s", interval)
            finally:
                connection.close()  # this thread's connection; nothing held between passes
            time.sleep(interval)

    _sweeper = threading.Thread(target=loop, name="prism-result-sweeper", daemon=True)
    _sweeper.start()
    return _sweeper
