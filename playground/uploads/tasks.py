from celery import shared_task

from playground.uploads import services


@shared_task(acks_late=True, ignore_result=True)
def prepare_variant(variant_id: int, item_id: int) -> None:
    # Idempotent: a task redelivered after a worker died finds the variant ready, or makes it again.
    services.make_variant(variant_id, item_id)
