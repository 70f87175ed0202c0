"""Documented size and count limits per protocol (docs/protocols.md §8.14 and §9), checked over the
whole request once it is built (:func:`check_request`). Documented hard caps refuse; softer or
less certain ones warn. Per-part limits (dimensions, per-file size) belong in a ``check_part``
here, added to render's ``ctx.part_checks``, as turns.check_part is."""

from __future__ import annotations

from ._common import Ctx, payload_total

__all__ = ["check_request"]


_MB = 1_000_000


def check_request(ctx: Ctx, body) -> None:
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
