"""Small media for the protocol tests. Each payload is three ASCII bytes, so its base64 is four
characters that the expected bodies spell out by hand (b"PNG" -> "UE5H")."""

import json

from playground.protocols.serialize import body_bytes, materialize
from playground.protocols.types import MediaPart, Payload

PNG = Payload.from_bytes(b"PNG", "image/png")  # UE5H
JPG = Payload.from_bytes(b"JPG", "image/jpeg")  # SlBH
HEIC = Payload.from_bytes(b"HEI", "image/heic")  # SEVJ
GIF = Payload.from_bytes(b"GIF", "image/gif")  # R0lG
WAV = Payload.from_bytes(b"WAV", "audio/wav")  # V0FW
MP3 = Payload.from_bytes(b"MP3", "audio/mpeg")  # TVAz
OGG = Payload.from_bytes(b"OGG", "audio/ogg")  # T0dH
FLAC = Payload.from_bytes(b"FLA", "audio/flac")  # RkxB
M4A = Payload.from_bytes(b"M4A", "audio/mp4")  # TTRB
PDF = Payload.from_bytes(b"PDF", "application/pdf")  # UERG
MP4 = Payload.from_bytes(b"MP4", "video/mp4")  # TVA0
MKV = Payload.from_bytes(b"MKV", "video/x-matroska")  # TUtW
FRAME1 = Payload.from_bytes(b"FR1", "image/jpeg")  # RlIx
FRAME2 = Payload.from_bytes(b"FR2", "image/jpeg")  # RlIy

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": False}

CAT_URL = "https://example.com/cat.jpg"
PDF_URL = "https://example.com/report.pdf"


def image(payload=PNG, **kw):
    kw.setdefault("name", "cat.png")
    return MediaPart("image", width=1024, height=768, size_bytes=3, payload=payload, **kw)


def image_url(url=CAT_URL, **kw):
    return MediaPart("image", name="cat.jpg", mime_type="image/jpeg", width=800, height=600, delivery="url", url=url, **kw)


def audio(payload=WAV, **kw):
    return MediaPart("audio", name="clip", duration_s=10.0, payload=payload, **kw)


def pdf(payload=PDF, **kw):
    kw.setdefault("name", "report.pdf")
    return MediaPart("pdf", page_count=2, payload=payload, **kw)


def pdf_url(url=PDF_URL, **kw):
    return MediaPart("pdf", name="report.pdf", mime_type="application/pdf", page_count=2, delivery="url", url=url, **kw)


def video(payload=MP4, **kw):
    return MediaPart("video", name="walk.mp4", width=640, height=360, duration_s=4.0, payload=payload, **kw)


def frames():
    return (
        MediaPart("image", name="walk.mp4 @1s", width=640, height=360, payload=FRAME1),
        MediaPart("image", name="walk.mp4 @3s", width=640, height=360, payload=FRAME2),
    )


def canonical(data) -> bytes:
    """Our canonical exact form of plain JSON data."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def assert_body(rendered, expected: dict):
    """Same data, same key order, same bytes."""
    assert materialize(rendered.body) == expected
    assert body_bytes(rendered.body) == canonical(expected)
