"""Media sent "by URL": the URL goes where the target can fetch it; elsewhere the part is inlined
from the copy Prism stored, with a note, or refused with the reason. Never dropped silently
(docs/protocols.md §8 preamble, §8.3).

A URL :class:`MediaPart` may carry a ``payload`` as well: the copy Prism stored when the item was
added with "Fetch and store a copy" (``prompts/library_source.py``). Each dialect names, in its
``url_problem(target, part)``, why its protocol cannot take a part by URL (or None when it can);

* :func:`prepare`, called at the start of each dialect's ``build``, turns every URL part the
  target cannot take into the inline copy, with a note on the part, before any check or
  conversion sees it (so the size and count checks measure what is really sent);
* :func:`refuse`, called by the dialect when it meets a URL part it still cannot take (Prism holds
  only the URL), refuses it with the reason and what to do. There is no Fallback for it: the one
  way to send the bytes is a stored copy, which only adding the item again can make (Prism does
  not download media while it renders).

A target set up to take media inline only (``Target.accepts_urls`` False) has its URL parts
inlined the same way when there is a copy; without one, limits.py refuses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ._common import CARRIED, Ctx, Resolved, carries, part_name, where
from .turns import RULES
from .types import MediaPart, Omitted, Target

__all__ = ["CARRIED", "GEMINI_FILES_PREFIX", "UrlProblem", "carries", "has_copy", "not_web", "prepare", "refuse"]

# (target, part) -> why this protocol cannot be sent the part by its URL, or None when it can.
UrlProblem = Callable[[Target, MediaPart], "str | None"]


GEMINI_FILES_PREFIX = "https://generativelanguage.googleapis.com/"  # + v1beta/files/...: Gemini's Files API


def not_web(label: str, part: MediaPart) -> str | None:
    """For the protocols that fetch web URLs only: why a ``gs://`` (Gemini's Cloud Storage) or other
    non-HTTP URL cannot go, or a Gemini Files API URI (an ID scoped to Google's API, docs/protocols.md
    §8.8), or None."""
    url = part.url or ""
    if url.startswith(GEMINI_FILES_PREFIX) and "/files/" in url:
        return f"A Gemini Files API URI means nothing to {label}: only Gemini can read it."
    if url.lower().startswith(("https://", "http://")):
        return None
    scheme = url.split(":", 1)[0]
    return f"{label} fetches web (https://) URLs only, not {scheme}: URIs."


def has_copy(part: MediaPart) -> bool:
    """A URL part with the bytes Prism stored beside it (it can go inline instead)."""
    return part.delivery == "url" and part.payload is not None


def _inline_copy(part: MediaPart) -> MediaPart:
    return dataclasses.replace(part, delivery="inline", url=None)


def prepare(ctx: Ctx, resolved: Resolved, url_problem: UrlProblem) -> Resolved:
    """``resolved`` with each URL part the target cannot take replaced by its stored copy, with a
    warning note on the part saying so and why. Parts refused whatever their delivery (a kind the
    protocol or the model does not take, media in a role that cannot carry it) are left as they are,
    for that refusal to name."""
    t = ctx.target
    media_roles = RULES[t.protocol].media_roles
    messages = []
    for mi, role, parts in resolved.messages:
        out = []
        for pi, part in parts:
            if (
                isinstance(part, MediaPart)
                and has_copy(part)
                and role in media_roles
                and carries(t, part.kind)
                and (t.inputs is None or part.kind in t.inputs)
            ):
                why = _inline_only(t) if not t.accepts_urls else url_problem(t, part)
                if why is not None:
                    ctx.note(
                        where(mi, pi, role),
                        f"{part_name(part)} sent inline, from the copy Prism stored when it was added, "
                        f"not by its URL: {why}",
                        # A warning: the copy is the bytes of the day it was added, which a target
                        # fetching the URL may no longer see.
                        "warning",
                        mi,
                        pi,
                    )
                    part = _inline_copy(part)
            out.append((pi, part))
        messages.append((mi, role, out))
    return Resolved(resolved.system, messages)


def _inline_only(t: Target) -> str:
    return f"{t.label or t.model} is set up to take media inline only (its “Accepts media URLs” setting is off)."


def refuse(ctx: Ctx, part: MediaPart, mi, pi, role, why: str) -> Omitted:
    """Refuse a URL part the target cannot fetch and Prism holds no copy of."""
    return ctx.refuse(
        mi,
        pi,
        part.kind,
        f"{why} Prism keeps only the URL of {part_name(part)}, so it cannot send the bytes instead: add it to "
        "the library again with “Fetch and store a copy”, or send it to a target that takes it by URL.",
        None,
        role,
    )
