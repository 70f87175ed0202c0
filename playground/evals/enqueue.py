"""Queueing evaluation-set work for a worker (the default queue, with variants): the one place evals
sends a Celery task. Above tasks.py, which calls imports.py; views call this module."""

from pathlib import Path

from django.db import transaction

from playground.evals import imports
from playground.evals.models import EvalImport, EvalSet
from playground.evals.tasks import import_zip


def queue_import(eval_set: EvalSet, *, user, path: Path, file_name: str) -> EvalImport:
    """Record an import of the ZIP at path and queue it once the record is committed. Raises
    imports.ImportRefused for what is not a ZIP (or too large), before anything is stored."""
    job = imports.start_import(eval_set, user=user, path=path, file_name=file_name)
    transaction.on_commit(lambda: import_zip.delay(job.pk))
    return job
