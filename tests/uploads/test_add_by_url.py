"""Adding media by URL: fetched and stored, or kept as a reference; private addresses refused.

A real HTTP server on loopback stands in for a public site. Loopback is refused like any private
address unless URL_FETCH_ALLOW_LOOPBACK is on, which these tests switch on only where they need
the stand-in; the refusal tests run with it off, and redirects to private addresses are refused
even with it on.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from playground.uploads.models import MediaItem, StoredFile
from tests import media_samples as samples
from tests.uploads.posts import add_url

pytestmark = pytest.mark.usefixtures("media_dir")  # each test stores into its own folder (tests/uploads/conftest.py)

ROUTES = {
    "/photo.png": (200, {"Content-Type": "image/png"}, samples.png_bytes(80, 60)),
    "/not-media.html": (200, {"Content-Type": "text/html"}, b"<html><body>hello</body></html>"),
    "/to-private": (302, {"Location": "http://10.0.0.1/photo.png"}, b""),
    "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
    # Right-to-left override: "invoice\u202egnp.exe" is shown as "invoiceexe.png".
    "/invoice%E2%80%AEgnp.exe": (200, {"Content-Type": "image/png"}, samples.png_bytes(80, 61)),
    "/download": (
        200,
        {"Content-Type": "image/png", "Content-Disposition": "attachment; filename*=UTF-8''a%E2%80%8F%E2%81%A6b%E2%80%8B.png"},
        samples.png_bytes(80, 62),
    ),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, headers, body = ROUTES.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_it_fetches_and_stores_a_url(client_in, site, settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = True

    response = add_url(client_in, f"{site}/photo.png")

    item = MediaItem.objects.get(team=client_in.team)
    assert (item.source, item.mime_type, item.width, item.height) == ("url_fetched", "image/png", 80, 60)
    assert item.name == "photo.png"
    assert item.file.read_bytes() == samples.png_bytes(80, 60)
    assert response["HX-Retarget"] == "#media-grid"


@pytest.mark.parametrize(
    "path,name", [("/invoice%E2%80%AEgnp.exe", "invoicegnp.exe"), ("/download", "ab.png")]
)
def test_names_from_urls_lose_bidi_and_invisible_characters_as_uploads_do(client_in, site, settings, path, name):
    settings.URL_FETCH_ALLOW_LOOPBACK = True

    add_url(client_in, f"{site}{path}")

    assert MediaItem.objects.get(team=client_in.team).name == name


def test_a_reference_keeps_the_url_and_metadata_but_not_the_bytes(client_in, site, settings, media_dir):
    settings.URL_FETCH_ALLOW_LOOPBACK = True

    add_url(client_in, f"{site}/photo.png", mode="reference")

    item = MediaItem.objects.get(team=client_in.team)
    assert item.source == "url_reference" and item.file is None
    assert item.source_url == f"{site}/photo.png"
    assert (item.width, item.height) == (80, 60)
    assert item.thumbnail is not None
    assert not StoredFile.objects.filter(pk=item.sha256).exists()
    assert client_in.get(reverse("uploads:file", args=[item.pk])).status_code == 404


@pytest.mark.parametrize(
    "url,words",
    [
        ("http://127.0.0.1:8080/photo.png", "loopback"),
        ("http://10.0.0.1/photo.png", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ],
)
def test_it_refuses_private_addresses(client_in, url, words, stored_blobs):
    response = add_url(client_in, url)

    html = response.content.decode()
    assert "Refused" in html and words in html.lower()
    assert not MediaItem.objects.exists()
    assert stored_blobs() == []


@pytest.mark.parametrize("path", ["/to-private", "/to-metadata"])
def test_it_refuses_redirects_to_private_addresses(client_in, site, settings, path):
    settings.URL_FETCH_ALLOW_LOOPBACK = True  # the first hop is allowed; the redirect must not be

    html = add_url(client_in, f"{site}{path}").content.decode()

    assert "Refused" in html and "redirect" in html.lower()
    assert not MediaItem.objects.exists()


def test_it_refuses_a_page_that_is_not_media(client_in, site, settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = True

    html = add_url(client_in, f"{site}/not-media.html").content.decode()

    assert "not a supported" in html
    assert not MediaItem.objects.exists()


def test_it_explains_a_missing_file(client_in, site, settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = True

    html = add_url(client_in, f"{site}/nothing-here.png").content.decode()

    assert "404" in html
    assert not MediaItem.objects.exists()


def test_it_refuses_a_url_that_is_not_a_url(client_in):
    html = add_url(client_in, "javascript:alert(1)").content.decode()

    assert "Refused" in html
    assert not MediaItem.objects.exists()
