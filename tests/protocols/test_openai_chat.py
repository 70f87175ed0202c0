"""OpenAI Chat Completions bodies (docs/protocols.md §1) and gateway extensions (§5), written by hand."""

import pytest

from playground.protocols.render import render
from playground.protocols.types import Fallback, Message, NotSendable, Options, Prompt, Target, TextPart

from .helpers import (
    CAT_URL,
    FLAC,
    GIF,
    HEIC,
    MP3,
    OGG,
    PDF_URL,
    SCHEMA,
    assert_body,
    audio,
    frames,
    image,
    image_url,
    pdf,
    pdf_url,
    video,
)

VALUES = {"persona": "a critic", "subject": "the cat"}


def kitchen_prompt():
    return Prompt(
        system="You are {{persona}}.",
        messages=[
            Message(
                "user",
                [
                    TextPart("Describe {{ subject }}."),
                    image(detail="high"),
                    image_url(detail="low"),
                    audio(),
                    audio(MP3),
                    pdf(),
                ],
            ),
            Message("assistant", [TextPart("A cat.")]),
            Message("user", [TextPart("Thanks")]),
        ],
        options=Options(max_tokens=300, temperature=0.7, json_schema=SCHEMA, schema_name="answer"),
    )


KITCHEN_BODY = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a critic."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe the cat."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,UE5H", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": CAT_URL, "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "V0FW", "format": "wav"}},
                {"type": "input_audio", "input_audio": {"data": "TVAz", "format": "mp3"}},
                {"type": "file", "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,UERG"}},
            ],
        },
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ],
    "max_completion_tokens": 300,
    "temperature": 0.7,
    "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}},
}


def user(*parts, **options):
    return Prompt(messages=[Message("user", list(parts))], options=Options(**options))


def test_kitchen_body_headers_and_display():
    r = render(kitchen_prompt(), VALUES, Target("chat", "gpt-4o"))
    assert r.ok and r.notes == [] and r.problems == []
    assert r.url == "https://api.openai.com/v1/chat/completions"
    assert r.method == "POST"
    assert r.headers == {"Authorization": "Bearer $OPENAI_API_KEY", "Content-Type": "application/json"}
    assert r.headers_with_key("sk-test")["Authorization"] == "Bearer sk-test"
    assert_body(r, KITCHEN_BODY)
    shown = r.display()
    assert '"url": "data:image/png;base64,<base64 PNG, 4 B>"' in shown
    assert '"data": "<base64 WAV, 4 B>"' in shown
    assert '"data": "<base64 MP3, 4 B>"' in shown
    assert '"file_data": "data:application/pdf;base64,<base64 PDF, 4 B>"' in shown
    for b64 in ("UE5H", "V0FW", "TVAz", "UERG"):
        assert b64 not in shown


def test_developer_role_base_url_and_key_env():
    t = Target("chat", "o3", system_role="developer", base_url="https://proxy.example/v1/", api_key_env="MY_KEY")
    r = render(Prompt(system="Sys", messages=[Message("user", [TextPart("Hi")])]), {}, t)
    assert r.body["messages"][0] == {"role": "developer", "content": "Sys"}
    assert r.url == "https://proxy.example/v1/chat/completions"
    assert r.headers["Authorization"] == "Bearer $MY_KEY"


def test_several_system_texts_and_assistant_parts_stay_lists():
    p = Prompt(
        system=(TextPart("One."), TextPart("Two.")),
        messages=[Message("user", [TextPart("Hi")]), Message("assistant", [TextPart("a"), TextPart("b")])],
    )
    r = render(p, {}, Target("chat", "gpt-4o"))
    assert r.body["messages"][0] == {"role": "system", "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]}
    assert r.body["messages"][2] == {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}


def test_gif_is_fine_and_detail_optional():
    r = render(user(image(GIF, name="a.gif")), {}, Target("chat", "gpt-4o"))
    assert r.ok
    assert r.body["messages"][0]["content"][0] == {"type": "image_url", "image_url": {"url": r.body["messages"][0]["content"][0]["image_url"]["url"]}}


def test_original_detail_becomes_high_with_warning():
    r = render(user(image(detail="original")), {}, Target("chat", "gpt-4o"))
    assert r.ok
    assert r.body["messages"][0]["content"][0]["image_url"]["detail"] == "high"
    [note] = r.notes
    assert note.level == "warning" and "original" in note.message and note.message_index == 0 and note.part_index == 0


def test_video_refused_with_keyframes_fallback_and_rest_still_rendered():
    r = render(user(TextPart("Watch"), video()), {}, Target("chat", "gpt-4o"))
    assert not r.ok
    [ref] = r.refusals
    assert (ref.message_index, ref.part_index, ref.modality) == (0, 1, "video")
    assert "no video" in ref.reason
    assert ref.fallback == Fallback("keyframes", ref.fallback.label, "keyframes:count=8;format=jpeg;quality=85")
    assert r.body["messages"][0]["content"][0] == {"type": "text", "text": "Watch"}
    assert "<not sent: OpenAI Chat Completions has no video part.>" in r.display()
    with pytest.raises(NotSendable):
        r.body_bytes()


def test_video_with_frames_offers_them():
    r = render(user(video(frames=frames())), {}, Target("chat", "gpt-4o"))
    [ref] = r.refusals
    assert ref.fallback.kind == "keyframes" and ref.fallback.spec is None and "2 key frames" in ref.fallback.label


def test_video_as_frames_becomes_image_parts_with_note():
    r = render(user(video().with_frames(frames())), {}, Target("chat", "gpt-4o"))
    assert r.ok
    assert_body(
        r,
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,RlIx"}},
                        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,RlIy"}},
                    ],
                }
            ],
        },
    )
    [note] = r.notes
    assert note.level == "warning" and "2 key frames" in note.message


def test_audio_formats_and_urls():
    r = render(user(audio(OGG)), {}, Target("chat", "gpt-4o-audio-preview"))
    [ref] = r.refusals
    assert ref.modality == "audio" and "wav, mp3" in ref.reason and "audio/ogg" in ref.reason
    assert ref.fallback == Fallback("variant", "Send an MP3 copy", "audio:bitrate=128000;format=mp3")

    url_audio = audio(delivery="url", url="https://example.com/a.wav", payload=None, mime_type="audio/wav")
    [ref] = render(user(url_audio), {}, Target("chat", "gpt-4o")).refusals
    # Prism holds only the URL: no button can inline it (tests/protocols/test_urls.py has the copy case).
    assert ref.fallback is None and "base64 only" in ref.reason and "Fetch and store a copy" in ref.reason


def test_heic_refused_with_jpeg_fallback():
    [ref] = render(user(image(HEIC, name="p.heic")), {}, Target("chat", "gpt-4o")).refusals
    assert ref.modality == "image" and "image/heic" in ref.reason
    assert ref.fallback == Fallback("variant", "Send a JPEG copy", "image:format=jpeg;quality=85")


def test_pdf_url_refused_pdf_without_name_named():
    [ref] = render(user(pdf_url()), {}, Target("chat", "gpt-4o")).refusals
    assert ref.fallback is None and "no file URL" in ref.reason and "Fetch and store a copy" in ref.reason
    r = render(user(pdf(name="")), {}, Target("chat", "gpt-4o"))
    assert r.body["messages"][0]["content"][0]["file"]["filename"] == "document.pdf"
    assert any("document.pdf" in n.message for n in r.notes)


def test_media_in_assistant_turn_and_system_refused():
    p = Prompt(
        system=(TextPart("Sys"), image()),
        messages=[Message("user", [TextPart("Hi")]), Message("assistant", [image()])],
    )
    r = render(p, {}, Target("chat", "gpt-4o"))
    sys_ref, asst_ref = r.refusals
    assert (sys_ref.message_index, sys_ref.part_index, sys_ref.where) == (None, 1, "system, part 2")
    assert "text only in the system prompt" in sys_ref.reason
    assert (asst_ref.message_index, asst_ref.part_index) == (1, 0) and "assistant" in asst_ref.reason


def test_model_without_audio_input():
    r = render(user(audio()), {}, Target("chat", "gpt-4o", inputs={"image", "pdf"}))
    [ref] = r.refusals
    assert "without audio input" in ref.reason


def test_temperature_out_of_range_refused_or_clamped():
    r = render(user(TextPart("Hi"), temperature=2.5), {}, Target("chat", "gpt-4o"))
    [ref] = r.refusals
    assert (ref.modality, ref.where) == ("setting", "temperature")
    assert ref.fallback == Fallback("option", "Clamp it to 2", "clamp_temperature")
    assert "temperature" not in r.body
    r = render(user(TextPart("Hi"), temperature=2.5), {}, Target("chat", "gpt-4o", clamp_temperature=True))
    assert r.ok and r.body["temperature"] == 2.0
    assert [n.level for n in r.notes] == ["warning"]


def test_default_schema_name_noted():
    r = render(user(TextPart("Hi"), json_schema=SCHEMA, strict=False), {}, Target("chat", "gpt-4o"))
    assert r.body["response_format"] == {"type": "json_schema", "json_schema": {"name": "response", "schema": SCHEMA, "strict": False}}
    assert any("“response”" in n.message for n in r.notes)


# --- gateways (docs/protocols.md §5) ---------------------------------------------------------------


def test_gateway_video_url_pdf_url_and_more_audio():
    gw = Target("chat", "google/gemini-2.5-flash", base_url="https://openrouter.ai/api/v1", gateway=True, api_key_env="OPENROUTER_API_KEY")
    yt = video(delivery="url", url="https://www.youtube.com/watch?v=abc", payload=None, mime_type="video/mp4")
    r = render(user(video(), yt, pdf_url(), audio(FLAC)), {}, gw)
    assert r.ok
    assert r.url == "https://openrouter.ai/api/v1/chat/completions"
    assert r.headers["Authorization"] == "Bearer $OPENROUTER_API_KEY"
    assert_body(
        r,
        {
            "model": "google/gemini-2.5-flash",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,TVA0"}},
                        {"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=abc"}},
                        {"type": "file", "file": {"filename": "report.pdf", "file_data": PDF_URL}},
                        {"type": "input_audio", "input_audio": {"data": "RkxB", "format": "flac"}},
                    ],
                }
            ],
        },
    )
    assert "data:video/mp4;base64,<base64 MP4, 4 B>" in r.display()
    messages = [n.message for n in r.notes]
    assert sum("video_url is a gateway extension" in m for m in messages) == 2
    assert any("PDF URL" in m for m in messages)
    assert any("flac audio is a gateway extension" in m for m in messages)


def test_gateway_flag_ignored_elsewhere():
    r = render(user(TextPart("Hi")), {}, Target("responses", "gpt-4o", gateway=True))
    assert any("Chat Completions only" in n.message for n in r.notes)


def test_animated_gif_refused_with_png_fallback():
    r = render(user(image(GIF, frame_count=12)), {}, Target("chat", "gpt-4o"))
    [ref] = r.refusals
    assert "non-animated" in ref.reason and ref.fallback.spec == "image:format=png"
    [ref] = render(user(image(GIF, frame_count=12)), {}, Target("responses", "gpt-4o")).refusals
    assert ref.fallback.spec == "image:format=png"
