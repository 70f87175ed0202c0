"""Gemini media types and URIs (docs/protocols.md §4): the audio types of the current audio page,
and what fileData.fileUri takes (Files API, gs://, YouTube, and since 2026-01 public HTTPS URLs of
the documented types, not on the 2.0 models, up to 100 MB fetched per request)."""

import pytest

from playground.protocols import gemini
from playground.protocols.render import render
from playground.protocols.serialize import materialize
from playground.protocols.types import MediaPart, Message, Payload, Prompt, Target, TextPart

from .helpers import assert_body
from .sdk_check import gemini_sdk_request, gemini_validate

pytest.importorskip("google.genai.types")

MODEL = "gemini-2.5-flash"
FILES_URI = "https://generativelanguage.googleapis.com/v1beta/files/abc123"


def ask(*parts):
    return Prompt(messages=[Message("user", [TextPart("What is this?"), *parts])])


def sent_part(r, i=1):
    return materialize(r.body)["contents"][0]["parts"][i]


def url_part(kind, mime, url, *, copy=None, size=None, name="x"):
    return MediaPart(kind, name=name, mime_type=mime, delivery="url", url=url, payload=copy, size_bytes=size)


# --- audio types -----------------------------------------------------------------------------------

# Our canonical MIME (uploads/identify.py and _common.canonical_mime) -> what Gemini is sent.
AUDIO = {
    "audio/wav": "audio/wav",
    "audio/mpeg": "audio/mp3",
    "audio/aiff": "audio/aiff",
    "audio/aac": "audio/aac",
    "audio/ogg": "audio/ogg",
    "audio/flac": "audio/flac",
    "audio/mp4": "audio/m4a",
    "audio/l16": "audio/l16",
    "audio/opus": "audio/opus",
    "audio/alaw": "audio/alaw",
    "audio/mulaw": "audio/mulaw",
    "audio/webm": "audio/webm",
}


@pytest.mark.parametrize(("mime", "sent"), list(AUDIO.items()))
def test_every_documented_audio_type_is_sent_inline_under_its_documented_name(mime, sent):
    clip = MediaPart("audio", name="clip", duration_s=3.0, payload=Payload.from_bytes(b"AUD", mime))
    r = render(ask(clip), {}, Target("gemini", MODEL))
    assert r.ok, r.refusals
    assert sent_part(r) == {"inlineData": {"mimeType": sent, "data": "QVVE"}}
    renamed = [n.message for n in r.notes if "sent as" in n.message]
    assert renamed == ([f"MIME type {mime} sent as {sent}, the name Gemini documents."] if sent != mime else [])
    gemini_validate(materialize(r.body))


@pytest.mark.parametrize("alias", ["audio/x-m4a", "audio/m4a", "audio/x-wav", "audio/mp3"])
def test_audio_aliases_are_folded_first(alias):
    clip = MediaPart("audio", name="clip", payload=Payload.from_bytes(b"AUD", alias))
    assert render(ask(clip), {}, Target("gemini", MODEL)).ok


def test_an_audio_type_gemini_does_not_list_is_refused_with_an_mp3_copy_offered():
    wma = MediaPart("audio", name="old.wma", payload=Payload.from_bytes(b"WMA", "audio/x-ms-wma"))
    [ref] = render(ask(wma), {}, Target("gemini", MODEL)).refusals
    assert ref.reason == (
        "Gemini takes WAV, MP3, AIFF, AAC, OGG, FLAC, M4A, L16, Opus, A-law, μ-law and WebM audio, not audio/x-ms-wma."
    )
    assert ref.fallback.spec == "audio:bitrate=128000;format=mp3"


# --- external HTTPS URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime"),
    [("image", "image/jpeg"), ("image", "image/png"), ("image", "image/webp"), ("image", "image/bmp"),
     ("video", "video/mp4"), ("video", "video/webm"), ("video", "video/3gpp"), ("pdf", "application/pdf")],
)
def test_a_public_https_url_of_a_listed_type_goes_as_file_uri(kind, mime):
    url = f"https://cdn.example.org/media/file.{mime.split('/')[1]}"
    r = render(ask(url_part(kind, mime, url)), {}, Target("gemini", MODEL))
    assert r.ok, r.refusals
    assert sent_part(r) == {"fileData": {"mimeType": mime, "fileUri": url}}
    body = materialize(r.body)
    gemini_validate(body)
    assert gemini_sdk_request(body, MODEL) == body


def test_quicktime_keeps_the_name_the_url_list_gives_and_inline_is_renamed_mov():
    url = "https://cdn.example.org/clip.mov"
    r = render(ask(url_part("video", "video/quicktime", url)), {}, Target("gemini", MODEL))
    assert sent_part(r) == {"fileData": {"mimeType": "video/quicktime", "fileUri": url}}
    inline = MediaPart("video", name="clip.mov", payload=Payload.from_bytes(b"MOV", "video/quicktime"))
    assert sent_part(render(ask(inline), {}, Target("gemini", MODEL)))["inlineData"]["mimeType"] == "video/mov"


def test_bmp_goes_by_url_but_not_inline():
    bmp_url = url_part("image", "image/bmp", "https://cdn.example.org/a.bmp")
    assert render(ask(bmp_url), {}, Target("gemini", MODEL)).ok
    bmp = MediaPart("image", name="a.bmp", payload=Payload.from_bytes(b"BMP", "image/bmp"))
    [ref] = render(ask(bmp), {}, Target("gemini", MODEL)).refusals
    assert "not image/bmp" in ref.reason and ref.fallback.spec == "image:format=png"


def test_heic_by_url_is_not_on_the_url_list_the_copy_goes_inline_where_heic_is_taken():
    heic = Payload.from_bytes(b"HEI", "image/heic")
    url = "https://cdn.example.org/p.heic"
    [ref] = render(ask(url_part("image", "image/heic", url, name="p.heic")), {}, Target("gemini", MODEL)).refusals
    assert ref.reason.startswith("Gemini fetches BMP, JPEG, PNG and WEBP images from external URLs, not image/heic.")
    r = render(ask(url_part("image", "image/heic", url, copy=heic, name="p.heic")), {}, Target("gemini", MODEL))
    assert r.ok and sent_part(r) == {"inlineData": {"mimeType": "image/heic", "data": "SEVJ"}}
    [note] = [n for n in r.notes if "sent inline" in n.message]
    assert "“p.heic”" in note.message and "not image/heic" in note.message


def test_audio_by_external_url_is_refused_and_the_copy_goes_inline():
    url = "https://cdn.example.org/talk.wav"
    [ref] = render(ask(url_part("audio", "audio/wav", url)), {}, Target("gemini", MODEL)).refusals
    assert ref.reason.startswith("Gemini fetches no audio from external URLs")
    wav = Payload.from_bytes(b"WAV", "audio/wav")
    r = render(ask(url_part("audio", "audio/wav", url, copy=wav)), {}, Target("gemini", MODEL))
    assert_body(r, {"contents": [{"role": "user", "parts": [
        {"text": "What is this?"}, {"inlineData": {"mimeType": "audio/wav", "data": "V0FW"}}]}]})


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "models/gemini-2.0-flash-lite", "gemini-2.0-pro-exp"])
def test_the_2_0_models_take_no_external_url(model):
    url = "https://cdn.example.org/a.pdf"
    [ref] = render(ask(url_part("pdf", "application/pdf", url)), {}, Target("gemini", model)).refusals
    assert "does not fetch external URLs" in ref.reason and "2.0" in ref.reason
    copy = Payload.from_bytes(b"PDF", "application/pdf")
    r = render(ask(url_part("pdf", "application/pdf", url, copy=copy)), {}, Target("gemini", model))
    assert r.ok and sent_part(r) == {"inlineData": {"mimeType": "application/pdf", "data": "UERG"}}
    # The other URIs are not external URLs: still sent as they are.
    assert render(ask(url_part("pdf", "application/pdf", FILES_URI)), {}, Target("gemini", model)).ok
    yt = url_part("video", "video/mp4", "https://www.youtube.com/watch?v=abc")
    assert render(ask(yt), {}, Target("gemini", model)).ok


def test_later_models_take_external_urls():
    for model in ("gemini-2.5-flash", "gemini-3-flash-preview", "gemini-3.1-pro-preview"):
        assert render(ask(url_part("pdf", "application/pdf", "https://x.example/a.pdf")), {}, Target("gemini", model)).ok


def test_plain_http_and_other_schemes_are_refused():
    [ref] = render(ask(url_part("image", "image/png", "http://cdn.example.org/a.png")), {}, Target("gemini", MODEL)).refusals
    assert ref.reason.startswith("Gemini fetches public HTTPS URLs only")


def test_youtube_is_for_video_only():
    [ref] = render(ask(url_part("image", "image/jpeg", "https://youtu.be/abc")), {}, Target("gemini", MODEL)).refusals
    assert ref.reason.startswith("Gemini takes YouTube links for video only.")


def test_files_api_and_gs_uris_take_every_kind_including_audio():
    for url in (FILES_URI, "gs://bucket/talk.mp3"):
        r = render(ask(url_part("audio", "audio/mpeg", url)), {}, Target("gemini", MODEL))
        assert r.ok and sent_part(r) == {"fileData": {"mimeType": "audio/mp3", "fileUri": url}}


def test_at_most_100_mb_fetched_from_urls_per_request():
    half = 50 * 1_000_000
    a = url_part("video", "video/mp4", "https://cdn.example.org/a.mp4", size=half)
    b = url_part("video", "video/mp4", "https://cdn.example.org/b.mp4", size=half)
    assert render(ask(a, b), {}, Target("gemini", MODEL)).ok  # exactly 100 MB
    c = url_part("video", "video/mp4", "https://cdn.example.org/c.mp4", size=half + 1)
    r = render(ask(a, c), {}, Target("gemini", MODEL))
    [ref] = r.refusals
    assert ref.modality == "setting" and ref.where == "request size"
    assert "add up to 100.0 MB" in ref.reason and "at most 100 MB" in ref.reason
    # Files API and YouTube URIs are not fetched from the web: not counted.
    files = url_part("video", "video/mp4", FILES_URI, size=half + 1)
    assert render(ask(a, files), {}, Target("gemini", MODEL)).ok


def test_url_kinds():
    assert [gemini.url_kind(u) for u in (FILES_URI, "gs://b/o", "https://youtu.be/x", "https://a.b/c", "http://a.b/c", "ftp://a")] == [
        "files", "gcs", "youtube", "external", "other", "other"]
