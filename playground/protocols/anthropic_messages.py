"""Anthropic Messages (docs/protocols.md §3). Named ``anthropic_messages`` so it can never be mistaken
for the ``anthropic`` SDK package."""

from __future__ import annotations

import re

from . import urls
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
# The anthropic-version a body is rendered for when the target names none (docs/protocols.md §3,
# "API versions"). Prism's choice: 2023-06-01, the version under which every setting Prism offers
# is sent as set. 2026-10-21 (the 2.x SDK's default) adds no request field Prism uses; what it
# changes for Prism's bodies are removals: temperature (and top_p, top_k) is a 400 even at its
# default, and a document block in an assistant turn is a 400 [docs versions]. Both are rendered
# correctly (the temperature left out with a note, the assistant PDF refused); a provider chooses
# 2026-10-21 in its settings, and the catalog's Anthropic preset pins 2023-06-01 too. Anthropic
# "recommends using the latest API version whenever possible": when 2023-06-01 is retired, change
# this one constant.
DEFAULT_VERSION = "2023-06-01"
NO_SAMPLING_VERSION = "2026-10-21"  # rejects temperature, top_p, top_k (docs/protocols.md §3)
VERSIONS = ("2023-06-01", "2026-10-21")  # the ones Anthropic documents for the Messages API [docs versions]
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def auth(target) -> Auth:
    return Auth("x-api-key", "{key}", target.api_key_env or "ANTHROPIC_API_KEY")


def version(target) -> str:
    """The anthropic-version header ``target``'s body is rendered for (the column names it)."""
    return target.api_version or DEFAULT_VERSION


def takes_sampling(ver: str) -> bool:
    """Whether ``ver`` still takes temperature (2023-06-01 and earlier; docs/protocols.md §3)."""
    return ver < NO_SAMPLING_VERSION


def version_summary(ver: str) -> str:
    """What a body for ``ver`` may carry that the other version's may not, in words (for the column)."""
    if takes_sampling(ver):
        return f"anthropic-version {ver}: takes temperature (on models that still accept it)"
    return f"anthropic-version {ver}: no temperature, and no PDFs in assistant turns"


def _opus_without_temperature(model: str) -> bool:
    """Opus 4.7 and later reject temperature whatever the version (docs/protocols.md §3, [2nd])."""
    m = re.search(r"claude-opus-(\d+)(?:[-.](\d{1,2}))?(?!\d)", model)
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (4, 7)


def url_problem(t, p: MediaPart) -> str | None:
    """Anthropic's own API takes images and PDFs by URL (``source.type: "url"``) [docs vision, docs
    PDF support] (docs/protocols.md §3, §8.3). Audio and video have no block: refused by kind."""
    return urls.not_web(LABEL, p)  # gs:// and the like are Gemini's


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    ver = version(t)
    resolved = urls.prepare(ctx, resolved, url_problem)  # inline-only targets: the stored copy, inline
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

    if ver not in VERSIONS:
        ctx.note(
            "anthropic-version",
            f"anthropic-version {ver} is not one Anthropic documents ({', '.join(VERSIONS)}): the API may refuse "
            f"the request. The body follows the rules of {'2023-06-01' if takes_sampling(ver) else NO_SAMPLING_VERSION}.",
            "warning",
        )
    if o.temperature is not None:
        # At 1 (the default) leaving it out changes nothing: a note, not a warning.
        level = "info" if o.temperature == 1 else "warning"
        if not takes_sampling(ver):
            ctx.note(
                "temperature",
                f"API version {ver} rejects temperature (even at its default): not sent. "
                f"Choose anthropic-version {DEFAULT_VERSION} to set it on models that still accept it.",
                level,
            )
        elif _opus_without_temperature(t.model):
            ctx.note("temperature", f"{t.model} rejects temperature (“deprecated for this model”): not sent.", level)
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
    if p.delivery == "url" and (why := url_problem(ctx.target, p)) is not None:
        return urls.refuse(ctx, p, mi, pi, role, why)  # no copy to send instead (urls.prepare)
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
    if role == "assistant" and ver >= NO_SAMPLING_VERSION:  # docs/protocols.md §3, API versions
        return ctx.refuse(
            mi,
            pi,
            "pdf",
            f"API version {ver} rejects document blocks in assistant turns: move the PDF to a user message, "
            f"or choose anthropic-version {DEFAULT_VERSION}.",
            role=role,
        )
    if p.delivery == "url":
        return {"type": "document", "source": {"type": "url", "url": p.url}}
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": bare(p)}}
