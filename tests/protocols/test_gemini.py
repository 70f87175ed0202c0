"""Gemini generateContent bodies (docs/protocols.md §4), written by hand."""

from playground.protocols.render import render
from playground.protocols.types import MediaPart, Message, Options, Payload, Prompt, Target, TextPart

from .helpers import GIF, HEIC, M4A, MKV, MP3, SCHEMA, assert_body, audio, frames, image, image_url, pdf, video

VALUES = {"persona": "a critic", "subject": "the cat"}
MODEL = "gemini-2.5-flash"
FILES_URI = "https://generativelanguage.googleapis.com/v1beta/files/abc123"
YOUTUBE = "https://www.youtube.com/watch?v=abc"


def user(*parts, **options):
    return Prompt(messages=[Message("user", list(parts))], options=Options(**options))


def test_kitchen_body_notes_and_display():
    yt = video(delivery="url", url=YOUTUBE, payload=None, mime_type="video/mp4")
    files_image = MediaPart("image", mime_type="image/png", delivery="url", url=FILES_URI, width=10, height=10)
    p = Prompt(
        system="You are {{persona}}.",
        messages=[
            Message("user", [TextPart("Describe {{subject}}."), image(), audio(), audio(MP3), video(), pdf(), yt, files_image]),
            Message("assistant", [TextPart("A cat.")]),
            Message("user", [TextPart("Thanks")]),
        ],
        options=Options(max_tokens=300, temperature=0.7, json_schema=SCHEMA),
    )
    r = render(p, VALUES, Target("gemini", MODEL))
    assert r.ok
    assert r.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    assert r.headers == {"x-goog-api-key": "$GEMINI_API_KEY", "Content-Type": "application/json"}
    assert_body(
        r,
        {
            "systemInstruction": {"parts": [{"text": "You are a critic."}]},
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Describe the cat."},
                        {"inlineData": {"mimeType": "image/png", "data": "UE5H"}},
                        {"inlineData": {"mimeType": "audio/wav", "data": "V0FW"}},
                        {"inlineData": {"mimeType": "audio/mp3", "data": "TVAz"}},
                        {"inlineData": {"mimeType": "video/mp4", "data": "TVA0"}},
                        {"inlineData": {"mimeType": "application/pdf", "data": "UERG"}},
                        {"fileData": {"mimeType": "video/mp4", "fileUri": YOUTUBE}},
                        {"fileData": {"mimeType": "image/png", "fileUri": FILES_URI}},
                    ],
                },
                {"role": "model", "parts": [{"text": "A cat."}]},
                {"role": "user", "parts": [{"text": "Thanks"}]},
            ],
            "generationConfig": {
                "maxOutputTokens": 300,
                "temperature": 0.7,
                "responseMimeType": "application/json",
                "responseJsonSchema": SCHEMA,
            },
        },
    )
    assert [(n.where, n.message) for n in r.notes] == [
        ("message 1 (user), part 4", "MIME type audio/mpeg sent as audio/mp3, the name Gemini documents."),
    ]
    shown = r.display()
    assert '"data": "<base64 MP4, 4 B>"' in shown and '"data": "<base64 MP3, 4 B>"' in shown
    assert "TVA0" not in shown


def test_minimal_body_model_prefix_and_version():
    r = render(user(TextPart("Hi")), {}, Target("gemini", "models/gemini-2.0-flash", api_version="v1"))
    assert r.url == "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:generateContent"
    assert_body(r, {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})


def test_adjacent_turns_merged_with_note():
    p = Prompt(messages=[Message("user", [TextPart("a")]), Message("user", [TextPart("b")])])
    r = render(p, {}, Target("gemini", MODEL))
    assert r.body["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]
    assert "merges adjacent turns" in r.notes[0].message


def test_gif_refused_heic_fine():
    [ref] = render(user(image(GIF)), {}, Target("gemini", MODEL)).refusals
    assert ref.modality == "image" and "image/gif" in ref.reason and ref.fallback.spec == "image:format=png"
    r = render(user(image(HEIC)), {}, Target("gemini", MODEL))
    assert r.ok and r.body["contents"][0]["parts"][0] == {"inlineData": {"mimeType": "image/heic", "data": r.body["contents"][0]["parts"][0]["inlineData"]["data"]}}


def test_plain_https_url_sent_as_file_uri_and_other_uris():
    # Public HTTPS URLs go as fileData.fileUri since 2026-01 (docs/protocols.md §4); more in test_gemini_media.py.
    r = render(user(image_url()), {}, Target("gemini", MODEL))
    assert r.ok and r.body["contents"][0]["parts"][0] == {"fileData": {"mimeType": "image/jpeg", "fileUri": image_url().url}}
    gcs = MediaPart("image", mime_type="image/jpeg", delivery="url", url="gs://bucket/cat.jpg")
    assert render(user(gcs), {}, Target("gemini", MODEL)).body["contents"][0]["parts"][0] == {
        "fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}
    }
    yt_image = MediaPart("image", mime_type="image/jpeg", delivery="url", url=YOUTUBE)
    assert render(user(yt_image), {}, Target("gemini", MODEL)).refusals


def test_audio_and_video_formats():
    # M4A is on Gemini's audio list since 2026-09 (docs/protocols.md §4): sent as audio/m4a.
    r = render(user(audio(M4A)), {}, Target("gemini", MODEL))
    assert r.ok and r.body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "audio/m4a"
    wma = audio(Payload.from_bytes(b"WMA", "audio/x-ms-wma"))
    [ref] = render(user(wma), {}, Target("gemini", MODEL)).refusals
    assert ref.fallback.spec == "audio:bitrate=128000;format=mp3"
    [ref] = render(user(video(MKV)), {}, Target("gemini", MODEL)).refusals
    assert ref.fallback.kind == "keyframes"
    mov = video(MKV, mime_type="video/quicktime")
    r = render(user(mov), {}, Target("gemini", MODEL))
    assert r.body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "video/mov"
    assert "sent as video/mov" in r.notes[0].message


def test_detail_noted_and_frames():
    r = render(user(image(detail="high")), {}, Target("gemini", MODEL))
    assert r.ok and "mediaResolution" in r.notes[0].message and r.notes[0].level == "warning"
    r = render(user(video().with_frames(frames())), {}, Target("gemini", MODEL))
    assert [p["inlineData"]["mimeType"] for p in r.body["contents"][0]["parts"]] == ["image/jpeg", "image/jpeg"]


def test_system_media_refused_and_temperature_range():
    p = Prompt(system=(image(),), messages=[Message("user", [TextPart("Hi")])], options=Options(temperature=3))
    r = render(p, {}, Target("gemini", MODEL))
    media, temp = r.refusals
    assert media.message_index is None and media.part_index == 0
    assert temp.where == "temperature" and "0–2" in temp.reason
    assert "systemInstruction" not in r.body
