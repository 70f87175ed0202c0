"""Fixtures the media library tests share: a private media folder, and a browser signed in as an editor.

A module whose tests must check that nothing was stored on disk asks for ``media_dir`` in every
test with ``pytestmark = pytest.mark.usefixtures("media_dir")``.
"""

import pytest


@pytest.fixture
def media_dir(tmp_path, settings):
    """This test's own storage folder (and upload temporary folder), so 'nothing was stored' can be checked on disk."""
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
def stored_blobs(media_dir):
    """``stored_blobs()``: the files stored so far in this test's media folder."""

    def listing():
        blobs = media_dir / "blobs"
        return [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []

    return listing


@pytest.fixture
def client_in(client, user, team):
    """The test client signed in as ``user``, an editor of ``team`` (also at ``client_in.team``)."""
    client.force_login(user)
    client.team = team
    return client
