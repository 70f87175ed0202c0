"""OpenAI Responses (docs/protocols.md §2)."""

from __future__ import annotations

from . import urls
from ._common import (
    Ctx,
    Resolved,
    canonical_mime,
    check_temperature,
    data_url,
    keyframes_fallback,
    schema_name,
    system_texts,
    walk,
    where,
)
from .openai_chat import DEFAULT_BASE, auth, refuse_unsupported_image
from .types import MediaPart

LABEL = "OpenAI Responses"


def url_problem(t, p: MediaPart) -> str | None:
    """Responses takes every part it carries by URL: ``input_image.image_url`` is "a fully qualified
    URL or base64 encoded image in a data URL", ``input_file.file_url`` a file's URL [SDK
    response_input_image_param.py, response_input_file_param.py] (docs/protocols.md §2, §8.3).
    Audio and video have no input at all: refused by kind, not here."""
    return urls.not_web(LABEL, p)  # gs:// and the like are Gemini's


def build(ctx: Ctx, resolved: Resolved):
    t = ctx.target
    body = {"model": t.model}
    resolved = urls.prepare(ctx, resolved, url_problem)  # inline-only targets: the stored copy, inline
    system = system_texts(ctx, resolved, LABEL)
    if system:
        if len(system) > 1:
            ctx.note("system", f"{len(system)} system texts joined with blank lines: “instructions” is one string.")
        body["instructions"] = "\n\n".join(system)
    items = []
    for mi, role, parts in resolved.messages:
        content = walk(ctx, mi, role, parts, _text, lambda p, mi, pi, role: _media(ctx, p, mi, pi, role))
        if role == "assistant":
            content = _assistant_text(ctx, mi, content)
        items.append({"role": role, "content": content})
    body["input"] = items

    o = ctx.options
    if o.max_tokens is not None:
        body["max_output_tokens"] = o.max_tokens
    if o.temperature is not None:
        value = check_temperature(ctx, o.temperature, 2.0, LABEL)
        if value is not None:
            body["temperature"] = value
    if o.json_schema is not None:
        body["text"] = {
            "format": {"type": "json_schema", "name": schema_name(ctx, o), "schema": o.json_schema, "strict": o.strict}
        }
    url = (t.base_url or DEFAULT_BASE).rstrip("/") + "/responses"
    a = auth(t)
    return url, {a.header: a.placeholder, "Content-Type": "application/json"}, body


def _text(text: str) -> dict:
    return {"type": "input_text", "text": text}


def _assistant_text(ctx: Ctx, mi: int, content: list):
    """Earlier assistant turns go as a plain string: a content list there must use output_text
    items, which need ids from a real response. Refused media stays visible as Omitted."""
    texts = [c["text"] for c in content if isinstance(c, dict)]
    if len(content) != len(texts):
        return content  # has refusals: the request is not sendable, show what was refused
    if len(texts) > 1:
        ctx.note(where(mi, None, "assistant"), f"{len(texts)} text parts joined with blank lines into one assistant string.", mi=mi)
    return "\n\n".join(texts)


def _media(ctx: Ctx, p: MediaPart, mi, pi, role):
    w = where(mi, pi, role)
    mime = canonical_mime(p.mime_type)
    # Media in an assistant turn is refused before this, by turns.check_part (docs/protocols.md §9.2, §9.3).
    if p.delivery == "url" and urls.carries(ctx.target, p.kind) and (why := url_problem(ctx.target, p)) is not None:
        return urls.refuse(ctx, p, mi, pi, role, why)  # no copy to send instead (urls.prepare)
    if p.kind == "image":
        if (refused := refuse_unsupported_image(ctx, p, mi, pi, role, LABEL)) is not None:
            return refused
        if not p.detail:
            ctx.note(w, "No detail set: “auto” sent (Responses requires the field; auto is its default).", mi=mi, pi=pi)
        return {
            "type": "input_image",
            "image_url": p.url if p.delivery == "url" else data_url(p),
            "detail": p.detail or "auto",
        }
    if p.kind == "audio":
        return ctx.refuse(mi, pi, "audio", f"{LABEL} has no audio input (its content parts are text, image and file).", role=role)
    if p.kind == "video":
        return ctx.refuse(mi, pi, "video", f"{LABEL} has no video input.", keyframes_fallback(p), role)
    # pdf
    if mime and mime != "application/pdf":
        return ctx.refuse(mi, pi, "pdf", f"Only PDF documents are supported, not {mime}.", role=role)
    part = {"type": "input_file"}
    if p.delivery == "url":
        part["file_url"] = p.url
    else:
        part["filename"] = p.name or "document.pdf"
        if not p.name:
            ctx.note(w, "The PDF has no name: sent as “document.pdf”.", mi=mi, pi=pi)
        part["file_data"] = data_url(p)
    if p.detail in ("auto", "low", "high"):
        part["detail"] = p.detail
    elif p.detail:
        ctx.note(w, f"input_file takes detail auto, low or high, not “{p.detail}”: not carried.", "warning", mi, pi)
    return part
