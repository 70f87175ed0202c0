"""Parsing answers and error bodies per protocol, on bodies shaped like protocols.md's examples
(docs/protocols.md §1–5) and the pitfalls of §8.15–18."""

import json

import pytest

from playground.providers import FINISH_REASONS, ProviderError, parse_error, parse_response
from playground.providers.parse import _ANTHROPIC_FINISH, _CHAT_FINISH


def dumps(data) -> bytes:
    return json.dumps(data).encode()


# --- Chat Completions -------------------------------------------------------------------------------

CHAT = {
    "id": "chatcmpl-abc",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "A cat.", "refusal": None, "tool_calls": None}}],
    "usage": {
        "prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160,
        "prompt_tokens_details": {"cached_tokens": 100, "audio_tokens": 0, "image_tokens": 85, "text_tokens": 35, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    },
}  # fmt: skip


class TestChat:
    def test_it_reads_text_finish_usage_and_ids(self):
        r = parse_response("chat", CHAT)
        assert (r.output_text, r.finish_reason, r.raw_finish_reason) == ("A cat.", "stop", "stop")
        assert (r.response_id, r.model, r.ok) == ("chatcmpl-abc", "gpt-4o-2024-08-06", True)
        u = r.usage
        assert (u.input, u.cached_input, u.cache_write, u.output, u.reasoning, u.image_in, u.audio_in, u.total) == (120, 100, 0, 40, 30, 85, 0, 160)
        assert u.input_by_modality == {"TEXT": 35, "IMAGE": 85, "AUDIO": 0}
        assert r.raw_usage == CHAT["usage"]

    def test_missing_detail_fields_are_unknown_not_zero(self):
        r = parse_response("chat", {**CHAT, "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}})
        u = r.usage
        assert (u.input, u.output, u.total) == (10, 2, 12)
        assert (u.cached_input, u.cache_write, u.reasoning, u.image_in, u.audio_in, u.input_by_modality) == (None,) * 6

    def test_no_usage_at_all_is_all_unknown(self):
        r = parse_response("chat", {"choices": CHAT["choices"]})
        assert r.usage.to_dict() == {k: None for k in r.usage.to_dict()}

    def test_null_content_with_a_refusal(self):
        choice = {"index": 0, "finish_reason": "content_filter", "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}}
        r = parse_response("chat", {"choices": [choice]})
        assert (r.output_text, r.refusal, r.finish_reason, r.ok) == ("", "I can't help with that.", "content_filter", True)

    def test_tool_calls(self):
        choice = {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]}}
        assert parse_response("chat", {"choices": [choice]}).finish_reason == "tool_call"

    def test_a_gateway_content_list_is_joined(self):
        choice = {"finish_reason": "stop", "message": {"content": [{"type": "text", "text": "A "}, {"type": "text", "text": "cat."}]}}
        assert parse_response("chat", {"choices": [choice]}).output_text == "A cat."

    def test_an_openrouter_mid_generation_error_arriving_as_200_is_a_failure(self):
        body = {
            "id": "gen-1", "model": "anthropic/claude-sonnet-4.5",
            "choices": [{"index": 0, "finish_reason": "error", "message": {"role": "assistant", "content": "A ca"}}],
            "error": {"code": 502, "message": "Provider disconnected", "metadata": {"provider_name": "Anthropic"}},
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
        }  # fmt: skip
        r = parse_response("chat", body)
        assert not r.ok and r.finish_reason == "error" and r.output_text == "A ca"
        assert r.error.kind == "response" and "Provider disconnected" in r.error.message
        assert r.error.code == 502 and r.error.retryable and r.error.details == {"provider_name": "Anthropic"}
        assert r.usage.total == 12  # kept: it is billed

    def test_an_error_without_choices(self):
        r = parse_response("chat", {"error": {"code": 429, "message": "Upstream rate limited"}})
        assert not r.ok and "Upstream rate limited" in r.error.message

    def test_a_body_without_choices_is_malformed(self):
        with pytest.raises(ProviderError) as caught:
            parse_response("chat", {"id": "x"})
        assert caught.value.kind == "malformed" and "choices" in caught.value.message

    def test_every_raw_finish_maps_into_our_enum(self):
        assert set(_CHAT_FINISH.values()) <= set(FINISH_REASONS)
        assert set(_ANTHROPIC_FINISH.values()) <= set(FINISH_REASONS)
        assert parse_response("chat", {"choices": [{"message": {"content": "x"}, "finish_reason": "weird"}]}).finish_reason == "other"


# --- Responses ----------------------------------------------------------------------------------------

RESPONSES = {
    "id": "resp_1", "object": "response", "status": "completed", "error": None, "incomplete_details": None, "model": "gpt-4.1",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "A ", "annotations": []}, {"type": "output_text", "text": "cat", "annotations": []}]},
        {"type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": ".", "annotations": []}]},
    ],
    "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 10},
              "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 70},
}  # fmt: skip


class TestResponses:
    def test_it_concatenates_output_text_and_skips_reasoning(self):
        r = parse_response("responses", RESPONSES)
        assert (r.output_text, r.finish_reason, r.raw_finish_reason, r.ok) == ("A cat.", "stop", "completed", True)
        u = r.usage
        assert (u.input, u.cached_input, u.cache_write, u.output, u.reasoning, u.total) == (50, 0, 10, 20, 12, 70)
        assert (u.image_in, u.audio_in) == (None, None)  # Responses gives no modality breakdown

    def test_missing_details_are_unknown(self):
        r = parse_response("responses", {**RESPONSES, "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}})
        assert (r.usage.cached_input, r.usage.reasoning, r.usage.total) == (None, None, 8)

    def test_incomplete_at_the_token_cap_is_a_failure_with_finish_length(self):
        body = {**RESPONSES, "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
        r = parse_response("responses", body)
        assert (r.finish_reason, r.raw_finish_reason) == ("length", "incomplete:max_output_tokens")
        assert not r.ok and r.error.kind == "response" and r.error.error_type == "incomplete:max_output_tokens"
        assert r.output_text == "A cat." and r.usage.total == 70

    def test_incomplete_by_content_filter(self):
        r = parse_response("responses", {**RESPONSES, "status": "incomplete", "incomplete_details": {"reason": "content_filter"}})
        assert r.finish_reason == "content_filter" and not r.ok

    def test_failed_carries_the_error_code(self):
        body = {**RESPONSES, "status": "failed", "output": [], "error": {"code": "invalid_image", "message": "The image is broken."}}
        r = parse_response("responses", body)
        assert r.finish_reason == "error" and r.error.code == "invalid_image" and not r.error.retryable
        assert "The image is broken." in r.error.message
        server = parse_response("responses", {**body, "error": {"code": "server_error", "message": "oops"}})
        assert server.error.retryable

    def test_a_refusal_and_tool_calls(self):
        refusal = {**RESPONSES, "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]}
        r = parse_response("responses", refusal)
        assert (r.output_text, r.refusal, r.finish_reason) == ("", "No.", "content_filter")
        tool = {**RESPONSES, "output": [{"type": "function_call", "name": "f", "arguments": "{}"}]}
        assert parse_response("responses", tool).finish_reason == "tool_call"

    def test_a_background_response_still_in_progress_is_not_a_result(self):
        r = parse_response("responses", {"id": "resp_2", "status": "in_progress", "output": []})
        assert not r.ok and "in_progress" in r.error.message


# --- Anthropic ------------------------------------------------------------------------------------------

MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "x"}, {"type": "text", "text": "A "},
                {"type": "tool_use", "id": "t", "name": "f", "input": {}}, {"type": "text", "text": "cat."}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 20, "output_tokens": 15, "cache_creation_input_tokens": 30, "cache_read_input_tokens": 100,
              "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 0},
              "output_tokens_details": {"thinking_tokens": 9}, "service_tier": "standard"},
}  # fmt: skip


class TestAnthropic:
    def test_it_skips_thinking_and_computes_the_total(self):
        r = parse_response("messages", MESSAGE)
        assert (r.output_text, r.finish_reason, r.raw_finish_reason) == ("A cat.", "stop", "end_turn")
        u = r.usage
        # input_tokens excludes cache reads and writes: input = 20 + 30 + 100; no total given: computed.
        assert (u.input, u.cached_input, u.cache_write, u.output, u.reasoning, u.total) == (150, 100, 30, 15, 9, 165)

    def test_missing_cache_fields_are_unknown(self):
        r = parse_response("messages", {**MESSAGE, "usage": {"input_tokens": 20, "output_tokens": 5}})
        u = r.usage
        assert (u.input, u.cached_input, u.cache_write, u.reasoning, u.total) == (20, None, None, None, 25)

    @pytest.mark.parametrize(
        "raw, ours",
        [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_call"),
         ("refusal", "content_filter"), ("pause_turn", "other"), ("model_context_window_exceeded", "length")],
    )  # fmt: skip
    def test_stop_reasons(self, raw, ours):
        assert parse_response("messages", {**MESSAGE, "stop_reason": raw}).finish_reason == ours

    def test_an_error_object_in_place_of_a_message_is_a_failure(self):
        r = parse_response("messages", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        assert not r.ok and r.error.error_type == "overloaded_error" and r.error.retryable


# --- Gemini ---------------------------------------------------------------------------------------------

GEMINI = {
    "candidates": [{"index": 0, "finishReason": "STOP", "safetyRatings": [],
                    "content": {"role": "model", "parts": [{"text": "Let me think", "thought": True}, {"text": "A "}, {"text": "cat."}]}}],
    "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 10, "totalTokenCount": 335, "cachedContentTokenCount": 200,
                      "thoughtsTokenCount": 20, "toolUsePromptTokenCount": 5,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 42}, {"modality": "IMAGE", "tokenCount": 258}],
                      "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 10}]},
    "modelVersion": "gemini-2.5-flash", "responseId": "abc",
}  # fmt: skip


class TestGemini:
    def test_it_skips_thoughts_and_reads_per_modality_usage(self):
        r = parse_response("gemini", GEMINI)
        assert (r.output_text, r.finish_reason, r.raw_finish_reason) == ("A cat.", "stop", "STOP")
        assert (r.response_id, r.model) == ("abc", "gemini-2.5-flash")
        u = r.usage
        # candidates exclude thoughts; tool-use prompt tokens are input; total = prompt + tool + candidates + thoughts
        assert (u.input, u.cached_input, u.output, u.reasoning, u.total) == (305, 200, 30, 20, 335)
        assert u.input + u.output == u.total
        assert (u.image_in, u.audio_in) == (258, 0)  # AUDIO not listed among the prompt's modalities: none
        assert u.input_by_modality == {"TEXT": 42, "IMAGE": 258}

    def test_without_prompt_details_modalities_are_unknown(self):
        r = parse_response("gemini", {**GEMINI, "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}})
        assert (r.usage.image_in, r.usage.audio_in, r.usage.cached_input, r.usage.reasoning) == (None, None, None, None)
        assert (r.usage.input, r.usage.output, r.usage.total) == (3, 2, 5)

    def test_a_blocked_prompt_arriving_as_200_is_a_failure(self):
        body = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}, "modelVersion": "gemini-2.5-flash"}  # fmt: skip
        r = parse_response("gemini", body)
        assert not r.ok and r.error.kind == "response" and r.error.error_type == "blocked:SAFETY"
        assert (r.output_text, r.finish_reason, r.raw_finish_reason) == ("", "content_filter", "blockReason:SAFETY")
        assert (r.usage.input, r.usage.output, r.usage.total) == (12, 0, 12)

    @pytest.mark.parametrize("raw", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "SPII", "BLOCKLIST"])
    def test_a_safety_finish_is_a_failure(self, raw):
        body = {**GEMINI, "candidates": [{"finishReason": raw, "content": {"parts": []}}]}
        r = parse_response("gemini", body)
        assert r.finish_reason == "content_filter" and not r.ok and raw in r.error.message

    def test_max_tokens_and_function_calls(self):
        cap = {**GEMINI, "candidates": [{**GEMINI["candidates"][0], "finishReason": "MAX_TOKENS"}]}
        assert parse_response("gemini", cap).finish_reason == "length"
        call = {**GEMINI, "candidates": [{"finishReason": "STOP", "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}}]}
        assert parse_response("gemini", call).finish_reason == "tool_call"

    def test_snake_case_answers_are_read_too(self):
        body = {"candidates": [{"finish_reason": "STOP", "content": {"parts": [{"text": "hi"}]}}],
                "usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 1, "total_token_count": 5}}  # fmt: skip
        r = parse_response("gemini", body)
        assert (r.output_text, r.finish_reason, r.usage.total) == ("hi", "stop", 5)

    def test_an_unrelated_object_is_malformed(self):
        with pytest.raises(ProviderError) as caught:
            parse_response("gemini", {"hello": 1})
        assert caught.value.kind == "malformed"


def test_a_non_object_answer_is_malformed():
    with pytest.raises(ProviderError) as caught:
        parse_response("responses", [1, 2])
    assert caught.value.kind == "malformed" and "list" in caught.value.message


# --- error bodies -----------------------------------------------------------------------------------------


class TestErrors:
    def test_openai(self):
        body = dumps({"error": {"message": "Invalid 'messages[0].content'.", "type": "invalid_request_error", "param": "messages", "code": None}})
        e = parse_error("chat", 400, {"x-request-id": "req_1"}, body)
        assert (e.status, e.error_type, e.param, e.request_id, e.retryable, e.kind) == (400, "invalid_request_error", "messages", "req_1", False, "http")
        assert "Invalid 'messages[0].content'." in e.message and "400" in e.message

    def test_openai_rate_limit_is_retryable_with_its_wait(self):
        body = dumps({"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}})
        e = parse_error("responses", 429, {"retry-after-ms": "1500"}, body)
        assert (e.retryable, e.retry_after_s, e.code) == (True, 1.5, "rate_limit_exceeded")

    def test_insufficient_quota_is_not_retryable(self):
        body = dumps({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})
        e = parse_error("chat", 429, {}, body)
        assert e.error_type == "insufficient_quota" and not e.retryable

    def test_anthropic(self):
        body = dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_9"})
        e = parse_error("messages", 529, {}, body)
        assert (e.status, e.error_type, e.retryable, e.request_id) == (529, "overloaded_error", True, "req_9")
        assert "Overloaded" in e.message

    def test_gemini_and_its_list_form(self):
        err = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED", "details": []}}
        for body in (dumps(err), dumps([err])):
            e = parse_error("gemini", 429, {}, body)
            assert (e.error_type, e.code, e.retryable) == ("RESOURCE_EXHAUSTED", 429, True)
            assert "Resource has been exhausted" in e.message

    def test_openrouter(self):
        body = dumps({"error": {"code": 402, "message": "Insufficient credits", "metadata": {"provider_name": None}}})
        e = parse_error("chat", 402, {}, body)
        assert (e.error_type, e.code, e.retryable, e.details) == ("402", 402, False, {"provider_name": None})
        # A 402 with Retry-After may clear (docs/protocols.md §7).
        assert parse_error("chat", 402, {"retry-after": "5"}, body).retryable

    def test_gateway_shapes(self):
        ollama = parse_error("chat", 404, {}, dumps({"error": "model 'llava' not found"}))
        assert "model 'llava' not found" in ollama.message
        vllm = parse_error("chat", 400, {}, dumps({"object": "error", "message": "too many tokens", "type": "BadRequestError", "code": 400}))
        assert ("too many tokens" in vllm.message, vllm.error_type) == (True, "BadRequestError")

    def test_a_non_json_body_is_quoted(self):
        e = parse_error("chat", 502, {"content-type": "text/html"}, b"<html><h1>502 Bad Gateway</h1></html>" + b"x" * 500, reason="Bad Gateway")
        assert "not JSON" in e.message and "text/html" in e.message and "<html><h1>502 Bad Gateway" in e.message
        assert "bytes" in e.message and e.retryable and e.error_type is None

    def test_an_empty_body(self):
        e = parse_error("gemini", 503, {}, b"")
        assert "empty body" in e.message and e.retryable

    def test_unreadable_json(self):
        e = parse_error("messages", 500, {}, dumps({"weird": True}))
        assert "could not read" in e.message and '"weird"' in e.message

    def test_x_should_retry(self):
        body = dumps({"error": {"message": "x", "type": "server_error"}})
        assert not parse_error("chat", 500, {"x-should-retry": "false"}, body).retryable
        assert parse_error("chat", 400, {"x-should-retry": "true"}, body).retryable

    def test_to_dict_is_json_ready(self):
        e = parse_error("messages", 429, {"retry-after": "2", "request-id": "req_x"}, dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}))
        d = json.loads(json.dumps(e.to_dict()))
        assert d["status"] == 429 and d["error_type"] == "rate_limit_error" and d["retry_after_s"] == 2.0 and d["request_id"] == "req_x"
