"""Fixtures the media library tests share: private media storage, and a browser signed in as an editor.

A module whose tests must check that nothing was stored on disk asks for ``media_dir`` in every
test with ``pytestmark = pytest.mark.usefixtures("media_dir")``.
"""

import uuid
from pathlib import PurePosixPath

import pytest


@pytest.fixture
def media_dir(tmp_path, settings):
    """This test's own storage (and upload temporary folder), so 'nothing was stored' can be checked:
    a media folder, or with the team pass's bucket a key prefix of its own in the bucket (and a
    cache folder of its own). Returns the media folder (unused with the bucket)."""
    default = settings.STORAGES["default"]
    if default["BACKEND"].endswith("S3Storage"):
        options = {**default["OPTIONS"], "location": f"test-{uuid.uuid4().hex}"}
        settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}
        settings.PRISM_MEDIA_CACHE_DIR = tmp_path / "cache"
    else:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
            },
        }
    (tmp_path / "tmp").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "tmp")
    return tmp_path / "media"


@pytest.fixture
def stored_blobs(media_dir, settings):
    """``stored_blobs()``: the blobs (and .b64 sidecars) stored so far in this test's storage, as
    paths relative to it (``p.name`` is the sha256)."""

    def listing():
        options = settings.STORAGES["default"]["OPTIONS"]
        if "bucket_name" in options:
            import boto3

            client = boto3.client("s3", endpoint_url=options.get("endpoint_url"), region_name=options.get("region_name"))
            prefix = options["location"] + "/"
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=options["bucket_name"], Prefix=prefix)
            return [PurePosixPath(obj["Key"][len(prefix):]) for page in pages for obj in page.get("Contents", [])]
        blobs = media_dir / "blobs"
        return [p.relative_to(media_dir) for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []

    return listing


@pytest.fixture
def client_in(client, user, team):
    """The test client signed in as ``user``, an editor of ``team`` (also at ``client_in.team``)."""
    client.force_login(user)
    client.team = team
    return client
