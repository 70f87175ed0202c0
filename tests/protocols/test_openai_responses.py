"""OpenAI Responses bodies (docs/protocols.md §2), written by hand."""

from playground.protocols.render import render
from playground.protocols.types import Message, Options, Prompt, Target, TextPart

from .helpers import CAT_URL, HEIC, PDF_URL, SCHEMA, assert_body, audio, frames, image, image_url, pdf, pdf_url, video

VALUES = {"persona": "a critic", "subject": "the cat"}


def user(*parts, **options):
    return Prompt(messages=[Message("user", list(parts))], options=Options(**options))


def test_kitchen_body_notes_and_display():
    p = Prompt(
        system=(TextPart("You are {{persona}}."), TextPart("Be brief.")),
        messages=[
            Message("user", [TextPart("Describe {{subject}}."), image(detail="high"), image_url(), pdf(), pdf_url(detail="low")]),
            Message("assistant", [TextPart("A cat."), TextPart("A grey one.")]),
            Message("user", [TextPart("Thanks")]),
        ],
        options=Options(max_tokens=300, temperature=0.7, json_schema=SCHEMA, schema_name="answer"),
    )
    r = render(p, VALUES, Target("responses", "gpt-4.1"))
    assert r.ok
    assert r.url == "https://api.openai.com/v1/responses"
    assert r.headers == {"Authorization": "Bearer $OPENAI_API_KEY", "Content-Type": "application/json"}
    assert_body(
        r,
        {
            "model": "gpt-4.1",
            "instructions": "You are a critic.\n\nBe brief.",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "Describe the cat."},
                        {"type": "input_image", "image_url": "data:image/png;base64,UE5H", "detail": "high"},
                        {"type": "input_image", "image_url": CAT_URL, "detail": "auto"},
                        {"type": "input_file", "filename": "report.pdf", "file_data": "data:application/pdf;base64,UERG"},
                        {"type": "input_file", "file_url": PDF_URL, "detail": "low"},
                    ],
                },
                {"role": "assistant", "content": "A cat.\n\nA grey one."},
                {"role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
            ],
            "max_output_tokens": 300,
            "temperature": 0.7,
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": SCHEMA, "strict": True}},
        },
    )
    notes = [(n.where, n.message) for n in r.notes]
    assert notes == [
        ("system", "2 system texts joined with blank lines: “instructions” is one string."),
        ("message 1 (user), part 3", "No detail set: “auto” sent (Responses requires the field; auto is its default)."),
        ("message 2 (assistant)", "2 text parts joined with blank lines into one assistant string."),
    ]
    shown = r.display()
    assert '"image_url": "data:image/png;base64,<base64 PNG, 4 B>"' in shown
    assert '"file_data": "data:application/pdf;base64,<base64 PDF, 4 B>"' in shown
    assert "UE5H" not in shown and "UERG" not in shown


def test_audio_refused_without_fallback():
    r = render(user(TextPart("Listen"), audio()), {}, Target("responses", "gpt-4o"))
    assert not r.ok
    [ref] = r.refusals
    assert (ref.message_index, ref.part_index, ref.modality, ref.fallback) == (0, 1, "audio", None)
    assert "no audio input" in ref.reason
    assert r.body["input"][0]["content"][0] == {"type": "input_text", "text": "Listen"}


def test_video_refused_then_frames():
    [ref] = render(user(video()), {}, Target("responses", "gpt-4o")).refusals
    assert ref.fallback.kind == "keyframes"
    r = render(user(video().with_frames(frames())), {}, Target("responses", "gpt-4o"))
    assert r.ok
    assert r.body["input"][0]["content"][0]["type"] == "input_image"
    assert r.body["input"][0]["content"][1]["detail"] == "auto"


def test_heic_and_original_detail():
    [ref] = render(user(image(HEIC)), {}, Target("responses", "gpt-4o")).refusals
    assert ref.fallback.spec == "image:format=jpeg;quality=85"
    r = render(user(image(detail="original")), {}, Target("responses", "gpt-5"))
    assert r.ok and r.notes == []
    assert r.body["input"][0]["content"][0]["detail"] == "original"


def test_pdf_original_detail_not_carried():
    r = render(user(pdf(detail="original")), {}, Target("responses", "gpt-5"))
    assert "detail" not in r.body["input"][0]["content"][0]
    assert r.notes[0].level == "warning"
