"""Anthropic Messages (docs/protocols.md §3). Named ``anthropic_messages`` so it can never be mistaken
for the ``anthropic`` SDK package."""

from __future__ import annotations

import re

from ._common import (
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

LABEL = "Anthropic Messages"
DEFAULT_BASE = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
NO_SAMPLING_VERSION = "2026-10-21"  # rejects temperature, top_p, top_k (docs/protocols.md §3)
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def auth(target) -> Auth:
    return Auth("x-api-key", "{key}", target.api_key_env or "ANTHROPIC_API_KEY")


def version(target) -> str:
    return target.api_version or DEFAULT_VERSION


def _opus_without_temperature(model: str) -> bool:
    """Opus 4.7 and later reject temperature whatever the version (docs/protocols.md §3, [2nd])."""
    m = re.search(r"claude-opus-(\d+)(?:[-.](\d{1,2}))?(?!\d)", model)
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (4, 7)


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    ver = version(t)
    o = ctx.options
    body = {"model": t.model}
    if o.max_tokens is not None:
        body["max_tokens"] = o.max_tokens
    else:
        body["max_tokens"] = t.default_max_tokens
        ctx.note("max_tokens", f"max_tokens is required by Anthropic and was not set: the default {t.default_max_tokens} was applied.")
    system = system_texts(ctx, resolved, LABEL)
    if system:
        body["system"] = system[0] if len(system) == 1 else [{"type": "text", "text": s} for s in system]
    turns = []
    for mi, role, parts in resolved.messages:
        content = walk(ctx, mi, role, parts, _text, lambda p, mi, pi, role: _media(ctx, p, mi, pi, role, ver))
        turns.append((mi, role, content))
    body["messages"] = [{"role": role, "content": content} for role, content in merge_same_role(ctx, turns, "Anthropic")]

    if o.temperature is not None:
        if ver >= NO_SAMPLING_VERSION:
            ctx.note(
                "temperature",
                f"API version {ver} rejects temperature (even at its default): not sent. "
                f"Choose anthropic-version {DEFAULT_VERSION} to set it on models that still accept it.",
                "warning",
            )
        elif _opus_without_temperature(t.model):
            ctx.note("temperature", f"{t.model} rejects temperature (“deprecated for this model”): not sent.", "warning")
        else:
            value = check_temperature(ctx, o.temperature, 1.0, LABEL)
            if value is not None:
                body["temperature"] = value
    if o.json_schema is not None:
        body["output_config"] = {"format": {"type": "json_schema", "schema": o.json_schema}}
        dropped = (["the schema name"] if o.schema_name else []) + (["strict: false"] if not o.strict else [])
        if dropped:
            ctx.note(
                "response format",
                f"Anthropic's output format takes only the schema: {' and '.join(dropped)} not carried.",
                "warning" if not o.strict else "info",
            )

    url = (t.base_url or DEFAULT_BASE).rstrip("/") + "/v1/messages"
    a = auth(t)
    headers = {a.header: a.placeholder, "anthropic-version": ver, "content-type": "application/json"}
    return url, headers, body


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


def _media(ctx: Ctx, p: MediaPart, mi, pi, role, ver: str):
    w = where(mi, pi, role)
    mime = canonical_mime(p.mime_type)
    if p.kind in ("audio", "video"):
        fb = keyframes_fallback(p) if p.kind == "video" else None
        return ctx.refuse(mi, pi, p.kind, f"{LABEL} has no {p.kind} block.", fb, role)
    if p.kind == "image" and mime and mime not in IMAGE_TYPES:
        return ctx.refuse(mi, pi, "image", f"{LABEL} takes JPEG, PNG, GIF and WEBP images, not {mime}.", image_fallback(mime), role)
    if p.detail:
        ctx.note(w, f"Anthropic has no “detail” setting: “{p.detail}” not carried; the {p.kind} is sent as is.", "warning", mi, pi)
    if p.kind == "image":
        if p.animated:
            ctx.note(w, f"Animated image ({p.frame_count} frames): Anthropic uses the first frame only.", "warning", mi, pi)
        if p.delivery == "url":
            return {"type": "image", "source": {"type": "url", "url": p.url}}
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": bare(p)}}
    # pdf
    if mime and mime != "application/pdf":
        return ctx.refuse(mi, pi, "pdf", f"Only PDF documents are supported, not {mime}.", role=role)
    if role == "assistant" and ver >= NO_SAMPLING_VERSION:
        return ctx.refuse(mi, pi, "pdf", f"API version {ver} rejects document blocks in assistant turns.", role=role)
    if p.delivery == "url":
        return {"type": "document", "source": {"type": "url", "url": p.url}}
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": bare(p)}}
