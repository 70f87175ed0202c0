"""A part marked optional ("leave this part out for models that cannot take it", issue 9) is left
out of the body of a target that refuses it, with a warning note, instead of refusing the request;
targets that take it send it unchanged. Every kind of refusal counts: the model's inputs, the
protocol's kinds and formats, the role rules (docs/protocols.md §9.1–5), the dialect's own checks."""

import dataclasses

import pytest

from playground.protocols.render import render
from playground.protocols.serialize import materialize
from playground.protocols.tokens import estimate_tokens
from playground.protocols.types import MediaPart, Message, Prompt, Target, TextPart

from .helpers import MKV, OGG, assert_body, audio, frames, image, video
from .sdk_check import validate_params

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
pytest.importorskip("google.genai.types")

from anthropic.types.message_create_params import MessageCreateParamsNonStreaming  # noqa: E402
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming  # noqa: E402
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming  # noqa: E402

from .sdk_check import gemini_validate  # noqa: E402


def ask(*parts):
    return Prompt(messages=[Message("user", [TextPart("What happens here?"), *parts])])


def left_out_notes(rendered):
    return [n for n in rendered.notes if n.message.startswith("Left out for ")]


CASES = {
    # protocol, model, the part a target of that protocol refuses, the refusal's words
    "chat": ("gpt-4o", video(), "OpenAI Chat Completions has no video part."),
    "responses": ("gpt-4.1", audio(), "OpenAI Responses has no audio input"),
    "messages": ("claude-sonnet-4-5", audio(), "Anthropic Messages has no audio block."),
    "gemini": ("gemini-2.5-flash", video(MKV), "Gemini does not list video/x-matroska as a video type."),
}
SDK_TYPES = {
    "chat": lambda body: validate_params(body, CompletionCreateParamsNonStreaming),
    "responses": lambda body: validate_params(body, ResponseCreateParamsNonStreaming),
    "messages": None,  # anthropic-version 2023-06-01 bodies: no temperature here, so the SDK types fit
    "gemini": gemini_validate,
}


@pytest.mark.parametrize("protocol", list(CASES))
def test_a_refused_part_refuses_the_request_unless_it_is_optional(protocol):
    model, part, reason = CASES[protocol]
    target = Target(protocol, model)

    required = render(ask(part), {}, target)
    assert not required.ok
    assert [r.reason[: len(reason)] for r in required.refusals] == [reason]

    optional = render(ask(dataclasses.replace(part, optional=True)), {}, target)
    assert optional.ok, optional.refusals
    assert optional.refusals == []
    [note] = left_out_notes(optional)
    assert note.level == "warning"
    assert note.message.startswith(f"Left out for {model}: {reason}")
    assert (note.message_index, note.part_index) == (0, 1)
    assert note.where == "message 1 (user), part 2"
    # Left out of the body: it is the text-only prompt's body, byte for byte.
    assert_body(optional, materialize(render(ask(), {}, target).body))
    assert optional.body_bytes()  # sendable
    assert [s.part_index for s in optional.sent] == [0]  # not counted in the token estimate
    assert estimate_tokens(optional).total == estimate_tokens(render(ask(), {}, target)).total
    check = SDK_TYPES[protocol] or (lambda body: validate_params(body, MessageCreateParamsNonStreaming))
    check(materialize(optional.body))


def test_an_optional_part_a_target_takes_is_sent_as_it_is():
    for protocol, model in (("gemini", "gemini-2.5-flash"), ("chat", "gpt-4o")):
        target = Target(protocol, model)
        plain = render(ask(image()), {}, target)
        marked = render(ask(image(optional=True)), {}, target)
        assert marked.ok and not left_out_notes(marked)
        assert materialize(marked.body) == materialize(plain.body)
        assert [n.message for n in marked.notes] == [n.message for n in plain.notes]


def test_the_models_own_inputs_leave_an_optional_part_out():
    target = Target("chat", "gpt-5.4", inputs={"text", "image"})
    r = render(ask(audio(optional=True), image()), {}, target)
    assert r.ok
    assert [n.message for n in left_out_notes(r)] == ["Left out for gpt-5.4: Model gpt-5.4 is set up without audio input."]
    content = materialize(r.body)["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text", "image_url"]


def test_key_frames_are_left_out_whole_with_the_one_reason():
    """A video going as two key frames, for a model without images: both frames refused, the part
    left out once, and the key-frames note (about frames that are not sent) goes with it."""
    target = Target("chat", "audio-only", inputs={"text", "audio"})
    part = video(optional=True).with_frames(frames())
    r = render(ask(part), {}, target)
    assert r.ok
    assert [n.message for n in r.notes if n.part_index == 1] == [
        "Left out for audio-only: Model audio-only is set up without image input."
    ]
    assert len(materialize(r.body)["messages"][0]["content"]) == 1


def test_media_in_an_assistant_turn_is_left_out_when_optional():
    """The role rule (turns.check_part, docs/protocols.md §9.2): Chat takes no image in an
    assistant turn; marked optional, the image is left out and the turn keeps its text."""
    prompt = Prompt(messages=[
        Message("user", [TextPart("Draw a cat.")]),
        Message("assistant", [TextPart("Here it is."), image(optional=True)]),
        Message("user", [TextPart("Thanks. Now a dog.")]),
    ])
    r = render(prompt, {}, Target("chat", "gpt-4o"))
    assert r.ok, r.refusals
    [note] = left_out_notes(r)
    assert note.message.startswith("Left out for gpt-4o: OpenAI Chat Completions takes media only in user messages")
    assert materialize(r.body)["messages"][1] == {"role": "assistant", "content": "Here it is."}
    validate_params(materialize(r.body), CompletionCreateParamsNonStreaming)


def test_the_other_notes_of_a_left_out_part_go_with_it():
    """walk notes that "detail" is not carried for audio, then Anthropic refuses the audio: left
    out, only the left-out warning remains (no note about a part that is not sent)."""
    r = render(ask(audio(OGG, detail="high", optional=True)), {}, Target("messages", "claude-sonnet-4-5"))
    assert r.ok
    assert [n.message for n in r.notes if n.part_index == 1] == ["Left out for claude-sonnet-4-5: Anthropic Messages has no audio block."]
    plain = render(ask(audio(OGG, detail="high")), {}, Target("messages", "claude-sonnet-4-5"))
    assert any("detail" in n.message for n in plain.notes if n.part_index == 1)  # the note the left-out part drops


def test_leaving_out_the_only_content_of_a_turn_still_refuses():
    """A turn with nothing left is rejected by every protocol (docs/protocols.md §9.1): the
    refusal stands, and says why "leave out" could not apply."""
    prompt = Prompt(messages=[Message("user", [video(optional=True)])])
    r = render(prompt, {}, Target("chat", "gpt-4o"))
    assert not r.ok
    [refusal] = r.refusals
    assert refusal.reason.startswith("OpenAI Chat Completions has no video part.")
    assert "marked “leave out”, but it is all this message has" in refusal.reason
    assert refusal.fallback is not None and refusal.fallback.kind == "keyframes"  # the fix is still offered
    assert not left_out_notes(r)


def test_two_optional_parts_left_out_of_one_turn_keep_the_rest_in_order():
    target = Target("messages", "claude-sonnet-4-5")
    r = render(ask(audio(optional=True), image(), video(optional=True)), {}, target)
    assert r.ok
    assert [n.part_index for n in left_out_notes(r)] == [1, 3]
    assert [c["type"] for c in materialize(r.body)["messages"][0]["content"]] == ["text", "image"]
    assert [s.part_index for s in r.sent] == [0, 2]


def test_a_required_refused_part_beside_an_optional_one_keeps_the_request_unsendable():
    r = render(ask(audio(optional=True), video()), {}, Target("messages", "claude-sonnet-4-5"))
    assert not r.ok
    assert [(x.part_index, x.reason) for x in r.refusals] == [(2, "Anthropic Messages has no video block.")]
    assert [n.part_index for n in left_out_notes(r)] == [1]


def test_a_url_part_inlined_then_refused_leaves_no_note_about_how_it_would_have_gone():
    """urls.prepare inlines the stored copy (with a note) before the walk; the model then refuses
    the JPEG (its own image formats, limits.check_part). Left out, the "sent inline" note goes too."""
    from .helpers import JPG

    part = MediaPart("image", name="cat.jpg", mime_type="image/jpeg", width=640, height=480, delivery="url",
                     url="https://example.com/cat.jpg", payload=JPG, optional=True)
    target = Target("messages", "claude-sonnet-4-5", accepts_urls=False, image_formats={"image/png"})
    required = render(ask(dataclasses.replace(part, optional=False)), {}, target)
    assert not required.ok and any("sent inline" in n.message for n in required.notes)  # what the optional one drops

    r = render(ask(part), {}, target)
    assert r.ok, r.refusals
    assert [n.message for n in r.notes if n.part_index == 1] == [
        f"Left out for claude-sonnet-4-5: {required.refusals[0].reason}"]
