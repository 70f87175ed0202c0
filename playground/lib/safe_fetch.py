"""Fetch a user-supplied URL without letting it reach the server's own network.

No Django in here: the module takes plain arguments and raises ``FetchRefused``
with a sentence that can be shown to the user as it is.

How it keeps a URL away from internal services (SSRF):

* Only ``http`` and ``https``; no ``user:pass@``; no port from the browsers'
  "bad ports" list (see ``BAD_PORTS``).
* The host is resolved *before* connecting, and every address it resolves to
  must be public. If any one of them is not, the URL is refused - we don't
  quietly pick a good one, because a name that also points inside is suspect.
  Numeric hosts in the old inet_aton spellings (``2130706433``, ``0x7f.1``,
  ``127.1``) are read the way a resolver would read them and checked like any
  other address.
* The connection goes to the exact address that was checked (the URL's host is
  replaced by the IP, the real name travels in the ``Host`` header and, for
  https, in TLS SNI via httpx's ``sni_hostname`` extension, which is also the
  name the certificate is verified against). A second DNS lookup that could
  return something else (DNS rebinding) never happens.
* Redirects are followed by hand, at most ``max_redirects`` times, and every
  hop goes through the same checks.

And how it keeps one download from hurting the server:

* ``max_bytes`` caps the bytes *written* (after gzip/deflate decoding, so a
  compression bomb stops at the cap). A too-big Content-Length is refused up
  front; a missing or lying one changes nothing because we count ourselves.
* ``timeout_s`` is a deadline for the whole job: DNS, connect, TLS, the
  response headers, every redirect hop and the body. httpx's timeouts apply
  per socket read, so a server that drips its headers (or body) one byte at a
  time would reset them forever; instead a watchdog follows the connection in
  use (httpcore's ``trace`` hook tells it about each new socket) and shuts it
  down at the deadline, whatever phase the fetch is in.
* ``slots`` (a ``FetchSlots``) bounds how many fetches run at once in the
  process, so a handful of slow URLs cannot occupy every web thread; a fetch
  that finds no free slot within a short wait is refused.
"""

from __future__ import annotations

import email.message
import hashlib
import http
import ipaddress
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

import httpx

__all__ = ["FetchRefused", "FetchResult", "FetchSlots", "check_url", "fetch_to_file", "shared_slots", "USER_AGENT"]

USER_AGENT = "Prism/0.1 (+media fetch)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

REDIRECT_STATUSES = {301, 302, 303, 307, 308}

# Time allowed for the DNS lookup in check_url(), which has no timeout argument.
CHECK_URL_TIMEOUT_S = 10.0

# Ports are otherwise unrestricted: the destination *address* is what has to
# be public, and public media hosts do use :8080, :8443 and so on. These are
# the ports browsers refuse (WHATWG Fetch "bad port" list): speaking HTTP to
# SMTP, IRC, SSH... on somebody else's machine is a known abuse
# (cross-protocol attacks), and no one serves media on them.
BAD_PORTS = frozenset({
    0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77,
    79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135,
    137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531,
    532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720,
    1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6679, 6697, 10080,
})

# Cloud metadata / host-agent endpoints. Most are link-local or private and
# would be refused anyway; they are listed so the message can say what they
# are, and because two of them (Azure's WireServer, Oracle's legacy address)
# are not inside any private range.
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, Hetzner, ...
        "169.254.169.253",  # AWS DNS resolver
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS Pod Identity
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS DNS over IPv6
        "fd00:ec2::23",  # AWS EKS Pod Identity over IPv6
    )
}

_N = ipaddress.ip_network

# (network, description) - first match wins, so specific ranges come first.
# Written out rather than relying only on ipaddress.is_private/is_global,
# whose answers have changed between Python point releases.
_IPV4_RULES = [
    (_N("0.0.0.0/32"), "an unspecified address"),
    (_N("0.0.0.0/8"), "a reserved ('this network') address"),
    (_N("10.0.0.0/8"), "a private address"),
    (_N("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_N("127.0.0.0/8"), "a loopback address"),
    (_N("169.254.0.0/16"), "a link-local address"),
    (_N("172.16.0.0/12"), "a private address"),
    (_N("192.0.0.0/24"), "a reserved (IETF protocol) address"),
    (_N("192.0.2.0/24"), "a reserved (documentation) address"),
    (_N("192.88.99.0/24"), "a reserved (6to4 relay) address"),
    (_N("192.168.0.0/16"), "a private address"),
    (_N("198.18.0.0/15"), "a reserved (benchmarking) address"),
    (_N("198.51.100.0/24"), "a reserved (documentation) address"),
    (_N("203.0.113.0/24"), "a reserved (documentation) address"),
    (_N("224.0.0.0/4"), "a multicast address"),
    (_N("255.255.255.255/32"), "a broadcast address"),
    (_N("240.0.0.0/4"), "a reserved address"),
]

_IPV6_RULES = [
    (_N("::/128"), "an unspecified address"),
    (_N("::1/128"), "a loopback address"),
    (_N("::/96"), "a reserved (IPv4-compatible) address"),
    (_N("64:ff9b:1::/48"), "a private (local NAT64) address"),
    (_N("100::/64"), "a reserved (discard) address"),
    (_N("2001::/32"), "a reserved (Teredo) address"),
    (_N("2001:db8::/32"), "a reserved (documentation) address"),
    (_N("2001::/23"), "a reserved (IETF protocol) address"),
    (_N("3fff::/20"), "a reserved (documentation) address"),
    (_N("5f00::/16"), "a reserved (segment routing) address"),
    (_N("fc00::/7"), "a private address"),
    (_N("fe80::/10"), "a link-local address"),
    (_N("fec0::/10"), "a private (site-local) address"),
    (_N("ff00::/8"), "a multicast address"),
]
_IPV6_GLOBAL_UNICAST = _N("2000::/3")
_NAT64 = _N("64:ff9b::/96")

_LOOPBACK_V4 = _N("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")


class FetchRefused(Exception):
    """The URL was refused or the download failed.

    ``str(exc)`` is a complete sentence meant for the user, e.g.
    "Refused: example.internal resolves to 10.0.0.1, a private address." or
    "The file is larger than the 50 MB limit."
    """


@dataclass
class FetchResult:
    final_url: str  # after redirects, with the host name (not the pinned IP)
    content_type: str  # the server's claim, informational only
    size: int  # bytes written to dest (decoded)
    sha256: str  # hex digest of the bytes written
    filename: str  # display-only guess; "download" if none


# --------------------------------------------------------------------------
# Address classification


def refusal_reason(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """None if ``ip`` may be connected to, else a phrase like "a private address"."""
    if ip in METADATA_ADDRESSES:
        base = _table_reason(ip)
        if base in ("a link-local address", "a private address"):
            return base.replace(" address", " (cloud metadata) address")
        return "a cloud metadata address"

    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (interface-local) address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, v4 = embedded
            # Loopback stays refused here even with allow_loopback: that
            # switch is for a test server on 127.0.0.1 / ::1, nothing cleverer.
            inner = refusal_reason(v4, allow_loopback=False)
            if inner is not None:
                return f"{kind} {v4}, {inner}"
            return None

    if allow_loopback and (ip in _LOOPBACK_V4 if ip.version == 4 else ip == _LOOPBACK_V6):
        return None

    reason = _table_reason(ip)
    if reason is not None:
        return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _IPV6_GLOBAL_UNICAST:
        return "a reserved address"
    # Belt and braces: whatever this Python's ipaddress module knows about.
    if (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
    ):
        return "a non-public address"
    return None


def _table_reason(ip: IPAddress) -> str | None:
    for net, reason in _IPV4_RULES if ip.version == 4 else _IPV6_RULES:
        if ip in net:
            return reason
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """IPv6 forms that carry an IPv4 address which is what you really reach."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped form of", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "a 6to4 address embedding", ip.sixtofour
    if ip in _NAT64:
        return "a NAT64 address embedding", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _connect_address(ip: IPAddress) -> IPAddress:
    # ::ffff:a.b.c.d is a.b.c.d; connect to that directly.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# --------------------------------------------------------------------------
# URL parsing and checking


_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")


def _literal_ip(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal (in any inet_aton spelling)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    bare = host.rstrip(".")
    last_label = bare.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last_label):
        return None
    # As in the WHATWG URL standard: a host whose last label is a number is an
    # IPv4 address (2130706433, 0x7f.1, 0177.0.0.1, 127.1 are all 127.0.0.1),
    # and if it is not a valid one the URL is invalid - never a name to look up.
    if _NUMERIC_HOST.match(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            pass
    raise FetchRefused(f"Refused: {_shorten(host)} is not a valid address.")


def _default_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


@dataclass
class _Target:
    url: httpx.URL  # as requested, with the host name
    host: str  # ASCII (IDNA) host, no brackets
    port: int
    addresses: list[IPAddress]  # every one checked; connect in this order
    is_ip_literal: bool


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


def _parse(raw_url: str, redirect: bool) -> tuple[httpx.URL, str, int]:
    """Syntax, scheme, credentials and port; returns (url, ascii host, port)."""
    subject = f"the redirect to {_shorten(raw_url)}" if redirect else "the link"

    def refuse(why: str) -> FetchRefused:
        return FetchRefused(f"Refused: {subject} {why}.")

    if not isinstance(raw_url, str) or not raw_url.strip():
        raise refuse("is empty")
    try:
        url = httpx.URL(raw_url.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        raise refuse("is not a valid web address") from None
    scheme = url.scheme.lower()
    if scheme not in ("http", "https"):
        if not scheme:
            raise refuse("must start with http:// or https://")
        raise refuse(f"uses {_shorten(scheme, 20)}:, but only http and https links can be fetched")
    if url.userinfo:
        # Don't echo the URL: it contains a password.
        subject = "the redirect" if redirect else "the link"
        raise refuse("contains a user name or password, which is not allowed")
    try:
        host = url.raw_host.decode("ascii")
    except UnicodeDecodeError:
        raise refuse("is not a valid web address") from None
    if not host:
        raise refuse("has no host name")
    port = url.port or (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise refuse(f"has an invalid port ({port})")
    if port in BAD_PORTS:
        raise refuse(f"uses port {port}, which is blocked for safety")
    return url.copy_with(fragment=None), host, port


def _prepare(
    raw_url: str,
    *,
    allow_loopback: bool,
    resolver: Resolver | None,
    deadline: _Deadline,
    redirect: bool,
) -> _Target:
    url, host, port = _parse(raw_url, redirect)
    shown = _shorten(str(url))
    host_shown = _shorten(host, 100)

    literal = _literal_ip(host)
    if literal is not None:
        reason = refusal_reason(literal, allow_loopback=allow_loopback)
        if reason is not None:
            if redirect:
                raise FetchRefused(f"Refused: the redirect to {shown} points to {reason}.")
            spelled = host_shown if host == str(literal) else f"{host_shown} ({literal})"
            raise FetchRefused(f"Refused: {spelled} is {reason}.")
        return _Target(url, host, port, [_connect_address(literal)], True)

    names = _resolve(host, resolver or _default_resolver, deadline)
    addresses: list[IPAddress] = []
    for name in names:
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            raise FetchRefused(f"Refused: {host_shown} resolves to an invalid address.") from None
        reason = refusal_reason(ip, allow_loopback=allow_loopback)
        if reason is not None:
            if redirect:
                raise FetchRefused(
                    f"Refused: the redirect to {shown} points to {host_shown}, "
                    f"which resolves to {ip}, {reason}."
                )
            raise FetchRefused(f"Refused: {host_shown} resolves to {ip}, {reason}.")
        ip = _connect_address(ip)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchRefused(f"Could not find the server {host_shown}.")
    return _Target(url, host, port, addresses, False)


def _resolve(host: str, resolver: Resolver, deadline: _Deadline) -> list[str]:
    # getaddrinfo has no timeout of its own, so run it where we can stop
    # waiting for it. The thread is a daemon and just finishes on its own.
    box: dict[str, object] = {}
    shown = _shorten(host, 100)

    def run() -> None:
        try:
            box["value"] = [str(a) for a in resolver(host)]
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="safe_fetch-dns", daemon=True)
    thread.start()
    thread.join(max(deadline.remaining(), 0))
    if thread.is_alive():
        raise FetchRefused(f"Could not look up {shown} within {deadline.seconds:g} s.")
    error = box.get("error")
    if isinstance(error, (socket.gaierror, UnicodeError)):
        raise FetchRefused(f"Could not find the server {shown}.")
    if isinstance(error, OSError):
        raise FetchRefused(f"Could not look up {shown}.")
    if error is not None:
        raise error  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def check_url(url: str, *, allow_loopback: bool = False, resolver: Resolver | None = None) -> None:
    """Raise FetchRefused unless ``url`` is http(s) and resolves only to public addresses.

    Useful for validating a form field early; fetch_to_file() does the same
    checks again at download time (and on every redirect) and pins the
    connection to the checked address, so passing check_url() earlier proves
    nothing about what a later fetch would reach.
    """
    _prepare(
        url,
        allow_loopback=allow_loopback,
        resolver=resolver,
        deadline=_Deadline(CHECK_URL_TIMEOUT_S),
        redirect=False,
    )


# --------------------------------------------------------------------------
# Fetching


class FetchSlots:
    """At most ``limit`` fetches at a time (per process: share one instance).

    A fetch waits up to ``wait_s`` (and never past its own deadline) for a
    slot, then is refused with ``BUSY``: a web thread should answer quickly
    rather than queue behind slow servers.
    """

    BUSY = "Prism is fetching too many URLs right now; try again in a moment."

    def __init__(self, limit: int, wait_s: float = 1.0):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.wait_s = wait_s
        self._sem = threading.BoundedSemaphore(limit)

    def acquire(self, deadline: _Deadline | None = None) -> None:
        wait = self.wait_s if deadline is None else max(0.0, min(self.wait_s, deadline.remaining()))
        if not self._sem.acquire(timeout=wait):
            raise FetchRefused(self.BUSY)

    def release(self) -> None:
        self._sem.release()


_shared_slots: dict[int, FetchSlots] = {}
_shared_lock = threading.Lock()


def shared_slots(limit: int) -> FetchSlots:
    """The process's one FetchSlots for ``limit`` (the same instance on every call)."""
    with _shared_lock:
        if limit not in _shared_slots:
            _shared_slots[limit] = FetchSlots(limit)
        return _shared_slots[limit]


def fetch_to_file(
    url: str,
    dest: BinaryIO,
    *,
    max_bytes: int,
    timeout_s: float = 20,
    max_redirects: int = 5,
    allow_loopback: bool = False,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
    slots: FetchSlots | None = None,
) -> FetchResult:
    """Download ``url`` into ``dest`` (a binary file object) and describe what was written.

    Raises FetchRefused for anything the user should hear about: refused
    address, bad status, too big, too slow, broken connection. Errors writing
    to ``dest`` are the caller's and propagate unchanged.

    On failure ``dest`` is truncated back to where it started if it is
    seekable; otherwise it may hold a partial download - discard it.

    ``client``: if given, it is used instead of a private one (it is not
    closed). Its redirect, cookie and auth settings are overridden per
    request, but its transport and proxy settings are not. Connections are
    keyed by IP, so don't share it with unrelated traffic, and don't enable
    HTTP/2 on it (every request carries ``Connection: close``, which HTTP/2
    forbids). Meant for tests (httpx.MockTransport) and custom TLS trust.
    ``resolver``: host -> list of IP strings, default socket.getaddrinfo.
    ``slots``: a shared FetchSlots; the fetch holds one from start to end
    (waiting for it counts against ``timeout_s``).
    """
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    if max_redirects < 0:
        raise ValueError("max_redirects must not be negative")

    deadline = _Deadline(timeout_s)
    if slots is not None:
        slots.acquire(deadline)
    try:
        return _fetch(url, dest, deadline, max_bytes, max_redirects, allow_loopback, client, resolver)
    finally:
        if slots is not None:
            slots.release()


def _fetch(url, dest, deadline, max_bytes, max_redirects, allow_loopback, client, resolver) -> FetchResult:
    own_client = client is None
    start = _tell(dest)
    # One watchdog for the whole fetch: it follows each hop's socket.
    watchdog = _Watchdog(deadline)
    try:
        current = url
        for hop in range(max_redirects + 1):
            target = _prepare(
                current,
                allow_loopback=allow_loopback,
                resolver=resolver,
                deadline=deadline,
                redirect=hop > 0,
            )
            if client is None:  # made once the first address passed: a refusal costs no TLS context (~50 ms of CPU)
                client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,  # no HTTP(S)_PROXY / .netrc surprises
                    http2=False,
                )
            response = _open(client, target, deadline, watchdog)
            try:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location", "").strip()
                    if not location:
                        raise FetchRefused(
                            f"The server answered {_status_text(response)} without saying where to."
                        )
                    try:
                        current = str(target.url.join(location))
                    except (httpx.InvalidURL, ValueError):
                        raise FetchRefused("Refused: the server redirected to an invalid address.") from None
                    continue
                if not 200 <= status < 300 or status == 206:
                    raise FetchRefused(f"The server answered {_status_text(response)}.")
                return _download(response, target, dest, max_bytes, deadline, watchdog)
            finally:
                # Forget the socket before it is closed (its descriptor may be reused).
                watchdog.unwatch()
                response.close()
        raise FetchRefused(f"Refused: the server redirected more than {max_redirects} times.")
    except BaseException:
        _truncate(dest, start)
        raise
    finally:
        watchdog.cancel()
        if own_client and client is not None:
            client.close()


def _open(client: httpx.Client, target: _Target, deadline: _Deadline, watchdog: _Watchdog) -> httpx.Response:
    """Send the GET to one of the checked addresses; returns a streaming response."""
    headers = {
        "Host": target.url.netloc.decode("ascii"),
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        # We decode these ourselves, bounded; see _Decoder.
        "Accept-Encoding": "gzip, deflate",
        # One request per connection: a pooled connection is keyed by IP, and
        # reusing one set up (and certificate-checked) for another name would
        # undo the point of verifying the certificate against this one.
        "Connection": "close",
    }
    # httpcore reports each socket it opens (TCP, then TLS) to this hook, so
    # the watchdog can cut the connection during TLS and the headers too.
    extensions: dict = {"trace": watchdog.trace}
    if target.url.scheme == "https" and not target.is_ip_literal:
        extensions["sni_hostname"] = target.host.rstrip(".")

    late = FetchRefused(f"The server did not answer within {deadline.seconds:g} s.")
    last_error: Exception | None = None
    for ip in target.addresses:
        remaining = deadline.remaining()
        if remaining <= 0 or watchdog.fired:
            raise late
        pinned = target.url.copy_with(host=str(ip))
        request = client.build_request(
            "GET", pinned, headers=headers, extensions=dict(extensions), timeout=httpx.Timeout(remaining)
        )
        request.headers.pop("Cookie", None)  # the client's jar must not leak to other sites
        try:
            response = client.send(request, stream=True, follow_redirects=False, auth=None)
        except httpx.TimeoutException:
            raise late from None
        except httpx.HTTPError as exc:
            # The watchdog's cut shows up as a closed or broken connection.
            if watchdog.fired or deadline.expired():
                raise late from None
            if isinstance(exc, httpx.ConnectError):
                last_error = exc  # try the next checked address
                continue
            raise _transport_error(exc, target) from None
        watchdog.watch_response(response)
        return response
    if last_error is None:
        raise late
    raise _transport_error(last_error, target) from None


def _download(
    response: httpx.Response, target: _Target, dest: BinaryIO, max_bytes: int, deadline: _Deadline, watchdog: _Watchdog
) -> FetchResult:
    too_big = FetchRefused(f"The file is larger than the {_human_size(max_bytes)} limit.")
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    # Compressed data can be a touch larger than what it decodes to.
    raw_cap = max_bytes if decoder.mode is None else max_bytes + max_bytes // 64 + 1024

    declared = _content_length(response)
    if declared is not None and declared > raw_cap:
        raise too_big

    digest = hashlib.sha256()
    written = 0
    received = 0

    def emit(chunk: bytes) -> None:
        nonlocal written
        if not chunk:
            return
        if written + len(chunk) > max_bytes:
            raise too_big
        dest.write(chunk)
        digest.update(chunk)
        written += len(chunk)

    slow = FetchRefused(f"The download took longer than the {deadline.seconds:g} s limit.")
    # Each socket read has its own timeout, so a server that drips just fast
    # enough could stretch the body well past the deadline; the watchdog cuts
    # the connection at the deadline instead.
    try:
        # A response that is already loaded (e.g. built by httpx.MockTransport)
        # can't be streamed again; its content is all we get.
        stream = iter([response.content]) if response.is_stream_consumed else response.iter_raw()
        for chunk in stream:
            if deadline.expired():
                raise slow
            received += len(chunk)
            if received > raw_cap:
                raise too_big
            decoder.feed(chunk, emit, lambda: max_bytes - written)
        # A body without Content-Length ends when the connection does, which
        # is also what the watchdog's cut looks like: never call that complete.
        if watchdog.fired or deadline.expired():
            raise slow
        decoder.finish(emit)
    except httpx.TimeoutException:
        raise slow from None
    except httpx.HTTPError as exc:
        if watchdog.fired or deadline.expired():
            raise slow from None
        raise _transport_error(exc, target, during_body=True) from None

    return FetchResult(
        final_url=str(target.url),
        content_type=response.headers.get("content-type", "").strip(),
        size=written,
        sha256=digest.hexdigest(),
        filename=_guess_filename(response.headers.get("content-disposition", ""), target.url),
    )


class _Watchdog:
    """At the deadline, shut down the socket in use so a blocked read or handshake returns.

    One per fetch. ``trace`` is httpcore's trace hook: it is told about the TCP
    socket as soon as it connects and about the TLS socket that replaces it,
    so the cut covers TLS, the response headers and the body of every hop.
    """

    _SOCKET_EVENTS = ("connection.connect_tcp.complete", "connection.start_tls.complete")

    def __init__(self, deadline: _Deadline):
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(deadline.remaining(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict) -> None:
        if event in self._SOCKET_EVENTS:
            stream = info.get("return_value")
            self.watch(_socket_of(stream))

    def watch_response(self, response: httpx.Response) -> None:
        # For transports without the trace hook but with the stream extension.
        if self._sock is None:
            self.watch(_socket_of(response.extensions.get("network_stream")))

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            self._sock = sock
            if self.fired:  # connected just as the deadline passed
                self._shutdown()

    def unwatch(self) -> None:
        with self._lock:
            self._sock = None

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        # shutdown() on a duplicate descriptor: it acts on the connection
        # itself, wakes the reading thread, and leaves the socket object
        # (and any TLS state) to its owner, which closes it as usual.
        if self._sock is None:
            return
        try:
            fd = self._sock.fileno()
            if fd >= 0:
                dup = socket.socket(fileno=os.dup(fd))
                try:
                    dup.shutdown(socket.SHUT_RDWR)
                finally:
                    dup.close()
        except OSError:
            pass

    def cancel(self) -> None:
        # Called once the fetch is over; the lock makes sure _fire never
        # touches a descriptor that was reused.
        with self._lock:
            self._done = True
            self._sock = None
        self._timer.cancel()


def _socket_of(stream) -> socket.socket | None:
    if stream is None:
        return None
    try:
        sock = stream.get_extra_info("socket")
    except Exception:
        return None
    return sock if isinstance(sock, socket.socket) else None


class _Decoder:
    """gzip / deflate decoding that never produces more than the caller has room for.

    Decompressing a whole network chunk at once could turn 64 KB into 64 MB in
    memory before anything is counted; with ``max_length`` zlib hands the
    output over in small slices and we stop at the cap.
    """

    SLICE = 256 * 1024

    def __init__(self, content_encoding: str):
        enc = content_encoding.strip().lower()
        self._fresh = True
        if enc in ("", "identity"):
            self.mode: str | None = None
        elif enc in ("gzip", "x-gzip"):
            self.mode = "gzip"
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self.mode = "deflate"
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchRefused(f"The server sent the file with an unsupported compression ({_shorten(enc, 40)}).")

    def feed(self, data: bytes, emit: Callable[[bytes], None], room: Callable[[], int]) -> None:
        if self.mode is None:
            emit(data)
            return
        buf = data
        while buf and not self._z.eof:
            limit = max(1, min(room() + 1, self.SLICE))  # +1 so going over is noticed
            try:
                out = self._z.decompress(buf, limit)
            except zlib.error:
                if self.mode == "deflate" and self._fresh:
                    # Some servers send raw deflate without the zlib wrapper.
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._fresh = False
                    continue
                raise FetchRefused("The server sent a corrupt compressed file.") from None
            self._fresh = False
            emit(out)
            tail = self._z.unconsumed_tail
            if not out and tail == buf:
                break  # no progress; shouldn't happen, but never spin
            buf = tail
        # Anything after the end of the compressed stream is ignored (as httpx does).

    def finish(self, emit: Callable[[bytes], None]) -> None:
        if self.mode is None:
            return
        if self._fresh:
            return  # empty body
        try:
            emit(self._z.flush())
        except zlib.error:
            raise FetchRefused("The server sent a corrupt compressed file.") from None
        if not self._z.eof:
            raise FetchRefused("The compressed file was cut off before its end.")


# --------------------------------------------------------------------------
# Small helpers


def _transport_error(exc: Exception, target: _Target, during_body: bool = False) -> FetchRefused:
    host = _shorten(target.host, 80)
    text = str(exc)
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return FetchRefused(f"Could not connect securely to {host}: its certificate is not valid.")
        if "SSL" in text or "TLS" in text:
            return FetchRefused(f"Could not connect securely to {host}.")
        return FetchRefused(f"Could not connect to {host}.")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        if during_body:
            return FetchRefused("The connection was cut off before the download finished.")
        return FetchRefused(f"{host} did not send a valid HTTP response.")
    return FetchRefused(f"The download from {host} failed.")


def _status_text(response: httpx.Response) -> str:
    try:
        phrase = http.HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase or ""
    return f"{response.status_code} {phrase}".strip()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        n = int(value.split(",")[0].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def _human_size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib:
        return f"{n / mib:.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _shorten(text: str, limit: int = 200) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f]")


def _guess_filename(content_disposition: str, url: httpx.URL) -> str:
    name = ""
    if content_disposition:
        msg = email.message.Message()
        try:
            msg["content-disposition"] = content_disposition
            name = msg.get_filename() or ""
        except Exception:  # malformed header: fall back to the URL
            name = ""
    if not _clean_filename(name):
        name = unquote(url.path.rsplit("/", 1)[-1])
    return _clean_filename(name) or "download"


def _clean_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("", name)
    # As Django does for uploaded names: no unprintable characters, which include the bidi
    # overrides (U+202E shows "a\u202egnp.exe" as "aexe.png") and zero-width ones.
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".").strip()
    return name[:200]


def _tell(dest: BinaryIO) -> int | None:
    try:
        if dest.seekable():
            return dest.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _truncate(dest: BinaryIO, start: int | None) -> None:
    if start is None:
        return
    try:
        dest.seek(start)
        dest.truncate()
    except (AttributeError, OSError, ValueError):
        pass
