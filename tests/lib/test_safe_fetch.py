"""Tests for playground.lib.safe_fetch - no Django, no database, no network beyond loopback.

Run: .venv/bin/python -m pytest tests/lib -q -p no:django

A real HTTP server runs on 127.0.0.1 in a thread and plays the public web
(fetches use allow_loopback=True where they are meant to succeed). Every test
runs under a guard that records socket connections and fails on any attempt
to reach an address other than loopback, or to look up a real name in DNS.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import ipaddress
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from playground.lib import safe_fetch
from playground.lib.safe_fetch import FetchRefused, FetchResult, check_url, fetch_to_file

CAP = 64 * 1024
SMALL = b"hello, prism\n" * 10
GZ_PAYLOAD = bytes(range(256)) * 100  # 25.6 KB, under CAP
BOMB = gzip.compress(b"\0" * (16 * 1024 * 1024), 9)  # ~16 KB that decodes to 16 MB


# --------------------------------------------------------------------------
# Guard: nothing leaves loopback, no real DNS


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def network_guard(monkeypatch):
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        attempts.append(host)
        if not _is_loopback(host):
            raise AssertionError(f"test tried to connect to {host}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise AssertionError(f"test tried a real DNS lookup of {host}") from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    bad = [a for a in attempts if not _is_loopback(a)]
    assert not bad, f"connections to non-loopback addresses: {bad}"


def no_resolver(host):
    raise AssertionError(f"resolver should not have been called for {host}")


def fake_dns(mapping):
    def resolve(host):
        if host not in mapping:
            raise socket.gaierror(f"unknown test host {host}")
        return mapping[host]

    return resolve


# --------------------------------------------------------------------------
# The test server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = self.path.split("?", 1)[0]
        if path.startswith("/chain/"):
            return self.chain(int(path.rsplit("/", 1)[1]))
        route = getattr(self, "r_" + path.strip("/").replace("-", "_").replace(".", "_").replace("/", "__"), None)
        if route is None:
            return self.send(404, b"no such page")
        try:
            route()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    # helpers
    def send(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location, status=302, headers=()):
        self.send(status, b"", [("Location", location), *headers])

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def sleep(self, seconds):
        return self.server.stop.wait(seconds)

    # routes
    def r_small(self):
        self.send(200, SMALL, [("Content-Type", "text/plain")])

    def r_named(self):
        self.send(200, SMALL, [("Content-Disposition", 'attachment; filename="../../etc/cat photo.png"')])

    def r_files__pic_one_jpg(self):  # /files/pic-one.jpg
        self.send(200, SMALL, [("Content-Type", "image/jpeg")])

    def r_echo_host(self):
        self.send(200, self.headers["Host"].encode())

    def r_missing(self):
        self.send(404, b"not here")

    def r_redirect_local(self):
        self.redirect(self.base + "/small")

    def r_redirect_relative(self):
        self.redirect("/small#frag", 301, [("Set-Cookie", "session=abc; Path=/")])

    def r_redirect_private(self):
        self.redirect("http://10.0.0.1/x")

    def r_redirect_metadata(self):
        self.redirect("http://169.254.169.254/latest/meta-data/")

    def r_redirect_evil(self):
        self.redirect(f"http://evil.test:{self.server.server_address[1]}/small")

    def r_redirect_ftp(self):
        self.redirect("ftp://127.0.0.1/x")

    def r_redirect_nowhere(self):
        self.send(302, b"")

    def chain(self, n):
        if n == 0:
            return self.r_small()
        self.redirect(f"/chain/{n - 1}")

    def r_big_cl(self):
        self.send(200, b"x" * (4 * CAP))

    def r_big_nocl(self):
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for _ in range(64):
            self.wfile.write(b"y" * 4096)

    def r_big_chunked(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"z" * 4096
        for _ in range(64):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def r_lying_long(self):  # says 100, sends far more than the cap
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"L" * (4 * CAP))

    def r_lying_short(self):  # says 1000, sends 10 and hangs up
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"S" * 10)

    def r_slow(self):  # one byte every 20 ms: each read is quick, the whole is not
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.close_connection = True
        for _ in range(10000):
            self.wfile.write(b".")
            self.wfile.flush()
            if self.sleep(0.02):
                return

    def r_stall_body(self):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"s" * 10)
        self.wfile.flush()
        self.sleep(5)

    def r_drip_then_stall(self):  # keeps the connection busy, then goes quiet near the deadline
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.close_connection = True
        for _ in range(12):
            self.wfile.write(b".")
            self.wfile.flush()
            if self.sleep(0.02):
                return
        self.sleep(5)

    def r_stall_headers(self):
        self.close_connection = True
        self.sleep(5)

    def r_drip_headers(self):
        # The status line and headers one byte every 50 ms, for 3 s: each read
        # gets a byte long before any per-read timeout, so only a deadline on
        # the whole fetch stops it.
        self.close_connection = True
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Drip: " + b"d" * 60 + b"\r\n\r\nok"
        for i in range(len(head)):
            self.wfile.write(head[i:i + 1])
            self.wfile.flush()
            if self.sleep(0.05):
                return

    def r_drip_redirect(self):
        # A redirect to itself whose headers take ~0.8 s: no single read is
        # slow, so nothing but the overall deadline stops the second hop.
        self.close_connection = True
        head = b"HTTP/1.1 302 Found\r\nLocation: /drip-redirect\r\nContent-Length: 0\r\n\r\n"
        step = 0.8 / len(head)
        for i in range(len(head)):
            self.wfile.write(head[i:i + 1])
            self.wfile.flush()
            if self.sleep(step):
                return

    def r_gzip_bomb(self):
        self.send(200, BOMB, [("Content-Encoding", "gzip")])

    def r_gzip_ok(self):
        self.send(200, gzip.compress(GZ_PAYLOAD), [("Content-Encoding", "gzip"), ("Content-Type", "application/octet-stream")])

    def r_gzip_truncated(self):
        self.send(200, gzip.compress(GZ_PAYLOAD)[:-12], [("Content-Encoding", "gzip")])

    def r_brotli(self):
        self.send(200, b"\x0b\x02\x80hello\x03", [("Content-Encoding", "br")])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on purpose all the time here


def _start(server):
    server.seen = []
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


def _stop(server):
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server():
    srv = _start(Server(("127.0.0.1", 0), Handler))
    yield srv
    _stop(srv)


@pytest.fixture
def srv(server):
    server.seen.clear()
    return server


def url(server, path):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def fetch(u, dest=None, **kw):
    kw.setdefault("max_bytes", CAP)
    kw.setdefault("timeout_s", 2)
    kw.setdefault("allow_loopback", True)
    dest = io.BytesIO() if dest is None else dest
    return fetch_to_file(u, dest, **kw), dest


class Sink(io.RawIOBase):
    """A write-only, non-seekable destination: shows how much was really written."""

    def __init__(self):
        self.count = 0

    def writable(self):
        return True

    def write(self, b):
        self.count += len(b)
        return len(b)


# --------------------------------------------------------------------------
# Refused before connecting anywhere

ALWAYS_REFUSED = [
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/", "link-local (cloud metadata) address"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://168.63.129.16/", "cloud metadata"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("http://[::ffff:10.0.0.1]/", "IPv4-mapped form of 10.0.0.1, a private address"),
    ("http://[2002:a9fe:a9fe::1]/", "6to4 address embedding 169.254.169.254"),
    ("http://[64:ff9b::a00:1]/", "NAT64 address embedding 10.0.0.1"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://0xc0.0xa8.0.1/", "192.168.0.1"),  # hex spelling
    ("http://0300.0250.0.1/", "not a valid web address"),  # octal: httpx rejects it outright
    ("http://foo.123/", "not a valid address"),
    ("ftp://example.com/file", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://example.com/", "only http and https"),
    ("//example.com/x", "must start with http"),
    ("http://user:pass@example.com/", "user name or password"),
    ("http://user@example.com/", "user name or password"),
    ("http://example.com:25/", "port 25"),
    ("http:///nohost", "no host"),
    ("", "empty"),
]

LOOPBACK_ONLY_REFUSED = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10/", "loopback"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://2130706433/", "2130706433 (127.0.0.1) is a loopback address"),  # decimal
    ("http://0x7f.1/", "loopback"),  # hex, short form
    ("http://127.1/", "loopback"),
]


def _assert_refused_fast(u, expected, allow_loopback, guard):
    for attempt in (
        lambda: check_url(u, allow_loopback=allow_loopback, resolver=no_resolver),
        lambda: fetch_to_file(
            u, io.BytesIO(), max_bytes=CAP, allow_loopback=allow_loopback, resolver=no_resolver
        ),
    ):
        t0 = time.monotonic()
        with pytest.raises(FetchRefused) as info:
            attempt()
        assert time.monotonic() - t0 < 0.5
        assert expected in str(info.value)
        assert str(info.value).endswith(".")
    assert guard == [], "a refused URL must not open any connection"


@pytest.mark.parametrize(("u", "expected"), ALWAYS_REFUSED + LOOPBACK_ONLY_REFUSED)
def test_refused_without_connecting(u, expected, network_guard):
    _assert_refused_fast(u, expected, False, network_guard)


@pytest.mark.parametrize(("u", "expected"), ALWAYS_REFUSED)
def test_refused_even_with_allow_loopback(u, expected, network_guard):
    _assert_refused_fast(u, expected, True, network_guard)


def test_password_is_not_echoed():
    with pytest.raises(FetchRefused) as info:
        check_url("http://alice:hunter2@example.com/")
    assert "hunter2" not in str(info.value)


def test_loopback_server_refused_without_flag(srv, network_guard):
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_to_file(url(srv, "/small"), io.BytesIO(), max_bytes=CAP)
    assert network_guard == [] and srv.seen == []


# --------------------------------------------------------------------------
# Successful fetches


def test_small_file(srv):
    result, dest = fetch(url(srv, "/small"))
    assert dest.getvalue() == SMALL
    assert result == FetchResult(
        final_url=url(srv, "/small"),
        content_type="text/plain",
        size=len(SMALL),
        sha256=hashlib.sha256(SMALL).hexdigest(),
        filename="small",
    )
    (path, headers), = srv.seen
    assert headers["user-agent"] == "Prism/0.1 (+media fetch)"
    assert headers["host"] == f"127.0.0.1:{srv.server_address[1]}"
    assert "cookie" not in headers


def test_appends_after_existing_content(srv):
    dest = io.BytesIO(b"HEAD")
    dest.seek(4)
    result, _ = fetch(url(srv, "/small"), dest)
    assert dest.getvalue() == b"HEAD" + SMALL and result.size == len(SMALL)


def test_filename_from_content_disposition_is_sanitised(srv):
    result, _ = fetch(url(srv, "/named"))
    assert result.filename == "cat photo.png"


def test_filename_from_url_path(srv):
    result, _ = fetch(url(srv, "/files/pic-one.jpg?size=big"))
    assert result.filename == "pic-one.jpg" and result.content_type == "image/jpeg"


def test_filename_fallback():
    assert safe_fetch._guess_filename("", httpx.URL("http://a.test/")) == "download"
    assert safe_fetch._guess_filename("attachment; filename*=UTF-8''na%C3%AFve%20cat.gif", httpx.URL("http://a/x")) == "naïve cat.gif"


# --------------------------------------------------------------------------
# Redirects


def test_redirect_to_loopback_followed_when_allowed(srv):
    result, dest = fetch(url(srv, "/redirect-local"))
    assert dest.getvalue() == SMALL and result.final_url == url(srv, "/small")


def test_relative_redirect_and_no_cookies(srv):
    result, dest = fetch(url(srv, "/redirect-relative"))
    assert dest.getvalue() == SMALL and result.final_url == url(srv, "/small")
    assert [p for p, _ in srv.seen] == ["/redirect-relative", "/small"]
    assert "cookie" not in srv.seen[1][1]  # the Set-Cookie from hop 1 is not sent back


def test_redirect_to_private_refused(srv, network_guard):
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/redirect-private"))
    assert str(info.value) == "Refused: the redirect to http://10.0.0.1/x points to a private address."
    assert set(network_guard) == {"127.0.0.1"}


def test_redirect_to_metadata_refused(srv):
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/redirect-metadata"))
    assert str(info.value) == (
        "Refused: the redirect to http://169.254.169.254/latest/meta-data/ "
        "points to a link-local (cloud metadata) address."
    )


def test_redirect_to_name_resolving_private_refused(srv):
    dns = fake_dns({"evil.test": ["10.0.0.1"]})
    with pytest.raises(FetchRefused, match=r"points to evil\.test, which resolves to 10\.0\.0\.1, a private address"):
        fetch(url(srv, "/redirect-evil"), resolver=dns)


def test_redirect_to_other_scheme_refused(srv):
    with pytest.raises(FetchRefused, match="uses ftp:"):
        fetch(url(srv, "/redirect-ftp"))


def test_redirect_without_location(srv):
    with pytest.raises(FetchRefused, match="302 Found without saying where"):
        fetch(url(srv, "/redirect-nowhere"))


def test_redirect_chain_within_limit(srv):
    result, dest = fetch(url(srv, "/chain/3"), max_redirects=3)
    assert dest.getvalue() == SMALL and result.final_url == url(srv, "/chain/0")


def test_redirect_chain_over_limit(srv):
    with pytest.raises(FetchRefused, match="more than 3 times"):
        fetch(url(srv, "/chain/4"), max_redirects=3)
    assert len(srv.seen) == 4  # the 5th hop was never requested


def test_zero_redirects(srv):
    with pytest.raises(FetchRefused, match="more than 0 times"):
        fetch(url(srv, "/redirect-local"), max_redirects=0)


# --------------------------------------------------------------------------
# Size cap


def test_content_length_over_cap_refused_early(srv):
    dest = io.BytesIO()
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/big-cl"), dest)
    assert str(info.value) == "The file is larger than the 64 KB limit."
    assert dest.getvalue() == b""


def test_human_readable_limit():
    assert safe_fetch._human_size(50 * 1024 * 1024) == "50 MB"


@pytest.mark.parametrize("path", ["/big-nocl", "/big-chunked"])
def test_body_over_cap_without_content_length(srv, path):
    sink = Sink()
    with pytest.raises(FetchRefused, match="larger than the 64 KB limit"):
        fetch(url(srv, path), sink)
    assert sink.count <= CAP


def test_seekable_dest_truncated_on_failure(srv):
    dest = io.BytesIO(b"keep")
    dest.seek(4)
    with pytest.raises(FetchRefused):
        fetch(url(srv, "/big-nocl"), dest)
    assert dest.getvalue() == b"keep"


def test_exactly_at_cap_is_fine(srv):
    result, _ = fetch(url(srv, "/small"), max_bytes=len(SMALL))
    assert result.size == len(SMALL)
    with pytest.raises(FetchRefused, match="larger"):
        fetch(url(srv, "/small"), max_bytes=len(SMALL) - 1)


def test_content_length_lying_low_reads_only_declared(srv):
    result, dest = fetch(url(srv, "/lying-long"))
    assert result.size == 100 and dest.getvalue() == b"L" * 100


def test_content_length_lying_high_is_cut_off(srv):
    with pytest.raises(FetchRefused, match="cut off"):
        fetch(url(srv, "/lying-short"))


def test_cap_does_not_trust_content_length_from_transport():
    # A transport that does not enforce Content-Length (unlike h11): our own count still stops it.
    def handler(request):
        return httpx.Response(200, headers={"Content-Length": "10"}, content=iter([b"m" * 4096] * 64))

    sink = Sink()
    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(FetchRefused, match="larger"):
        fetch_to_file("http://media.test/x", sink, max_bytes=CAP, client=client,
                      resolver=fake_dns({"media.test": ["93.184.216.34"]}))
    assert sink.count <= CAP


def test_gzip_bomb_stops_at_cap(srv):
    sink = Sink()
    with pytest.raises(FetchRefused, match="larger than the 64 KB limit"):
        fetch(url(srv, "/gzip-bomb"), sink)
    assert len(BOMB) < CAP and sink.count <= CAP


def test_gzip_decoded(srv):
    result, dest = fetch(url(srv, "/gzip-ok"))
    assert dest.getvalue() == GZ_PAYLOAD
    assert result.size == len(GZ_PAYLOAD) and result.sha256 == hashlib.sha256(GZ_PAYLOAD).hexdigest()
    assert srv.seen[0][1]["accept-encoding"] == "gzip, deflate"


def test_truncated_gzip_refused(srv):
    with pytest.raises(FetchRefused, match="cut off"):
        fetch(url(srv, "/gzip-truncated"))


def test_unsupported_encoding_refused(srv):
    with pytest.raises(FetchRefused, match=r"unsupported compression \(br\)"):
        fetch(url(srv, "/brotli"))


def test_raw_deflate_fallback():
    import zlib

    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = raw.compress(GZ_PAYLOAD) + raw.flush()
    out = bytearray()
    dec = safe_fetch._Decoder("deflate")
    dec.feed(body, out.extend, lambda: 10**9)
    dec.finish(out.extend)
    assert bytes(out) == GZ_PAYLOAD


# --------------------------------------------------------------------------
# Time limits


def test_slow_drip_hits_overall_deadline(srv):
    t0 = time.monotonic()
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/slow"), timeout_s=0.4)
    assert str(info.value) == "The download took longer than the 0.4 s limit."
    assert time.monotonic() - t0 < 0.8


def test_stalled_body_hits_overall_deadline(srv):
    t0 = time.monotonic()
    with pytest.raises(FetchRefused, match="0.3 s"):
        fetch(url(srv, "/stall-body"), timeout_s=0.3)
    assert time.monotonic() - t0 < 0.7


def test_blocked_read_is_cut_at_the_deadline(srv):
    # ~0.25 s of dripping, then silence: the last read must give up at the
    # overall deadline (0.45 s), not a full read timeout after it started.
    t0 = time.monotonic()
    with pytest.raises(FetchRefused, match="took longer than the 0.45 s limit"):
        fetch(url(srv, "/drip-then-stall"), timeout_s=0.45)
    assert time.monotonic() - t0 < 0.75


def test_stalled_headers(srv):
    t0 = time.monotonic()
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/stall-headers"), timeout_s=0.3)
    assert str(info.value) == "The server did not answer within 0.3 s."
    assert time.monotonic() - t0 < 0.7


def test_drip_fed_headers_are_cut_at_the_deadline(srv):
    # The server sends a valid response, one header byte every 50 ms (3 s in
    # all); the 1 s deadline must end the fetch, not the last header byte.
    t0 = time.monotonic()
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/drip-headers"), timeout_s=1)
    elapsed = time.monotonic() - t0
    assert str(info.value) == "The server did not answer within 1 s."
    assert 0.9 < elapsed < 1.4


def test_slow_redirect_hops_share_one_deadline(srv):
    # Each hop takes ~0.8 s; the chain gets 1 s in all, so the second hop is
    # cut at the deadline rather than allowed to finish.
    t0 = time.monotonic()
    with pytest.raises(FetchRefused, match="did not answer within 1 s"):
        fetch(url(srv, "/drip-redirect"), timeout_s=1, max_redirects=5)
    assert time.monotonic() - t0 < 1.4
    assert len(srv.seen) == 2


def test_slow_dns_counts_against_deadline():
    def slow(host):
        time.sleep(2)
        return ["93.184.216.34"]

    t0 = time.monotonic()
    with pytest.raises(FetchRefused, match=r"Could not look up slow\.test within 0.2 s"):
        fetch_to_file("http://slow.test/", io.BytesIO(), max_bytes=CAP, timeout_s=0.2, resolver=slow)
    assert time.monotonic() - t0 < 0.6


# --------------------------------------------------------------------------
# Status codes, connection errors


def test_404(srv):
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/missing"))
    assert str(info.value) == "The server answered 404 Not Found."


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(FetchRefused, match="Could not connect to 127.0.0.1"):
        fetch(f"http://127.0.0.1:{port}/")


# --------------------------------------------------------------------------
# Injected resolver and pinning


def test_resolver_private_name_refused_without_connecting(network_guard):
    with pytest.raises(FetchRefused) as info:
        fetch("http://evil.test/x", resolver=fake_dns({"evil.test": ["10.0.0.1"]}))
    assert str(info.value) == "Refused: evil.test resolves to 10.0.0.1, a private address."
    assert network_guard == []


def test_resolver_any_bad_address_refuses(network_guard):
    dns = fake_dns({"mixed.test": ["127.0.0.1", "169.254.169.254"]})
    with pytest.raises(FetchRefused, match="169.254.169.254, a link-local"):
        fetch("http://mixed.test/x", resolver=dns)
    with pytest.raises(FetchRefused, match="169.254.169.254"):
        check_url("http://mixed.test/x", allow_loopback=True, resolver=dns)
    assert network_guard == []


def test_resolver_public_name_fetches_with_host_header(srv):
    port = srv.server_address[1]
    dns = fake_dns({"public.test": ["127.0.0.1"]})
    check_url(f"http://public.test:{port}/echo-host", allow_loopback=True, resolver=dns)
    result, dest = fetch(f"http://public.test:{port}/echo-host", resolver=dns)
    assert dest.getvalue() == f"public.test:{port}".encode()
    assert result.final_url == f"http://public.test:{port}/echo-host"


def test_resolver_is_asked_for_punycode():
    asked = []

    def dns(host):
        asked.append(host)
        return ["10.1.2.3"]

    with pytest.raises(FetchRefused, match="private"):
        check_url("http://bücher.test/", resolver=dns)
    assert asked == ["xn--bcher-kva.test"]


def test_unresolvable_name():
    with pytest.raises(FetchRefused, match=r"Could not find the server nowhere\.test\."):
        check_url("http://nowhere.test/", resolver=fake_dns({}))


def test_https_pins_ip_and_sends_sni_and_no_cookies():
    seen = {}

    def handler(request):
        seen["url"] = request.url
        seen["headers"] = request.headers
        seen["sni"] = request.extensions.get("sni_hostname")
        return httpx.Response(200, content=b"pinned", headers={"Content-Type": "image/png"})

    client = httpx.Client(transport=httpx.MockTransport(handler), cookies={"session": "secret"})
    result, dest = fetch(
        "https://media.example/a/b.png?x=1",
        client=client,
        allow_loopback=False,
        resolver=fake_dns({"media.example": ["2606:4700::1111", "93.184.216.34"]}),
    )
    assert dest.getvalue() == b"pinned" and result.filename == "b.png"
    assert result.final_url == "https://media.example/a/b.png?x=1"
    assert seen["url"].host == "2606:4700::1111" and seen["url"].raw_path == b"/a/b.png?x=1"
    assert seen["headers"]["host"] == "media.example"
    assert seen["sni"] == "media.example"
    assert "cookie" not in seen["headers"]
    assert seen["headers"]["user-agent"] == safe_fetch.USER_AGENT


def test_ipv4_mapped_public_address_allowed_and_unwrapped():
    seen = {}

    def handler(request):
        seen["host"] = request.url.host
        return httpx.Response(200, content=b"ok")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    fetch("http://cdn.test/", client=client, allow_loopback=False,
          resolver=fake_dns({"cdn.test": ["::ffff:93.184.216.34"]}))
    assert seen["host"] == "93.184.216.34"


# --------------------------------------------------------------------------
# Real TLS: the certificate is checked against the name, over a connection to the pinned IP


def _make_certs(tmp_path, hostname):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Prism test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    pytest.importorskip("cryptography")
    ca_pem, cert_file, key_file = _make_certs(tmp_path_factory.mktemp("tls"), "public.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    _start(srv)
    yield srv, ssl.create_default_context(cadata=ca_pem)
    _stop(srv)


def test_https_certificate_checked_against_host_name(tls_server):
    srv, client_ctx = tls_server
    port = srv.server_address[1]
    dns = fake_dns({"public.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with httpx.Client(verify=client_ctx, trust_env=False) as client:
        result, dest = fetch(f"https://public.test:{port}/echo-host", client=client, resolver=dns)
        assert dest.getvalue() == f"public.test:{port}".encode()
        assert result.final_url == f"https://public.test:{port}/echo-host"
        # The deadline also cuts a stalled TLS read.
        t0 = time.monotonic()
        with pytest.raises(FetchRefused, match="took longer than the 0.45 s limit"):
            fetch(f"https://public.test:{port}/drip-then-stall", client=client, resolver=dns, timeout_s=0.45)
        assert time.monotonic() - t0 < 0.75
        # And a drip-fed header over TLS: the watchdog follows the TLS socket.
        t0 = time.monotonic()
        with pytest.raises(FetchRefused, match="did not answer within 1 s"):
            fetch(f"https://public.test:{port}/drip-headers", client=client, resolver=dns, timeout_s=1)
        assert time.monotonic() - t0 < 1.4
        # Same IP, but the certificate is not for other.test: refused.
        with pytest.raises(FetchRefused, match="certificate is not valid"):
            fetch(f"https://other.test:{port}/small", client=client, resolver=dns)


def test_drip_fed_tls_handshake_is_cut_at_the_deadline():
    # A "server" that answers the ClientHello with the start of a 16 KB TLS
    # record and then one byte every 50 ms: the handshake never completes.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"\x16\x03\x03\x40\x00")
            while not stop.wait(0.05):
                try:
                    conn.sendall(b"\x00")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(FetchRefused, match="did not answer within 1 s"):
            fetch(f"https://public.test:{port}/x", resolver=fake_dns({"public.test": ["127.0.0.1"]}), timeout_s=1)
        assert time.monotonic() - t0 < 1.4
    finally:
        stop.set()
        listener.close()
        thread.join(2)


# --------------------------------------------------------------------------
# Concurrent fetches


def test_slots_refuse_a_fetch_when_all_are_busy(srv):
    # One slot, held by a fetch of a server that stalls; a second fetch
    # waits the slots' short wait, then is refused, and takes no connection.
    slots = safe_fetch.FetchSlots(1, wait_s=0.2)
    first_done = threading.Event()
    errors = []

    def slow_fetch():
        try:
            fetch(url(srv, "/stall-headers"), timeout_s=1, slots=slots)
        except FetchRefused as exc:
            errors.append(str(exc))
        finally:
            first_done.set()

    thread = threading.Thread(target=slow_fetch)
    thread.start()
    deadline = time.monotonic() + 2
    while not srv.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p for p, _ in srv.seen] == ["/stall-headers"]

    t0 = time.monotonic()
    with pytest.raises(FetchRefused) as info:
        fetch(url(srv, "/small"), slots=slots)
    assert str(info.value) == "Prism is fetching too many URLs right now; try again in a moment."
    assert 0.15 < time.monotonic() - t0 < 0.6
    assert [p for p, _ in srv.seen] == ["/stall-headers"]  # the refused one never connected

    thread.join(3)
    assert first_done.is_set() and errors == ["The server did not answer within 1 s."]
    # The slot is free again, including after failures.
    result, dest = fetch(url(srv, "/small"), slots=slots)
    assert dest.getvalue() == SMALL


def test_slots_are_released_after_a_refusal_before_connecting():
    slots = safe_fetch.FetchSlots(1, wait_s=0.05)
    for _ in range(3):
        with pytest.raises(FetchRefused, match="private"):
            fetch("http://10.0.0.1/", slots=slots, allow_loopback=False)
    assert slots._sem.acquire(timeout=0)
