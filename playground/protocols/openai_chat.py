"""OpenAI Chat Completions (docs/protocols.md §1), and OpenAI-compatible gateways (§5) when the target
has ``gateway=True``: ``video_url`` parts, PDF URLs in ``file.file_data``, more audio formats."""

from __future__ import annotations

from . import urls
from ._common import (
    TO_MP3,
    TO_PNG,
    Ctx,
    Resolved,
    bare,
    canonical_mime,
    check_temperature,
    data_url,
    image_fallback,
    keyframes_fallback,
    part_name,
    schema_name,
    system_texts,
    walk,
    where,
)
from .types import Auth, MediaPart

LABEL = "OpenAI Chat Completions"
DEFAULT_BASE = "https://api.openai.com/v1"

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3"}  # exactly these two [SDK]
# Gateways document more (OpenRouter, docs/protocols.md §5); which work depends on the provider behind them.
GATEWAY_AUDIO_FORMATS = {
    **AUDIO_FORMATS,
    "audio/flac": "flac",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/aiff": "aiff",
    "audio/aac": "aac",
}


def auth(target) -> Auth:
    return Auth("Authorization", "Bearer {key}", target.api_key_env or "OPENAI_API_KEY")


def url_problem(t, p: MediaPart) -> str | None:
    """Why Chat Completions cannot take ``p`` by its URL, or None (docs/protocols.md §1, §5, §8.3).
    Images go by URL in ``image_url.url``. ``input_audio`` has no URL form [SDK
    chat_completion_content_part_input_audio_param.py; OpenRouter audio docs: "base64 data only,
    no URLs"]. Chat has no file URL for PDFs [docs file inputs]; a gateway takes a PDF URL in
    ``file_data`` and a video URL in ``video_url`` (§5). Kinds Chat has no part for are refused by
    kind, not here."""
    label = "the gateway" if t.gateway else LABEL
    if p.kind == "audio":
        return f"{label} takes audio as base64 only, not by URL."
    if p.kind == "pdf" and not t.gateway:
        return f"{LABEL} has no file URL field: PDFs go as base64."
    return urls.not_web(LABEL if not t.gateway else "The gateway", p)


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    label = "the gateway" if t.gateway else LABEL
    resolved = urls.prepare(ctx, resolved, url_problem)  # URLs Chat cannot take: the stored copy, inline
    messages = []
    system = system_texts(ctx, resolved, LABEL)
    if system:
        content = system[0] if len(system) == 1 else [{"type": "text", "text": s} for s in system]
        messages.append({"role": t.system_role, "content": content})
    for mi, role, parts in resolved.messages:
        content = walk(ctx, mi, role, parts, _text, lambda p, mi, pi, role: _media(ctx, p, mi, pi, role))
        if role == "assistant" and len(content) == 1 and isinstance(content[0], dict) and content[0]["type"] == "text":
            content = content[0]["text"]
        messages.append({"role": role, "content": content})

    body = {"model": t.model, "messages": messages}
    o = ctx.options
    if o.max_tokens is not None:
        body["max_completion_tokens"] = o.max_tokens
    if o.temperature is not None:
        value = check_temperature(ctx, o.temperature, 2.0, label)
        if value is not None:
            body["temperature"] = value
    if o.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name(ctx, o), "schema": o.json_schema, "strict": o.strict},
        }
    url = (t.base_url or DEFAULT_BASE).rstrip("/") + "/chat/completions"
    a = auth(t)
    return url, {a.header: a.placeholder, "Content-Type": "application/json"}, body


def refuse_unsupported_image(ctx: Ctx, p: MediaPart, mi, pi, role, label: str):
    """OpenAI's image rules (Chat and Responses alike): PNG, JPEG, WEBP, non-animated GIF."""
    mime = canonical_mime(p.mime_type)
    if mime and mime not in IMAGE_TYPES:
        return ctx.refuse(mi, pi, "image", f"{label} takes PNG, JPEG, WEBP and GIF images, not {mime}.",
                          image_fallback(mime), role)
    if p.animated:
        return ctx.refuse(mi, pi, "image", f"{label} takes non-animated images only.", TO_PNG, role)
    return None


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


def _media(ctx: Ctx, p: MediaPart, mi, pi, role):
    t = ctx.target
    w = where(mi, pi, role)
    mime = canonical_mime(p.mime_type)
    # Media in an assistant turn is refused before this, by turns.check_part (docs/protocols.md §9.2, §9.3).
    if p.delivery == "url" and urls.carries(t, p.kind) and (why := url_problem(t, p)) is not None:
        return urls.refuse(ctx, p, mi, pi, role, why)  # no copy to send instead (urls.prepare)

    if p.kind == "image":
        if (refused := refuse_unsupported_image(ctx, p, mi, pi, role, LABEL)) is not None:
            return refused
        image_url = {"url": p.url if p.delivery == "url" else data_url(p)}
        if p.detail == "original":
            ctx.note(
                w, "Chat Completions has no “original” detail (docs/protocols.md §1): sent “high”.", "warning", mi, pi
            )
            image_url["detail"] = "high"
        elif p.detail:
            image_url["detail"] = p.detail
        return {"type": "image_url", "image_url": image_url}

    if p.kind == "audio":
        formats = GATEWAY_AUDIO_FORMATS if t.gateway else AUDIO_FORMATS
        if mime not in formats:
            names = ", ".join(dict.fromkeys(formats.values()))
            return ctx.refuse(mi, pi, "audio", f"{LABEL} takes {names} audio, not {mime or 'this format'}.", TO_MP3, role)
        if t.gateway and mime not in AUDIO_FORMATS:
            ctx.note(w, f"{formats[mime]} audio is a gateway extension: whether it works depends on the provider.", "warning", mi, pi)
        return {"type": "input_audio", "input_audio": {"data": bare(p), "format": formats[mime]}}

    if p.kind == "video":
        if not t.gateway:
            return ctx.refuse(mi, pi, "video", f"{LABEL} has no video part.", keyframes_fallback(p), role)
        ctx.note(
            w,
            "video_url is a gateway extension (OpenAI itself rejects it); whether a URL or this format works "
            "depends on the provider.",
            mi=mi,
            pi=pi,
        )
        return {"type": "video_url", "video_url": {"url": p.url if p.delivery == "url" else data_url(p)}}

    # pdf
    if mime and mime != "application/pdf":
        return ctx.refuse(mi, pi, "pdf", f"Only PDF documents are supported, not {mime}.", role=role)
    if p.detail:
        ctx.note(w, "Chat Completions has no “detail” for files: not carried.", "warning", mi, pi)
    filename = p.name or "document.pdf"
    if not p.name:
        ctx.note(w, "The PDF has no name: sent as “document.pdf” (Chat needs a filename).", mi=mi, pi=pi)
    if p.delivery == "url":  # a gateway's (url_problem refused it elsewhere, above)
        ctx.note(w, f"A PDF URL in file_data is a gateway extension (OpenAI rejects it) for {part_name(p)}.", mi=mi, pi=pi)
        return {"type": "file", "file": {"filename": filename, "file_data": p.url}}
    return {"type": "file", "file": {"filename": filename, "file_data": data_url(p)}}
