"""Exact bytes by splicing, streaming, sizes, and the display form (of a body tree and of plain JSON)."""

import base64
import json
import os
import re

import pytest

from playground.protocols.serialize import (
    Base64Slot,
    Omitted,
    Payload,
    body_bytes,
    body_size,
    describe_base64,
    describe_payload,
    display_data,
    display_json,
    iter_body,
    materialize,
)

from .helpers import canonical


@pytest.fixture
def files(tmp_path):
    """Three payloads in .b64 files, as StoredFile.base64_path() keeps them."""
    out = []
    for i, (size, mime) in enumerate([(30_000, "image/png"), (1, "audio/wav"), (0, "application/pdf")]):
        raw = os.urandom(size)
        path = tmp_path / f"f{i}.b64"
        path.write_bytes(base64.b64encode(raw))
        out.append(Payload(mime_type=mime, raw_size=size, path=path))
    return out


def tree(files):
    png, wav, pdf = files
    return {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Sé breve — \"quotes\", \\ back\\slash, \n newline, emoji 🐈, b64-slot-0:0"},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": Base64Slot(png, "data:image/png;base64,"), "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": Base64Slot(wav), "format": "wav"}},
                    {"type": "file", "file": {"file_data": Base64Slot(pdf, "data:application/pdf;base64,"), "filename": "a.pdf"}},
                    {"type": "image_url", "image_url": {"url": Base64Slot(png, "data:image/png;base64,")}},
                ],
            },
        ],
        "temperature": 0.5,
        "n": None,
        "stream": False,
        "list": [1, 2.5, True],
    }


def test_exact_bytes_are_the_canonical_json_of_the_materialized_body(files):
    body = tree(files)
    data = materialize(body)
    assert data["messages"][1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body_bytes(body) == canonical(data)
    assert json.loads(body_bytes(body)) == data
    assert body_size(body) == len(body_bytes(body))


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_iter_body_concatenates_to_body_bytes(files, chunk):
    body = tree(files)
    pieces = list(iter_body(body, chunk=chunk))
    assert b"".join(pieces) == body_bytes(body)
    assert all(0 < len(p) for p in pieces)
    b64 = [p for p in pieces if b'"' not in p]  # the base64 chunks (skeleton pieces all hold quotes)
    assert b64 and max(len(p) for p in b64) <= chunk


def test_in_memory_payload_and_body_without_slots():
    p = Payload.from_bytes(b"hello", "image/png")
    assert p.b64_size == 8 and p.read() == b"aGVsbG8="
    assert body_bytes({"a": Base64Slot(p)}) == b'{"a":"aGVsbG8="}'
    assert body_bytes({"a": "é"}) == '{"a":"é"}'.encode()
    assert list(iter_body({"a": 1})) == [b'{"a":1}']


def test_prefix_is_json_escaped():
    p = Payload.from_bytes(b"x", 'weird/"type"')
    assert json.loads(body_bytes([Base64Slot(p, 'data:weird/"type";base64,')])) == ['data:weird/"type";base64,eA==']


def test_display_is_indented_elided_and_otherwise_identical(files):
    body = tree(files)
    shown = display_json(body)
    for payload in files[:2]:
        assert payload.read().decode() not in shown
    assert '"url": "data:image/png;base64,<base64 PNG, 40.0 kB>"' in shown
    assert '"data": "<base64 WAV, 4 B>"' in shown
    assert '"file_data": "data:application/pdf;base64,<base64 PDF, 0 B>"' in shown
    assert shown.startswith('{\n  "model": "m",')
    # Same keys, order and values as the exact bytes, once the base64 is elided the same way.
    exact = body_bytes(body).decode()
    for payload in files:
        b64 = payload.read().decode()
        if b64:
            exact = exact.replace(b64, "")
    elided = canonical(json.loads(shown)).decode()
    assert re.sub(r"<base64 [A-Z]+, [^>]*>", "", elided) == exact


def test_omitted_parts_show_but_never_serialize():
    body = {"content": [{"type": "text", "text": "hi"}, Omitted("no audio here")]}
    assert '"<not sent: no audio here>"' in display_json(body)
    for fn in (body_bytes, body_size, materialize, lambda b: list(iter_body(b))):
        with pytest.raises(ValueError, match="refused part"):
            fn(body)


def test_payload_needs_one_source():
    with pytest.raises(ValueError):
        Payload(mime_type="image/png", raw_size=1)
    with pytest.raises(ValueError):
        Payload(mime_type="image/png", raw_size=1, path="/x", text="eA==")


def test_plain_json_is_shown_with_the_same_labels_as_a_body():
    mp3, mov = "QUJD" * 100, "REVG" * 100  # 400 base64 characters each
    shown = json.loads(display_data({
        "parts": [
            {"inlineData": {"mimeType": "audio/mpeg", "data": mp3}},
            {"source": {"media_type": "video/quicktime", "data": mov}},
            {"url": "data:image/svg+xml;base64," + mp3},
            {"data": mp3},
            {"text": "short and plain", "note": "QUJD" * 10},
        ]
    }))
    assert shown["parts"] == [
        {"inlineData": {"mimeType": "audio/mpeg", "data": "<base64 MP3, 400 B>"}},
        {"source": {"media_type": "video/quicktime", "data": "<base64 MOV, 400 B>"}},
        {"url": "data:image/svg+xml;base64,<base64 SVG, 400 B>"},
        {"data": "<base64 data, 400 B>"},  # no format named beside it
        {"text": "short and plain", "note": "QUJD" * 10},  # under 256 characters: kept
    ]
    # The same words as the preview's, for the same file.
    slot = Payload(mime_type="audio/mpeg", raw_size=300, text=mp3)
    assert describe_base64("audio/mpeg", 400) == describe_payload(slot) == "<base64 MP3, 400 B>"
    assert display_data({"a": [1, "é"]}) == json.dumps({"a": [1, "é"]}, ensure_ascii=False, indent=2)


def test_the_leaf_types_are_one_set_of_classes():
    from playground import protocols
    from playground.protocols import types

    assert types.Payload is Payload is protocols.Payload and types.Base64Slot is Base64Slot
