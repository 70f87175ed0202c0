"""Prompt + variable values + target -> the exact request (pure functions, no I/O but file sizes).

    rendered = render(prompt, {"city": "Lyon", "photo": media_part}, Target("messages", "claude-…"))
    rendered.ok, rendered.refusals, rendered.notes, rendered.display(), rendered.body_bytes()
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from . import anthropic_messages, gemini, openai_chat, openai_responses
from ._common import Ctx, Resolved, payload_total, where
from .types import MediaPart, Problem, Prompt, RenderedRequest, Target, TextPart

__all__ = ["fill_variables", "placeholders", "resolve", "render", "render_all", "DIALECTS"]

DIALECTS = {
    "chat": openai_chat,
    "responses": openai_responses,
    "messages": anthropic_messages,
    "gemini": gemini,
}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def placeholders(text: str) -> list[str]:
    """Variable names used in ``text``, in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(text)))


def fill_variables(text: str, values: Mapping[str, object], where_: str = "text") -> tuple[str, list[Problem]]:
    """``{{ name }}`` (spaces optional) replaced by ``str(values[name])``. A missing value, or a
    media value used in text, is a Problem and the placeholder is left as written."""
    problems: list[Problem] = []
    reported: set[str] = set()

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in values or values[name] is None:
            if name not in reported:
                problems.append(Problem(where_, f"No value for variable {{{{{name}}}}}.", "error", name))
                reported.add(name)
            return m.group(0)
        value = values[name]
        if isinstance(value, MediaPart):
            if name not in reported:
                problems.append(Problem(where_, f"{{{{{name}}}}} is media: put it in a media slot, not in text.", "error", name))
                reported.add(name)
            return m.group(0)
        return str(value)

    return _PLACEHOLDER.sub(sub, text), problems


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _resolve_media(slot: MediaPart, values, where_: str, problems: list[Problem]) -> MediaPart | None:
    value = values.get(slot.variable)
    if value is None:
        problems.append(Problem(where_, f"No media given for the {slot.kind} slot {{{{{slot.variable}}}}}.", "error", slot.variable))
        return None
    if not isinstance(value, MediaPart) or value.is_slot:
        problems.append(Problem(where_, f"{{{{{slot.variable}}}}} must be {_a(slot.kind)}, not text.", "error", slot.variable))
        return None
    if value.kind != slot.kind:
        problems.append(
            Problem(where_, f"{{{{{slot.variable}}}}} is {_a(slot.kind)} slot but was given {_a(value.kind)}.", "error", slot.variable)
        )
        return None
    if value.detail is None and slot.detail is not None:
        value = dataclasses.replace(value, detail=slot.detail)
    return value


def resolve(prompt: Prompt, values: Mapping[str, object] | None = None) -> tuple[Resolved, list[Problem]]:
    """Fill text variables and media slots. Unfilled media slots are left out (with an error)."""
    values = dict(values or {})
    problems: list[Problem] = []
    used: set[str] = set()

    def parts_of(parts, mi, role):
        out = []
        for pi, part in enumerate(parts):
            w = where(mi, pi, role)
            if isinstance(part, TextPart):
                used.update(placeholders(part.text))
                text, found = fill_variables(part.text, values, w)
                problems.extend(found)
                out.append((pi, TextPart(text)))
            elif part.is_slot:
                used.add(part.variable)
                value = _resolve_media(part, values, w, problems)
                if value is not None:
                    out.append((pi, value))
            else:
                out.append((pi, part))
        return out

    system = parts_of(prompt.system_parts, None, None)
    messages = []
    for mi, m in enumerate(prompt.messages):
        parts = parts_of(m.parts, mi, m.role)
        if not m.parts:
            problems.append(Problem(where(mi, None, m.role), "This message is empty."))
        messages.append((mi, m.role, parts))
    if not prompt.messages:
        problems.append(Problem("messages", "The prompt has no messages."))
    for name in sorted(set(values) - used):
        problems.append(Problem("values", f"A value was given for {{{{{name}}}}}, which the prompt does not use.", "warning", name))
    return Resolved(system, messages), problems


def _check_options(options) -> list[Problem]:
    problems = []
    mt = options.max_tokens
    if mt is not None and (isinstance(mt, bool) or not isinstance(mt, int) or mt < 1):
        problems.append(Problem("max_tokens", f"max_tokens must be a whole number of at least 1, not {mt!r}."))
    t = options.temperature
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
        problems.append(Problem("temperature", f"temperature must be a number, not {t!r}."))
    if options.json_schema is not None and not isinstance(options.json_schema, dict):
        problems.append(Problem("response format", "The JSON schema must be an object."))
    if options.schema_name is not None and not _SCHEMA_NAME.match(options.schema_name):
        problems.append(Problem("response format", "The schema name may use only letters, digits, _ and -, up to 64."))
    return problems


def render(prompt: Prompt, values: Mapping[str, object] | None, target: Target) -> RenderedRequest:
    """The request ``target`` would receive. Never raises for a user mistake or a part the
    protocol cannot carry: those are ``problems`` and ``refusals`` (then ``ok`` is False, and the
    body still shows everything else, refused parts marked)."""
    resolved, problems = resolve(prompt, values)
    option_problems = _check_options(prompt.options)
    problems.extend(option_problems)
    options = prompt.options
    if option_problems:  # leave the bad settings out of the body
        bad = {p.where for p in option_problems}
        options = dataclasses.replace(
            options,
            max_tokens=None if "max_tokens" in bad else options.max_tokens,
            temperature=None if "temperature" in bad else options.temperature,
            json_schema=None if "response format" in bad else options.json_schema,
        )
    ctx = Ctx(target, options)
    ctx.problems = problems
    if target.gateway and target.protocol != "chat":
        ctx.note("target", "The gateway flag applies to Chat Completions only; ignored for this protocol.")
    dialect = DIALECTS[target.protocol]
    url, headers, body = dialect.build(ctx, resolved)
    _size_checks(ctx, body)
    return RenderedRequest(
        protocol=target.protocol,
        target=target,
        url=url,
        method="POST",
        headers=headers,
        auth=dialect.auth(target),
        body=body,
        notes=ctx.notes,
        refusals=ctx.refusals,
        problems=ctx.problems,
        sent=ctx.sent,
    )


def render_all(prompt: Prompt, values: Mapping[str, object] | None, targets) -> list[RenderedRequest]:
    """One rendering per target, for the side-by-side preview."""
    return [render(prompt, values, t) for t in targets]


_MB = 1_000_000


def _size_checks(ctx: Ctx, body) -> None:
    """Limits checked before sending (docs/protocols.md §8.14). Documented hard caps refuse; the
    softer or less certain ones warn."""
    total, sizes = payload_total(body)
    p = ctx.target.protocol
    if p == "messages":
        if total > 32 * _MB:
            ctx.refuse_setting("request size", f"The media add up to {total / _MB:.1f} MB of base64; Anthropic takes at most 32 MB per request (413).")
        big = [s for s in sizes if s > 5 * _MB]
        if big:
            ctx.note("request size", f"{len(big)} media file(s) over 5 MB of base64, Anthropic's safe per-image cap (10 MB on the direct API).", "warning")
        images = [s.media for s in ctx.sent if s.media is not None and s.media.kind == "image"]
        if len(images) > 20 and any((m.width or 0) > 2000 or (m.height or 0) > 2000 for m in images):
            ctx.note("images", "More than 20 images: Anthropic then requires each to be at most 2000×2000 px.", "warning")
    elif p == "gemini" and total > 20 * _MB:
        ctx.note(
            "request size",
            f"{total / _MB:.1f} MB of inline data: over Gemini's long-standing 20 MB cap (100 MB since 2026-01, by type).",
            "warning",
        )
    elif p in ("chat", "responses"):
        if any(s > 20 * _MB for s in sizes):
            ctx.note("request size", "A file is over 20 MB of base64 (OpenAI's older per-image limit).", "warning")
        if total > 50 * _MB:
            ctx.note("request size", f"{total / _MB:.1f} MB of media: over OpenAI's 50 MB per request for images.", "warning")
