"""A fake model provider on loopback that speaks the four protocols as protocols.md documents them.

It checks every request body against its protocol and answers 400 with that protocol's own error
body when something is wrong, so a test that gets a 200 knows the body was right. Valid requests
get a realistic answer (usage with its detail fields, reasoning/thinking/thought parts that a
parser must skip) whose text says what arrived:

    [fake] images=1 audio=0 video=0 pdfs=0 urls=0 texts=1 | system: Be terse. | user: Describe the cat.

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/responses`` (``Authorization: Bearer``),
``POST /v1/messages`` (``x-api-key`` and ``anthropic-version``), ``POST
/v1beta/models/{model}:generateContent`` (``x-goog-api-key`` or ``?key=``).
Model lists (GET), in each provider's documented format (:func:`models_reply`): ``GET /v1/models``
(OpenAI and compatible servers; Anthropic's when the request carries ``x-api-key`` or
``anthropic-version``: the two share the path) and ``GET /v1beta/models`` (Gemini), Anthropic's
paged by ``limit``/``after_id`` and Gemini's by ``pageSize``/``pageToken``; ``server.models_page_size``
makes the pages smaller for paging tests, a scripted status (``server.script(["401"])``) answers it.

In tests (a real server in a thread; the fixture ``provider_server`` does this)::

    with ProviderServer(delay_s=0.0) as server:
        target = server.target("chat", "gpt-4o")          # base_url points at the server
        server.script(["429:retry-after=1", "ok"])          # the next two answers, in order
        ... send ...
        server.received[-1].body, server.max_in_flight

Standalone, e.g. for a benchmark: ``python -m tests.provider_server --port 8090 --delay 0.5``.
It then also answers ``GET /_fake/stats`` and ``POST /_fake/script`` / ``/_fake/reset``.

Behaviours (a *spec*: ``KIND[:param=value,...]``), chosen per request by, in order: the script
queue for the request's model, the global script queue, an ``x-prism-fake`` header, a model
named ``fake-SPEC`` (e.g. ``"fake-429:retry-after=1"``), else ``ok``:

    ok            a realistic answer (after the server's delay, or ``delay=MS``; ``slow=MS`` too)
    length        stopped at the token cap (Responses: ``incomplete``)
    400 401 403 404 408 409 429 500 502 503 529
                  that status with the protocol's error body; params ``retry-after=S``,
                  ``retry-after-ms=MS``, ``retry-after-date=S``, ``should-retry=true|false``,
                  ``quota`` (a 429 ``insufficient_quota``), ``message=...``
    malformed     200 with a truncated JSON body
    html          502 with an HTML page (a proxy's error)
    empty         500 with an empty body
    hang          read the request, never answer (until the client gives up)
    close         read the request, close the connection without answering
    cut           a 200 answer whose connection closes halfway through the body
    invalid       200 with valid JSON that is not the protocol's response (``{"object": "list"...}``)
    garbage       answer with a line that is not HTTP at all (an SSH banner), then close
    blocked       Gemini: prompt blocked (200, no candidates); others: a content-filter finish
    safety        Gemini: finishReason SAFETY; others: a content-filter finish
    incomplete    Responses: status incomplete (max_output_tokens); others: ``length``
    failed        Responses: status failed (server_error); others: 500
    midgen        Chat: OpenRouter's error raised mid-generation, as a 200; others: 500
    echo          a server echoing the key it was sent, as a leaky proxy would: a 200 answer (or,
                  with ``status=N``, that error; with ``html`` too, a non-JSON page) whose text and
                  body carry the key JSON-escaped (``\u0073\u006b…``), base64 and percent-encoded,
                  and whose ``x-request-id`` / ``request-id`` headers are the key itself
    see hear      a recogniser (issue 11): answers from what the inline media really contain, as
                  tests/eval_data.py makes them: "a red circle" for each image (read_shape), "three
                  one four" for each clip of DTMF digits (read_tones: WAV, MP3...), joined by "; ". Params:
                  ``err=P`` wrong on a share P of media (a different colour and/or shape, mostly a
                  neighbour; a substituted, dropped or inserted digit), drawn from a hash of the
                  medium's bytes and the model name, so reruns answer the same and two models err
                  on different cases; ``small=PX,small-err=P`` images whose longer edge is <= PX px
                  are wrong on P instead; ``say=label|colour|shape|json`` ("red circle", "red",
                  "circle", {"colour": "red", "shape": "circle"}). Shorthand: ``see-err=0.2``, so a
                  model named ``fake-see-err=0.2``; ``fake-see:err=0.1,delay=500`` also works. Media
                  are decoded in a thread while the delay runs; URLs are not fetched
    cached=N      (param, on ok) N input tokens reported as read from cache
    text=N image=N audio=N video=N pdf=N
                  (params, on ok) the input tokens reported for that modality (the prompt's total is
                  their sum), e.g. ``ok:text=1500,image=800``. Reported as each protocol does
                  (docs/protocols.md §8.15): Chat's ``prompt_tokens_details`` (text, image, audio),
                  Gemini's ``promptTokensDetails`` (TEXT, IMAGE, AUDIO, VIDEO, DOCUMENT); Responses
                  and Anthropic report the total only

A refused connection: ``with refused_port() as port:`` (bound, never listening).

Why asyncio + h11 (h11 is already here, under httpx): one thread serves thousands of slow
requests at once; a delayed or hanging answer is a sleeping coroutine, not a blocked thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import collections
import concurrent.futures
import contextlib
import email.utils
import io
import json
import random
import re
import socket
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

__all__ = ["Behaviour", "ProviderServer", "Received", "DEFAULT_KEY", "refused_port", "provider_server"]

DEFAULT_KEY = "sk-prism-test-0123456789abcdef"
FAKE_HEADER = "x-prism-fake"
ANTHROPIC_VERSIONS = ("2023-06-01", "2023-01-01", "2026-10-21")
MAX_BODY = 200 * 1024 * 1024

KINDS = {
    "ok", "length", "malformed", "html", "empty", "hang", "close", "blocked", "safety", "incomplete", "failed", "midgen",
    "cut", "invalid", "garbage",
    "echo", "see", "hear",
    "400", "401", "403", "404", "408", "409", "413", "429", "500", "502", "503", "504", "529",
}  # fmt: skip


@dataclass(frozen=True)
class Behaviour:
    kind: str = "ok"
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Behaviour:
        """``"429:retry-after=1,should-retry=true"``, ``"slow=300"``, ``"hang"``."""
        head, _, rest = spec.strip().partition(":")
        params: dict[str, Any] = {}
        if head.startswith("slow="):
            head, params["delay"] = "ok", head.removeprefix("slow=")
        elif re.fullmatch(r"(see|hear)-err=[^:,]*", head):  # "see-err=0.2": a recogniser wrong on 20% of cases
            head, _, params["err"] = head.partition("-err=")
        for item in filter(None, (i.strip() for i in rest.split(","))):
            k, eq, v = item.partition("=")
            params[k.strip()] = v.strip() if eq else True
        if head not in KINDS:
            raise ValueError(f"Unknown fake behaviour {head!r} in {spec!r}; known: {', '.join(sorted(KINDS))}.")
        return cls(head, tuple(params.items()))

    def get(self, name: str, default=None):
        return dict(self.params).get(name, default)

    @property
    def spec(self) -> str:
        if not self.params:
            return self.kind
        return self.kind + ":" + ",".join(k if v is True else f"{k}={v}" for k, v in self.params)


@dataclass
class Received:
    """One request as the server saw it. Auth headers and ``key`` query values are replaced by
    ``<key: valid>`` / ``<key: wrong>``: the key itself is never kept."""

    protocol: str | None
    method: str
    path: str
    query: dict
    headers: dict
    body: Any
    size: int
    model: str | None = None
    status: int | None = None
    behaviour: str | None = None
    problems: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    system: list[str] = field(default_factory=list)
    snake_case: list[str] = field(default_factory=list)
    at: float = 0.0


# --- checking bodies ---------------------------------------------------------------------------------


class _Missing:
    pass


MISSING = _Missing()


class Check:
    """Problems found in one body, and what it carried."""

    def __init__(self, *, check_magic: bool = True, gateway: bool = False):
        self.problems: list[tuple[str, str | None]] = []
        self.counts = collections.Counter({"images": 0, "audio": 0, "video": 0, "pdfs": 0, "urls": 0, "texts": 0})
        self.texts: list[str] = []
        self.system: list[str] = []
        self.snake: list[str] = []
        self.media: list[tuple[str, bytes]] = []  # (MIME type, bytes) of each inline medium, for the recognisers
        self.check_magic = check_magic
        self.gateway = gateway

    def bad(self, message: str, param: str | None = None) -> None:
        self.problems.append((message, param))

    def text(self, value: str, system: bool = False) -> None:
        (self.system if system else self.texts).append(value)
        if not system:
            self.counts["texts"] += 1


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _typename(v) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number"
    )


def b64decode(s) -> bytes | None:
    if not isinstance(s, str) or not s:
        return None
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_data_url(s: str) -> tuple[str, str] | None:
    """``data:<mime>;base64,<payload>`` -> (mime, payload), else None."""
    if not isinstance(s, str) or not s.startswith("data:"):
        return None
    head, comma, payload = s.partition(",")
    if not comma or not head.endswith(";base64"):
        return None
    return head[5:-7].lower(), payload


def sniff(raw: bytes) -> str | None:
    """The format the bytes are, for the types whose magic we know."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if raw.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WAVE":
        return "audio/wav"
    if raw.startswith(b"%PDF-"):
        return "application/pdf"
    if raw.startswith(b"ID3") or (len(raw) > 1 and raw[0] == 0xFF and raw[1] & 0xE0 == 0xE0):
        return "audio/mp3"
    return None


SNIFFABLE = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "audio/wav"}


def magic_mismatch(c: Check, mime: str, raw: bytes) -> str | None:
    """The detected type when the bytes are not what ``mime`` says (only for types we can sniff)."""
    if not c.check_magic or mime not in SNIFFABLE:
        return None
    found = sniff(raw)
    return None if found == mime else (found or "unknown")


def _http_url(s) -> bool:
    return isinstance(s, str) and s.startswith(("http://", "https://"))


def _quoted(values) -> str:
    items = [f"'{v}'" for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]


# OpenAI Chat Completions --------------------------------------------------------------------------

CHAT_KEYS = {
    "model", "messages", "max_completion_tokens", "max_tokens", "temperature", "top_p", "n", "stop", "seed",
    "stream", "stream_options", "response_format", "tools", "tool_choice", "parallel_tool_calls", "user", "store",
    "metadata", "reasoning_effort", "modalities", "audio", "frequency_penalty", "presence_penalty", "logprobs",
    "top_logprobs", "logit_bias", "prediction", "service_tier", "verbosity", "prompt_cache_key", "safety_identifier",
    "web_search_options",
}  # fmt: skip
GATEWAY_KEYS = {"plugins", "provider", "models", "route", "transforms", "top_k", "repetition_penalty", "min_p", "usage"}
CHAT_ROLES = ("system", "assistant", "user", "function", "tool", "developer")
OPENAI_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
GATEWAY_AUDIO = ("wav", "mp3", "flac", "m4a", "ogg", "aiff", "aac", "pcm16", "pcm24")


def _openai_common(b: dict, c: Check, token_key: str, token_min: int) -> None:
    if "model" not in b:
        c.bad("Missing required parameter: 'model'.", "model")
    elif not isinstance(b["model"], str) or not b["model"]:
        c.bad(f"Invalid type for 'model': expected a string, but got {_typename(b['model'])} instead.", "model")
    for key in (token_key, "max_tokens") if token_key == "max_completion_tokens" else (token_key,):
        v = b.get(key, MISSING)
        if v is MISSING or v is None:
            continue
        if not _is_int(v):
            c.bad(f"Invalid type for '{key}': expected an integer, but got {_typename(v)} instead.", key)
        elif v < token_min:
            c.bad(f"Invalid '{key}': integer below minimum value. Expected a value >= {token_min}, but got {v} instead.", key)
    for key, hi in (("temperature", 2), ("top_p", 1)):
        v = b.get(key, MISSING)
        if v is MISSING or v is None:
            continue
        if not _is_num(v):
            c.bad(f"Invalid type for '{key}': expected a decimal, but got {_typename(v)} instead.", key)
        elif not 0 <= v <= hi:
            side = "above maximum" if v > hi else "below minimum"
            c.bad(f"Invalid '{key}': decimal {side} value. Expected a value {'<=' if v > hi else '>='} {hi if v > hi else 0}, but got {v} instead.", key)
    if b.get("stream"):
        c.bad("This fake provider does not stream: send 'stream': false.", "stream")


def _openai_image(c: Check, url, path: str) -> None:
    if not isinstance(url, str):
        c.bad(f"Invalid type for '{path}': expected a string, but got {_typename(url)} instead.", path)
        return
    if _http_url(url):
        c.counts["images"] += 1
        c.counts["urls"] += 1
        return
    parsed = parse_data_url(url)
    if parsed is None:
        c.bad(
            f"Invalid '{path}'. Expected a base64-encoded data URL with an image MIME type "
            "(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME type or value.",
            path,
        )
        return
    mime, payload = parsed
    if mime not in OPENAI_IMAGE_TYPES:
        c.bad(f"Invalid MIME type '{mime}' in '{path}'. Supported image formats: png, jpeg, gif, webp.", path)
        return
    raw = b64decode(payload)
    if raw is None:
        c.bad(f"Invalid base64 image data in '{path}'.", path)
        return
    if magic_mismatch(c, mime, raw):
        c.bad("You uploaded an unsupported image. Please make sure your image is valid.", path)
        return
    c.counts["images"] += 1
    c.media.append((mime, raw))


def _openai_file_data(c: Check, value, path: str, *, gateway_url_ok: bool) -> None:
    if gateway_url_ok and _http_url(value):
        c.counts["pdfs"] += 1
        c.counts["urls"] += 1
        return
    parsed = parse_data_url(value) if isinstance(value, str) else None
    if parsed is None:
        c.bad(f"Invalid '{path}': expected a base64-encoded data URL ('data:application/pdf;base64,...').", path)
        return
    mime, payload = parsed
    raw = b64decode(payload)
    if raw is None:
        c.bad(f"Invalid base64 file data in '{path}'.", path)
    elif mime == "application/pdf" and magic_mismatch(c, mime, raw):
        c.bad(f"Invalid file data in '{path}': the file is not a valid PDF.", path)
    else:
        c.counts["pdfs"] += 1


def _chat_part(c: Check, part, path: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(part, dict):
        c.bad(f"Invalid type for '{path}': expected an object, but got {_typename(part)} instead.", path)
        return
    t = part.get("type")
    if t not in allowed:
        c.bad(f"Invalid value: '{t}'. Supported values are: {_quoted(allowed)}.", f"{path}.type")
        return
    known = {"type", t, "prompt_cache_breakpoint", "cache_control"}
    for k in part:
        if k not in known:
            c.bad(f"Unrecognized parameter '{path}.{k}'.", f"{path}.{k}")
    if t == "text":
        if not isinstance(part.get("text"), str):
            c.bad(f"Missing required parameter: '{path}.text'.", f"{path}.text")
        else:
            c.text(part["text"])
    elif t == "image_url":
        iu = part.get("image_url")
        if not isinstance(iu, dict):
            c.bad(f"Invalid type for '{path}.image_url': expected an object, but got {_typename(iu)} instead.", f"{path}.image_url")
            return
        for k in iu:
            if k not in ("url", "detail"):
                c.bad(f"Unrecognized parameter '{path}.image_url.{k}'.", f"{path}.image_url.{k}")
        if "url" not in iu:
            c.bad(f"Missing required parameter: '{path}.image_url.url'.", f"{path}.image_url.url")
            return
        if "detail" in iu and iu["detail"] not in ("auto", "low", "high"):
            c.bad(f"Invalid value: '{iu['detail']}'. Supported values are: 'auto', 'low', and 'high'.", f"{path}.image_url.detail")
        _openai_image(c, iu["url"], f"{path}.image_url.url")
    elif t == "input_audio":
        ia = part.get("input_audio")
        if not isinstance(ia, dict):
            c.bad(f"Invalid type for '{path}.input_audio': expected an object.", f"{path}.input_audio")
            return
        formats = GATEWAY_AUDIO if c.gateway else ("wav", "mp3")
        if ia.get("format") not in formats:
            c.bad(f"Invalid value: '{ia.get('format')}'. Supported values are: {_quoted(formats)}.", f"{path}.input_audio.format")
        data = ia.get("data")
        if isinstance(data, str) and data.startswith("data:"):
            c.bad(f"Invalid '{path}.input_audio.data': expected bare base64 audio data, not a data URL.", f"{path}.input_audio.data")
            return
        raw = b64decode(data)
        if raw is None:
            c.bad(f"Invalid '{path}.input_audio.data': expected base64-encoded audio data.", f"{path}.input_audio.data")
            return
        fmt = ia.get("format")
        if fmt in ("wav", "mp3") and magic_mismatch(c, "audio/wav" if fmt == "wav" else "audio/mp3", raw):
            c.bad(f"The audio file could not be decoded or its format is not supported ({path}).", f"{path}.input_audio.data")
            return
        c.counts["audio"] += 1
        c.media.append((f"audio/{fmt}", raw))
    elif t == "file":
        f = part.get("file")
        if not isinstance(f, dict):
            c.bad(f"Invalid type for '{path}.file': expected an object.", f"{path}.file")
            return
        if "file_id" in f:
            c.counts["pdfs"] += 1
            return
        if "file_data" not in f:
            c.bad(f"Missing required parameter: one of '{path}.file.file_data' or '{path}.file.file_id'.", f"{path}.file")
            return
        if not isinstance(f.get("filename"), str):
            c.bad(f"Missing required parameter: '{path}.file.filename'.", f"{path}.file.filename")
        _openai_file_data(c, f["file_data"], f"{path}.file.file_data", gateway_url_ok=c.gateway)
    elif t in ("video_url", "audio_url"):
        inner = part.get(t)
        if not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
            c.bad(f"Missing required parameter: '{path}.{t}.url'.", f"{path}.{t}.url")
            return
        url = inner["url"]
        if not _http_url(url) and (parse_data_url(url) is None or b64decode(parse_data_url(url)[1]) is None):
            c.bad(f"Invalid '{path}.{t}.url': expected a URL or a base64 data URL.", f"{path}.{t}.url")
            return
        c.counts["video" if t == "video_url" else "audio"] += 1
        c.counts["urls"] += _http_url(url)
    elif t == "refusal":
        if not isinstance(part.get("refusal"), str):
            c.bad(f"Missing required parameter: '{path}.refusal'.", f"{path}.refusal")


def check_chat(b: dict, c: Check) -> None:
    keys = CHAT_KEYS | (GATEWAY_KEYS if c.gateway else set())
    for k in b:
        if k not in keys:
            c.bad(f"Unrecognized request argument supplied: {k}", k)
    _openai_common(b, c, "max_completion_tokens", 1)
    messages = b.get("messages", MISSING)
    if messages is MISSING:
        c.bad("Missing required parameter: 'messages'.", "messages")
        return
    if not isinstance(messages, list):
        c.bad(f"Invalid type for 'messages': expected an array, but got {_typename(messages)} instead.", "messages")
        return
    if not messages:
        c.bad("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages")
    user_parts = ("text", "image_url", "input_audio", "file") + (("video_url", "audio_url") if c.gateway else ())
    for i, m in enumerate(messages):
        p = f"messages[{i}]"
        if not isinstance(m, dict):
            c.bad(f"Invalid type for '{p}': expected an object, but got {_typename(m)} instead.", p)
            continue
        role = m.get("role")
        if role not in CHAT_ROLES:
            c.bad(f"Invalid value: '{role}'. Supported values are: {_quoted(CHAT_ROLES)}.", f"{p}.role")
            continue
        allowed = {"user": user_parts, "assistant": ("text", "refusal")}.get(role, ("text",))
        content = m.get("content", MISSING)
        if content is MISSING or content is None:
            if not (role == "assistant" and (m.get("tool_calls") or m.get("function_call"))):
                c.bad(f"Missing required parameter: '{p}.content'.", f"{p}.content")
            continue
        if isinstance(content, str):
            c.text(content, system=role in ("system", "developer"))
        elif isinstance(content, list):
            if not content:
                c.bad(f"Invalid '{p}.content': empty array. Expected an array with minimum length 1.", f"{p}.content")
            before = len(c.texts)
            for j, part in enumerate(content):
                _chat_part(c, part, f"{p}.content[{j}]", allowed)
            if role in ("system", "developer"):  # text parts of a system message are system text
                moved = c.texts[before:]
                del c.texts[before:]
                c.counts["texts"] -= len(moved)
                c.system.extend(moved)
        else:
            c.bad(f"Invalid type for '{p}.content': expected one of a string or array of objects, but got {_typename(content)} instead.", f"{p}.content")
    rf = b.get("response_format")
    if rf is not None:
        _openai_format(c, rf, "response_format", nested=True)


def _openai_format(c: Check, fmt, path: str, *, nested: bool) -> None:
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        c.bad(f"Invalid value for '{path}.type': supported values are 'text', 'json_object' and 'json_schema'.", f"{path}.type")
        return
    if fmt["type"] != "json_schema":
        return
    spec = fmt.get("json_schema") if nested else fmt
    where = f"{path}.json_schema" if nested else path
    if not isinstance(spec, dict):
        c.bad(f"Missing required parameter: '{where}'.", where)
        return
    if not isinstance(spec.get("name"), str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", spec["name"]):
        c.bad(f"Missing required parameter: '{where}.name'.", f"{where}.name")
    if not isinstance(spec.get("schema"), dict):
        c.bad(f"Missing required parameter: '{where}.schema'.", f"{where}.schema")


# OpenAI Responses ---------------------------------------------------------------------------------

RESPONSES_KEYS = {
    "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "store", "text", "tools",
    "tool_choice", "metadata", "previous_response_id", "reasoning", "include", "parallel_tool_calls", "truncation",
    "user", "service_tier", "stream", "background", "prompt", "prompt_cache_key", "safety_identifier",
    "max_tool_calls", "top_logprobs", "conversation", "stream_options",
}  # fmt: skip
RESPONSES_ITEM_TYPES = {"message", "function_call", "function_call_output", "reasoning", "item_reference"}


def _responses_part(c: Check, part, path: str, role: str) -> None:
    if not isinstance(part, dict):
        c.bad(f"Invalid type for '{path}': expected an object, but got {_typename(part)} instead.", path)
        return
    t = part.get("type")
    allowed = ("output_text", "refusal") if role == "assistant" else ("input_text", "input_image", "input_file")
    if t not in allowed:
        c.bad(f"Invalid value: '{t}'. Supported values are: {_quoted(allowed)}.", f"{path}.type")
        return
    known = {
        "input_text": {"type", "text"},
        "output_text": {"type", "text", "annotations", "logprobs"},
        "refusal": {"type", "refusal"},
        "input_image": {"type", "image_url", "file_id", "detail"},
        "input_file": {"type", "file_data", "file_id", "file_url", "filename", "detail"},
    }[t]
    for k in part:
        if k not in known:
            c.bad(f"Unknown parameter: '{path}.{k}'.", f"{path}.{k}")
    if t in ("input_text", "output_text"):
        if not isinstance(part.get("text"), str):
            c.bad(f"Missing required parameter: '{path}.text'.", f"{path}.text")
        else:
            c.text(part["text"], system=role in ("system", "developer"))
    elif t == "input_image":
        if "detail" not in part:
            c.bad(f"Missing required parameter: '{path}.detail'.", f"{path}.detail")
        elif part["detail"] not in ("low", "high", "auto", "original"):
            c.bad(f"Invalid value: '{part['detail']}'. Supported values are: 'low', 'high', 'auto', and 'original'.", f"{path}.detail")
        if ("image_url" in part) == ("file_id" in part):
            c.bad(f"Invalid '{path}': provide exactly one of 'image_url' or 'file_id'.", path)
        elif "file_id" in part:
            c.counts["images"] += 1
        else:
            _openai_image(c, part["image_url"], f"{path}.image_url")
    elif t == "input_file":
        sources = [k for k in ("file_data", "file_url", "file_id") if k in part]
        if len(sources) != 1:
            c.bad(f"Invalid '{path}': provide exactly one of 'file_data', 'file_url' or 'file_id'.", path)
            return
        if "detail" in part and part["detail"] not in ("auto", "low", "high"):
            c.bad(f"Invalid value: '{part['detail']}'. Supported values are: 'auto', 'low', and 'high'.", f"{path}.detail")
        if sources[0] == "file_data":
            if not isinstance(part.get("filename"), str):
                c.bad(f"Missing required parameter: '{path}.filename'.", f"{path}.filename")
            _openai_file_data(c, part["file_data"], f"{path}.file_data", gateway_url_ok=False)
        elif sources[0] == "file_url":
            if not _http_url(part["file_url"]):
                c.bad(f"Invalid '{path}.file_url': expected a URL.", f"{path}.file_url")
            else:
                c.counts["pdfs"] += 1
                c.counts["urls"] += 1
        else:
            c.counts["pdfs"] += 1


def check_responses(b: dict, c: Check) -> None:
    for k in b:
        if k not in RESPONSES_KEYS:
            c.bad(f"Unsupported parameter: '{k}'.", k)
    _openai_common(b, c, "max_output_tokens", 16)
    if "instructions" in b and b["instructions"] is not None:
        if not isinstance(b["instructions"], str):
            c.bad(f"Invalid type for 'instructions': expected a string, but got {_typename(b['instructions'])} instead.", "instructions")
        else:
            c.text(b["instructions"], system=True)
    inp = b.get("input", MISSING)
    if inp is MISSING:
        c.bad("Missing required parameter: 'input'.", "input")
    elif isinstance(inp, str):
        c.text(inp)
    elif not isinstance(inp, list):
        c.bad(f"Invalid type for 'input': expected one of a string or array of input items, but got {_typename(inp)} instead.", "input")
    else:
        for i, item in enumerate(inp):
            p = f"input[{i}]"
            if not isinstance(item, dict):
                c.bad(f"Invalid type for '{p}': expected an object, but got {_typename(item)} instead.", p)
                continue
            t = item.get("type", "message")
            if t not in RESPONSES_ITEM_TYPES:
                c.bad(f"Invalid value: '{t}'. Supported values are: {_quoted(sorted(RESPONSES_ITEM_TYPES))}.", f"{p}.type")
                continue
            if t != "message":
                continue
            role = item.get("role")
            if role not in ("user", "system", "developer", "assistant"):
                c.bad(f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.", f"{p}.role")
                continue
            content = item.get("content", MISSING)
            if isinstance(content, str):
                c.text(content, system=role in ("system", "developer"))
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    _responses_part(c, part, f"{p}.content[{j}]", role)
            else:
                c.bad(f"Missing required parameter: '{p}.content'.", f"{p}.content")
    text = b.get("text")
    if text is not None:
        if not isinstance(text, dict):
            c.bad(f"Invalid type for 'text': expected an object, but got {_typename(text)} instead.", "text")
        elif "format" in text:
            _openai_format(c, text["format"], "text.format", nested=False)


# Anthropic Messages -------------------------------------------------------------------------------

MESSAGES_KEYS = {
    "model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences", "stream",
    "metadata", "tools", "tool_choice", "thinking", "service_tier", "output_format", "output_config", "container",
    "mcp_servers", "context_management", "inference_geo",
}  # fmt: skip
ANTHROPIC_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control"},
    "document": {"type", "source", "title", "context", "citations", "cache_control"},
}


def _anthropic_block(c: Check, block, path: str, role: str, version: str) -> None:
    if not isinstance(block, dict):
        c.bad(f"{path}: Input should be a valid dictionary or object to extract fields from", path)
        return
    t = block.get("type")
    if t not in ("text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"):
        c.bad(f"{path}.type: Input tag '{t}' found using 'type' does not match any of the expected tags", f"{path}.type")
        return
    for k in block:
        if t in BLOCK_KEYS and k not in BLOCK_KEYS[t]:
            c.bad(f"{path}.{t}.{k}: Extra inputs are not permitted", f"{path}.{k}")
    if t == "text":
        if not isinstance(block.get("text"), str):
            c.bad(f"{path}.text.text: Field required", f"{path}.text")
        elif not block["text"]:
            c.bad("messages: text content blocks must be non-empty", path)
        else:
            c.text(block["text"])
        if "citations" in block and version == "2026-10-21" and role == "user":
            c.bad(f"{path}.text.citations: citations on user text blocks are not accepted under anthropic-version 2026-10-21", path)
        return
    if t in ("image", "document"):
        if role != "user" and t == "image":
            c.bad(f"{path}: image content blocks are only allowed in user messages", path)
        if t == "document" and role == "assistant" and version == "2026-10-21":
            c.bad(f"{path}: document blocks in assistant turns are not accepted under anthropic-version 2026-10-21", path)
        src = block.get("source")
        sp = f"{path}.{t}.source"
        if not isinstance(src, dict):
            c.bad(f"{sp}: Field required", sp)
            return
        st = src.get("type")
        kinds = ("base64", "url", "file") if t == "image" else ("base64", "url", "text", "content", "file")
        if st not in kinds:
            c.bad(f"{sp}: Input tag '{st}' found using 'type' does not match any of the expected tags: {_quoted(kinds)}", sp)
            return
        if st == "url":
            if not _http_url(src.get("url")):
                c.bad(f"{sp}.url.url: Input should be a valid URL", sp)
            else:
                c.counts["images" if t == "image" else "pdfs"] += 1
                c.counts["urls"] += 1
            return
        if st == "file":
            c.counts["images" if t == "image" else "pdfs"] += 1
            return
        if st == "text":
            if src.get("media_type") != "text/plain" or not isinstance(src.get("data"), str):
                c.bad(f"{sp}.text: media_type must be 'text/plain' and data a string", sp)
            else:
                c.counts["pdfs"] += 1
            return
        if st == "content":
            c.counts["pdfs"] += 1
            return
        media_type = src.get("media_type")
        allowed = ANTHROPIC_IMAGE_TYPES if t == "image" else ("application/pdf",)
        if media_type not in allowed:
            c.bad(f"{sp}.base64.media_type: Input should be {_quoted(allowed).replace(', and', ' or')}", f"{sp}.media_type")
            return
        data = src.get("data")
        if isinstance(data, str) and data.startswith("data:"):
            c.bad(f"{sp}.base64.data: the data must be bare base64, without a 'data:' URL prefix", f"{sp}.data")
            return
        raw = b64decode(data)
        if raw is None:
            c.bad(f"{sp}.base64.data: invalid base64 data", f"{sp}.data")
            return
        found = magic_mismatch(c, media_type, raw)
        if found:
            if t == "image":
                c.bad(f"{sp}.base64: The image was specified using the {media_type} media type, but the image appears to be a {found} image", sp)
            else:
                c.bad(f"{sp}.base64.data: The PDF specified was not valid.", sp)
            return
        c.counts["images" if t == "image" else "pdfs"] += 1
        c.media.append((media_type, raw))


def check_messages(b: dict, c: Check, version: str) -> None:
    for k in b:
        if k not in MESSAGES_KEYS:
            c.bad(f"{k}: Extra inputs are not permitted", k)
    if not isinstance(b.get("model"), str) or not b["model"]:
        c.bad("model: Field required", "model")
    mt = b.get("max_tokens", MISSING)
    if mt is MISSING:
        c.bad("max_tokens: Field required", "max_tokens")
    elif not _is_int(mt) or mt < 1:
        c.bad("max_tokens: Input should be greater than or equal to 1", "max_tokens")
    sampling = [k for k in ("temperature", "top_p", "top_k") if k in b]
    if sampling and version == "2026-10-21":
        c.bad(f"{sampling[0]}: is not supported under anthropic-version 2026-10-21", sampling[0])
    if "temperature" in b:
        t = b["temperature"]
        if not _is_num(t):
            c.bad("temperature: Input should be a valid number", "temperature")
        elif not 0 <= t <= 1:
            c.bad(f"temperature: Input should be {'less than or equal to 1' if t > 1 else 'greater than or equal to 0'}", "temperature")
    system = b.get("system")
    if isinstance(system, str):
        if system:
            c.text(system, system=True)
    elif isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                c.bad(f"system.{i}: Input should be a text block", f"system.{i}")
            else:
                c.text(block["text"], system=True)
    elif system is not None:
        c.bad("system: Input should be a valid string or a list of text blocks", "system")
    if b.get("stream"):
        c.bad("stream: this fake provider does not stream", "stream")
    messages = b.get("messages", MISSING)
    if messages is MISSING:
        c.bad("messages: Field required", "messages")
        return
    if not isinstance(messages, list) or not messages:
        c.bad("messages: at least one message is required", "messages")
        return
    for i, m in enumerate(messages):
        p = f"messages.{i}"
        if not isinstance(m, dict):
            c.bad(f"{p}: Input should be a valid dictionary", p)
            continue
        for k in m:
            if k not in ("role", "content"):
                c.bad(f"{p}.{k}: Extra inputs are not permitted", f"{p}.{k}")
        role = m.get("role")
        if role not in ("user", "assistant"):
            c.bad(f"{p}.role: Input should be 'user' or 'assistant'", f"{p}.role")
            continue
        content = m.get("content", MISSING)
        if isinstance(content, str):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                c.bad("messages: text content blocks must be non-empty", f"{p}.content")
            else:
                c.text(content)
        elif isinstance(content, list):
            if not content:
                c.bad(f"{p}.content: List should have at least 1 item", f"{p}.content")
            for j, block in enumerate(content):
                _anthropic_block(c, block, f"{p}.content.{j}", role, version)
        else:
            c.bad(f"{p}.content: Field required", f"{p}.content")


# Gemini -------------------------------------------------------------------------------------------

GEMINI_TOP = {"contents", "systemInstruction", "generationConfig", "safetySettings", "tools", "toolConfig", "cachedContent", "labels"}
GEMINI_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"}
GEMINI_PART_META = {"thought", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata"}
GEMINI_CONFIG = {
    "maxOutputTokens", "temperature", "topP", "topK", "candidateCount", "stopSequences", "seed", "presencePenalty",
    "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "mediaResolution", "thinkingConfig", "responseLogprobs", "logprobs", "speechConfig", "imageConfig",
}  # fmt: skip
GEMINI_MIME = {
    "image/png", "image/jpeg", "image/webp", "image/heic", "image/heif",
    "audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
    "video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp",
    "application/pdf", "text/plain", "text/html", "text/csv", "text/markdown", "text/xml", "application/json",
}  # fmt: skip
MEDIA_RESOLUTIONS = ("MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH")


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def _gemini_fields(c: Check, obj: dict, known: set[str], path: str) -> dict:
    """``obj`` with snake_case names read as their camelCase twins (proto3 JSON accepts both, docs/protocols.md §4),
    recording each snake_case use; unknown names are a 400 as on the real API."""
    by_snake = {_snake(k): k for k in known}
    out = {}
    for k, v in obj.items():
        if k in known:
            out[k] = v
        elif k in by_snake:
            c.snake.append(f"{path}.{k}" if path else k)
            out[by_snake[k]] = v
        else:
            where = f" at '{path}'" if path else ""
            c.bad(f'Invalid JSON payload received. Unknown name "{k}"{where}: Cannot find field.', f"{path}.{k}" if path else k)
    return out


def _gemini_part(c: Check, part, path: str, *, system: bool) -> None:
    if not isinstance(part, dict):
        c.bad(f"Invalid value at '{path}': expected an object.", path)
        return
    part = _gemini_fields(c, part, GEMINI_DATA | GEMINI_PART_META, path)
    data = [k for k in GEMINI_DATA if k in part]
    if len(data) != 1:
        if data:
            c.bad(f"Invalid value at '{path}' (oneof), oneof field 'data' is already set. Cannot set '{data[1]}'", path)
        else:
            c.bad(f"* GenerateContentRequest.{path}.data: required oneof field 'data' must have one initialized field", path)
        return
    kind = data[0]
    if system and kind != "text":
        c.bad("* GenerateContentRequest.system_instruction: only text parts are allowed in the system instruction", path)
        return
    if kind == "text":
        if not isinstance(part["text"], str):
            c.bad(f"Invalid value at '{path}.text' (TYPE_STRING)", f"{path}.text")
        elif not part.get("thought"):
            c.text(part["text"], system=system)
        return
    if kind == "inlineData":
        blob = part["inlineData"]
        if not isinstance(blob, dict):
            c.bad(f"Invalid value at '{path}.inline_data': expected an object.", path)
            return
        blob = _gemini_fields(c, blob, {"mimeType", "data", "displayName"}, f"{path}.inlineData")
        mime = blob.get("mimeType")
        data_ = blob.get("data")
        if not isinstance(mime, str) or not mime:
            c.bad(f"* GenerateContentRequest.{path}.inline_data.mime_type: mime_type is required", path)
            return
        if mime not in GEMINI_MIME:
            c.bad(f"Unsupported MIME type: {mime}", path)
            return
        raw = b64decode(data_)
        if raw is None:
            shown = data_[:40] if isinstance(data_, str) else data_
            c.bad(f"Invalid value at '{path}.inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"", path)
            return
        if magic_mismatch(c, mime, raw):
            c.bad("Provided image is not valid." if mime.startswith("image/") else "The document has no pages." if mime == "application/pdf" else "Request contains an invalid argument.", path)
            return
        _gemini_count(c, mime)
        c.media.append((mime, raw))
    elif kind == "fileData":
        fd = part["fileData"]
        if not isinstance(fd, dict):
            c.bad(f"Invalid value at '{path}.file_data': expected an object.", path)
            return
        fd = _gemini_fields(c, fd, {"mimeType", "fileUri", "displayName"}, f"{path}.fileData")
        if not isinstance(fd.get("fileUri"), str) or not fd["fileUri"]:
            c.bad(f"* GenerateContentRequest.{path}.file_data.file_uri: file_uri is required", path)
            return
        _gemini_count(c, fd.get("mimeType") or "")
        c.counts["urls"] += 1
    vm = part.get("videoMetadata")
    if vm is not None:
        vm = _gemini_fields(c, vm, {"startOffset", "endOffset", "fps"}, f"{path}.videoMetadata") if isinstance(vm, dict) else {}
        fps = vm.get("fps")
        if fps is not None and (not _is_num(fps) or not 0 < fps <= 24):
            c.bad(f"* GenerateContentRequest.{path}.video_metadata.fps: fps must be in (0, 24]", path)
    mr = part.get("mediaResolution")
    if mr is not None and (not isinstance(mr, dict) or mr.get("level") not in MEDIA_RESOLUTIONS + ("MEDIA_RESOLUTION_ULTRA_HIGH",)):
        c.bad(f"Invalid value at '{path}.media_resolution.level'", path)


def _gemini_count(c: Check, mime: str) -> None:
    if mime.startswith("image/"):
        c.counts["images"] += 1
    elif mime.startswith("audio/"):
        c.counts["audio"] += 1
    elif mime.startswith("video/"):
        c.counts["video"] += 1
    else:
        c.counts["pdfs"] += 1


def check_gemini(b: dict, c: Check) -> None:
    b = _gemini_fields(c, b, GEMINI_TOP, "")
    si = b.get("systemInstruction")
    if si is not None:
        if not isinstance(si, dict):
            c.bad("Invalid value at 'system_instruction': expected a Content object.", "systemInstruction")
        else:
            si = _gemini_fields(c, si, {"role", "parts"}, "systemInstruction")
            for j, part in enumerate(si.get("parts") or []):
                _gemini_part(c, part, f"systemInstruction.parts[{j}]", system=True)
    contents = b.get("contents", MISSING)
    if contents is MISSING or contents == []:
        c.bad("* GenerateContentRequest.contents: contents is not specified", "contents")
    elif not isinstance(contents, list):
        c.bad("Invalid value at 'contents': expected a list.", "contents")
    else:
        for i, content in enumerate(contents):
            p = f"contents[{i}]"
            if not isinstance(content, dict):
                c.bad(f"Invalid value at '{p}': expected a Content object.", p)
                continue
            content = _gemini_fields(c, content, {"role", "parts"}, p)
            role = content.get("role", "user")
            if role not in ("user", "model"):
                c.bad(f"Please use a valid role: user, model. ('{p}.role' is {role!r})", f"{p}.role")
            parts = content.get("parts")
            if not isinstance(parts, list) or not parts:
                c.bad(f"* GenerateContentRequest.{p}.parts: contents.parts must not be empty.", f"{p}.parts")
                continue
            for j, part in enumerate(parts):
                _gemini_part(c, part, f"{p}.parts[{j}]", system=False)
    gc = b.get("generationConfig")
    if gc is not None:
        if not isinstance(gc, dict):
            c.bad("Invalid value at 'generation_config': expected an object.", "generationConfig")
            return
        gc = _gemini_fields(c, gc, GEMINI_CONFIG, "generationConfig")
        mot = gc.get("maxOutputTokens")
        if mot is not None and (not _is_int(mot) or mot < 1):
            c.bad("* GenerateContentRequest.generation_config.max_output_tokens: must be a positive integer", "generationConfig.maxOutputTokens")
        t = gc.get("temperature")
        if t is not None and (not _is_num(t) or not 0 <= t <= 2):
            c.bad("* GenerateContentRequest.generation_config.temperature: temperature must be in [0.0, 2.0]", "generationConfig.temperature")
        mr = gc.get("mediaResolution")
        if mr is not None and mr not in MEDIA_RESOLUTIONS:
            c.bad(f"Invalid value at 'generation_config.media_resolution' (type.googleapis.com/google.ai.generativelanguage.v1beta.MediaResolution), \"{mr}\"", "generationConfig.mediaResolution")


# --- answers -----------------------------------------------------------------------------------------

OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error",
                408: "timeout", 409: "conflict", 413: "invalid_request_error", 429: "requests", 500: "server_error",
                502: "server_error", 503: "server_error", 504: "server_error", 529: "server_error"}  # fmt: skip
ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
                   404: "not_found_error", 408: "timeout_error", 409: "invalid_request_error", 413: "request_too_large",
                   429: "rate_limit_error", 500: "api_error", 502: "api_error", 503: "api_error", 504: "timeout_error",
                   529: "overloaded_error"}  # fmt: skip
GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED",
                 409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE",
                 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED", 529: "UNAVAILABLE"}  # fmt: skip
DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "Invalid authentication credentials.",
    403: "You are not allowed to use this model.",
    404: "The model does not exist or you do not have access to it.",
    408: "The request timed out.",
    409: "A conflicting request is in progress.",
    413: "Request too large.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable.",
    504: "The upstream model timed out.",
    529: "Overloaded",
}
REASONS = {529: b"Site Overloaded"}


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_reply(protocol: str, status: int, message: str | None = None, *, etype: str | None = None, code=None,
                param=None, gateway: bool = False, details=None, headers=None) -> Reply:  # fmt: skip
    """``status`` with ``protocol``'s own error body (docs/protocols.md §1, §3, §4, §5)."""
    message = message or DEFAULT_MESSAGES.get(status, "Error.")
    rid = "req_" + uuid.uuid4().hex[:24]
    hdrs = list(headers or [])
    if protocol == "messages":
        body = {"type": "error", "error": {"type": etype or ANTHROPIC_TYPES.get(status, "api_error"), "message": message}, "request_id": rid}
        hdrs.append(("request-id", rid))
    elif protocol == "gemini":
        err = {"code": status, "message": message, "status": etype or GEMINI_STATUS.get(status, "UNKNOWN")}
        if details:
            err["details"] = details
        body = {"error": err}
    elif gateway and protocol == "chat":  # OpenRouter's shape
        body = {"error": {"code": status, "message": message, "metadata": {"provider_name": "Fake"}}}
    else:
        body = {"error": {"message": message, "type": etype or OPENAI_TYPES.get(status, "server_error"), "param": param, "code": code}}
        hdrs.append(("x-request-id", rid))
    return Reply(status, _json(body), hdrs)


# --- model lists (GET), as each provider documents them ---------------------------------------------
# OpenAI GET /v1/models: {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}, one page.
# Anthropic GET /v1/models?limit=&after_id=: {"data": [{"type": "model", "id", "display_name", "created_at"}],
# "has_more", "first_id", "last_id"}; limit 1-1000, 20 by default. Gemini GET /v1beta/models?pageSize=&pageToken=:
# {"models": [{"name": "models/…", "displayName", "inputTokenLimit", "outputTokenLimit",
# "supportedGenerationMethods"}], "nextPageToken"} (omitted on the last page); pageSize 50 by default, at most 1000.

LISTED_MODELS = {
    "chat": [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("gpt-5.4-mini", "openai"),
             ("text-embedding-3-small", "openai"), ("ft:gpt-4o:acme::fake", "acme")],
    "messages": [("claude-opus-4-7", "Claude Opus 4.7"), ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
                 ("claude-haiku-4-5", "Claude Haiku 4.5")],
    "gemini": [("gemini-2.5-pro", "Gemini 2.5 Pro", ["generateContent", "countTokens", "createCachedContent"]),
               ("gemini-2.5-flash", "Gemini 2.5 Flash", ["generateContent", "countTokens"]),
               ("text-embedding-004", "Text Embedding 004", ["embedContent"])],
}  # fmt: skip


def models_route(method: str, path: str, headers: dict) -> str | None:
    """The protocol whose model list ``GET path`` asks for, or None. OpenAI's base ends in /v1 and
    Anthropic's does not, so both ask for /v1/models: Anthropic's requests carry its headers."""
    if method != "GET":
        return None
    if path == "/v1/models":
        return "messages" if "x-api-key" in headers or "anthropic-version" in headers else "chat"
    if re.fullmatch(r"/(v1beta|v1|v1alpha)/models", path):
        return "gemini"
    return None


def models_reply(protocol: str, query: dict, page_size: int | None = None) -> Reply:
    """One page of ``protocol``'s model list; ``page_size`` caps the page below what was asked."""
    if protocol == "chat":
        data = [{"id": name, "object": "model", "created": 1_700_000_000 + i, "owned_by": owner}
                for i, (name, owner) in enumerate(LISTED_MODELS["chat"])]  # fmt: skip
        return Reply(200, _json({"object": "list", "data": data}))
    if protocol == "messages":
        ids = [name for name, _ in LISTED_MODELS["messages"]]
        try:
            limit = int(query.get("limit", 20))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return error_reply("messages", 400, "limit: Input should be greater than or equal to 1 and less than or equal to 1000")
        start = 0
        if "after_id" in query:
            if query["after_id"] not in ids:
                return error_reply("messages", 400, f"after_id: no model {query['after_id']!r}")
            start = ids.index(query["after_id"]) + 1
        page = LISTED_MODELS["messages"][start: start + min(limit, page_size or limit)]
        data = [{"type": "model", "id": name, "display_name": label, "created_at": "2026-01-01T00:00:00Z"}
                for name, label in page]  # fmt: skip
        return Reply(200, _json({"data": data, "has_more": start + len(page) < len(ids),
                                 "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}))  # fmt: skip
    try:
        size = int(query.get("pageSize", 50))
    except ValueError:
        size = 0
    token = query.get("pageToken", "")
    if size < 1 or (token and not re.fullmatch(r"p\d+", token)):
        return error_reply("gemini", 400, "Invalid page token." if token else "pageSize must be positive.")
    size = min(size, 1000, page_size or 1000)
    start = int(token[1:]) if token else 0
    page = LISTED_MODELS["gemini"][start: start + size]
    body: dict = {"models": [{"name": f"models/{name}", "version": "001", "displayName": label,
                              "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536, "supportedGenerationMethods": methods}
                             for name, label, methods in page]}  # fmt: skip
    if start + size < len(LISTED_MODELS["gemini"]):
        body["nextPageToken"] = f"p{start + size}"
    return Reply(200, _json(body))


# Behaviour params that set the input tokens reported for a modality (Gemini's names).
USAGE_PARAMS = {"text": "TEXT", "image": "IMAGE", "audio": "AUDIO", "video": "VIDEO", "pdf": "DOCUMENT"}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _describe(c: Check) -> str:
    counts = " ".join(f"{k}={c.counts[k]}" for k in ("images", "audio", "video", "pdfs", "urls", "texts"))
    out = f"[fake] {counts}"
    if c.system:
        out += " | system: " + " / ".join(c.system)
    if c.texts:
        out += " | user: " + " / ".join(c.texts)
    return out[:2000]


def _split(text: str) -> tuple[str, str]:
    mid = len(text) // 2
    return text[:mid], text[mid:]


def ok_reply(protocol: str, model: str, c: Check, b: Behaviour, text: str | None = None) -> Reply:
    """A realistic 200 answer, or a failure that arrives as a 200 (length, blocked, safety, ...).
    ``text``: the answer's text (a recogniser's), instead of the description of what arrived."""
    text = _describe(c) if text is None else text
    kind = b.kind
    if kind == "length":
        text = text[:24]
    media_tokens = {"images": 258, "audio": 32, "video": 263, "pdfs": 258}
    by_mod = {"TEXT": _tokens(" ".join(c.system + c.texts))}
    for key, name in (("images", "IMAGE"), ("audio", "AUDIO"), ("video", "VIDEO"), ("pdfs", "DOCUMENT")):
        if c.counts[key]:
            by_mod[name] = media_tokens[key] * c.counts[key]
    for param, name in USAGE_PARAMS.items():  # the test says what the provider counted
        if b.get(param) is not None:
            by_mod[name] = int(b.get(param))
    prompt = sum(by_mod.values())
    cached = min(int(b.get("cached", 0) or 0), prompt)
    out = _tokens(text)
    reasoning = 8
    now = int(time.time())
    rid = uuid.uuid4().hex
    if protocol == "chat":
        finish = {"length": "length", "blocked": "content_filter", "safety": "content_filter"}.get(kind, "stop")
        content = None if finish == "content_filter" else text
        body = {
            "id": f"chatcmpl-{rid[:24]}", "object": "chat.completion", "created": now, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": out + reasoning, "total_tokens": prompt + out + reasoning,
                      # openai-python's PromptTokensDetails (types/completion_usage.py)
                      "prompt_tokens_details": {"cached_tokens": cached, "text_tokens": by_mod["TEXT"],
                                                "image_tokens": by_mod.get("IMAGE", 0), "audio_tokens": by_mod.get("AUDIO", 0)},
                      "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_fake",
        }  # fmt: skip
        if kind == "midgen":
            body["choices"][0]["finish_reason"] = "error"
            body["choices"][0]["message"]["content"] = text[:10]
            body["error"] = {"code": 502, "message": "Provider returned error mid-generation", "metadata": {"provider_name": "Fake"}}
    elif protocol == "responses":
        status, incomplete, error = "completed", None, None
        if kind in ("length", "incomplete"):
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        elif kind in ("blocked", "safety"):
            status, incomplete = "incomplete", {"reason": "content_filter"}
        elif kind == "failed":
            status, error = "failed", {"code": "server_error", "message": "The model failed to generate a response."}
        a, z = _split(text)
        output = [{"type": "reasoning", "id": f"rs_{rid[:16]}", "summary": [{"type": "summary_text", "text": "(thinking)"}]}]
        if status != "failed":
            output.append({"type": "message", "id": f"msg_{rid[:16]}", "status": "completed" if status == "completed" else "incomplete",
                           "role": "assistant", "content": [{"type": "output_text", "text": a, "annotations": []},
                                                            {"type": "output_text", "text": z, "annotations": []}]})  # fmt: skip
        body = {
            "id": f"resp_{rid}", "object": "response", "created_at": now, "status": status, "error": error,
            "incomplete_details": incomplete, "instructions": None, "model": model, "output": output,
            # openai-python's ResponseUsage: both details required, no breakdown by modality
            "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
                      "output_tokens": out + reasoning, "output_tokens_details": {"reasoning_tokens": reasoning},
                      "total_tokens": prompt + out + reasoning},
        }  # fmt: skip
    elif protocol == "messages":
        stop = {"length": "max_tokens", "blocked": "refusal", "safety": "refusal"}.get(kind, "end_turn")
        a, z = _split(text)
        body = {
            "id": f"msg_{rid[:24]}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "thinking", "thinking": "(thinking)", "signature": "c2ln"},
                        {"type": "text", "text": a}, {"type": "text", "text": z}],
            "stop_reason": stop, "stop_sequence": None,
            # input_tokens excludes the cache reads (docs/protocols.md §3)
            "usage": {"input_tokens": prompt - cached, "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached,
                      "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                      "output_tokens": out + reasoning, "service_tier": "standard"},
        }  # fmt: skip
    else:
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out + reasoning,
                 "thoughtsTokenCount": reasoning,
                 "promptTokensDetails": [{"modality": k, "tokenCount": v} for k, v in by_mod.items()]}  # fmt: skip
        if cached:
            usage["cachedContentTokenCount"] = cached
        if kind == "blocked":
            body = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}]},
                    "usageMetadata": {"promptTokenCount": prompt, "totalTokenCount": prompt,
                                      "promptTokensDetails": usage["promptTokensDetails"]},
                    "modelVersion": model, "responseId": rid[:22]}  # fmt: skip
        else:
            a, z = _split(text)
            finish = {"length": "MAX_TOKENS", "safety": "SAFETY"}.get(kind, "STOP")
            parts = [{"text": "(thinking)", "thought": True}, {"text": a}, {"text": z}] if finish != "SAFETY" else []
            candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
            if finish == "SAFETY":
                candidate["safetyRatings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]
            body = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": rid[:22]}
    headers = []
    if protocol in ("chat", "responses"):
        headers = [("x-request-id", f"req_{rid[:24]}"), ("openai-processing-ms", "1")]
    elif protocol == "messages":
        headers = [("request-id", f"req_{rid[:24]}")]
    return Reply(200, _json(body), headers)


ECHO_MARK = "@@prism-echo@@"


def echo_forms(key: str) -> str:
    """The key as a leaky server might give it back, as JSON text: every character \\u-escaped,
    half of it escaped, base64, and every byte percent-encoded."""
    half = len(key) // 2
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in key)
    mixed = key[:half] + "".join(f"\\u{ord(ch):04X}" for ch in key[half:])
    pct = "".join(f"%{b:02X}" for b in key.encode())
    return f"escaped={escaped} mixed={mixed} b64={base64.b64encode(key.encode()).decode()} pct={pct}"


def echo_reply(protocol: str, b: Behaviour, model: str, c: Check, gateway: bool, key: str) -> Reply:
    status = int(b.get("status", 200))
    if b.get("html"):
        reply = Reply(status, f"<html><body><h1>Bad gateway</h1><p>{ECHO_MARK}</p></body></html>".encode(),
                      content_type="text/html")
    elif status == 200:
        reply = ok_reply(protocol, model, c, Behaviour())
        body = json.loads(reply.body)
        body["prism_echo"] = {"auth": ECHO_MARK, "id": ECHO_MARK}  # a field no parser reads, kept in the stored JSON
        reply.body = _json(body)
        # ... and at the start of the text the parser reads as the answer.
        reply.body = reply.body.replace(b"[fake] ", f"[fake] key {ECHO_MARK} ".encode(), 1)
    else:
        reply = error_reply(protocol, status, f"Invalid API key {ECHO_MARK}", gateway=gateway)
    reply.body = reply.body.replace(ECHO_MARK.encode(), echo_forms(key).encode())
    reply.headers = [(k, v) for k, v in reply.headers if k not in ("x-request-id", "request-id")]
    reply.headers += [("x-request-id", key), ("request-id", key),
                      ("x-echo-b64", base64.b64encode(key.encode()).decode())]
    return reply


def behaviour_reply(protocol: str, b: Behaviour, model: str, c: Check, gateway: bool, key: str = DEFAULT_KEY) -> Reply:
    kind = b.kind
    if kind == "echo":
        return echo_reply(protocol, b, model, c, gateway, key)
    if kind == "failed" and protocol != "responses" or kind == "midgen" and protocol != "chat":
        return error_reply(protocol, 500, gateway=gateway)
    if kind in ("ok", "length", "blocked", "safety", "incomplete", "failed", "midgen"):
        return ok_reply(protocol, model, c, b)
    if kind == "malformed":
        return Reply(200, b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "mess')
    if kind == "invalid":
        return Reply(200, b'{"object": "list", "data": []}')
    if kind == "html":
        return Reply(502, b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    if kind == "empty":
        return Reply(500, b"", content_type="text/plain")
    status = int(kind)
    headers = []
    if b.get("retry-after") is not None:
        headers.append(("retry-after", str(b.get("retry-after"))))
    if b.get("retry-after-ms") is not None:
        headers.append(("retry-after-ms", str(b.get("retry-after-ms"))))
    if b.get("retry-after-date") is not None:
        headers.append(("retry-after", email.utils.formatdate(time.time() + float(b.get("retry-after-date")), usegmt=True)))
    if b.get("should-retry") is not None:
        headers.append(("x-should-retry", str(b.get("should-retry")).lower()))
    message = b.get("message")
    etype, code = None, None
    if status == 429 and b.get("quota"):
        message = message or "You exceeded your current quota, please check your plan and billing details."
        etype, code = ("insufficient_quota", "insufficient_quota") if protocol in ("chat", "responses") else (None, None)
    elif status == 429 and protocol in ("chat", "responses"):
        code = "rate_limit_exceeded"
    elif status == 401 and protocol in ("chat", "responses"):
        code = "invalid_api_key"
    return error_reply(protocol, status, message, etype=etype, code=code, gateway=gateway, headers=headers)


# --- recognisers (issue 11) ---------------------------------------------------------------------------
# ``see`` and ``hear`` answer from what the media really contain, as tests/eval_data.py makes them: the
# shape and colour of each image, the DTMF digits of each audio clip. ``err=P`` makes a share P of the
# answers wrong, drawn from a hash of the medium's bytes and the model's name: the same request to the
# same model gets the same answer on every run, and two models are wrong on different cases.

COLOUR_RING = ("red", "orange", "yellow", "green", "blue", "purple")  # neighbours are the likely confusions
SHAPE_TWINS = {"circle": "square", "square": "circle", "triangle": "star", "star": "triangle"}
NOT_SEEN = "I cannot make out a shape."
NOT_HEARD = "I cannot make out any digits."


_READ: collections.OrderedDict = collections.OrderedDict()  # (kind, key) -> what read_shape/read_tones found
_READ_LOCK = threading.Lock()
_READ_KEEP = 8192


def _key(raw: bytes) -> tuple[int, int, int]:
    """A cheap identity for a medium (0.6 ms for 1 MB, where a cryptographic hash takes 1.5-3)."""
    return len(raw), zlib.crc32(raw), zlib.adler32(raw)


_READING: dict = {}  # (kind, key) -> Future of the one read in progress


def _read(kind: str, raw: bytes, key, read):
    """``read(raw)``, remembered: an evaluation sends each case to several models and arms, and
    decoding a 1 MB JPEG costs about 13 ms even at 1/8 scale (its entropy coding is read in full).
    The same medium arriving several times at once (one case, five models) is read once."""
    with _READ_LOCK:
        if (kind, key) in _READ:
            _READ.move_to_end((kind, key))
            return _READ[(kind, key)]
        reading = _READING.get((kind, key))
        if reading is None:
            reading = _READING[(kind, key)] = concurrent.futures.Future()
            mine = True
        else:
            mine = False
    if not mine:
        return reading.result()
    try:
        found = read(raw)
        found = tuple(found) if isinstance(found, list) else found
        with _READ_LOCK:
            _READ[(kind, key)] = found
            while len(_READ) > _READ_KEEP:
                _READ.popitem(last=False)
        reading.set_result(found)
        return found
    except BaseException as exc:
        reading.set_exception(exc)
        raise
    finally:
        with _READ_LOCK:
            _READING.pop((kind, key), None)


def _draw(model: str, key) -> random.Random:
    return random.Random(f"{model}|{key}")


def _wrong_colour(rng, colour: str) -> str:
    if rng.random() < 0.7:
        i = COLOUR_RING.index(colour)
        return COLOUR_RING[(i + rng.choice((-1, 1))) % len(COLOUR_RING)]
    return rng.choice([c for c in COLOUR_RING if c != colour])


def _wrong_shape(rng, shape: str) -> str:
    if rng.random() < 0.7:
        return SHAPE_TWINS[shape]
    return rng.choice([s for s in SHAPE_TWINS if s != shape])


def _seen(raw: bytes, b: Behaviour, model: str) -> str:
    from PIL import Image

    from tests.eval_data import read_shape

    key = _key(raw)
    found = _read("see", raw, key, read_shape)
    if found is None:
        return NOT_SEEN
    colour, shape = found
    err = float(b.get("err", 0) or 0)
    small = b.get("small")
    if small is not None:  # a model that sees small images worse: an arm's max edge matters
        with contextlib.suppress(OSError, ValueError):
            if max(Image.open(io.BytesIO(raw)).size) <= int(small):
                err = float(b.get("small-err", err))
    rng = _draw(model, key)
    if rng.random() < err:
        which = rng.random()
        if which < 0.5:
            colour = _wrong_colour(rng, colour)
        elif which < 0.85:
            shape = _wrong_shape(rng, shape)
        else:
            colour, shape = _wrong_colour(rng, colour), _wrong_shape(rng, shape)
    say = b.get("say", "sentence")
    if say == "label":
        return f"{colour} {shape}"
    if say in ("colour", "color"):
        return colour
    if say == "shape":
        return shape
    if say == "json":
        return json.dumps({"colour": colour, "shape": shape})
    return f"a {colour} {shape}"


def _heard(raw: bytes, b: Behaviour, model: str) -> str:
    from tests.eval_data import DIGIT_WORDS, read_tones

    key = _key(raw)
    found = _read("hear", raw, key, read_tones)
    if not found or "?" in found:
        return NOT_HEARD
    digits = list(found)
    rng = _draw(model, key)
    if rng.random() < float(b.get("err", 0) or 0):
        which, at = rng.random(), rng.randrange(len(digits))
        if which < 0.6 or len(digits) == 1:
            digits[at] = rng.choice([d for d in "0123456789" if d != digits[at]])
        elif which < 0.85:
            del digits[at]
        else:
            digits.insert(at, rng.choice("0123456789"))
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def recognised(media: list[tuple[str, bytes]], b: Behaviour, model: str) -> str:
    """What a ``see`` / ``hear`` model answers for these media (CPU work: run it off the event loop)."""
    answers = []
    for mime, raw in media:
        if mime.startswith("image/"):
            answers.append(_seen(raw, b, model))
        elif mime.startswith("audio/"):
            answers.append(_heard(raw, b, model))
    return "; ".join(answers) if answers else "There is nothing to recognise."


# --- the server ----------------------------------------------------------------------------------


class _Hang:
    pass


class _Close:
    pass


HANG, CLOSE = _Hang(), _Close()
# An SSH banner where a status line should be (the blank line ends the "headers").
GARBAGE = b"SSH-2.0-OpenSSH_9.6\r\n\r\n"


@dataclass
class _Cut:
    """Send ``reply``'s headers and half its body, then close the connection."""

    reply: Reply


class ProviderServer:
    """The fake provider, serving on ``host:port`` (port 0 picks a free one) from its own thread.

    ``api_key``: the one key accepted. ``delay_s``: wait before every answer (a behaviour's
    ``delay=MS`` wins). ``check_magic``: media bytes must be what their MIME type says (real
    providers reject mislabelled images). ``gateway``: play an OpenAI-compatible gateway
    (OpenRouter): Chat accepts ``video_url``/``audio_url``, more audio formats and PDF URLs, and
    errors take OpenRouter's shape.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str = DEFAULT_KEY, delay_s: float = 0.0,
                 check_magic: bool = True, gateway: bool = False, record_bodies: bool = True, max_records: int = 10_000):  # fmt: skip
        self.host, self.port = host, port
        self.api_key = api_key
        self.delay_s = delay_s
        self.check_magic = check_magic
        self.gateway = gateway
        self.record_bodies = record_bodies
        self.received: collections.deque[Received] = collections.deque(maxlen=max_records)
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_model: collections.Counter = collections.Counter()
        self.max_in_flight_by_model: dict[str, int] = {}
        self.requests_total = 0
        self.connections_total = 0
        self._lock = threading.Lock()
        self._scripts: dict[str | None, collections.deque[Behaviour]] = collections.defaultdict(collections.deque)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    models_page_size: int | None = None  # model lists: at most this many per page (paging tests)

    # control -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url_for(self, protocol: str) -> str:
        """The ``Target.base_url`` for ``protocol`` (OpenAI's default base ends in ``/v1``)."""
        return self.base_url + ("/v1" if protocol in ("chat", "responses") else "")

    def target(self, protocol: str, model: str = "fake-model", **kw):
        """A :class:`playground.protocols.Target` aimed at this server."""
        from playground.protocols import Target

        return Target(protocol, model, base_url=self.base_url_for(protocol), **kw)

    def script(self, specs, *, model: str | None = None) -> None:
        """Queue behaviours for the next requests (of ``model`` only, when given), in order."""
        parsed = [s if isinstance(s, Behaviour) else Behaviour.parse(s) for s in ([specs] if isinstance(specs, str) else specs)]
        with self._lock:
            self._scripts[model].extend(parsed)

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.received.clear()
            self.max_in_flight = self.in_flight
            self.max_in_flight_by_model = {}
            self.requests_total = 0

    def stats(self) -> dict:
        with self._lock:
            statuses = collections.Counter(str(r.status) for r in self.received)
            return {
                "requests": self.requests_total,
                "connections": self.connections_total,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "max_in_flight_by_model": dict(self.max_in_flight_by_model),
                "statuses": dict(statuses),
                "scripted_left": sum(len(q) for q in self._scripts.values()),
            }

    def _next_behaviour(self, model: str | None, headers: dict) -> Behaviour:
        with self._lock:
            for key in (model, None):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
        if FAKE_HEADER in headers:
            return Behaviour.parse(headers[FAKE_HEADER])
        if model and model.startswith("fake-") and model != "fake-model":
            try:
                return Behaviour.parse(model.removeprefix("fake-"))
            except ValueError:
                pass
        return Behaviour()

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> ProviderServer:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._open())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._close())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-provider", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def serve_forever(self) -> None:
        """Run in the current loop until cancelled (the command line uses this)."""
        await self._open()
        try:
            await asyncio.Event().wait()
        finally:
            await self._close()

    # HTTP ------------------------------------------------------------------------------------------

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self.connections_total += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await self._read_request(conn, reader)
                if request is None:
                    return
                reply = await self._respond(request, body, reader)
                if reply is CLOSE or reply is HANG:
                    return
                if reply is GARBAGE:
                    writer.write(GARBAGE)
                    await writer.drain()
                    return
                cut = isinstance(reply, _Cut)
                if cut:
                    reply = reply.reply
                head = [("content-type", reply.content_type), ("content-length", str(len(reply.body))),
                        ("date", email.utils.formatdate(usegmt=True)), ("server", "prism-fake-provider")] + reply.headers  # fmt: skip
                data = conn.send(h11.Response(status_code=reply.status, headers=head, reason=REASONS.get(reply.status, b"")))
                if cut:
                    writer.write(data + conn.send(h11.Data(data=reply.body[: len(reply.body) // 2])))
                    await writer.drain()
                    return
                data += conn.send(h11.Data(data=reply.body)) + conn.send(h11.EndOfMessage())
                writer.write(data)
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader):
        request, chunks, size = None, [], 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(1 << 18)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
                size += len(event.data)
                if size > MAX_BODY:
                    raise ConnectionError("body too large")
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks)
            elif isinstance(event, (h11.ConnectionClosed, h11.PAUSED)) or event is h11.PAUSED:
                return None, b""

    async def _respond(self, request: h11.Request, body: bytes, reader: asyncio.StreamReader):
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        method = request.method.decode()
        target = request.target.decode("latin-1")
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query))
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        if (listing := models_route(method, path, headers)) is not None:
            return self._models(listing, method, path, headers, query, body)
        protocol, model = self._route(path)
        record = Received(protocol, method, path, {k: v for k, v in query.items() if k != "key"}, {}, None, len(body), model=model, at=time.time())
        with self._lock:
            self.requests_total += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.received.append(record)
        counted: list[str] = []
        try:
            reply = await self._answer(record, method, protocol, headers, query, body, reader, counted)
            if isinstance(reply, Reply):
                record.status = reply.status
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1
                for m in counted:
                    self.in_flight_by_model[m] -= 1

    def _models(self, protocol: str, method, path, headers, query, body) -> Reply:
        """A model list, after the protocol's own authentication (as _answer checks it)."""
        record = Received(protocol, method, path, {k: v for k, v in query.items() if k != "key"}, {}, None, len(body), at=time.time())
        record.headers, key_ok = self._mask(headers, query)
        with self._lock:
            self.requests_total += 1
            self.received.append(record)
        if protocol == "chat" and "authorization" not in headers:
            reply = error_reply(protocol, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", gateway=self.gateway)
        elif protocol == "chat" and not key_ok:
            reply = error_reply(protocol, 401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", code="invalid_api_key", gateway=self.gateway)
        elif protocol == "messages" and not key_ok:
            reply = error_reply(protocol, 401, "x-api-key header is required" if "x-api-key" not in headers else "invalid x-api-key")
        elif protocol == "messages" and headers.get("anthropic-version") not in ANTHROPIC_VERSIONS:
            reply = error_reply(protocol, 400, "anthropic-version: header is required" if "anthropic-version" not in headers
                                else f"anthropic-version: invalid version {headers['anthropic-version']!r}")  # fmt: skip
        elif protocol == "gemini" and key_ok is None:
            reply = error_reply(protocol, 403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
        elif protocol == "gemini" and not key_ok:
            reply = error_reply(protocol, 400, "API key not valid. Please pass a valid API key.",
                                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}])  # fmt: skip
        else:
            b = self._next_behaviour(None, headers)
            record.behaviour = b.spec
            reply = error_reply(protocol, int(b.kind), b.get("message")) if b.kind.isdigit() else models_reply(protocol, query, self.models_page_size)
        record.status = reply.status
        return reply

    def _count_model(self, model: str, counted: list[str]) -> None:
        with self._lock:
            self.in_flight_by_model[model] += 1
            self.max_in_flight_by_model[model] = max(self.max_in_flight_by_model.get(model, 0), self.in_flight_by_model[model])
        counted.append(model)

    def _route(self, path: str) -> tuple[str | None, str | None]:
        if path == "/v1/chat/completions":
            return "chat", None
        if path == "/v1/responses":
            return "responses", None
        if path == "/v1/messages":
            return "messages", None
        m = re.fullmatch(r"/(v1beta|v1|v1alpha)/models/([^/]+)", path)
        if m:
            name, _, method = m.group(2).rpartition(":")
            if method in ("generateContent", "streamGenerateContent") and name:
                return "gemini", unquote(name)
        return None, None

    def _mask(self, headers: dict, query: dict) -> tuple[dict, bool | None]:
        """Headers with the key replaced, and whether the key given was right (None: none given)."""
        shown, key_ok = {}, None
        for k, v in headers.items():
            if k in ("authorization", "x-api-key", "x-goog-api-key"):
                given = v.removeprefix("Bearer ") if k == "authorization" else v
                ok = given == self.api_key
                key_ok = ok if key_ok is None else key_ok or ok
                shown[k] = f"<key: {'valid' if ok else 'wrong'}>"
            else:
                shown[k] = v
        if "key" in query:
            ok = query["key"] == self.api_key
            key_ok = ok if key_ok is None else key_ok or ok
        return shown, key_ok

    async def _answer(self, record: Received, method, protocol, headers, query, body, reader, counted):
        record.headers, key_ok = self._mask(headers, query)
        if protocol is None:
            return error_reply("chat", 404, f"Unknown path {record.path}.")
        if method != "POST":
            return error_reply(protocol, 405, f"{method} is not allowed here; use POST.")
        if protocol == "gemini" and record.path.endswith(":streamGenerateContent"):
            return error_reply(protocol, 400, "This fake provider does not stream.")
        # Authentication, as each provider answers it.
        if protocol in ("chat", "responses"):
            if "authorization" not in headers:
                return error_reply(protocol, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", gateway=self.gateway)
            if not key_ok:
                return error_reply(protocol, 401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", code="invalid_api_key", gateway=self.gateway)
        elif protocol == "messages":
            if "x-api-key" not in headers:
                return error_reply(protocol, 401, "x-api-key header is required")
            if not key_ok:
                return error_reply(protocol, 401, "invalid x-api-key")
            version = headers.get("anthropic-version")
            if not version:
                return error_reply(protocol, 400, "anthropic-version: header is required")
            if version not in ANTHROPIC_VERSIONS:
                return error_reply(protocol, 400, f"anthropic-version: invalid version {version!r}")
        else:
            if key_ok is None:
                return error_reply(protocol, 403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
            if not key_ok:
                return error_reply(protocol, 400, "API key not valid. Please pass a valid API key.",
                                   details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}])  # fmt: skip
        ctype = headers.get("content-type", "")
        if not ctype.startswith("application/json"):
            record.problems.append(f"content-type is {ctype or 'missing'}, not application/json")
            return error_reply(protocol, 400, "Content-Type must be application/json.", gateway=self.gateway)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            record.problems.append(f"body is not JSON: {exc}")
            return error_reply(protocol, 400, "We could not parse the JSON body of your request.", gateway=self.gateway)
        if self.record_bodies:
            record.body = data
        if not isinstance(data, dict):
            record.problems.append("body is not a JSON object")
            return error_reply(protocol, 400, "The request body must be a JSON object.", gateway=self.gateway)
        if protocol != "gemini":
            record.model = data.get("model") if isinstance(data.get("model"), str) else None
        c = Check(check_magic=self.check_magic, gateway=self.gateway)
        if protocol == "chat":
            check_chat(data, c)
        elif protocol == "responses":
            check_responses(data, c)
        elif protocol == "messages":
            check_messages(data, c, headers["anthropic-version"])
        else:
            check_gemini(data, c)
        record.counts, record.texts, record.system, record.snake_case = dict(c.counts), c.texts, c.system, c.snake
        if c.problems:
            record.problems.extend(m for m, _ in c.problems)
            message, param = c.problems[0]
            return error_reply(protocol, 400, message, param=param, gateway=self.gateway)
        if record.model:
            self._count_model(record.model, counted)
        behaviour = self._next_behaviour(record.model, headers)
        record.behaviour = behaviour.spec
        delay = behaviour.get("delay")
        delay_s = float(delay) / 1000 if delay is not None else self.delay_s
        recognising = None
        if behaviour.kind in ("see", "hear"):  # decoded in a thread while the answer's delay runs
            recognising = asyncio.get_running_loop().run_in_executor(None, recognised, c.media, behaviour, record.model or "fake-model")
        if behaviour.kind == "hang":
            # Hold the request until the client gives up (EOF) or the server stops.
            while await reader.read(1 << 16):
                pass
            return HANG
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if behaviour.kind == "close":
            return CLOSE
        if behaviour.kind == "garbage":
            return GARBAGE
        if behaviour.kind == "cut":
            return _Cut(ok_reply(protocol, record.model or "fake-model", c, Behaviour()))
        if recognising is not None:
            return ok_reply(protocol, record.model or "fake-model", c, behaviour, text=await recognising)
        return behaviour_reply(protocol, behaviour, record.model or "fake-model", c, self.gateway, self.api_key)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        """Out-of-process control (for a benchmark): stats, script, reset, config."""
        try:
            data = json.loads(body) if body else {}
            if path == "/_fake/stats":
                return Reply(200, _json(self.stats()))
            if path == "/_fake/reset" and method == "POST":
                self.reset()
                return Reply(200, _json({"ok": True}))
            if path == "/_fake/script" and method == "POST":
                self.script(data.get("specs", []), model=data.get("model"))
                return Reply(200, _json({"ok": True}))
            if path == "/_fake/config" and method == "POST":
                if "delay_s" in data:
                    self.delay_s = float(data["delay_s"])
                return Reply(200, _json({"ok": True, "delay_s": self.delay_s}))
        except (ValueError, TypeError) as exc:
            return Reply(400, _json({"error": str(exc)}))
        return Reply(404, _json({"error": f"unknown control path {path}"}))


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1"):
    """A port where nothing listens, held (bound, never listening) so no one else takes it:
    connecting is refused at once (ECONNREFUSED)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


try:
    import pytest
except ImportError:  # pragma: no cover - the command line works without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def provider_server():
        """A fresh fake provider for one test (starting one takes about a millisecond)."""
        with ProviderServer() as server:
            yield server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A fake model provider (OpenAI Chat/Responses, Anthropic, Gemini) on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every answer")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key accepted")
    parser.add_argument("--no-magic", action="store_true", help="do not check media bytes against their MIME type")
    parser.add_argument("--gateway", action="store_true", help="play an OpenAI-compatible gateway (OpenRouter)")
    parser.add_argument("--no-bodies", action="store_true", help="do not keep request bodies (long benchmarks)")
    args = parser.parse_args(argv)
    server = ProviderServer(host=args.host, port=args.port, api_key=args.key, delay_s=args.delay,
                            check_magic=not args.no_magic, gateway=args.gateway, record_bodies=not args.no_bodies)  # fmt: skip

    async def run():
        await server._open()
        print(f"Fake provider listening on {server.base_url} (key {args.key}, delay {args.delay:g} s)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server._close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1:])
