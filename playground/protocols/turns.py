"""The documented rules on turns, per protocol (docs/protocols.md §9): what order turns may come
in, which turns may be empty, what a conversation may end with, which part kinds each role may
carry. :func:`check` runs on the resolved prompt before a dialect builds its body;
:func:`check_part` per media part, asked by ``_common.walk``."""

from __future__ import annotations

from ._common import Ctx, Resolved
from .types import MediaPart, Omitted

__all__ = ["check", "check_part"]


def check(ctx: Ctx, resolved: Resolved) -> Resolved:
    """The resolved prompt as the dialect should build it (turns left out or changed, each with a
    note or refusal on ``ctx``)."""
    return resolved


def check_part(ctx: Ctx, part: MediaPart, mi: int | None, pi: int, role: str) -> Omitted | None:
    """A refusal (``ctx.refuse``) if ``role`` may not carry this part in the protocol, else None."""
    return None
