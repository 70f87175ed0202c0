"""Exact request bodies, stored once by content, media by reference.

    body = store_body(rendered.body)          # a RequestBody; the same bytes twice are one row
    b"".join(iter_bytes(body)) == rendered.body_bytes()
    request = StoredRequest.for_result(result) # what the engine hands to providers.send()

A rendered body is a tree whose base64 leaves are ``Base64Slot``\\ s pointing at the ``.b64`` file
kept beside a stored file (``StoredFile.base64_path()``). We keep:

* ``pieces``: the exact bytes as a list of JSON text strings and ``{"$b64": sha256, "size": n}``
  references to the stored file whose base64 text goes there. Concatenated (the files' text
  spliced in), they are byte for byte what was sent: the canonical form of
  ``protocols.serialize`` (``separators=(",", ":")``, ``ensure_ascii=False``, keys in the dialect's
  order). A list of strings survives PostgreSQL's jsonb unchanged; an object's key order would not.
* ``sha256`` of the exact bytes as the key, so a re-run of the same prompt on the same model
  stores nothing new, and a re-sent request is provably the same bytes.

A run with ten 3 MB photos therefore costs a few hundred bytes per result here, not 40 MB, and
the photos are the very files (originals or variants) the library keeps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction

from playground.protocols import Auth, Base64Slot, Omitted, Payload
from playground.protocols.render import DIALECTS
from playground.runs.models import RequestBody, RequestBodyFile, Result
from playground.uploads.models import StoredFile

__all__ = ["BodyError", "StoredRequest", "body_bytes", "iter_bytes", "store_body"]

CHUNK = 1 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BodyError(Exception):
    """A body that cannot be stored (a refused part) or rebuilt (a stored file is missing)."""


# --- storing ---------------------------------------------------------------------------------------


def _stored_file_for(payload: Payload) -> StoredFile:
    """The StoredFile whose base64 text is ``payload``'s.

    Library media and variants point at ``<media>/blobs/ab/cd/<sha256>.b64``: the name is the
    reference. A payload held in memory (an import, a test) is stored first, by content."""
    if payload.path is not None:
        name = Path(payload.path).name
        sha = name.removesuffix(".b64")
        if name.endswith(".b64") and _SHA.match(sha):
            stored = StoredFile.objects.filter(pk=sha).first()
            if stored is not None:
                return stored
        data = base64.b64decode(Path(payload.path).read_bytes(), validate=True)
    else:
        try:
            data = base64.b64decode(payload.text, validate=True)
        except (binascii.Error, ValueError):
            raise BodyError("A media payload is not valid base64.") from None
    from playground.uploads.services import store_bytes

    return store_bytes(data, payload.mime_type)


def _plan(body) -> tuple[list, list[StoredFile]]:
    """(pieces, files) for a rendered body tree."""
    slots: list[Base64Slot] = []
    token = "b64-slot-" + uuid.uuid4().hex  # random: never in user text, needs no JSON escaping

    def mark(node):
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [mark(v) for v in node]
        if isinstance(node, Base64Slot):
            slots.append(node)
            return f"{token}:{len(slots) - 1}"
        if isinstance(node, Omitted):
            raise BodyError(f"This body has a refused part and cannot be sent ({node.reason}).")
        return node

    marked = mark(body)
    text = json.dumps(marked, ensure_ascii=False, separators=(",", ":"))
    files = [_stored_file_for(slot.payload) for slot in slots]
    pieces: list = []
    pos = 0
    for m in re.finditer(re.escape(token) + r":(\d+)", text):
        i = int(m.group(1))
        prefix = json.dumps(slots[i].prefix, ensure_ascii=False)[1:-1]
        pieces.append(text[pos : m.start()] + prefix)
        pieces.append({"$b64": files[i].sha256, "size": slots[i].payload.b64_size})
        pos = m.end()
    pieces.append(text[pos:])
    pieces = [p for p in pieces if p != ""]

    return pieces, files


def _digest(pieces: list) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in _iter_pieces(pieces):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def store_body(body) -> RequestBody:
    """Store the exact bytes of a rendered body tree (``RenderedRequest.body``) once by content.

    Reads each media file's base64 once, to hash the exact bytes."""
    pieces, files = _plan(body)
    sha, size = _digest(pieces)
    existing = RequestBody.objects.filter(pk=sha).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            stored = RequestBody.objects.create(sha256=sha, size=size, pieces=pieces)
            RequestBodyFile.objects.bulk_create(
                [RequestBodyFile(body=stored, file=f) for f in {f.sha256: f for f in files}.values()]
            )
    except IntegrityError:  # the same body stored at the same moment by someone else
        return RequestBody.objects.get(pk=sha)
    return stored


# --- rebuilding ------------------------------------------------------------------------------------


def _b64_path(sha: str) -> Path:
    stored = StoredFile(sha256=sha)  # the path depends on the sha only; no query needed
    try:
        return stored.base64_path()  # kept beside the file, or in this machine's cache of the bucket
    except FileNotFoundError:
        raise BodyError(f"The stored file {sha[:12]} of this request is missing from the media storage.") from None


def _iter_pieces(pieces: list, chunk: int = CHUNK) -> Iterator[bytes]:
    for piece in pieces:
        if isinstance(piece, str):
            if piece:
                yield piece.encode("utf-8")
            continue
        with open(_b64_path(piece["$b64"]), "rb") as f:
            while block := f.read(chunk):
                yield block


def iter_bytes(body: RequestBody, chunk: int = CHUNK) -> Iterator[bytes]:
    """The exact bytes that were sent, in pieces (media files streamed, never all in memory)."""
    return _iter_pieces(body.pieces, chunk)


def body_bytes(body: RequestBody) -> bytes:
    return b"".join(iter_bytes(body))


def pieces_size(pieces: list) -> int:
    return sum(len(p.encode("utf-8")) if isinstance(p, str) else int(p["size"]) for p in pieces)


# --- sending ---------------------------------------------------------------------------------------


@dataclass
class _Model:
    model: str


@dataclass
class StoredRequest:
    """A stored request in the shape ``providers.send()`` reads from a RenderedRequest: the body
    comes from the RequestBody, the headers are the logged ones (key masked), and the key goes in
    at send time through ``auth``."""

    protocol: str
    url: str
    headers: dict
    auth: Auth
    pieces: list
    target: _Model
    method: str = "POST"
    _encoded: bytes | None = field(default=None, repr=False)

    ok = True  # what was stored was sendable

    @classmethod
    def for_result(cls, result: Result) -> StoredRequest:
        from playground.protocols import Target

        if result.request_body is None:
            raise BodyError("This result has no stored request.")
        dialect = DIALECTS[result.protocol]
        auth = dialect.auth(Target(result.protocol, result.model_name))
        for piece in result.request_body.pieces:
            # Here, in the task's thread: with the media bucket a cold copy is downloaded now, not in
            # the dispatcher's event loop that every call shares (and a missing file fails before sending).
            if not isinstance(piece, str):
                _b64_path(piece["$b64"])
        return cls(
            protocol=result.protocol,
            url=result.url,
            headers=dict(result.request_headers),
            auth=auth,
            pieces=result.request_body.pieces,
            target=_Model(result.model_name),
        )

    def headers_with_key(self, key: str) -> dict:
        headers = {k: v for k, v in self.headers.items() if k.lower() != self.auth.header.lower()}
        headers[self.auth.header] = self.auth.template.format(key=key)
        return headers

    def body_size(self) -> int:
        return pieces_size(self.pieces)

    def body_bytes(self) -> bytes:
        if self._encoded is None:
            if len(self.pieces) == 1 and isinstance(self.pieces[0], str):
                self._encoded = self.pieces[0].encode("utf-8")  # text only: no file to read
            else:
                self._encoded = b"".join(_iter_pieces(self.pieces))
        return self._encoded

    def iter_body(self, chunk: int = CHUNK) -> Iterator[bytes]:
        return _iter_pieces(self.pieces, chunk)
