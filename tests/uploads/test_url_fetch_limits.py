"""Adding by URL cannot tie up the web process: a bounded number of fetches at once
(URL_FETCH_MAX_CONCURRENT), each cut at URL_FETCH_TIMEOUT_S whatever the server does.

A real HTTP server on loopback plays the slow site; nothing in the fetch is mocked.
"""

import os
import socket
import threading
import time

import pytest

from playground.lib import safe_fetch
from playground.uploads.models import MediaItem
from tests.uploads.posts import add_url

pytestmark = pytest.mark.usefixtures("media_dir")  # each test stores into its own folder (tests/uploads/conftest.py)


@pytest.fixture
def drip_site():
    """Answers every connection with response headers dripped one byte every 50 ms, for ~5 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    accepted = []

    def drip(conn):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Drip: " + b"d" * 100 + b"\r\n\r\n"
        with conn:
            try:
                conn.recv(4096)
                for i in range(len(head)):
                    if stop.wait(0.05):
                        return
                    conn.sendall(head[i : i + 1])
            except OSError:
                return

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    listener.close()
    thread.join(2)


@pytest.fixture
def editor(client_in, settings):
    """Signed in as an editor, and the slow site on loopback may be fetched."""
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    return client_in


def test_a_drip_fed_url_is_cut_at_the_fetch_timeout(editor, drip_site, settings):
    settings.URL_FETCH_TIMEOUT_S = 1
    base, _ = drip_site
    add_url(editor, "http://10.0.0.1/")  # warm up: the first request loads URLs and templates

    t0 = time.monotonic()
    html = add_url(editor, f"{base}/photo.png").content.decode()

    assert time.monotonic() - t0 < 1.5  # the headers alone would take ~5 s
    assert "The server did not answer within 1 s." in html
    assert not MediaItem.objects.exists()


def test_fetches_beyond_the_limit_are_refused_at_once(editor, drip_site, settings):
    settings.URL_FETCH_MAX_CONCURRENT = 1
    base, accepted = drip_site
    slow_errors = []

    def slow():  # another request of this process, busy with a slow URL
        try:
            with open(os.devnull, "wb") as sink:
                safe_fetch.fetch_to_file(
                    f"{base}/slow.png", sink, max_bytes=1000, timeout_s=2.5, allow_loopback=True,
                    slots=safe_fetch.shared_slots(1),
                )  # fmt: skip
        except safe_fetch.FetchRefused as exc:
            slow_errors.append(str(exc))

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        deadline = time.monotonic() + 2
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(accepted) == 1

        t0 = time.monotonic()
        html = add_url(editor, f"{base}/photo.png").content.decode()
        waited = time.monotonic() - t0

        assert "Prism is fetching too many URLs right now; try again in a moment." in html
        assert 0.9 < waited < 1.5  # a short wait for a slot (1 s), not the other fetch's whole timeout
        assert len(accepted) == 1  # the refused fetch never connected
    finally:
        thread.join(3)
    assert slow_errors == ["The server did not answer within 2.5 s."]
    assert not MediaItem.objects.exists()


def test_the_default_limit_leaves_web_threads_free(settings):
    # Half of bin/run's 4 threads per process by default.
    assert settings.URL_FETCH_MAX_CONCURRENT == 2
