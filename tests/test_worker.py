"""Variants made by a real Celery worker process, through the configured broker.

bin/test runs this on both passes, so it proves the embedded default (filesystem broker, SQLite)
and team scale (Redis, PostgreSQL) each work end to end with a separate worker process.
"""

import io
import time

import av
import pytest
from django.db import transaction
from PIL import Image

from playground.uploads import enqueue, services
from playground.uploads.models import MediaVariant, StoredFile, VariantFile
from playground.uploads.variants import VariantSpec
from tests import media_samples as samples

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(media_worker):  # the worker must do the work, not this process
    return media_worker


def add_item(team, tmp_path, name: str, data: bytes):
    path = samples.write_sample(tmp_path, name, data)
    return services.add_path(team=team, user=None, path=path, name=name).item


def request(item, spec: VariantSpec) -> MediaVariant:
    # on_commit: the task is sent only once the variant row is committed and visible to the worker.
    with transaction.atomic():
        return enqueue.request_variant(item, spec)


def wait_until_done(variant: MediaVariant, worker, timeout: float = 30) -> MediaVariant:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        variant.refresh_from_db()
        if variant.status != MediaVariant.Status.PENDING:
            break
        time.sleep(0.2)
    assert variant.status == MediaVariant.Status.READY, (
        f"variant {variant.spec} is {variant.status} {variant.error!r} after {timeout} s; worker log:\n"
        + worker.log_tail()
    )
    return variant


def output_files(variant: MediaVariant) -> list[bytes]:
    return [vf.file.read_bytes() for vf in variant.ordered_files()]


def test_the_worker_resizes_an_image(worker, team, tmp_path):
    item = add_item(team, tmp_path, "photo.jpg", samples.jpeg_bytes(400, 300))

    variant = wait_until_done(request(item, VariantSpec.image(max_edge=64, format="png")), worker)

    [data] = output_files(variant)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (64, 48))
    assert variant.ordered_files()[0].file.mime_type == "image/png"


def test_the_worker_takes_key_frames_from_a_video(worker, team, tmp_path):
    item = add_item(team, tmp_path, "clip.mp4", samples.mp4_bytes(seconds=2.0, width=128, height=96, fps=10))

    variant = wait_until_done(request(item, VariantSpec.keyframes(count=4, max_edge=32)), worker)

    frames = variant.ordered_files()
    assert len(frames) == 4
    times = [vf.details["time_s"] for vf in frames]
    assert times == sorted(times) and len(set(times)) == 4
    for vf in frames:
        image = Image.open(io.BytesIO(vf.file.read_bytes()))
        assert (image.format, image.size) == ("JPEG", (32, 24))


def test_the_worker_converts_audio(worker, team, tmp_path):
    item = add_item(team, tmp_path, "tone.wav", samples.wav_bytes(seconds=1.0, rate=44100))

    variant = wait_until_done(request(item, VariantSpec.audio(format="mp3", sample_rate=16000)), worker)

    [data] = output_files(variant)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert container.format.name == "mp3" and stream.codec_context.name.startswith("mp3")
        assert stream.codec_context.sample_rate == 16000
        decoded = sum(frame.samples for frame in container.decode(stream)) / 16000
    assert 0.9 < decoded < 1.2


def test_the_same_variant_requested_twice_is_made_once(worker, team, other_team, tmp_path):
    mine = add_item(team, tmp_path, "a.png", samples.png_bytes(120, 80))
    theirs = add_item(other_team, tmp_path, "b.png", samples.png_bytes(120, 80))  # same bytes, other team
    spec = VariantSpec.image(max_edge=30, format="webp")
    tasks_before = worker.tasks_received()
    files_before = StoredFile.objects.count()

    first = request(mine, spec)
    second = request(mine, spec)  # while the first may still be queued
    third = request(theirs, spec)
    wait_until_done(first, worker)
    time.sleep(1.5)  # long enough for a duplicate task to have been picked up (the broker polls each second)

    assert first.pk == second.pk == third.pk
    assert MediaVariant.objects.count() == 1
    assert VariantFile.objects.count() == 1
    assert StoredFile.objects.count() == files_before + 1
    assert worker.tasks_received() - tasks_before == 1, worker.log_tail()
    again = request(mine, spec)
    assert again.status == MediaVariant.Status.READY  # ready variants are not queued again
