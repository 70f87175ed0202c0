"""Celery tasks of runs: one task per batch of results (up to PRISM_RUNS_BATCH), on the "runs" queue.

The runs queue is served by a threads-pool worker (bin/run: ``-Q runs --pool threads
--concurrency 64``): a task mostly waits for a model, so one process keeps many requests in
flight through one shared dispatcher (dispatch.py). Variants stay on the default queue, in a
prefork worker, where CPU-bound work and time limits belong.

Thin, and importing downward only: enqueue.py sends these tasks; they call sending.py.
"""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from playground.runs import sending, sweeper
from playground.runs.sql import db_threads

RUNS_QUEUE = getattr(settings, "PRISM_RUNS_QUEUE", "runs")


@shared_task(bind=True, acks_late=True, ignore_result=True)  # routed to the runs queue (CELERY_TASK_ROUTES)
def send_results(self, result_ids: list[int]) -> None:
    # Thin: sending claims the rows atomically, sends them all at once, and records each once (see
    # sending.py). In a worker its queries run on the process's few database threads; eagerly, here.
    sending.execute_many(result_ids, db=None if self.request.is_eager else db_threads())


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_result(self, result_id: int) -> None:
    # One result: the task of earlier versions, kept so that messages queued before an upgrade are served.
    sending.execute_many([result_id], db=None if self.request.is_eager else db_threads())


@worker_ready.connect
def _start_sweeper(sender=None, **kwargs) -> None:
    """In a worker that serves the runs queue: warm up what sending needs (the dispatcher, its
    Redis connections, the database threads' connections), then re-queue results whose worker was
    lost (at start, then every lease/2 s). Brokers do not bring back a killed worker's tasks soon,
    or at all (filesystem): see sending.py."""
    queues = getattr(getattr(sender, "task_consumer", None), "queues", None) or []
    if any(q.name == RUNS_QUEUE for q in queues):
        concurrency = getattr(getattr(sender, "controller", None), "concurrency", None) or 64
        sending.warm_up(db_threads(), tasks_at_once=int(concurrency))
        sweeper.start_sweeper(send_results)
