"""Provider answers to plain data: a response JSON to a :class:`ProviderResult`, an error answer to
a :class:`ProviderError` (docs/protocols.md §1–5, §8.15–18). No Django, no I/O.

    result = parse_response("messages", json.loads(body))
    result.output_text, result.finish_reason, result.usage.total, result.error
    error = parse_error("gemini", 429, response.headers, body)
    error.status, error.error_type, error.message, error.retryable, error.retry_after_s

Rules kept here so every caller gets them the same:

* Usage is normalized to ``{input, cached_input, cache_write, output, reasoning, image_in, audio_in,
  total}``. ``input`` always *includes* cached tokens and ``output`` always *includes* reasoning
  tokens (as OpenAI counts them), so ``input + output == total`` on every protocol. A field the
  provider did not send is ``None``, never 0: a 0 would be a claim we cannot make.
* Input by modality, where the protocol reports it (docs/protocols.md §8.15): ``text_in``,
  ``image_in``, ``audio_in``, ``video_in``, ``pdf_in``. Chat's ``prompt_tokens_details`` (text,
  image, audio; OpenRouter adds video); Gemini's ``promptTokensDetails`` list (TEXT, IMAGE, AUDIO,
  VIDEO, DOCUMENT), where a modality it does not list had none. Responses and Anthropic give no
  breakdown: None.
* Failures that arrive as HTTP 200 (Gemini blocked prompts and SAFETY-like finishes, Responses
  ``failed``/``incomplete``, OpenRouter errors raised mid-generation, an Anthropic ``error`` object)
  give a result whose ``error`` is set: the text and usage they carry are kept, for billing.
* Gateways (OpenRouter, vLLM, Ollama...) speak the Chat shape; their error bodies vary
  (``{"error": "text"}``, ``{"object": "error", "message": ...}``) and are read too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .retry import NOT_TRANSIENT_CODES, parse_retry_after, retryable_status, should_retry_header

__all__ = [
    "FINISH_REASONS",
    "FinishReason",
    "ProviderError",
    "ProviderResult",
    "Usage",
    "parse_error",
    "parse_response",
    "request_id_from",
]

FinishReason = Literal["stop", "length", "content_filter", "tool_call", "error", "other"]
FINISH_REASONS = ("stop", "length", "content_filter", "tool_call", "error", "other")
ErrorKind = Literal["http", "timeout", "connection", "malformed", "response"]

PROTOCOL_LABELS = {"chat": "OpenAI Chat", "responses": "OpenAI Responses", "messages": "Anthropic", "gemini": "Gemini"}


# --- data ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Normalized token counts; None means the provider did not say."""

    input: int | None = None
    cached_input: int | None = None
    cache_write: int | None = None
    output: int | None = None
    reasoning: int | None = None
    image_in: int | None = None
    audio_in: int | None = None
    total: int | None = None
    input_by_modality: dict[str, int] | None = None  # e.g. {"TEXT": 12, "IMAGE": 258} (Gemini, Chat details)
    text_in: int | None = None
    video_in: int | None = None
    pdf_in: int | None = None  # documents (Gemini DOCUMENT)

    def to_dict(self) -> dict:
        return asdict(self)


class ProviderError(Exception):
    """A call that did not give a usable answer.

    ``kind``: "http" (a non-2xx answer), "timeout", "connection" (refused, reset, closed early),
    "malformed" (a 2xx body that is not the protocol's JSON) or "response" (a failure that arrived
    as a 200: blocked, incomplete, failed). ``status`` is the HTTP status when there was one;
    ``error_type`` the provider's own type or status string (``rate_limit_error``,
    ``RESOURCE_EXHAUSTED``, ``invalid_request_error``); ``code``/``param`` as the provider gave them.
    ``headline``: the cause in plain words when Prism knows it ("The connection was closed before
    the answer was complete."), for a person; ``message`` keeps the technical detail. None for
    answers the provider described itself (an HTTP error), whose status says what happened.

        raise ProviderError("No answer within 30 s.", retryable=True, kind="timeout")
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        kind: ErrorKind = "http",
        status: int | None = None,
        error_type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        retry_after_s: float | None = None,
        request_id: str | None = None,
        details: Any = None,
        headline: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.kind = kind
        self.status = status
        self.error_type = error_type
        self.code = code
        self.param = param
        self.retry_after_s = retry_after_s
        self.request_id = request_id
        self.details = details
        self.headline = headline

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.message!r}, kind={self.kind!r}, status={self.status!r}, "
            f"error_type={self.error_type!r}, retryable={self.retryable!r})"
        )

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "kind": self.kind,
            "status": self.status,
            "error_type": self.error_type,
            "code": self.code,
            "param": self.param,
            "retryable": self.retryable,
            "retry_after_s": self.retry_after_s,
            "request_id": self.request_id,
            "details": self.details,
            "headline": self.headline,
        }


@dataclass
class ProviderResult:
    """One parsed answer. ``error`` is set for failures that arrived as HTTP 200."""

    protocol: str
    output_text: str
    finish_reason: FinishReason
    raw_finish_reason: str | None
    usage: Usage
    raw_usage: Any = None
    response_id: str | None = None
    model: str | None = None
    refusal: str | None = None
    error: ProviderError | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol,
            "output_text": self.output_text,
            "finish_reason": self.finish_reason,
            "raw_finish_reason": self.raw_finish_reason,
            "usage": self.usage.to_dict(),
            "raw_usage": self.raw_usage,
            "response_id": self.response_id,
            "model": self.model,
            "refusal": self.refusal,
            "error": self.error.to_dict() if self.error else None,
            "notes": list(self.notes),
        }


# --- small helpers ---------------------------------------------------------------------------------


def _int(value) -> int | None:
    """An int token count, or None (bools and junk are not counts)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _sum_known(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _total(inp: int | None, out: int | None) -> int | None:
    return inp + out if inp is not None and out is not None else None


def _malformed(protocol: str, what: str, data=None) -> ProviderError:
    excerpt = _excerpt(json.dumps(data, ensure_ascii=False).encode()) if data is not None else ""
    label = PROTOCOL_LABELS.get(protocol, protocol)
    return ProviderError(
        f"The {label} answer is not a response we can read: {what}." + (f" It begins: {excerpt}" if excerpt else ""),
        kind="malformed",
        headline=f"The provider's answer was not a valid {label} response.",
    )


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text) + (f" … ({len(body)} bytes)" if len(body) > limit else "")


def request_id_from(headers: Mapping[str, str] | None, data=None) -> str | None:
    """``x-request-id`` (OpenAI), ``request-id`` (Anthropic), ``x-goog-request-id``, or the body's."""
    if headers:
        for name in ("x-request-id", "request-id", "x-goog-request-id", "x-amzn-requestid"):
            value = headers.get(name)
            if value:
                return value
    if isinstance(data, dict) and isinstance(data.get("request_id"), str):
        return data["request_id"]
    return None


# --- responses -------------------------------------------------------------------------------------


def parse_response(protocol: str, data: Any, *, headers: Mapping[str, str] | None = None) -> ProviderResult:
    """A 2xx JSON answer of ``protocol`` ("chat" | "responses" | "messages" | "gemini").

    Raises ProviderError(kind="malformed") when ``data`` is not that protocol's response at all.

    >>> parse_response("chat", {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}).output_text
    'hi'
    """
    if not isinstance(data, dict):
        raise _malformed(protocol, f"expected a JSON object, got {type(data).__name__}", data)
    parser = _PARSERS.get(protocol)
    if parser is None:
        raise ValueError(f"Unknown protocol {protocol!r}.")
    result = parser(data)
    if result.error is not None and result.error.request_id is None:
        result.error.request_id = request_id_from(headers, data)
    return result


# Chat Completions (and gateways) -------------------------------------------------------------------

_CHAT_FINISH = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    "error": "error",
}


def _chat_usage(u: dict) -> Usage:
    pd = u.get("prompt_tokens_details")
    cd = u.get("completion_tokens_details")
    pd_, cd_ = _dict(pd), _dict(cd)
    inp, out = _int(u.get("prompt_tokens")), _int(u.get("completion_tokens"))
    # openai-python's PromptTokensDetails has text, image and audio tokens; OpenRouter's adds
    # video_tokens (docs/protocols.md §8.15).
    by_mod = {
        name: _int(pd_.get(key))
        for name, key in (("TEXT", "text_tokens"), ("IMAGE", "image_tokens"), ("AUDIO", "audio_tokens"),
                          ("VIDEO", "video_tokens"))
        if _int(pd_.get(key)) is not None
    }  # fmt: skip
    total = _int(u.get("total_tokens"))
    return Usage(
        input=inp,
        cached_input=_int(pd_.get("cached_tokens")),
        cache_write=_int(pd_.get("cache_write_tokens")),
        output=out,
        reasoning=_int(cd_.get("reasoning_tokens")),
        image_in=_int(pd_.get("image_tokens")),
        audio_in=_int(pd_.get("audio_tokens")),
        total=total if total is not None else _total(inp, out),
        input_by_modality=by_mod or None,
        text_in=_int(pd_.get("text_tokens")),
        video_in=_int(pd_.get("video_tokens")),
    )


def _content_text(content) -> str:
    """Chat ``message.content``: a string, null, or (some gateways) a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _gateway_error(err, where: str) -> ProviderError:
    """OpenRouter's ``{"code", "message", "metadata"}`` (or an OpenAI-shaped one) inside a 200."""
    if isinstance(err, str):
        return ProviderError(f"The provider reported an error {where}: {err}", kind="response")
    err = _dict(err)
    code = err.get("code")
    message = err.get("message") or "no message"
    retryable = code in (408, 429, 502, 503) or code in ("server_error", "rate_limit_exceeded")
    return ProviderError(
        f"The provider reported an error {where}: {message}",
        kind="response",
        error_type=err.get("type") or (str(code) if code is not None else None),
        code=code,
        retryable=retryable,
        details=err.get("metadata"),
    )


def _parse_chat(d: dict) -> ProviderResult:
    usage_raw = d.get("usage")
    usage = _chat_usage(_dict(usage_raw))
    choices = d.get("choices")
    if not isinstance(choices, list) or (not choices and "error" not in d):
        if "error" in d:
            return ProviderResult("chat", "", "error", None, usage, usage_raw, d.get("id"), d.get("model"),
                                  error=_gateway_error(d["error"], "instead of an answer"))  # fmt: skip
        raise _malformed("chat", "no 'choices' list", d)
    c0 = _dict(choices[0]) if choices else {}
    message = _dict(c0.get("message"))
    text = _content_text(message.get("content"))
    raw = c0.get("finish_reason")
    finish = _CHAT_FINISH.get(raw, "other") if raw is not None else "other"
    refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
    error = None
    # OpenRouter: an error raised mid-generation comes as HTTP 200, with a top-level and/or a
    # choice-level "error" and finish_reason "error" (docs/protocols.md §5, §8.17).
    if c0.get("error") is not None or d.get("error") is not None or raw == "error":
        error = _gateway_error(c0.get("error") or d.get("error") or "finish_reason 'error'", "during generation")
        finish = "error"
    return ProviderResult(
        "chat", text, finish, raw, usage, usage_raw, d.get("id"), d.get("model"), refusal=refusal, error=error
    )


# Responses -----------------------------------------------------------------------------------------

_TOOL_ITEMS = {"function_call", "custom_tool_call", "computer_call", "mcp_call", "local_shell_call", "shell_call", "apply_patch_call"}


def _parse_responses(d: dict) -> ProviderResult:
    if "output" not in d and "status" not in d:
        raise _malformed("responses", "no 'output' and no 'status'", d)
    usage_raw = d.get("usage")
    u = _dict(usage_raw)
    itd, otd = _dict(u.get("input_tokens_details")), _dict(u.get("output_tokens_details"))
    inp, out = _int(u.get("input_tokens")), _int(u.get("output_tokens"))
    total = _int(u.get("total_tokens"))
    usage = Usage(
        input=inp,
        cached_input=_int(itd.get("cached_tokens")),
        cache_write=_int(itd.get("cache_write_tokens")),
        output=out,
        reasoning=_int(otd.get("reasoning_tokens")),
        total=total if total is not None else _total(inp, out),
    )
    texts, refusals, tool = [], [], False
    for item in _list(d.get("output")):
        item = _dict(item)
        if item.get("type") in _TOOL_ITEMS:
            tool = True
        if item.get("type") != "message":
            continue  # reasoning, tool calls...
        for c in _list(item.get("content")):
            c = _dict(c)
            if c.get("type") == "output_text" and isinstance(c.get("text"), str):
                texts.append(c["text"])
            elif c.get("type") == "refusal" and isinstance(c.get("refusal"), str):
                refusals.append(c["refusal"])
    status = d.get("status")
    reason = _dict(d.get("incomplete_details")).get("reason")
    raw = f"{status}:{reason}" if status == "incomplete" and reason else status
    error = None
    if status == "completed":
        finish = "tool_call" if tool else "content_filter" if refusals and not texts else "stop"
    elif status == "incomplete":
        finish = {"max_output_tokens": "length", "content_filter": "content_filter"}.get(reason, "other")
        error = ProviderError(
            f"The response is incomplete ({reason or 'no reason given'}).",
            kind="response",
            error_type=f"incomplete:{reason}" if reason else "incomplete",
        )
    elif status == "failed":
        finish = "error"
        err = _dict(d.get("error"))
        code = err.get("code")
        error = ProviderError(
            f"The response failed: {err.get('message') or 'no message'}" + (f" ({code})" if code else ""),
            kind="response",
            error_type=code or "failed",
            code=code,
            retryable=code in ("server_error", "rate_limit_exceeded"),
        )
    else:  # cancelled, queued, in_progress: no final answer in this body
        finish = "other"
        error = ProviderError(f"The response is not finished (status {status!r}).", kind="response", error_type=str(status))
    return ProviderResult(
        "responses", "".join(texts), finish, raw, usage, usage_raw, d.get("id"), d.get("model"),
        refusal="".join(refusals) or None, error=error,
    )  # fmt: skip


# Anthropic Messages --------------------------------------------------------------------------------

_ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
    "pause_turn": "other",
}


def _parse_messages(d: dict) -> ProviderResult:
    if d.get("type") == "error":  # an error object where a message was expected (an SSE-style error)
        err = _dict(d.get("error"))
        error = ProviderError(
            f"Anthropic reported an error: {err.get('message') or 'no message'}",
            kind="response",
            error_type=err.get("type"),
            retryable=err.get("type") in ("overloaded_error", "api_error", "rate_limit_error", "timeout_error"),
            request_id=d.get("request_id"),
        )
        return ProviderResult("messages", "", "error", None, Usage(), None, error=error)
    if "content" not in d:
        raise _malformed("messages", "no 'content'", d)
    usage_raw = d.get("usage")
    u = _dict(usage_raw)
    base, out = _int(u.get("input_tokens")), _int(u.get("output_tokens"))
    write, read = _int(u.get("cache_creation_input_tokens")), _int(u.get("cache_read_input_tokens"))
    # input_tokens excludes cache reads and writes, and there is no total: add up (docs/protocols.md §3, §8.15).
    inp = base + (write or 0) + (read or 0) if base is not None else None
    usage = Usage(
        input=inp,
        cached_input=read,
        cache_write=write,
        output=out,
        reasoning=_int(_dict(u.get("output_tokens_details")).get("thinking_tokens")),
        total=_total(inp, out),
    )
    text = "".join(
        b["text"] for b in _list(d.get("content")) if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    )
    raw = d.get("stop_reason")
    finish = _ANTHROPIC_FINISH.get(raw, "other")
    return ProviderResult("messages", text, finish, raw, usage, usage_raw, d.get("id"), d.get("model"))


# Gemini --------------------------------------------------------------------------------------------

_GEMINI_FILTERED = {
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "JAILBREAK",
}  # fmt: skip


def _g(d: dict, camel: str):
    """A Gemini field by its camelCase name, or its snake_case spelling (both parse, docs/protocols.md §4)."""
    if camel in d:
        return d[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return d.get(snake)


def _gemini_usage(u: dict) -> Usage:
    prompt, cands = _int(_g(u, "promptTokenCount")), _int(_g(u, "candidatesTokenCount"))
    thoughts, tool = _int(_g(u, "thoughtsTokenCount")), _int(_g(u, "toolUsePromptTokenCount"))
    total = _int(_g(u, "totalTokenCount"))
    # totalTokenCount = prompt + candidates + toolUsePrompt + thoughts; candidates exclude thoughts.
    inp = prompt + (tool or 0) if prompt is not None else None
    if cands is not None:
        out = cands + (thoughts or 0)
    elif total is not None and inp is not None:
        out = total - inp  # e.g. a blocked prompt: no candidates, total == prompt
    else:
        out = thoughts
    details = _g(u, "promptTokensDetails")
    by_mod = None
    if isinstance(details, list):
        by_mod = {}
        for entry in details:
            entry = _dict(entry)
            count = _int(_g(entry, "tokenCount"))
            if isinstance(entry.get("modality"), str):
                by_mod[entry["modality"]] = by_mod.get(entry["modality"], 0) + (count or 0)

    def modality(*names: str) -> int | None:
        # The list names every modality the prompt had; one it does not list had no tokens.
        return None if by_mod is None else sum(by_mod.get(name, 0) for name in names)

    return Usage(
        input=inp,
        cached_input=_int(_g(u, "cachedContentTokenCount")),
        cache_write=None,
        output=out,
        reasoning=thoughts,
        image_in=modality("IMAGE"),
        audio_in=modality("AUDIO"),
        total=total if total is not None else _total(inp, out),
        input_by_modality=by_mod,
        # MODALITY_UNSPECIFIED "is treated as TEXT" (google-genai MediaModality; docs/protocols.md §8.15).
        text_in=modality("TEXT", "MODALITY_UNSPECIFIED"),
        video_in=modality("VIDEO"),
        pdf_in=modality("DOCUMENT"),
    )


def _parse_gemini(d: dict) -> ProviderResult:
    usage_raw = _g(d, "usageMetadata")
    usage = _gemini_usage(_dict(usage_raw))
    rid, model = _g(d, "responseId"), _g(d, "modelVersion")
    candidates = _list(d.get("candidates"))
    if not candidates:
        feedback = _dict(_g(d, "promptFeedback"))
        block = _g(feedback, "blockReason")
        if block is None and "usageMetadata" not in d and "promptFeedback" not in d:
            raise _malformed("gemini", "no 'candidates'", d)
        why = _g(feedback, "blockReasonMessage")
        message = f"Gemini blocked the prompt ({block})" if block else "Gemini returned no candidates"
        error = ProviderError(message + (f": {why}" if why else "."), kind="response",
                              error_type=f"blocked:{block}" if block else "no_candidates", details=feedback or None)  # fmt: skip
        finish = "content_filter" if block else "error"
        return ProviderResult("gemini", "", finish, f"blockReason:{block}" if block else None, usage, usage_raw, rid, model, error=error)
    c0 = _dict(candidates[0])
    parts = _list(_dict(c0.get("content")).get("parts"))
    text = "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought"))
    tool = any(isinstance(p, dict) and _g(p, "functionCall") is not None for p in parts)
    raw = _g(c0, "finishReason")
    error = None
    if raw in ("STOP", None) and tool:
        finish = "tool_call"
    elif raw == "STOP":
        finish = "stop"
    elif raw == "MAX_TOKENS":
        finish = "length"
    elif raw in _GEMINI_FILTERED:
        finish = "content_filter"
        # A SAFETY-like finish is a failure that arrives as 200 (docs/protocols.md §8.17).
        error = ProviderError(f"Gemini stopped the answer ({raw}).", kind="response", error_type=f"finish:{raw}",
                              details=_g(c0, "safetyRatings"))  # fmt: skip
    elif raw in ("MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MALFORMED_RESPONSE"):
        finish = "error"
        error = ProviderError(f"Gemini stopped the answer ({raw}).", kind="response", error_type=f"finish:{raw}")
    else:
        finish = "other"
    return ProviderResult("gemini", text, finish, raw, usage, usage_raw, rid, model, error=error)


_PARSERS = {"chat": _parse_chat, "responses": _parse_responses, "messages": _parse_messages, "gemini": _parse_gemini}


# --- errors ----------------------------------------------------------------------------------------


def parse_error(
    protocol: str, status: int, headers: Mapping[str, str] | None, body: bytes, *, reason: str = ""
) -> ProviderError:
    """A non-2xx answer as a ProviderError, its body read per the protocol's error format:

    OpenAI ``{"error": {message, type, param, code}}``, Anthropic ``{"type": "error", "error":
    {type, message}, "request_id"}``, Gemini ``{"error": {code, message, status}}`` (sometimes
    wrapped in a list), OpenRouter ``{"error": {code, message, metadata}}``; gateways' looser
    forms too. A body that is not JSON gives a message quoting its first bytes.

    >>> e = parse_error("messages", 529, {}, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    >>> (e.error_type, e.retryable)
    ('overloaded_error', True)
    """
    label = PROTOCOL_LABELS.get(protocol, protocol)
    head = f"HTTP {status}" + (f" {reason}" if reason else "")
    retry_after = parse_retry_after(headers)
    data = None
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # Gemini has answered errors as a one-element list
    message, error_type, code, param, details = None, None, None, None, None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            code = err.get("code")
            param = err.get("param")
            error_type = err.get("type") or err.get("status") or (str(code) if code not in (None, "") else None)
            details = err.get("metadata") or err.get("details")
        elif isinstance(err, str):  # Ollama and some proxies: {"error": "text"}
            message = err
        elif isinstance(data.get("message"), str):  # vLLM: {"object": "error", "message", "type", "code"}
            message = data["message"]
            error_type = data.get("type")
            code = data.get("code")
            param = data.get("param")
    if message is None:
        if data is not None:
            message = f"{label} answered {head} with an error body we could not read: {_excerpt(body)}"
        elif body:
            ctype = (headers or {}).get("content-type") or "no content type"
            message = f"{label} answered {head} with a body that is not JSON ({ctype}): {_excerpt(body)}"
        else:
            message = f"{label} answered {head} with an empty body."
    else:
        message = f"{label} {head}" + (f" {error_type}" if error_type else "") + f": {message}"
    retryable = retryable_status(status, headers)
    if code in NOT_TRANSIENT_CODES or error_type in NOT_TRANSIENT_CODES:
        retryable = False  # out of credit: retrying only burns the budget of retries (docs/protocols.md §7)
    if status == 402 and retry_after is not None and should_retry_header(headers) is None:
        retryable = True  # OpenRouter: a 402 with Retry-After may clear (docs/protocols.md §7)
    return ProviderError(
        message,
        retryable=retryable,
        kind="http",
        status=status,
        error_type=error_type if isinstance(error_type, str) else None,
        code=code,
        param=param if isinstance(param, str) else None,
        retry_after_s=retry_after,
        request_id=request_id_from(headers, data),
        details=details,
    )
