"""Celery tasks of evaluation sets, kept thin: each calls imports.py. Sending them is enqueue.py's."""

from celery import shared_task

from playground.evals import imports


@shared_task(acks_late=True, ignore_result=True)
def import_zip(import_id: int) -> None:
    # Resumable: progress is committed with each batch of cases, so a redelivered task (a worker
    # died) or a continuation (a long import works in slices under the task time limit) goes on
    # after the last batch.
    if imports.run_import(import_id):
        import_zip.delay(import_id)
