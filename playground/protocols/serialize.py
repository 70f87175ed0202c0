"""Body trees to the exact bytes sent, and to the form shown in the preview.

A body is a tree of dicts, lists and JSON scalars whose base64 leaves are :class:`Base64Slot`
objects (a :class:`Payload` by reference, and the prefix before it), or :class:`Omitted` where a
part was refused. The canonical exact form is

    json.dumps(materialize(body), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

with keys in insertion order (the dialect modules build them in a fixed order).

Why splicing: a request with eight 3 MB images is ~35 MB of base64, and ``json.dumps`` scans every
character of every string for escapes (~0.2 GB/s). Base64 text never needs escaping, so we encode
only the small skeleton, with each slot replaced by a unique sentinel string, and then copy the
pieces around the sentinels and the base64 files (already cached on disk) straight into the
output: a memory copy, several GB/s. ``iter_body`` streams the same bytes without holding them.

The display form is the same JSON pretty-printed (indent 2) with each slot shown as a short string
like ``"data:image/png;base64,<base64 PNG, 1.2 MB>"``: identical keys, order and values; only the
whitespace and the elided base64 differ. :func:`display_data` shows plain JSON (a body as it was
stored, a provider's answer) the same way, and :func:`describe_base64` is the short string itself,
so every page that shows base64 labels it alike.

The leaf types are defined here, not in :mod:`.types` (which imports them from here): they are
what this module reads, and ``types.RenderedRequest`` calls this module, so the import runs one way.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Base64Slot",
    "Omitted",
    "Payload",
    "body_bytes",
    "body_size",
    "describe_base64",
    "describe_payload",
    "display_data",
    "display_json",
    "iter_body",
    "materialize",
]


# --- media bytes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """Base64 text of one file, by reference: ``path`` to a file holding exactly the base64 text
    (e.g. ``StoredFile.base64_path()``), or ``text`` in memory (tests, small generated files).
    It is read only when the exact bytes are produced."""

    mime_type: str
    raw_size: int
    path: Path | None = None
    text: str | None = None

    def __post_init__(self):
        if (self.path is None) == (self.text is None):
            raise ValueError("A Payload needs exactly one of path or text.")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str) -> Payload:
        return cls(mime_type=mime_type, raw_size=len(data), text=base64.b64encode(data).decode("ascii"))

    @property
    def b64_size(self) -> int:
        """Length of the base64 text in bytes (what a request carries)."""
        if self.text is not None:
            return len(self.text)
        return os.stat(self.path).st_size

    def read(self) -> bytes:
        if self.text is not None:
            return self.text.encode("ascii")
        with open(self.path, "rb") as f:
            return f.read()

    def readinto(self, view: memoryview) -> None:
        """Fill ``view`` (exactly ``b64_size`` bytes) with the base64 text: one copy, no temporary."""
        if self.text is not None:
            view[:] = self.text.encode("ascii")
            return
        with open(self.path, "rb", buffering=0) as f:
            done = 0
            while done < len(view):
                n = f.readinto(view[done:])
                if not n:
                    raise OSError(f"{self.path} is shorter than when it was measured.")
                done += n

    def iter_chunks(self, chunk: int) -> Iterator[bytes]:
        if self.text is not None:
            data = self.text.encode("ascii")
            for i in range(0, len(data), chunk):
                yield data[i : i + chunk]
            return
        with open(self.path, "rb") as f:
            while block := f.read(chunk):
                yield block


@dataclass(frozen=True)
class Base64Slot:
    """A body leaf standing for the JSON string ``prefix + <base64 of payload>``.
    ``prefix`` is ``"data:image/png;base64,"`` for data URLs and ``""`` for bare base64."""

    payload: Payload
    prefix: str = ""


@dataclass(frozen=True)
class Omitted:
    """A body leaf where a part was refused: shown in the display form, never sent."""

    reason: str


# --- exact bytes -----------------------------------------------------------------------------------


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


def _label(mime: str | None) -> str:
    if mime is None:
        return "data"
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


def describe_base64(mime_type: str | None, b64_size: int) -> str:
    """``<base64 PNG, 1.2 MB>``: the format (``data`` when it is not known) and the size of the
    base64 text. What every page shows in place of base64."""
    return f"<base64 {_label(mime_type)}, {_size(b64_size)}>"


def describe_payload(payload: Payload) -> str:
    return describe_base64(payload.mime_type, payload.b64_size)


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


# Base64 in plain JSON data: a data URL, or a long run of base64 characters (its format named by a
# key beside it, as the protocols name it: mime_type, mimeType, media_type).
_DATA_URL = re.compile(r"^(data:([^;,]+)(?:;[^;,]*)*;base64,)(.{256,})$", re.S)
_BARE_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]{256,}$")


def _elide_plain(value, mime: str | None = None):
    if isinstance(value, dict):
        here = value.get("mime_type") or value.get("mimeType") or value.get("media_type") or mime
        return {k: _elide_plain(v, here if isinstance(here, str) else None) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide_plain(v, mime) for v in value]
    if isinstance(value, str) and len(value) >= 256:
        if m := _DATA_URL.match(value):
            return m.group(1) + describe_base64(m.group(2), len(m.group(3)))
        if _BARE_BASE64.match(value):
            return describe_base64(mime, len(value))
    return value


def display_data(data) -> str:
    """Plain JSON data (a body as it was stored, a provider's answer) shown as the preview shows a
    body: indented, each base64 string (256 characters or more) replaced by :func:`describe_base64`."""
    return json.dumps(_elide_plain(data), ensure_ascii=False, indent=2)
