"""Send one rendered request to its provider: pooled HTTP, timeouts, retries, a concurrency limit,
and everything worth logging about the call. HTTP only: no Django, no models.

    client = make_client(max_connections=100)
    limiter = asyncio.Semaphore(20)                       # per provider, shared by its calls
    outcome = await send(rendered, api_key=key, client=client, limiter=limiter)
    outcome.ok, outcome.result.output_text, outcome.result.usage, outcome.error, outcome.attempts
    outcome.to_dict()                                     # JSON-ready, never holds the key

Why async: a model call is ~all waiting (seconds to minutes), so one worker process should keep
many calls in flight; an event loop does that for a few kB per call where a thread each would cost
a thread each. Intended use from Celery (prefork or threads pool alike):

* A task for (run, model) that sends several requests runs ``asyncio.run(main())`` in which it
  makes one client with :func:`make_client`, one ``asyncio.Semaphore`` for the provider, and
  ``asyncio.gather``\\ s one :func:`send` per request. Nothing is shared across tasks; simplest.
* To share one connection pool and one limit per provider across the tasks of a worker process
  (threads pool), start one :class:`Dispatcher` per process: it runs the loop in a thread, and
  ``dispatcher.submit(...)`` hands back a ``concurrent.futures.Future`` from any thread.
* :func:`send_sync` is for one-off callers (a management command, a shell): it makes a client for
  the call and runs it to completion. Not inside a running event loop.

The API key is put into the outgoing headers only (``rendered.headers_with_key``); what this
module returns (outcomes, attempts, errors, even a response body that echoes it) never holds it.
Bodies up to ``STREAM_ABOVE`` bytes are built in one piece; larger ones are streamed from the
``.b64`` files with ``Content-Length`` set from ``rendered.body_size()``, the file reads done off
the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .parse import ProviderError, ProviderResult, parse_error, parse_response, request_id_from
from .redact import Redactor
from .retry import RetryPolicy

__all__ = [
    "USER_AGENT",
    "STREAM_ABOVE",
    "Attempt",
    "ShardedTransport",
    "Dispatcher",
    "SendOutcome",
    "Timeouts",
    "make_client",
    "send",
    "send_sync",
]

# httpcore's DEBUG lines quote response headers verbatim, and a server may echo the key in one.
logging.getLogger("httpcore").setLevel(logging.INFO)

USER_AGENT = "Prism/0.1"
STREAM_ABOVE = 1 << 20  # bodies larger than this are streamed from disk instead of built in memory
STREAM_CHUNK = 1 << 20


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``read`` is the longest silence between bytes (a model thinking before its first
    byte counts); ``total`` (optional) caps one attempt from start to end."""

    connect: float = 10.0
    read: float = 300.0
    write: float = 60.0
    pool: float = 60.0
    total: float | None = None

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


SHARD_SIZE = 8


class _Released(httpx.AsyncByteStream):
    """A response stream that calls ``release`` once, when it is closed."""

    def __init__(self, stream, release):
        self._stream, self._release = stream, release

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several small connection pools behind one transport, the least busy one first.

    Why: httpcore's pool re-examines every connection against every other one each time a
    request comes or goes (``_assign_requests_to_connections``, O(connections²)), so a single pool
    of 250 connections spent ~60 ms of CPU per request in our measurement, far more than the call
    itself. Pools of ``SHARD_SIZE`` keep that cost flat however many calls are in flight. Small
    ones: the pool also asks every idle connection whether its socket is readable (a poll and a
    getpeername each) several times per request, so with 50 calls in flight, pools of 8 took 1.1 ms
    of CPU per call where pools of 32 took 1.5 (httpx and our send() together).
    """

    def __init__(self, *, max_connections: int, max_keepalive_connections: int, keepalive_expiry: float = 30.0, http2: bool = False):
        count = max(1, -(-max_connections // SHARD_SIZE))
        sizes = [max_connections // count + (i < max_connections % count) for i in range(count)]
        keep = [max_keepalive_connections // count + (i < max_keepalive_connections % count) for i in range(count)]
        self._shards = [
            httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=k, keepalive_expiry=keepalive_expiry),
                http2=http2,
                trust_env=False,
            )
            for size, k in zip(sizes, keep, strict=True)
        ]
        self._busy = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        i = min(range(len(self._shards)), key=self._busy.__getitem__)
        self._busy[i] += 1

        def release():
            self._busy[i] -= 1

        try:
            response = await self._shards[i].handle_async_request(request)
        except BaseException:
            release()
            raise
        response.stream = _Released(response.stream, release)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        pass


class _ProviderClient(httpx.AsyncClient):
    """An AsyncClient without cookies. Provider APIs are authenticated by key, not cookies; and one
    client serves every team's providers, so a cookie set by a host for one team's call would be
    sent back on another team's call to the same host. Keeping none also spares each answer the
    cookie jar's header parsing (~2-3% of the dispatcher loop's CPU, bench/dispatch.py)."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies) -> None:
        pass  # none kept (see the class)


def make_client(
    *,
    max_connections: int = 100,
    max_keepalive_connections: int | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    transport: httpx.AsyncBaseTransport | None = None,
    http2: bool = False,
) -> httpx.AsyncClient:
    """A pooled client for :func:`send`: keep-alive connections, our timeouts, ``User-Agent:
    Prism/0.1``, no proxies or certificates taken from the environment (``trust_env=False``: a
    stray HTTPS_PROXY must not see provider keys), no redirects followed, no cookies kept.

        async with make_client(max_connections=50) as client: ...
    """
    keepalive = max_connections if max_keepalive_connections is None else max_keepalive_connections
    return _ProviderClient(
        timeout=timeouts.httpx(),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        follow_redirects=False,
        transport=transport or ShardedTransport(max_connections=max_connections, max_keepalive_connections=keepalive, http2=http2),
    )


# --- what a call gives back ------------------------------------------------------------------------


@dataclass
class Attempt:
    """One HTTP attempt. ``wait_s``: the pause before the next attempt (None for the last);
    ``queued_s``: time spent waiting for the concurrency limiter."""

    number: int
    started_at: float  # time.time()
    status: int | None = None
    ttfb_s: float | None = None
    latency_s: float = 0.0
    queued_s: float = 0.0
    error: dict | None = None
    request_id: str | None = None
    wait_s: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SendOutcome:
    """Everything to log about one call, retries included. ``result`` is the parsed answer when a
    2xx JSON answer arrived (even a failed-as-200 one, whose usage still counts); ``error`` is set
    whenever the call did not succeed. ``ttfb_s``/``latency_s`` are the last attempt's;
    ``elapsed_s`` spans all attempts and waits."""

    protocol: str
    url: str
    model: str | None
    request_bytes: int
    request_headers: dict  # as rendered: the key masked
    result: ProviderResult | None = None
    error: ProviderError | None = None
    attempts: list[Attempt] = field(default_factory=list)
    status: int | None = None
    ttfb_s: float | None = None
    latency_s: float | None = None
    elapsed_s: float = 0.0
    response_json: Any = None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "protocol": self.protocol,
            "url": self.url,
            "model": self.model,
            "request_bytes": self.request_bytes,
            "request_headers": dict(self.request_headers),
            "status": self.status,
            "ttfb_s": self.ttfb_s,
            "latency_s": self.latency_s,
            "elapsed_s": self.elapsed_s,
            "request_id": self.request_id,
            "result": self.result.to_dict() if self.result else None,
            "error": self.error.to_dict() if self.error else None,
            "attempts": [a.to_dict() for a in self.attempts],
            "response_json": self.response_json,
        }


# --- sending ---------------------------------------------------------------------------------------


def _redact_error(error: ProviderError, redact: Redactor) -> None:
    """Every text of an error (built from the body and headers) without the key, in any form."""
    error.message = redact.text(error.message)
    for name in ("error_type", "code", "param", "request_id"):
        if isinstance(getattr(error, name), str):
            setattr(error, name, redact.text(getattr(error, name)))
    error.details = redact.deep(error.details)


def _redact_result(result: ProviderResult, redact: Redactor) -> None:
    # Parsed from redacted JSON already; again here so that no later parser change can carry a key out.
    result.output_text = redact.text(result.output_text)
    for name in ("refusal", "raw_finish_reason", "response_id", "model"):
        if isinstance(getattr(result, name), str):
            setattr(result, name, redact.text(getattr(result, name)))
    result.raw_usage, result.notes = redact.deep(result.raw_usage), redact.deep(result.notes)


async def _stream_body(rendered) -> AsyncIterator[bytes]:
    """``rendered.iter_body()`` with the file reads in a worker thread, so a 30 MB upload never
    stalls the other calls sharing the loop."""
    chunks = rendered.iter_body(STREAM_CHUNK)
    while True:
        piece = await asyncio.to_thread(next, chunks, None)
        if piece is None:
            return
        yield piece


_DNS_FAILURES = ("name or service not known", "name resolution", "nodename nor servname", "getaddrinfo", "no address associated")


class _FailedSteps:
    """httpcore's ``trace`` hook: which step failed ("connection.start_tls", ...). An EOF during the
    TLS handshake surfaces as a ConnectError with no text; the step is what tells it apart."""

    def __init__(self):
        self.steps: list[str] = []

    async def __call__(self, event: str, info: dict) -> None:
        if event.endswith(".failed"):
            self.steps.append(event.removesuffix(".failed"))


def _transport_error(
    exc: Exception, url: str, timeouts: Timeouts, *, answered: bool = False, failed_steps: list[str] = ()
) -> ProviderError:
    """A ProviderError for what the network did: ``message`` the technical detail, ``headline``
    the cause in plain words. ``answered``: the response headers had arrived (so a timeout or a
    closed connection happened in the middle of the answer); ``failed_steps``: from _FailedSteps."""
    where = urlsplit(url).netloc
    text = str(exc) or type(exc).__name__

    def timeout(message: str, headline: str) -> ProviderError:
        return ProviderError(message, kind="timeout", retryable=True, headline=headline)

    def connection(message: str, headline: str, retryable: bool = True) -> ProviderError:
        return ProviderError(message, kind="connection", retryable=retryable, headline=headline)

    def waited(seconds: float, which: str) -> str:
        # In Prism every limit comes from the provider's "Timeout" setting (runs/engine.py).
        why = "the provider's timeout" if timeouts.total is not None and seconds >= timeouts.total else f"the {which} timeout"
        if answered:
            return f"The provider's answer did not finish within {seconds:g} s ({why})."
        return f"The provider did not answer within {seconds:g} s ({why})."

    if isinstance(exc, httpx.ConnectTimeout):
        return timeout(f"No connection to {where} within {timeouts.connect:g} s (connect timeout).",
                       f"Could not connect to {where} within {timeouts.connect:g} s.")  # fmt: skip
    if isinstance(exc, httpx.PoolTimeout):
        return timeout(f"No connection to {where} within {timeouts.pool:g} s (pool timeout).",
                       f"No free connection to {where} within {timeouts.pool:g} s: too many requests in flight.")  # fmt: skip
    if isinstance(exc, httpx.ReadTimeout):
        return timeout(f"{where} sent nothing for {timeouts.read:g} s (read timeout).", waited(timeouts.read, "read"))
    if isinstance(exc, httpx.WriteTimeout):
        return timeout(f"Sending the request to {where} stalled for {timeouts.write:g} s (write timeout).",
                       f"Sending the request to {where} stalled for {timeouts.write:g} s.")  # fmt: skip
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        if timeouts.total is None:
            return timeout(f"No complete answer from {where} in time.", "The provider did not answer in time.")
        return timeout(f"No complete answer from {where} within {timeouts.total:g} s (total timeout).",
                       waited(timeouts.total, "total"))  # fmt: skip
    if isinstance(exc, httpx.ConnectError):
        message = f"Could not connect to {where}: {text}."
        lowered = text.lower()
        if "certificate" in lowered:
            return connection(message, f"Could not connect securely to {where}: its TLS certificate is not valid.")
        if "connection.start_tls" in failed_steps or "ssl" in lowered or "tls" in lowered:
            return connection(message, f"Could not connect securely to {where}: the TLS handshake failed.")
        if any(m in lowered for m in _DNS_FAILURES):
            return connection(message, f"Could not find the server {urlsplit(url).hostname} (DNS lookup failed).")
        return connection(message, f"Could not connect to {where}.")
    if isinstance(exc, httpx.RemoteProtocolError):
        message = f"{where} closed the connection without a complete answer ({text})."
        if answered:
            return connection(message, "The connection was closed before the answer was complete.")
        if "without sending a response" in text.lower():
            return connection(message, f"{where} closed the connection without answering.")
        return connection(message, "The provider's answer was not a valid HTTP response.")
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        message = f"The connection to {where} broke: {text}."
        if answered:
            return connection(message, "The connection was closed before the answer was complete.")
        return connection(message, f"The connection to {where} broke before it answered.")
    # UnsupportedProtocol, InvalidURL, ...: a configuration mistake that no retry will fix.
    return connection(f"Cannot send to {url}: {text}.", "The provider's address cannot be used; check its base URL.", retryable=False)


async def _notify(on_attempt, attempt: Attempt) -> None:
    if on_attempt is None:
        return
    done = on_attempt(attempt)
    if inspect.isawaitable(done):
        await done


async def send(
    rendered,
    *,
    api_key: str | None,
    client: httpx.AsyncClient,
    timeouts: Timeouts | None = None,
    retry_policy: RetryPolicy | None = None,
    limiter: asyncio.Semaphore | None = None,
    on_attempt: Callable[[Attempt], Any] | Callable[[Attempt], Awaitable[Any]] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    queued_since: float | None = None,
) -> SendOutcome:
    """Send ``rendered`` (a sendable :class:`playground.protocols.RenderedRequest`), retrying per
    ``retry_policy``, and parse the answer per its protocol. Never raises for what the provider or
    the network did: that is ``outcome.error``. Raises ``NotSendable`` for a request with refusals
    or problems (``rendered.ok`` is False), before anything is sent.

    ``api_key`` None or "" sends no auth header at all (local OpenAI-compatible servers).
    ``limiter`` is held only while an attempt is on the wire, not during backoff waits.
    ``on_attempt(attempt)`` (sync or async) is called after every attempt, e.g. to save progress.
    ``queued_since``: when the caller handed the request over (``time.perf_counter()``; the
    Dispatcher sets it). If the limiter is full when this coroutine starts, the first attempt's
    wait for it counts from then: a request queued behind the provider's limit would have waited
    for its slot anyway, so the time it also spent waiting for the event loop to start it is part
    of that wait, not Prism's overhead. A request that finds a free slot counts from now.

        outcome = await send(rendered, api_key=os.environ["OPENAI_API_KEY"], client=client,
                             timeouts=Timeouts(read=60), retry_policy=RetryPolicy(max_retries=2))
    """
    timeouts = timeouts or DEFAULT_TIMEOUTS
    policy = retry_policy or DEFAULT_RETRY
    if not rendered.ok:
        rendered.body_bytes()  # raises NotSendable, naming the refusals and problems
    size = rendered.body_size()
    if api_key:
        headers = rendered.headers_with_key(api_key)
    else:
        headers = {k: v for k, v in rendered.headers.items() if k.lower() != rendered.auth.header.lower()}
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    headers.update(extra_headers or {})
    headers["Content-Length"] = str(size)  # set, so a streamed body is not sent chunked
    redact = Redactor(api_key)  # for everything the server sends back: body, headers, what is parsed from them
    http_timeout = timeouts.httpx()
    model = getattr(rendered.target, "model", None)
    outcome = SendOutcome(rendered.protocol, rendered.url, model, size, dict(rendered.headers))
    started = time.perf_counter()
    retries = 0
    while True:
        attempt = Attempt(number=retries + 1, started_at=time.time())
        error: ProviderError | None = None
        result: ProviderResult | None = None
        data = None
        queued_at = time.perf_counter()
        if retries == 0 and queued_since is not None and limiter is not None and limiter.locked():
            attempt.started_at -= queued_at - queued_since
            queued_at = queued_since
        if limiter is not None:
            await limiter.acquire()
        try:
            # The body is built only now, under the limiter: a thousand queued calls with images
            # must not hold a thousand bodies in memory.
            content = rendered.body_bytes() if size <= STREAM_ABOVE else _stream_body(rendered)
            t0 = time.perf_counter()
            attempt.queued_s = t0 - queued_at
            try:
                failed_steps = _FailedSteps()
                async with asyncio.timeout(timeouts.total):
                    request = client.build_request(
                        rendered.method, rendered.url, headers=headers, content=content, timeout=http_timeout,
                        extensions={"trace": failed_steps},
                    )  # fmt: skip
                    response = await client.send(request, stream=True)
                    attempt.ttfb_s = time.perf_counter() - t0
                    try:
                        body = await response.aread()
                    finally:
                        await response.aclose()
            except (httpx.HTTPError, TimeoutError) as exc:
                error = _transport_error(
                    exc, rendered.url, timeouts, answered=attempt.ttfb_s is not None, failed_steps=failed_steps.steps
                )
                response = None
            attempt.latency_s = time.perf_counter() - t0
        finally:
            if limiter is not None:
                limiter.release()

        if response is not None:
            attempt.status = response.status_code
            attempt.request_id = redact.text(request_id_from(response.headers))  # a header may echo the key
            body = redact.bytes(body)  # never keep a key a server echoed back, plain or escaped or encoded
            if 200 <= response.status_code < 300:
                try:
                    data = redact.deep(json.loads(body))  # and again once parsed, string by string
                except (ValueError, UnicodeDecodeError):
                    excerpt = body[:200].decode("utf-8", errors="replace")
                    error = ProviderError(
                        f"HTTP {response.status_code} but the body is not valid JSON "
                        f"({len(body)} bytes, {response.headers.get('content-type') or 'no content type'}): {excerpt!r}",
                        kind="malformed",
                        status=response.status_code,
                        request_id=attempt.request_id,
                        headline="The provider's answer was not valid JSON.",
                    )
                else:
                    try:
                        result = parse_response(rendered.protocol, data, headers=response.headers)
                        error = result.error
                    except ProviderError as exc:
                        exc.status, exc.request_id = response.status_code, attempt.request_id
                        error = exc
            else:
                error = parse_error(rendered.protocol, response.status_code, response.headers, body, reason=response.reason_phrase)
                try:
                    data = redact.deep(json.loads(body))
                except (ValueError, UnicodeDecodeError):
                    data = None
        if result is not None:
            _redact_result(result, redact)
        if error is not None:
            _redact_error(error, redact)
            attempt.error = {"message": error.message, "kind": error.kind, "error_type": error.error_type,
                             "retryable": error.retryable, "headline": error.headline}  # fmt: skip

        outcome.attempts.append(attempt)
        outcome.status, outcome.ttfb_s, outcome.latency_s = attempt.status, attempt.ttfb_s, attempt.latency_s
        outcome.result, outcome.error, outcome.response_json = result, error, data
        outcome.request_id = attempt.request_id or (error.request_id if error else None)

        decision = policy.decide(error, retries) if error is not None else None
        if decision is None or not decision.retry:
            if decision is not None and error.retryable and decision.reason:
                error.message += f" Not retried: {decision.reason}."
                attempt.error["message"] = error.message
            await _notify(on_attempt, attempt)
            break
        attempt.wait_s = decision.delay_s
        await _notify(on_attempt, attempt)
        await sleep(decision.delay_s)
        retries += 1
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def send_sync(
    rendered,
    *,
    api_key: str | None,
    timeouts: Timeouts | None = None,
    retry_policy: RetryPolicy | None = None,
    on_attempt=None,
    extra_headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendOutcome:
    """:func:`send` for synchronous callers: a fresh client, one call, closed afterwards.

        outcome = send_sync(rendered, api_key=key, timeouts=Timeouts(read=60))
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("send_sync() cannot run inside an event loop: await send() there instead.")

    async def main() -> SendOutcome:
        async with make_client(max_connections=1, timeouts=timeouts or DEFAULT_TIMEOUTS, transport=transport) as client:
            return await send(
                rendered, api_key=api_key, client=client, timeouts=timeouts, retry_policy=retry_policy,
                on_attempt=on_attempt, extra_headers=extra_headers,
            )  # fmt: skip

    return asyncio.run(main())


class Dispatcher:
    """One event loop in a background thread, one pooled client, and one concurrency limit per
    provider: many calls in flight from synchronous code (e.g. a Celery worker's threads).

        with Dispatcher(limits={"openai": 50}, default_limit=10) as d:
            futures = [d.submit(r, api_key=k, provider="openai") for r in requests]
            outcomes = [f.result() for f in futures]
    """

    def __init__(
        self,
        *,
        max_connections: int = 200,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry_policy: RetryPolicy | None = None,
        limits: Mapping[str, int] | None = None,
        default_limit: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.timeouts = timeouts
        self.retry_policy = retry_policy
        self._limits = dict(limits or {})
        self._default_limit = default_limit
        self._limiters: dict[str, asyncio.Semaphore] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="prism-dispatcher", daemon=True)
        self._thread.start()
        self._client = self._call(self._make_client(max_connections, timeouts, transport))

    @staticmethod
    async def _make_client(max_connections, timeouts, transport):
        return make_client(max_connections=max_connections, timeouts=timeouts, transport=transport)

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _limiter(self, provider: str | None) -> asyncio.Semaphore | None:
        if provider is None:
            return None
        limit = self._limits.get(provider, self._default_limit)
        if limit is None:
            return None
        if provider not in self._limiters:
            self._limiters[provider] = asyncio.Semaphore(limit)
        return self._limiters[provider]

    def submit(self, rendered, *, api_key: str | None, provider: str | None = None, **kwargs) -> concurrent.futures.Future:
        """Start :func:`send` on the dispatcher's loop; ``kwargs`` as for send (``retry_policy``,
        ``on_attempt``, ``extra_headers``, ``timeouts``). ``provider`` names the limit to use."""
        kwargs.setdefault("timeouts", self.timeouts)
        kwargs.setdefault("retry_policy", self.retry_policy)

        kwargs.setdefault("queued_since", time.perf_counter())

        async def run():
            return await send(rendered, api_key=api_key, client=self._client, limiter=self._limiter(provider), **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def send(self, rendered, *, api_key: str | None, provider: str | None = None, **kwargs) -> SendOutcome:
        return self.submit(rendered, api_key=api_key, provider=provider, **kwargs).result()

    def close(self) -> None:
        if not self._loop.is_running():
            return
        self._call(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
