"""Our bodies against the official SDKs' request types (openai, anthropic, google-genai), strictly:
an undeclared or misspelt key anywhere fails, and so does a wrong value type or Literal."""

import copy

import pytest
from pydantic import ValidationError

from playground.protocols.render import render
from playground.protocols.serialize import materialize
from playground.protocols.types import Message, Options, Prompt, Target, TextPart

from . import test_gemini, test_openai_chat
from .helpers import SCHEMA, audio, frames, image, image_url, pdf, pdf_url, video
from .sdk_check import Invalid, check_typed, gemini_sdk_request, gemini_validate, validate_params

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
genai_types = pytest.importorskip("google.genai.types")

from anthropic.types.message_create_params import MessageCreateParamsNonStreaming  # noqa: E402
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming  # noqa: E402
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming  # noqa: E402


class MessageCreateParams20230601(MessageCreateParamsNonStreaming, total=False):
    """anthropic-version 2023-06-01 still takes temperature; the SDK 2.x types (made for
    2026-10-21) no longer declare it (docs/protocols.md §3). Everything else is the SDK's."""

    temperature: float


REJECTS = (Invalid, ValidationError)

VALUES = {"persona": "a critic", "subject": "the cat"}


def chat_body(**target):
    return materialize(render(test_openai_chat.kitchen_prompt(), VALUES, Target("chat", "gpt-4o", **target)).body)


def rich_prompt(*user_parts, system=(TextPart("Sys {{persona}}"), TextPart("More")), options=None):
    return Prompt(
        system=system,
        messages=[
            Message("user", [TextPart("Describe {{subject}}"), *user_parts]),
            Message("assistant", [TextPart("A cat."), TextPart("Grey.")]),
            Message("user", [TextPart("Thanks")]),
        ],
        options=options or Options(max_tokens=100, temperature=0.5, json_schema=SCHEMA, schema_name="answer"),
    )


def sendable(prompt, target) -> dict:
    r = render(prompt, VALUES, target)
    assert r.ok, (r.refusals, r.problems)
    return materialize(r.body)


# --- OpenAI Chat --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["system", "developer"])
def test_chat_bodies_validate(role):
    validate_params(chat_body(system_role=role), CompletionCreateParamsNonStreaming)
    body = sendable(rich_prompt(image(detail="low"), image_url(), audio(), pdf(), video().with_frames(frames())), Target("chat", "gpt-4o"))
    validate_params(body, CompletionCreateParamsNonStreaming)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda b: b["messages"][1]["content"][1].update(image_urll=b["messages"][1]["content"][1].pop("image_url")),
        lambda b: b["messages"][1]["content"][1]["image_url"].update(detial="low"),
        lambda b: b["messages"][1]["content"][3]["input_audio"].update(format="ogg"),
        lambda b: b["messages"][1]["content"][5]["file"].update(url="https://x"),
        lambda b: b.update(max_output_tokens=5),
        lambda b: b["messages"][0].update(role="model"),
        lambda b: b["response_format"]["json_schema"].pop("name"),
    ],
)
def test_chat_check_catches_wrong_keys(break_it):
    body = chat_body()
    break_it(body)
    with pytest.raises(REJECTS):
        validate_params(body, CompletionCreateParamsNonStreaming)


def test_gateway_extensions_are_not_openai():
    """The video_url part is exactly what OpenAI's own types reject: hence the gateway flag."""
    body = sendable(Prompt(messages=[Message("user", [video()])]), Target("chat", "x", gateway=True))
    with pytest.raises(Invalid, match="video_url"):
        check_typed(body, CompletionCreateParamsNonStreaming)


# --- OpenAI Responses --------------------------------------------------------------------------------


def test_responses_bodies_validate():
    body = sendable(rich_prompt(image(detail="high"), image_url(), pdf(), pdf_url(detail="low")), Target("responses", "gpt-4.1"))
    validate_params(body, ResponseCreateParamsNonStreaming)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda b: b["input"][0]["content"][1].update(image_urll="x"),
        lambda b: b["input"][0]["content"][1].pop("detail"),  # required by the spec
        lambda b: b["input"][0]["content"][1].update(image_url={"url": "https://x"}),  # Chat's nesting
        lambda b: b["input"][0]["content"][0].update(type="text"),
        lambda b: b["text"]["format"].update(json_schema={}),
        lambda b: b.update(max_completion_tokens=5),
    ],
)
def test_responses_check_catches_wrong_keys(break_it):
    body = sendable(rich_prompt(image(detail="high"), pdf()), Target("responses", "gpt-4.1"))
    break_it(body)
    with pytest.raises(REJECTS):
        validate_params(body, ResponseCreateParamsNonStreaming)


# --- Anthropic --------------------------------------------------------------------------------------


def test_anthropic_bodies_validate():
    parts = (image(), image_url(), pdf(), pdf_url(), video().with_frames(frames()))
    old = sendable(rich_prompt(*parts), Target("messages", "claude-sonnet-4-5"))
    assert old["temperature"] == 0.5
    validate_params(old, MessageCreateParams20230601)
    with pytest.raises(Invalid, match="temperature"):
        check_typed(old, MessageCreateParamsNonStreaming)  # the 2026-10-21 types: no temperature
    new = sendable(rich_prompt(*parts), Target("messages", "claude-sonnet-4-5", api_version="2026-10-21"))
    validate_params(new, MessageCreateParamsNonStreaming)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda b: b["messages"][0]["content"][1].update(sourse=b["messages"][0]["content"][1].pop("source")),
        lambda b: b["messages"][0]["content"][1]["source"].update(media_type="image/heic"),
        lambda b: b["messages"][0]["content"][1]["source"].update(mimeType="image/png"),
        lambda b: b["messages"][0]["content"][2]["source"].update(type="base46"),
        lambda b: b.pop("max_tokens"),
        lambda b: b["output_config"]["format"].update(name="answer"),
        lambda b: b.update(top_k=3),
    ],
)
def test_anthropic_check_catches_wrong_keys(break_it):
    body = sendable(rich_prompt(image(), pdf()), Target("messages", "claude-sonnet-4-5"))
    break_it(body)
    with pytest.raises(REJECTS):
        validate_params(body, MessageCreateParams20230601)


# --- Gemini -------------------------------------------------------------------------------------------


def gemini_body():
    yt = video(delivery="url", url=test_gemini.YOUTUBE, payload=None, mime_type="video/mp4")
    return sendable(rich_prompt(image(), audio(), video(), pdf(), yt), Target("gemini", "gemini-2.5-flash"))


def test_gemini_body_validates_and_matches_the_sdks_own_request():
    body = gemini_body()
    gemini_validate(body)
    assert gemini_sdk_request(body, "gemini-2.5-flash") == body
    minimal = sendable(Prompt(messages=[Message("user", [TextPart("Hi")])]), Target("gemini", "gemini-2.5-flash"))
    gemini_validate(minimal)
    assert gemini_sdk_request(minimal, "gemini-2.5-flash") == minimal


@pytest.mark.parametrize(
    "break_it",
    [
        lambda b: b["contents"][0]["parts"][1].update(inlineDatta=b["contents"][0]["parts"][1].pop("inlineData")),
        lambda b: b["contents"][0]["parts"][1]["inlineData"].update(media_type="image/png"),
        lambda b: b["generationConfig"].update(maxOutputToken=5),
        lambda b: b["contents"][0]["parts"][0].update(type="text"),
        lambda b: b.update(generation_config_extra={}),
    ],
)
def test_gemini_check_catches_wrong_keys(break_it):
    body = gemini_body()
    break_it(body)
    with pytest.raises(REJECTS):
        gemini_validate(body)


def test_gemini_misplaced_field_differs_from_the_sdks_request():
    """systemInstruction is a GenerateContentConfig field in the SDK, but not part of REST
    generationConfig: the model check alone would accept it there; the SDK's own request
    moves it, so the comparison catches it."""
    body = gemini_body()
    bad = copy.deepcopy(body)
    bad["generationConfig"]["systemInstruction"] = bad.pop("systemInstruction")
    gemini_validate(bad)
    assert gemini_sdk_request(bad, "gemini-2.5-flash") != bad


def test_hand_written_chat_body_validates():
    """The expected body written from protocols.md is what the SDK accepts, too."""
    validate_params(test_openai_chat.KITCHEN_BODY, CompletionCreateParamsNonStreaming)
