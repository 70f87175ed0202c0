"""The reported side of reconciliation: input tokens by modality as each protocol reports them
(providers/parse.py, docs/protocols.md §8.15), and the fake provider reporting them in the shapes
the official SDK types define."""

import anthropic.types
import pytest
from google.genai import types as genai_types
from openai.types import CompletionUsage
from openai.types.responses import ResponseUsage

from playground.providers.parse import parse_response
from playground.runs import sending, services
from playground.runs.models import Result
from tests.factories import doc_with, make_png, make_version, model_for

MODALITY_FIELDS = ("text_in", "image_in", "audio_in", "video_in", "pdf_in")


def _chat(usage: dict) -> dict:
    return {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": usage}


def _by_modality(u) -> tuple:
    return tuple(getattr(u, f) for f in MODALITY_FIELDS)


def test_chat_reports_text_image_and_audio_from_prompt_tokens_details():
    u = parse_response("chat", _chat({"prompt_tokens": 820, "completion_tokens": 5, "total_tokens": 825,
                                      "prompt_tokens_details": {"cached_tokens": 0, "text_tokens": 40,
                                                                "image_tokens": 780, "audio_tokens": 0}})).usage  # fmt: skip
    assert _by_modality(u) == (40, 780, 0, None, None)  # no video or PDF field on OpenAI


def test_chat_with_only_the_usual_details_leaves_text_and_image_unknown():
    # gpt-4o's answers carry cached and audio tokens only (the OpenAI reference's example).
    u = parse_response("chat", _chat({"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35,
                                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0}})).usage  # fmt: skip
    assert _by_modality(u) == (None, None, 0, None, None)
    u = parse_response("chat", _chat({"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35})).usage
    assert _by_modality(u) == (None,) * 5


def test_openrouter_video_tokens_are_read():
    u = parse_response("chat", _chat({"prompt_tokens": 600, "completion_tokens": 5, "total_tokens": 605,
                                      "prompt_tokens_details": {"cached_tokens": 0, "video_tokens": 526}})).usage  # fmt: skip
    assert u.video_in == 526 and u.text_in is None


def _gemini(details) -> dict:
    usage = {"promptTokenCount": 1000, "candidatesTokenCount": 5, "totalTokenCount": 1005}
    if details is not None:
        usage["promptTokensDetails"] = details
    return {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}], "usageMetadata": usage}


def test_gemini_reports_every_modality_it_lists_and_none_of_those_it_does_not():
    u = parse_response("gemini", _gemini([{"modality": "TEXT", "tokenCount": 10}, {"modality": "DOCUMENT", "tokenCount": 516},
                                          {"modality": "VIDEO", "tokenCount": 474}])).usage  # fmt: skip
    assert _by_modality(u) == (10, 0, 0, 474, 516)


def test_gemini_counts_an_unspecified_modality_as_text():
    # google-genai MediaModality: "When a modality is not specified, it is treated as TEXT".
    u = parse_response("gemini", _gemini([{"modality": "TEXT", "tokenCount": 10},
                                          {"modality": "MODALITY_UNSPECIFIED", "tokenCount": 4}])).usage  # fmt: skip
    assert u.text_in == 14


def test_gemini_without_the_list_and_responses_and_anthropic_report_no_modality():
    assert _by_modality(parse_response("gemini", _gemini(None)).usage) == (None,) * 5
    responses = {"status": "completed", "output": [], "usage": {"input_tokens": 30, "output_tokens": 5, "total_tokens": 35,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}  # fmt: skip
    assert _by_modality(parse_response("responses", responses).usage) == (None,) * 5
    messages = {"content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 30, "output_tokens": 5}}  # fmt: skip
    assert _by_modality(parse_response("messages", messages).usage) == (None,) * 5


@pytest.mark.django_db
def test_the_fake_reports_the_usage_a_test_sets_in_each_protocols_sdk_shape(team, user, provider_server):
    png = make_png(team)
    version = make_version(team, doc_with({"text": "Describe the photo."}, {"media": {"item": png.pk}}), user)
    models = {p: model_for(team, provider_server, p) for p in ("chat", "responses", "messages", "gemini")}
    run = services.start_run(version=version, values={}, provider_models=list(models.values()), user=user, team=team)
    for pm in models.values():
        provider_server.script(["ok:text=40,image=780"], model=pm.name)
    for r in run.results.all():
        sending.execute(r.pk)
    by = {r.protocol: r for r in run.results.all()}
    assert all(r.status == Result.Status.SUCCEEDED for r in by.values()), [r.error_message for r in by.values()]

    chat = CompletionUsage.model_validate(by["chat"].usage_raw)
    assert (chat.prompt_tokens, chat.prompt_tokens_details.text_tokens, chat.prompt_tokens_details.image_tokens) == (820, 40, 780)
    assert ResponseUsage.model_validate(by["responses"].usage_raw).input_tokens == 820
    assert anthropic.types.Usage.model_validate(by["messages"].usage_raw).input_tokens == 820
    gemini = genai_types.GenerateContentResponseUsageMetadata.model_validate(by["gemini"].usage_raw)
    assert {(d.modality.value, d.token_count) for d in gemini.prompt_tokens_details} == {("TEXT", 40), ("IMAGE", 780)}

    assert [by[p].input_tokens for p in ("chat", "responses", "messages", "gemini")] == [820] * 4
    assert (by["chat"].usage["text_in"], by["chat"].usage["image_in"]) == (40, 780)
    assert (by["gemini"].usage["text_in"], by["gemini"].usage["image_in"], by["gemini"].usage["pdf_in"]) == (40, 780, 0)
    assert by["messages"].usage["image_in"] is None and by["responses"].usage["text_in"] is None
