"""Queueing variant work for the media worker: the one place uploads sends a Celery task.

It sits above tasks.py, which sits above services.py (the task calls ``services.make_variant``),
so services never needs the task and no import runs in a circle. Views call this module.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from playground.uploads import services, variants
from playground.uploads.models import MediaItem, MediaVariant
from playground.uploads.tasks import prepare_variant


def request_variant(item: MediaItem, spec: variants.VariantSpec) -> MediaVariant:
    """The variant of item for spec: ready if made before, otherwise queued for a worker."""
    source = services.variant_source(item)
    variant, created = MediaVariant.objects.get_or_create(source=source, spec=services.variant_key(item, spec))
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
    if variant.status == MediaVariant.Status.FAILED or (
        variant.status == MediaVariant.Status.PENDING and variant.updated_at < stale
    ):
        # Asking again retries a failed variant, or one whose task was lost (broker or worker gone).
        MediaVariant.objects.filter(pk=variant.pk).update(
            status=MediaVariant.Status.PENDING, error="", updated_at=timezone.now()
        )
        variant.refresh_from_db()
        created = True
    if created:
        transaction.on_commit(lambda: prepare_variant.delay(variant.pk, item.pk))
    return variant
