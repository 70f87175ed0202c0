"""What a browser posts to the media library: uploads (htmx, as the library page sends them) and URLs."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import HX


def upload(client, name: str, data: bytes):
    """Upload one file named ``name``."""
    return upload_files(client, SimpleUploadedFile(name, data))


def upload_files(client, *files):
    """Upload several files in one request (none: an empty upload)."""
    return client.post(reverse("uploads:upload"), {"file": list(files)}, headers=HX)


def add_url(client, url: str, mode: str = "fetch"):
    """Add media by URL: ``mode`` "fetch" stores the bytes, "reference" keeps only the URL."""
    return client.post(reverse("uploads:add_url"), {"url": url, "mode": mode}, headers=HX)
