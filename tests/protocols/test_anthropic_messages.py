"""Anthropic Messages bodies (docs/protocols.md §3), written by hand."""

from playground.protocols.render import render
from playground.protocols.types import Fallback, Message, Options, Payload, Prompt, Target, TextPart

from .helpers import CAT_URL, HEIC, PDF_URL, SCHEMA, assert_body, audio, frames, image, image_url, pdf, pdf_url, video

VALUES = {"persona": "a critic", "subject": "the cat"}
MODEL = "claude-sonnet-4-5"


def user(*parts, **options):
    return Prompt(messages=[Message("user", list(parts))], options=Options(**options))


def test_kitchen_body_headers_notes_and_display():
    p = Prompt(
        system="You are {{persona}}.",
        messages=[
            Message("user", [TextPart("Describe {{subject}}."), image(), image_url(), pdf(), pdf_url()]),
            Message("assistant", [TextPart("A cat.")]),
            Message("user", [TextPart("Thanks")]),
            Message("user", [TextPart("One more")]),
        ],
        options=Options(temperature=0.7, json_schema=SCHEMA, schema_name="answer"),
    )
    r = render(p, VALUES, Target("messages", MODEL))
    assert r.ok
    assert r.url == "https://api.anthropic.com/v1/messages"
    assert r.headers == {"x-api-key": "$ANTHROPIC_API_KEY", "anthropic-version": "2023-06-01", "content-type": "application/json"}
    assert r.headers_with_key("sk-ant-1")["x-api-key"] == "sk-ant-1"
    assert_body(
        r,
        {
            "model": MODEL,
            "max_tokens": 1024,
            "system": "You are a critic.",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe the cat."},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "UE5H"}},
                        {"type": "image", "source": {"type": "url", "url": CAT_URL}},
                        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "UERG"}},
                        {"type": "document", "source": {"type": "url", "url": PDF_URL}},
                    ],
                },
                {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
                {"role": "user", "content": [{"type": "text", "text": "Thanks"}, {"type": "text", "text": "One more"}]},
            ],
            "temperature": 0.7,
            "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
        },
    )
    notes = [(n.where, n.message) for n in r.notes]
    assert notes == [
        ("max_tokens", "max_tokens is required by Anthropic and was not set: the default 1024 was applied."),
        ("message 4 (user)", "Joined to the previous user turn: Anthropic merges adjacent turns from one role."),
        ("response format", "Anthropic's output format takes only the schema: the schema name not carried."),
    ]
    shown = r.display()
    assert '"data": "<base64 PNG, 4 B>"' in shown and '"data": "<base64 PDF, 4 B>"' in shown
    assert "UE5H" not in shown


def test_max_tokens_given_and_custom_default():
    r = render(user(TextPart("Hi"), max_tokens=50), {}, Target("messages", MODEL))
    assert r.body["max_tokens"] == 50 and r.notes == []
    r = render(user(TextPart("Hi")), {}, Target("messages", MODEL, default_max_tokens=4096))
    assert r.body["max_tokens"] == 4096 and "4096" in r.notes[0].message


def test_version_2026_drops_temperature_visibly():
    r = render(user(TextPart("Hi"), max_tokens=10, temperature=0.2), {}, Target("messages", MODEL, api_version="2026-10-21"))
    assert r.ok and "temperature" not in r.body
    assert r.headers["anthropic-version"] == "2026-10-21"
    [note] = r.notes
    assert note.where == "temperature" and note.level == "warning" and "2026-10-21 rejects temperature" in note.message


def test_opus_4_7_drops_temperature_visibly():
    r = render(user(TextPart("Hi"), max_tokens=10, temperature=0.2), {}, Target("messages", "claude-opus-4-7"))
    assert "temperature" not in r.body and "deprecated for this model" in r.notes[0].message
    r = render(user(TextPart("Hi"), max_tokens=10, temperature=0.2), {}, Target("messages", "claude-opus-4-20250514"))
    assert r.body["temperature"] == 0.2


def test_temperature_above_one_refused_unless_clamping_chosen():
    r = render(user(TextPart("Hi"), max_tokens=10, temperature=1.5), {}, Target("messages", MODEL))
    assert not r.ok and "temperature" not in r.body
    [ref] = r.refusals
    assert ref.modality == "setting" and "0–1" in ref.reason
    assert ref.fallback == Fallback("option", "Clamp it to 1", "clamp_temperature")
    r = render(user(TextPart("Hi"), max_tokens=10, temperature=1.5), {}, Target("messages", MODEL, clamp_temperature=True))
    assert r.ok and r.body["temperature"] == 1.0
    [note] = r.notes
    assert note.level == "warning" and "clamped to 1" in note.message


def test_audio_and_video_refused():
    r = render(user(audio(), video()), {}, Target("messages", MODEL))
    a, v = r.refusals
    assert (a.modality, a.fallback) == ("audio", None) and "no audio block" in a.reason
    assert v.modality == "video" and v.fallback.spec == "keyframes:count=8;format=jpeg;quality=85"


def test_frames_sent_as_images():
    r = render(user(video().with_frames(frames()), max_tokens=5), {}, Target("messages", MODEL))
    assert r.ok
    assert r.body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": r.body["messages"][0]["content"][0]["source"]["data"]}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": r.body["messages"][0]["content"][1]["source"]["data"]}},
    ]
    assert "RlIx" in r.body_bytes().decode()


def test_image_formats_and_detail():
    [ref] = render(user(image(HEIC)), {}, Target("messages", MODEL)).refusals
    assert ref.fallback.spec == "image:format=jpeg;quality=85"
    bmp = image(Payload.from_bytes(b"BMP", "image/bmp"))
    [ref] = render(user(bmp), {}, Target("messages", MODEL)).refusals
    assert ref.fallback.spec == "image:format=png"
    webp = image(Payload.from_bytes(b"WEB", "image/webp"), detail="low")
    r = render(user(webp, max_tokens=5), {}, Target("messages", MODEL))
    assert r.ok and r.body["messages"][0]["content"][0]["source"]["media_type"] == "image/webp"
    [note] = r.notes
    assert note.level == "warning" and "no “detail”" in note.message


def test_document_in_assistant_turn_by_version():
    p = Prompt(messages=[Message("user", [TextPart("Hi")]), Message("assistant", [pdf()])], options=Options(max_tokens=5))
    assert render(p, {}, Target("messages", MODEL)).ok
    [ref] = render(p, {}, Target("messages", MODEL, api_version="2026-10-21")).refusals
    assert (ref.message_index, ref.part_index) == (1, 0) and "assistant turns" in ref.reason


def test_several_system_texts_become_blocks():
    p = Prompt(system=(TextPart("A"), TextPart("B")), messages=[Message("user", [TextPart("Hi")])], options=Options(max_tokens=5))
    r = render(p, {}, Target("messages", MODEL))
    assert r.body["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]


def test_animated_gif_first_frame_noted():
    gif = image(Payload.from_bytes(b"GIF", "image/gif"), frame_count=5)
    r = render(user(gif, max_tokens=5), {}, Target("messages", MODEL))
    assert r.ok and "first frame only" in r.notes[0].message
