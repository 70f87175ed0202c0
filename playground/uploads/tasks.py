"""Celery tasks of the media library, kept thin: each calls services. Sending them is enqueue.py's."""

from celery import shared_task
from celery.signals import worker_ready

from playground.uploads import services


@worker_ready.connect
def _on_worker_start(**kwargs) -> None:
    # A worker killed mid-task leaves its temporary files behind; so does a killed web process.
    services.sweep_upload_temp()


@shared_task(acks_late=True, ignore_result=True)
def prepare_variant(variant_id: int, item_id: int) -> None:
    # Idempotent: a task redelivered after a worker died finds the variant ready, or makes it again.
    services.make_variant(variant_id, item_id)
