"""Body trees to the exact bytes sent, and to the form shown in the preview.

A body is a tree of dicts, lists and JSON scalars whose base64 leaves are :class:`Base64Slot`
objects. The canonical exact form is

    json.dumps(materialize(body), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

with keys in insertion order (the dialect modules build them in a fixed order).

Why splicing: a request with eight 3 MB images is ~35 MB of base64, and ``json.dumps`` scans every
character of every string for escapes (~0.2 GB/s). Base64 text never needs escaping, so we encode
only the small skeleton, with each slot replaced by a unique sentinel string, and then copy the
pieces around the sentinels and the base64 files (already cached on disk) straight into the
output: a memory copy, several GB/s. ``iter_body`` streams the same bytes without holding them.

The display form is the same JSON pretty-printed (indent 2) with each slot shown as a short string
like ``"data:image/png;base64,<base64 PNG, 1.2 MB>"``: identical keys, order and values; only the
whitespace and the elided base64 differ.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Iterator

from .types import Base64Slot, Omitted, Payload

__all__ = ["body_bytes", "iter_body", "body_size", "display_json", "materialize", "describe_payload"]


def _skeleton(body, slots: list[Base64Slot], token: str):
    """A copy of ``body`` with every slot replaced by ``"<token>:<index>"``."""
    if isinstance(body, dict):
        return {k: _skeleton(v, slots, token) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [_skeleton(v, slots, token) for v in body]
    if isinstance(body, Base64Slot):
        slots.append(body)
        return f"{token}:{len(slots) - 1}"
    if isinstance(body, Omitted):
        raise ValueError(f"This body has a refused part and cannot be sent ({body.reason}).")
    return body


def _plan(body) -> list:
    """The output as a list of bytes pieces and (payload) references, in order."""
    slots: list[Base64Slot] = []
    # A fresh random token: it cannot occur in user text by chance, and it needs no JSON escaping.
    token = "b64-slot-" + uuid.uuid4().hex
    text = json.dumps(_skeleton(body, slots, token), ensure_ascii=False, separators=(",", ":"))
    if not slots:
        return [text.encode("utf-8")]
    pieces: list = []
    pos = 0
    for m in re.finditer(token + r":(\d+)", text):
        slot = slots[int(m.group(1))]
        prefix = json.dumps(slot.prefix, ensure_ascii=False)[1:-1]
        pieces.append((text[pos : m.start()] + prefix).encode("utf-8"))
        pieces.append(slot.payload)
        pos = m.end()
    pieces.append(text[pos:].encode("utf-8"))
    return pieces


def body_bytes(body) -> bytes:
    """The exact request body."""
    pieces = _plan(body)
    sizes = [len(p) if isinstance(p, bytes) else p.b64_size for p in pieces]
    total = sum(sizes)
    # One buffer of the final size, filled in place (files read straight into it), handed back
    # without a copy by getvalue(): twice as fast as reading each file and joining.
    out = io.BytesIO()
    if total:
        out.seek(total - 1)
        out.write(b"\0")
    view = out.getbuffer()
    pos = 0
    try:
        for piece, size in zip(pieces, sizes, strict=True):
            if isinstance(piece, bytes):
                view[pos : pos + size] = piece
            else:
                piece.readinto(view[pos : pos + size])
            pos += size
    finally:
        view.release()
    return out.getvalue()


def iter_body(body, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The exact request body in pieces of at most ``chunk`` bytes of base64 (for streaming
    uploads, e.g. ``httpx.post(..., content=iter_body(body))``). Concatenated, equal to
    :func:`body_bytes`."""
    for p in _plan(body):
        if isinstance(p, bytes):
            if p:
                yield p
        else:
            yield from p.iter_chunks(chunk)


def body_size(body) -> int:
    """Length of :func:`body_bytes` without reading any base64 (for Content-Length and limits)."""
    return sum(len(p) if isinstance(p, bytes) else p.b64_size for p in _plan(body))


def materialize(body):
    """The body as plain JSON data, base64 strings included (tests, SDK checks; slow on big media)."""
    if isinstance(body, dict):
        return {k: materialize(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [materialize(v) for v in body]
    if isinstance(body, Base64Slot):
        return body.prefix + body.payload.read().decode("ascii")
    if isinstance(body, Omitted):
        raise ValueError(f"This body has a refused part and cannot be sent ({body.reason}).")
    return body


# --- display ---------------------------------------------------------------------------------------

_LABELS = {
    "audio/mpeg": "MP3",
    "audio/mp3": "MP3",
    "audio/x-wav": "WAV",
    "audio/wave": "WAV",
    "audio/vnd.wave": "WAV",
    "video/quicktime": "MOV",
    "image/svg+xml": "SVG",
    "audio/x-m4a": "M4A",
    "audio/mp4": "M4A",
}


def _label(mime: str) -> str:
    mime = mime.lower()
    if mime in _LABELS:
        return _LABELS[mime]
    sub = mime.partition("/")[2] or mime or "data"
    return sub.removeprefix("x-").upper()


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}"
    raise AssertionError


def describe_payload(payload: Payload) -> str:
    """``<base64 PNG, 1.2 MB>``: the format and the size of the base64 text."""
    return f"<base64 {_label(payload.mime_type)}, {_size(payload.b64_size)}>"


def _display_tree(body):
    if isinstance(body, dict):
        return {k: _display_tree(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [_display_tree(v) for v in body]
    if isinstance(body, Base64Slot):
        return body.prefix + describe_payload(body.payload)
    if isinstance(body, Omitted):
        return f"<not sent: {body.reason}>"
    return body


def display_json(body) -> str:
    """The body as shown in the preview: indented JSON, base64 elided, refused parts marked."""
    return json.dumps(_display_tree(body), ensure_ascii=False, indent=2)
