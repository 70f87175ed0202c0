"""A refusal on the library page reads once and as a sentence: "Refused: 10.0.0.1 is a private
address.", never "Refused: Refused: …" (the URL fetcher's messages begin with "Refused: " too).

Each case goes through the view a browser calls (the htmx partials of the URL form and the
upload form) and reads the card's text as a person would see it.
"""

import html
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.uploads.posts import add_url, upload_files

pytestmark = pytest.mark.usefixtures("media_dir")  # each test stores into its own folder (tests/uploads/conftest.py)


class Missing(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Missing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def reason_of(response) -> str:
    """The refusal card's reason as displayed: tags stripped, entities decoded, spaces folded."""
    body = response.content.decode()
    assert 'class="media-card refused"' in body, body
    match = re.search(r'<p class="reason">(.*?)</p>', body, re.S)
    assert match, body
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


def assert_reads_once(text: str) -> None:
    assert text.count("Refused") == 1, text
    assert text.startswith("Refused: ") and text.endswith("."), text


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://10.0.0.1/photo.png", "Refused: 10.0.0.1 is a private address."),
        ("http://127.0.0.1:8080/photo.png", "Refused: 127.0.0.1 is a loopback address."),
        ("http://example.com:25/photo.png", "Refused: the link uses port 25, which is blocked for safety."),
    ],
)
def test_a_refused_url_says_refused_once(client_in, url, expected):
    text = reason_of(add_url(client_in, url))
    assert text == expected
    assert_reads_once(text)


def test_a_redirect_refusal_says_refused_once(client_in, site, settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    # The site answers 404: not a refusal of the address, but it is shown on the same card.
    text = reason_of(add_url(client_in, f"{site}/gone.png"))
    assert text == "Refused: The server answered 404 Not Found."
    assert_reads_once(text)


def test_an_invalid_url_says_refused_once(client_in):
    assert_reads_once(reason_of(add_url(client_in, "javascript:alert(1)")))


def test_an_upload_refusal_says_refused_once(client_in):
    text = reason_of(upload_files(client_in, SimpleUploadedFile("notes.txt", b"just some text, not media\n" * 20)))
    assert_reads_once(text)
    assert "not a supported" in text


def test_an_upload_of_nothing_says_refused_once(client_in):
    assert_reads_once(reason_of(upload_files(client_in)))


def test_a_viewer_is_refused_once(client, viewer):
    client.force_login(viewer)
    assert reason_of(add_url(client, "http://10.0.0.1/x.png")) == "Refused: Your role in this team is read-only."


def test_the_library_page_script_does_not_repeat_the_word_either(client_in):
    # The upload form's own refusals (too big, empty, network errors) are drawn by static/app.js.
    page = client_in.get(reverse("uploads:library")).content.decode()
    assert "app.js" in page
    from django.contrib.staticfiles import finders

    script = Path(finders.find("app.js")).read_text(encoding="utf-8")
    reasons = re.findall(r'refusedCard\([^,]+,\s*[`"](.*?)[`"]\)', script)
    assert len(reasons) >= 5
    for reason in reasons:
        assert "Refused" not in reason and reason[0].isupper(), reason
