"""prune_media: stored files and variants nothing uses are deleted; everything in use stays."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from playground.runs.models import RequestBody, RequestBodyFile
from playground.uploads import references, services
from playground.uploads.models import MediaItem, MediaVariant, StoredFile
from playground.uploads.variants import VariantSpec
from tests import media_samples as samples
from tests.factories import make_item, make_png

pytestmark = pytest.mark.usefixtures("media_dir")  # each test stores into its own folder (tests/uploads/conftest.py)


def age_everything():
    past = timezone.now() - timedelta(hours=2)
    StoredFile.objects.update(created_at=past)
    MediaVariant.objects.update(created_at=past)


def prune(*args) -> str:
    out = StringIO()
    call_command("prune_media", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def deleted_and_kept(team):
    gone = make_item(team, samples.jpeg_bytes(300, 200), name="gone.jpg")
    kept = make_png(team, "kept.png")
    services.get_variant(gone, VariantSpec.image(max_edge=50))
    services.get_variant(kept, VariantSpec.image(max_edge=32))
    gone_files = {gone.file_id, gone.thumbnail_id, *(vf.file_id for v in MediaVariant.objects.filter(source=gone.file)
                                                     for vf in v.variant_files.all())}
    gone.file.base64_path()
    gone.delete()
    return gone_files, kept


def test_it_deletes_what_a_deleted_item_left_and_keeps_the_rest(deleted_and_kept, stored_blobs):
    gone_files, kept = deleted_and_kept
    age_everything()

    output = prune()

    assert "Deleted 1 variant(s) and 3 stored file(s)" in output
    assert not StoredFile.objects.filter(pk__in=gone_files).exists()
    assert not [p for p in stored_blobs() if p.name.removesuffix(".b64") in gone_files]
    kept.refresh_from_db()
    assert kept.file.exists() and kept.thumbnail.exists()
    assert MediaVariant.objects.filter(source=kept.file).get().ordered_files()[0].file.exists()


def test_a_dry_run_deletes_nothing(deleted_and_kept):
    age_everything()
    before = StoredFile.objects.count()

    assert "Would delete 1 variant(s) and 3 stored file(s)" in prune("--dry-run")
    assert StoredFile.objects.count() == before


def test_recent_files_are_kept_for_uploads_in_progress(deleted_and_kept):
    before = StoredFile.objects.count()

    assert "Deleted 0 variant(s) and 0 stored file(s)" in prune()
    assert StoredFile.objects.count() == before


def test_a_file_a_logged_request_used_is_kept(team):
    item = make_png(team, "sent.png")
    body = RequestBody.objects.create(sha256="0" * 64, size=1, pieces=[])
    RequestBodyFile.objects.create(body=body, file=item.file)
    sha = item.file_id
    item.delete()
    age_everything()

    prune()

    assert StoredFile.objects.filter(pk=sha).exists()
    assert not MediaItem.objects.exists()


def test_a_file_any_app_above_reports_in_use_is_kept(team, monkeypatch):
    item = make_png(team, "elsewhere.png")
    sha, thumbnail = item.file_id, item.thumbnail_id
    monkeypatch.setitem(references._QUERIES, "tests: an app above uploads", lambda: [sha])
    item.delete()
    age_everything()

    prune()

    assert StoredFile.objects.filter(pk=sha).exists()
    assert not StoredFile.objects.filter(pk=thumbnail).exists()  # nobody reported the thumbnail


# --- temporary files a killed upload left ------------------------------------------------------


def _stale(path, hours: float = 2):
    import os
    import time

    past = time.time() - hours * 3600
    os.utime(path, (past, past))


@pytest.fixture
def leftovers(db, settings, media_dir):
    from pathlib import Path

    tmp = Path(settings.FILE_UPLOAD_TEMP_DIR)
    half = tmp / "tmpa1b2c3.upload.mp4"  # what Django's TemporaryUploadedFile names them
    half.write_bytes(b"\0" * 2_000_000)
    _stale(half)
    unpacked = tmp / "prism-prompt-x7"  # an import's folder
    (unpacked / "media").mkdir(parents=True)
    (unpacked / "media" / "a.png").write_bytes(samples.png_bytes())
    for p in (unpacked / "media" / "a.png", unpacked / "media", unpacked):
        _stale(p)
    receiving = tmp / "tmpz9y8x7.upload.wav"  # being written now
    receiving.write_bytes(b"\0" * 1000)
    recent_dir = tmp / "prism-prompt-new"
    recent_dir.mkdir()
    (recent_dir / "b.png").write_bytes(b"x")
    _stale(recent_dir)  # an old folder with a fresh file in it is still in use
    return half, unpacked, receiving, recent_dir


def test_prune_media_deletes_temporary_files_killed_uploads_left(leftovers):
    half, unpacked, receiving, recent_dir = leftovers
    out = prune()
    assert "Deleted 2 stale temporary upload file(s), 2.0 MB." in out
    assert not half.exists() and not unpacked.exists()
    assert receiving.exists() and recent_dir.exists() and (recent_dir / "b.png").exists()


def test_a_dry_run_leaves_temporary_files(leftovers):
    prune("--dry-run")
    assert all(p.exists() for p in leftovers)


def test_the_media_worker_sweeps_when_it_starts(leftovers):
    from playground.uploads import tasks

    half, unpacked, receiving, _ = leftovers
    tasks._on_worker_start(sender=None)
    assert not half.exists() and not unpacked.exists() and receiving.exists()
