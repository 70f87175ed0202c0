"""Google Gemini ``generateContent``, Gemini Developer API (docs/protocols.md §4). camelCase REST JSON."""

from __future__ import annotations

from urllib.parse import quote

from . import urls
from ._common import (
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
from .types import Auth, MediaPart, Omitted

LABEL = "Gemini"
DEFAULT_BASE = "https://generativelanguage.googleapis.com"
DEFAULT_VERSION = "v1beta"

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}  # no GIF
# Audio, our canonical names -> the names Gemini documents [docs audio: WAV, MP3, AIFF, AAC, OGG,
# FLAC; since 2026-09 also MPEG, M4A, L16, Opus, ALAW, MULAW, WebM]. MP3 keeps its long-documented
# name audio/mp3; audio/mp4 (an .m4a file, _common.canonical_mime) goes as audio/m4a.
AUDIO_TYPES = {
    "audio/wav": "audio/wav",
    "audio/mpeg": "audio/mp3",
    "audio/aiff": "audio/aiff",
    "audio/aac": "audio/aac",
    "audio/ogg": "audio/ogg",
    "audio/flac": "audio/flac",
    "audio/mp4": "audio/m4a",
    "audio/l16": "audio/l16",
    "audio/opus": "audio/opus",
    "audio/alaw": "audio/alaw",
    "audio/mulaw": "audio/mulaw",
    "audio/webm": "audio/webm",
}
AUDIO_NAMES = "WAV, MP3, AIFF, AAC, OGG, FLAC, M4A, L16, Opus, A-law, μ-law and WebM"
VIDEO_TYPES = {
    **{m: m for m in ("video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp")},
    "video/quicktime": "video/mov",
}
# What Gemini fetches from an external (public or pre-signed HTTPS) URL passed as fileData.fileUri,
# up to 100 MB per request; "initial guidance and not comprehensive ... unsupported types will
# result in an error"; not on Gemini 2.0 models [docs file input methods, "External HTTP / Signed
# URLs"] (docs/protocols.md §4). No audio type is listed; the video list names QuickTime
# video/quicktime, sent as such.
URL_TYPES = {
    "image": {"image/bmp", "image/jpeg", "image/png", "image/webp"},
    "video": {"video/mp4", "video/mpeg", "video/quicktime", "video/mov", "video/avi", "video/x-flv", "video/mpg",
              "video/webm", "video/wmv", "video/3gpp"},
    "pdf": {"application/pdf"},
}
URL_NAMES = {"image": "BMP, JPEG, PNG and WEBP images", "video": "MP4, MPEG, MOV, AVI, FLV, MPG, WEBM, WMV and 3GPP video",
             "pdf": "PDFs"}
URL_MAX_BYTES = 100 * 1_000_000  # fetched from external URLs, per request [docs file input methods]
FILES_API_PREFIX = urls.GEMINI_FILES_PREFIX
_YOUTUBE = ("https://www.youtube.com/", "https://youtube.com/", "https://youtu.be/", "https://m.youtube.com/")


def auth(target) -> Auth:
    return Auth("x-goog-api-key", "{key}", target.api_key_env or "GEMINI_API_KEY")


def url_kind(url: str | None) -> str:
    """"files" (a Files API URI), "gcs" (gs://), "youtube", "external" (any other https URL), or
    "other" (http:// and the rest)."""
    url = url or ""
    if url.startswith(FILES_API_PREFIX) and "/files/" in url:
        return "files"
    if url.startswith("gs://"):
        return "gcs"
    if url.startswith(_YOUTUBE):
        return "youtube"
    return "external" if url.lower().startswith("https://") else "other"


def _gemini_2_0(model: str) -> bool:
    return "gemini-2.0" in model


def url_problem(t, p: MediaPart) -> str | None:
    """Why Gemini cannot take ``p`` by its URL, or None (docs/protocols.md §4 "What fileUri takes").
    Files API URIs take every kind. gs:// objects are kept as before (Google's own samples pass a
    public gs:// object as the URI; private ones need registering with the Files API first).
    YouTube links are video. Other HTTPS URLs are fetched by Gemini for the types of URL_TYPES, on
    models after the 2.0 family [docs file input methods]."""
    kind = url_kind(p.url)
    if kind in ("files", "gcs"):
        return None
    if kind == "youtube":
        return None if p.kind == "video" else f"{LABEL} takes YouTube links for video only."
    if kind == "other":
        return f"{LABEL} fetches public HTTPS URLs only (and Files API, YouTube and gs:// URIs), not this one."
    if _gemini_2_0(t.model):
        return f"{t.model} does not fetch external URLs (Gemini's URL input excludes the 2.0 models)."
    mime = canonical_mime(p.mime_type)
    if p.kind == "audio":
        return f"{LABEL} fetches no audio from external URLs (its list of URL types has none)."
    if mime not in URL_TYPES[p.kind]:
        return f"{LABEL} fetches {URL_NAMES[p.kind]} from external URLs, not {mime or 'this type'}."
    return None


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    body = {}
    resolved = urls.prepare(ctx, resolved, url_problem)  # URLs Gemini cannot take: the stored copy, inline
    system = system_texts(ctx, resolved, LABEL)
    if system:
        body["systemInstruction"] = {"parts": [{"text": s} for s in system]}
    turns = []
    for mi, role, parts in resolved.messages:
        content = walk(ctx, mi, role, parts, _text, lambda p, mi, pi, role: _media(ctx, p, mi, pi, role))
        turns.append((mi, "model" if role == "assistant" else "user", content))
    body["contents"] = [{"role": role, "parts": parts} for role, parts in merge_same_role(ctx, turns, "Gemini")]
    _check_fetched_size(ctx)

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


def _check_fetched_size(ctx: Ctx) -> None:
    """Gemini fetches at most 100 MB from external URLs per request (URL_MAX_BYTES); sizes known
    from the library only (a URL given in a document has none)."""
    fetched = [
        s.media.size_bytes or 0
        for s in ctx.sent
        if s.media is not None and s.media.delivery == "url" and url_kind(s.media.url) == "external"
    ]
    total = sum(fetched)
    if total > URL_MAX_BYTES:
        ctx.refuse_setting(
            "request size",
            f"The media Gemini would fetch from URLs add up to {total / 1_000_000:.1f} MB; it fetches at most "
            f"{URL_MAX_BYTES // 1_000_000} MB per request. Upload the largest with Gemini's Files API and send its "
            "URI, or send fewer.",
        )


def _media(ctx: Ctx, p: MediaPart, mi, pi, role):
    w = where(mi, pi, role)
    mime = canonical_mime(p.mime_type)
    if p.delivery == "url" and (why := url_problem(ctx.target, p)) is not None:
        return urls.refuse(ctx, p, mi, pi, role, why)
    if p.delivery == "url" and url_kind(p.url) == "external":
        sent_mime = mime  # one of URL_TYPES, the names the URL list gives
    else:
        sent_mime = _inline_mime(ctx, p, mime, mi, pi, role)
        if isinstance(sent_mime, Omitted):
            return sent_mime
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
        file_data = {"mimeType": sent_mime, "fileUri": p.url} if sent_mime else {"fileUri": p.url}
        return {"fileData": file_data}
    return {"inlineData": {"mimeType": sent_mime, "data": bare(p)}}


def _inline_mime(ctx: Ctx, p: MediaPart, mime: str, mi, pi, role):
    """The MIME name Gemini documents for ``p`` sent inline or by a Files API, gs:// or YouTube URI,
    or the Omitted of its refusal."""
    if p.kind == "image":
        if mime and mime not in IMAGE_TYPES:
            return ctx.refuse(
                mi, pi, "image", f"{LABEL} takes PNG, JPEG, WEBP, HEIC and HEIF images, not {mime}.", image_fallback(mime), role
            )
        return mime
    if p.kind == "audio":
        if mime not in AUDIO_TYPES:
            return ctx.refuse(mi, pi, "audio", f"{LABEL} takes {AUDIO_NAMES} audio, not {mime or 'this format'}.", TO_MP3, role)
        return AUDIO_TYPES[mime]
    if p.kind == "video":
        if mime not in VIDEO_TYPES:
            return ctx.refuse(mi, pi, "video", f"{LABEL} does not list {mime or 'this video format'} as a video type.", keyframes_fallback(p), role)
        return VIDEO_TYPES[mime]
    if mime and mime != "application/pdf":
        return ctx.refuse(mi, pi, "pdf", f"Only PDF documents are supported, not {mime}.", role=role)
    return "application/pdf"
