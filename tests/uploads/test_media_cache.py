"""This machine's cache of bucket objects (playground/uploads/blobs.py): least recently used out
past the limit, recent entries and live downloads spared. On both passes: the cache is plain files."""

import os
import time

import pytest
from django.conf import settings

from playground.uploads import blobs


def entry(name: str, size: int, age_s: float):
    path = blobs.cache_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, settings):
    settings.PRISM_MEDIA_CACHE_DIR = tmp_path / "cache"


def test_the_least_recently_used_entries_go_first_until_within_90_percent():
    old = entry("aa" + "0" * 62, 400, age_s=3000)
    middle = entry("bb" + "0" * 62, 400, age_s=2000)
    newer = entry("cc" + "0" * 62, 400, age_s=1000)

    evicted = blobs.evict(700)  # down to 630 bytes or less

    assert (evicted.files, evicted.bytes, evicted.kept_bytes) == (2, 800, 400)
    assert not old.exists() and not middle.exists() and newer.exists()


def test_a_use_renews_an_entry_and_recent_entries_are_spared():
    used = entry("aa" + "0" * 62, 400, age_s=3000)
    other = entry("bb" + "0" * 62, 400, age_s=2000)
    recent = entry("cc" + "0" * 62, 400, age_s=10)

    assert blobs.touch(used)  # as local_path() does on a hit
    evicted = blobs.evict(500)

    assert not other.exists() and used.exists() and recent.exists()  # the rest are within the grace
    assert evicted.kept_bytes == 800


def test_within_the_limit_nothing_goes_but_stale_temporary_files_do():
    kept = entry("aa" + "0" * 62, 400, age_s=5000)
    stale = kept.with_name(".aa.dead.tmp")
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200,) * 2)
    live = kept.with_name(".aa.live.tmp")
    live.write_bytes(b"half")

    assert blobs.evict(10_000).files == 0
    assert kept.exists() and not stale.exists() and live.exists()


def test_the_limit_is_the_setting_in_mb(settings):
    settings.PRISM_MEDIA_CACHE_MB = 1
    big = entry("aa" + "0" * 62, 900_000, age_s=3000)
    entry("bb" + "0" * 62, 300_000, age_s=1000)

    blobs.evict()

    assert not big.exists()


def test_the_cache_is_under_the_data_folder_by_default():
    from playground import settings as defaults

    assert defaults.PRISM_MEDIA_CACHE_DIR == defaults.DATA_DIR / "cache"
    assert settings.PRISM_MEDIA_CACHE_MB >= 1


@pytest.mark.django_db
def test_storing_a_checked_file_links_it_instead_of_copying(tmp_path):
    """The local folder's fast path: the upload's temp file becomes the blob by a hard link. With
    the bucket, the same link seeds this machine's cache, so work that follows needs no download."""
    from playground.uploads import services

    source = tmp_path / "upload.tmp"
    source.write_bytes(os.urandom(4096))  # bytes of this test alone

    stored = services.store_path(source, "application/octet-stream")

    assert stored.local_path().stat().st_ino == source.stat().st_ino
    assert stored.read_bytes() == source.read_bytes() and stored.exists()
