"""Google Gemini ``generateContent``, Gemini Developer API (docs/protocols.md §4). camelCase REST JSON."""

from __future__ import annotations

from urllib.parse import quote

from ._common import (
    INLINE,
    TO_MP3,
    Ctx,
    Resolved,
    bare,
    canonical_mime,
    check_temperature,
    image_fallback,
    keyframes_fallback,
    merge_same_role,
    system_texts,
    walk,
    where,
)
from .types import Auth, MediaPart

LABEL = "Gemini"
DEFAULT_BASE = "https://generativelanguage.googleapis.com"
DEFAULT_VERSION = "v1beta"

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}  # no GIF
# Our canonical names -> the names Gemini documents.
AUDIO_TYPES = {
    "audio/wav": "audio/wav",
    "audio/mpeg": "audio/mp3",
    "audio/aiff": "audio/aiff",
    "audio/aac": "audio/aac",
    "audio/ogg": "audio/ogg",
    "audio/flac": "audio/flac",
}
VIDEO_TYPES = {
    **{m: m for m in ("video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp")},
    "video/quicktime": "video/mov",
}
FILES_API_PREFIX = "https://generativelanguage.googleapis.com/"


def auth(target) -> Auth:
    return Auth("x-goog-api-key", "{key}", target.api_key_env or "GEMINI_API_KEY")


def _uri_ok(p: MediaPart) -> bool:
    """Files API URIs and registered GCS objects; YouTube links for video (docs/protocols.md §4). Other HTTPS URLs
    were allowed in 2026-01, but how they are passed is unverified: refused, with inlining offered."""
    url = p.url or ""
    if url.startswith("gs://") or (url.startswith(FILES_API_PREFIX) and "/files/" in url):
        return True
    youtube = url.startswith(("https://www.youtube.com/", "https://youtube.com/", "https://youtu.be/", "https://m.youtube.com/"))
    return p.kind == "video" and youtube


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    body = {}
    system = system_texts(ctx, resolved, LABEL)
    if system:
        body["systemInstruction"] = {"parts": [{"text": s} for s in system]}
    turns = []
    for mi, role, parts in resolved.messages:
        content = walk(ctx, mi, role, parts, _text, lambda p, mi, pi, role: _media(ctx, p, mi, pi, role))
        turns.append((mi, "model" if role == "assistant" else "user", content))
    body["contents"] = [{"role": role, "parts": parts} for role, parts in merge_same_role(ctx, turns, "Gemini")]

    o = ctx.options
    config = {}
    if o.max_tokens is not None:
        config["maxOutputTokens"] = o.max_tokens
    if o.temperature is not None:
        value = check_temperature(ctx, o.temperature, 2.0, LABEL)
        if value is not None:
            config["temperature"] = value
    if o.json_schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = o.json_schema
        dropped = (["the schema name"] if o.schema_name else []) + (["strict: false"] if not o.strict else [])
        if dropped:
            ctx.note("response format", f"Gemini's responseJsonSchema takes only the schema: {' and '.join(dropped)} not carried.")
    if config:
        body["generationConfig"] = config

    model = t.model.removeprefix("models/")
    url = f"{(t.base_url or DEFAULT_BASE).rstrip('/')}/{t.api_version or DEFAULT_VERSION}/models/{quote(model, safe='')}:generateContent"
    a = auth(t)
    return url, {a.header: a.placeholder, "Content-Type": "application/json"}, body


def _text(text: str) -> dict:
    return {"text": text}


def _media(ctx: Ctx, p: MediaPart, mi, pi, role):
    w = where(mi, pi, role)
    mime = canonical_mime(p.mime_type)
    if p.kind == "image":
        if mime and mime not in IMAGE_TYPES:
            return ctx.refuse(
                mi, pi, "image", f"{LABEL} takes PNG, JPEG, WEBP, HEIC and HEIF images, not {mime}.", image_fallback(mime), role
            )
        sent_mime = mime
    elif p.kind == "audio":
        if mime not in AUDIO_TYPES:
            return ctx.refuse(mi, pi, "audio", f"{LABEL} takes WAV, MP3, AIFF, AAC, OGG and FLAC audio, not {mime or 'this format'}.", TO_MP3, role)
        sent_mime = AUDIO_TYPES[mime]
    elif p.kind == "video":
        if mime not in VIDEO_TYPES:
            return ctx.refuse(mi, pi, "video", f"{LABEL} does not list {mime or 'this video format'} as a video type.", keyframes_fallback(p), role)
        sent_mime = VIDEO_TYPES[mime]
    else:
        if mime and mime != "application/pdf":
            return ctx.refuse(mi, pi, "pdf", f"Only PDF documents are supported, not {mime}.", role=role)
        sent_mime = "application/pdf"
    if mime and sent_mime != mime:
        ctx.note(w, f"MIME type {p.mime_type} sent as {sent_mime}, the name Gemini documents.", mi=mi, pi=pi)
    if p.detail and p.kind in ("image", "pdf"):
        ctx.note(
            w,
            f"Gemini has no “detail”: “{p.detail}” not carried (mediaResolution is a different setting, not set here).",
            "warning",
            mi,
            pi,
        )
    if p.delivery == "url":
        if not _uri_ok(p):
            return ctx.refuse(
                mi,
                pi,
                p.kind,
                f"{LABEL} takes Files API, gs:// and (for video) YouTube URIs; other URLs are not passed by us "
                "(how Gemini takes them is unverified).",
                INLINE,
                role,
            )
        file_data = {"mimeType": sent_mime, "fileUri": p.url} if sent_mime else {"fileUri": p.url}
        return {"fileData": file_data}
    return {"inlineData": {"mimeType": sent_mime, "data": bare(p)}}
