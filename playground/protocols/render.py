"""Prompt + variable values + target -> the exact request (pure functions, no I/O but file sizes).

    rendered = render(prompt, {"city": "Lyon", "photo": media_part}, Target("messages", "claude-…"))
    rendered.ok, rendered.refusals, rendered.notes, rendered.display(), rendered.body_bytes()
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from . import anthropic_messages, gemini, limits, openai_chat, openai_responses, turns
from ._common import Ctx, Resolved, where
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
        if value == "" and name not in reported:  # sent as nothing: fine, but never unseen
            problems.append(Problem(where_, f"{{{{{name}}}}} is empty: it is sent as nothing.", "warning", name))
            reported.add(name)
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
    resolved = turns.check(ctx, resolved)  # the rules on turns: order, empty turns, what a conversation ends with
    lim = limits.Limits(resolved)  # counts what the request will carry (images, PDF pages, audio)
    ctx.part_checks = (turns.check_part, lim.check_part)  # per part, before it is built
    url, headers, body = dialect.build(ctx, resolved)
    lim.check_request(ctx, body)  # sizes and counts over the whole request
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
