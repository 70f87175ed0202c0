"""Asking a provider something from its page: a tiny test request, and the list of its models.

    probe = test_connection(provider, model)      # Probe: ok, reply (first 200 chars), latency, tokens, or why not
    listing = list_models(provider)               # Listing: models (name, label, preset), or why not
    allowed, wait_s = take_turn(user, "test")     # one probe per user every PROBE_EVERY_S seconds

Both go only to the provider's base URL (the key with them: Provider.api_key(url) checks that), as
the runs do: an owner configures that address, so a private or loopback one is allowed on purpose
(a local Ollama, vLLM, the test server), exactly as for runs. Neither follows a redirect (the key
must not go anywhere else), both have a short timeout and read at most MAX_BODY bytes of an answer,
and JSON is parsed with playground.lib.jsonlimits. The key is never logged, shown, or kept: what
the provider says back is redacted (providers.redact) before anything reads it.

The test request is sent by ``providers.send`` (what the runs' dispatcher calls), rendered by
``protocols.render`` for the model's Target (catalog.columns.target_for, as a run builds it), with
one attempt only: a probe says what happens now, it does not retry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from playground.catalog import presets, secrets
from playground.catalog.columns import target_for
from playground.catalog.models import Provider, ProviderModel
from playground.catalog.services import MODEL_NAME, known_presets
from playground.lib import jsonlimits
from playground.protocols import Message, Options, Prompt, TextPart, render
from playground.protocols.anthropic_messages import DEFAULT_VERSION as ANTHROPIC_VERSION
from playground.protocols.gemini import DEFAULT_VERSION as GEMINI_VERSION
from playground.providers import NO_RETRY, USER_AGENT, ProviderError, Timeouts, parse_error, send_sync, words
from playground.providers.redact import Redactor

__all__ = ["Listing", "ListedModel", "Probe", "list_models", "plain_error", "reset_provider_turns", "reset_turns", "take_turn", "test_connection"]

log = logging.getLogger("playground.catalog")

PROBE_EVERY_S = 5  # one test or model-list fetch per user this often: a page cannot hammer a server
TIMEOUT_S = 15.0  # a probe's whole call; a provider's own timeout_s is for long answers, not this
MAX_BODY = 4 << 20  # bytes of an answer read at most (Gemini's list of ~50 models per page is ~60 kB)
MAX_PAGES = 10  # model-list pages followed at most
MAX_MODELS = 1000  # models listed at most
PROBE_TEXT = "Reply with the single word OK."
PROBE_MAX_TOKENS = 16  # the Responses API's minimum max_output_tokens
REPLY_SHOWN = 200  # characters of the reply shown


# --- plain words for an error -------------------------------------------------------------------------------


def plain_error(error: ProviderError) -> str:
    """What went wrong, in plain words (providers/words.py, as a failed run's card says it); the
    provider's own message is shown beside it."""
    if error.headline:
        return error.headline
    said = words.status_words(error.status, error.error_type, message=error.message, details=error.details)
    return said or {**words.TRANSPORT, "response": words.RESPONSE}.get(error.kind, "The request failed.")


# --- the rate limit ----------------------------------------------------------------------------------------


def _turn(key: str) -> int:
    """0 if the turn under ``key`` was free (and is now taken), else the seconds until it is."""
    now = time.time()
    if cache.add(key, now, timeout=PROBE_EVERY_S):
        return 0
    since = cache.get(key)
    return max(1, round(PROBE_EVERY_S - (now - since))) if isinstance(since, float) else PROBE_EVERY_S


def take_turn(user, what: str, provider: Provider | None = None) -> tuple[bool, int]:
    """(True, 0) if ``user`` may probe now (the turn is taken), else (False, seconds to wait).
    One probe per user, and one per provider (whoever sends it), every PROBE_EVERY_S seconds.

    In Django's cache: cache.add is atomic, so two clicks at once get one turn. With the default
    local-memory cache the limit is per web process; a shared cache (Redis) makes it global."""
    wait = _turn(f"prism:probe:{what}:{user.pk}")
    if not wait and provider is not None:
        wait = _turn(f"prism:probe:{what}:provider-{provider.pk}")
    return not wait, wait


def reset_turns(user) -> None:
    """Give ``user`` their turns back (tests that send several probes in a row)."""
    cache.delete_many([f"prism:probe:{what}:{user.pk}" for what in ("test", "models")])


def reset_provider_turns(provider: Provider) -> None:
    cache.delete_many([f"prism:probe:{what}:provider-{provider.pk}" for what in ("test", "models")])


# --- a capped answer ---------------------------------------------------------------------------------------


class AnswerTooLarge(httpx.ReadError):
    pass


def _too_large() -> AnswerTooLarge:
    return AnswerTooLarge(f"The answer was larger than {MAX_BODY // (1 << 20)} MB; Prism stopped reading it.")


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, stream):
        self._stream, self._read = stream, 0

    async def __aiter__(self):
        async for chunk in self._stream:
            self._read += len(chunk)
            if self._read > MAX_BODY:
                raise _too_large()
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class CappedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose answers stop at MAX_BODY bytes (a ReadError past that), for
    providers.send: a test of a few tokens has no reason to read megabytes."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None):
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        response.stream = _CappedStream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _timeouts() -> Timeouts:
    return Timeouts(connect=min(5.0, TIMEOUT_S), read=TIMEOUT_S, write=TIMEOUT_S, pool=TIMEOUT_S, total=TIMEOUT_S)


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme.lower(), (a.hostname or "").lower(), a.port) == (b.scheme.lower(), (b.hostname or "").lower(), b.port)


# --- test connection ---------------------------------------------------------------------------------------


@dataclass
class Probe:
    """A test request's outcome, as the provider page shows it (never the key)."""

    model: str
    ok: bool
    reply: str = ""  # the first REPLY_SHOWN characters of the answer
    truncated: bool = False
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    capped: bool = False  # the answer stopped at PROBE_MAX_TOKENS
    headline: str = ""  # what went wrong in plain words
    detail: str = ""  # the provider's own words (redacted), or Prism's reason it did not send
    status: int | None = None


def _not_sent(model: str, why: str) -> Probe:
    return Probe(model=model, ok=False, headline="Not sent.", detail=why)


def probe_prompt() -> Prompt:
    return Prompt(messages=(Message("user", (TextPart(PROBE_TEXT),)),), options=Options(max_tokens=PROBE_MAX_TOKENS))


@sensitive_variables("key")
def test_connection(provider: Provider, model: ProviderModel, *, transport: httpx.AsyncBaseTransport | None = None) -> Probe:
    """Send PROBE_TEXT to ``model`` of ``provider``, one attempt, and say what came back."""
    rendered = render(probe_prompt(), None, target_for(model))
    if not rendered.ok:
        why = "; ".join([r.message for r in rendered.refusals] + [p.message for p in rendered.problems])
        return _not_sent(model.name, why or "The request could not be built for this model.")
    if not _same_origin(rendered.url, provider.base_url):  # target_for builds it from the base URL; kept so
        return _not_sent(model.name, "The request would not go to the provider's base URL.")
    try:
        key = provider.api_key(rendered.url)
    except secrets.KeyUnavailable as exc:
        return Probe(model=model.name, ok=False, headline="The provider's API key cannot be used.", detail=str(exc))
    outcome = send_sync(rendered, api_key=key or None, timeouts=_timeouts(), retry_policy=NO_RETRY,
                        transport=CappedTransport(transport))
    latency = outcome.latency_s
    probe = Probe(model=model.name, ok=outcome.ok, status=outcome.status,
                  latency_ms=None if latency is None else round(latency * 1000))
    result = outcome.result
    if result is not None:
        text = result.output_text or ""
        probe.reply, probe.truncated = text[:REPLY_SHOWN], len(text) > REPLY_SHOWN
        probe.finish_reason = result.finish_reason or ""
        if result.usage is not None:
            probe.input_tokens, probe.output_tokens = result.usage.input, result.usage.output
    if result is not None and result.finish_reason == "length" and outcome.status and 200 <= outcome.status < 300:
        # Stopped at the tiny cap (a reasoning model may spend it all on thinking; the Responses API
        # calls that "incomplete"): the provider took the key and the model, which is what a test asks.
        probe.ok, probe.capped = True, True
    elif outcome.error is not None:
        probe.ok = False
        probe.headline = plain_error(outcome.error)
        probe.detail = outcome.error.message[:500]
    log.info("provider %s: test request to %s (%s): %s, HTTP %s", provider.pk, model.name, provider.protocol,
             "ok" if probe.ok else "failed", outcome.status)
    return probe


# --- the model list ----------------------------------------------------------------------------------------


@dataclass
class ListedModel:
    name: str
    label: str = ""
    preset: presets.ModelPreset | None = None  # a preset knows this model: its capabilities and prices
    added: bool = False  # the provider has it already


@dataclass
class Listing:
    ok: bool
    models: list[ListedModel] = field(default_factory=list)
    headline: str = ""
    detail: str = ""
    url: str = ""  # the first page's address (no key in it: keys go in headers)
    pages: int = 0
    capped: bool = False  # more pages or models than Prism reads


def models_url(provider: Provider) -> str:
    """The list endpoint under the base URL, per protocol (each provider's API reference):
    OpenAI and compatible servers ``GET {base}/models``; Anthropic ``GET {base}/v1/models``;
    Gemini ``GET {base}/{version}/models``."""
    base = provider.base_url.rstrip("/")
    if provider.protocol == Provider.Protocol.MESSAGES:
        return f"{base}/v1/models"
    if provider.protocol == Provider.Protocol.GEMINI:
        return f"{base}/{provider.api_version or GEMINI_VERSION}/models"
    return f"{base}/models"


def _headers(provider: Provider, key: str) -> dict:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if provider.protocol == Provider.Protocol.MESSAGES:
        headers["anthropic-version"] = provider.api_version or ANTHROPIC_VERSION
        if key:
            headers["x-api-key"] = key
    elif provider.protocol == Provider.Protocol.GEMINI:
        if key:
            headers["x-goog-api-key"] = key  # a header, not ?key=: an address ends up in logs
    elif key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _first_params(provider: Provider) -> dict:
    if provider.protocol == Provider.Protocol.MESSAGES:
        return {"limit": 1000}  # 1-1000, 20 by default
    if provider.protocol == Provider.Protocol.GEMINI:
        return {"pageSize": 1000}  # at most 1000, 50 by default
    return {}


def _page(provider: Provider, data) -> tuple[list[tuple[str, str]], dict | None]:
    """[(name, label)] from one page of the list, and the next page's query (None: last page)."""
    protocol = provider.protocol
    if protocol == Provider.Protocol.GEMINI:
        items = data.get("models") if isinstance(data, dict) else None
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            methods = item.get("supportedGenerationMethods")
            if isinstance(methods, list) and "generateContent" not in methods:
                continue  # embedding, AQA, Imagen...: not for generateContent
            out.append((item["name"].removeprefix("models/"), item.get("displayName")))
        token = data.get("nextPageToken") if isinstance(data, dict) else None
        return out, ({"pageSize": 1000, "pageToken": token} if isinstance(token, str) and token else None)
    if isinstance(data, list):  # a few compatible servers answer a bare list
        items = data
    else:
        items = data.get("data") if isinstance(data, dict) else None
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append((item["id"], item.get("display_name") or item.get("name")))
    following = None
    if protocol == Provider.Protocol.MESSAGES and isinstance(data, dict) and data.get("has_more") is True:
        last = data.get("last_id")
        if isinstance(last, str) and last:
            following = {"limit": 1000, "after_id": last}
    return out, following


def _read_capped(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _failed(headline: str, detail: str = "", url: str = "") -> Listing:
    return Listing(ok=False, headline=headline, detail=detail, url=url)


@sensitive_variables("key", "headers")
def list_models(provider: Provider, *, transport: httpx.BaseTransport | None = None) -> Listing:
    """The provider's own list of its models (pages followed up to MAX_PAGES, MAX_MODELS models)."""
    url = models_url(provider)
    try:
        key = provider.api_key(url)
    except secrets.KeyUnavailable as exc:
        return _failed("The provider's API key cannot be used.", str(exc), url)
    redact = Redactor(key)
    headers = _headers(provider, key)
    protocol = provider.render_protocol
    known, have = known_presets(provider), set(provider.models.values_list("name", flat=True))
    listing = Listing(ok=True, url=url)
    seen: set[str] = set()
    params: dict | None = _first_params(provider)
    deadline = time.monotonic() + TIMEOUT_S * 2
    client = httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=5.0), follow_redirects=False, trust_env=False,
                          transport=transport)
    with client:
        while params is not None:
            if listing.pages >= MAX_PAGES or len(listing.models) >= MAX_MODELS or time.monotonic() > deadline:
                listing.capped = True
                break
            try:
                with client.stream("GET", url, params=params, headers=headers) as response:
                    body = redact.bytes(_read_capped(response))
                    status, reason, answer_headers = response.status_code, response.reason_phrase, response.headers
            except httpx.TimeoutException:
                return _failed(words.TRANSPORT["timeout"], f"No answer from {urlsplit(url).netloc} within {TIMEOUT_S:.0f} s.", url)
            except AnswerTooLarge as exc:
                return _failed(words.TRANSPORT["malformed"], str(exc), url)
            except httpx.HTTPError as exc:
                return _failed(words.TRANSPORT["connection"], redact.text(f"{type(exc).__name__}: {exc}"[:300]), url)
            if not 200 <= status < 300:
                error = parse_error(protocol, status, answer_headers, body, reason=reason)
                if 300 <= status < 400:
                    return _failed("The provider answered with a redirect, which Prism does not follow (the key "
                                   "goes only to the base URL).", f"HTTP {status}", url)
                return _failed(plain_error(error), redact.text(error.message)[:500], url)
            try:
                data = jsonlimits.loads(body)
            except (ValueError, UnicodeDecodeError):
                return _failed(words.TRANSPORT["malformed"], f"HTTP {status} but the body is not JSON ({len(body)} bytes).", url)
            listing.pages += 1
            names, params = _page(provider, data)
            for name, label in names:
                name = redact.text(name)
                if name in seen or not MODEL_NAME.fullmatch(name):
                    continue
                seen.add(name)
                label = redact.text(label)[:200] if isinstance(label, str) else ""
                listing.models.append(ListedModel(name, label if label != name else "", known.get(name), name in have))
                if len(listing.models) >= MAX_MODELS:
                    listing.capped, params = True, None
                    break
    if listing.pages == 0:
        return _failed(words.TRANSPORT["malformed"], "The provider's answer listed no models.", url)
    listing.models.sort(key=lambda m: (m.added, m.name))
    return listing
