"""``send`` end to end: real requests rendered by playground.protocols, sent over real sockets to
the fake provider on loopback (tests/provider_server.py), which checks every body. Nothing in
the code under test is mocked."""

import asyncio
import base64
import json
import os
import threading
import time

import httpx
import pytest

from playground.protocols import MediaPart, Message, NotSendable, Payload, Prompt, Target, TextPart, render
from playground.providers import (
    NO_RETRY,
    STREAM_ABOVE,
    USER_AGENT,
    Dispatcher,
    RetryPolicy,
    Timeouts,
    make_client,
    send,
    send_sync,
)
from tests.media_samples import wav_bytes
from tests.provider_server import refused_port

from . import FAST, KEY, MODELS, PROTOCOLS, cat_prompt, rendered_for, send_one

# --- success ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_it_sends_each_protocol_and_reads_the_answer(provider_server, protocol):
    rendered = rendered_for(provider_server, protocol)
    outcome = send_one(rendered)
    assert outcome.ok, outcome.error
    r = outcome.result
    # The fake describes what arrived: the image and the texts made it, in the right places.
    assert r.output_text.startswith("[fake] images=1 audio=0 video=0 pdfs=0 urls=0 texts=1")
    assert "system: Be terse." in r.output_text and "user: Describe the cat." in r.output_text
    assert "(thinking)" not in r.output_text  # reasoning / thinking / thought parts skipped
    assert (r.finish_reason, r.protocol) == ("stop", protocol)
    u = r.usage
    assert u.input > 258 and u.output > 0 and u.input + u.output == u.total
    assert u.cached_input == (None if protocol == "gemini" else 0)  # Gemini omits it when nothing was cached
    assert r.response_id and r.model == MODELS[protocol]
    # What the server got: a body valid for its protocol, Content-Length set, our User-Agent.
    seen = provider_server.received[-1]
    assert seen.problems == [] and seen.snake_case == [] and seen.counts["images"] == 1
    assert seen.headers["content-length"] == str(rendered.body_size()) == str(outcome.request_bytes)
    assert "transfer-encoding" not in seen.headers and seen.headers["user-agent"] == USER_AGENT
    # What is logged.
    assert outcome.status == 200 and len(outcome.attempts) == 1 and outcome.attempts[0].error is None
    assert 0 < outcome.ttfb_s <= outcome.latency_s <= outcome.elapsed_s
    assert outcome.response_json["usage" if protocol != "gemini" else "usageMetadata"] == r.raw_usage
    if protocol != "gemini":  # Gemini sends no request id header
        assert outcome.request_id.startswith("req_")
    json.dumps(outcome.to_dict())  # JSON-ready


def test_the_same_prompt_normalizes_to_the_same_usage_on_every_protocol(provider_server):
    """The fake reports the same token counts in each protocol's own format (Anthropic's
    input_tokens excluding cache reads, Gemini's candidates excluding thoughts...)."""
    usages = {}
    for protocol in PROTOCOLS:
        provider_server.script(["ok:cached=100"])
        usages[protocol] = send_one(rendered_for(provider_server, protocol)).result.usage
    assert len({(u.input, u.cached_input, u.output, u.total) for u in usages.values()}) == 1, usages
    assert usages["messages"].cached_input == 100 and usages["gemini"].image_in == 258
    assert usages["chat"].reasoning == usages["responses"].reasoning == usages["gemini"].reasoning == 8
    assert usages["messages"].reasoning is None  # Anthropic gave no output_tokens_details


def test_audio_reaches_chat_as_bare_base64(provider_server):
    clip = MediaPart("audio", name="clip.wav", duration_s=0.1, payload=Payload.from_bytes(wav_bytes(seconds=0.1), "audio/wav"))
    prompt = Prompt(messages=(Message("user", (TextPart("Transcribe."), clip)),))
    outcome = send_one(render(prompt, {}, provider_server.target("chat", "gpt-4o-audio-preview")))
    assert outcome.ok and "audio=1" in outcome.result.output_text


def test_a_large_body_is_streamed_from_disk_with_content_length(provider_server, tmp_path):
    raw = b"\x89PNG\r\n\x1a\n" + os.urandom(STREAM_ABOVE)  # PNG magic + noise: over the streaming threshold
    b64 = tmp_path / "big.png.b64"
    b64.write_bytes(base64.b64encode(raw))
    big = MediaPart("image", name="big.png", width=2000, height=2000, payload=Payload("image/png", len(raw), path=b64))
    prompt = Prompt(messages=(Message("user", (TextPart("Big one."), big)),), options=cat_prompt().options)
    for protocol in ("messages", "gemini"):
        rendered = render(prompt, {}, provider_server.target(protocol, MODELS[protocol]))
        assert rendered.body_size() > STREAM_ABOVE
        outcome = send_one(rendered)
        assert outcome.ok, outcome.error
        seen = provider_server.received[-1]
        assert seen.size == rendered.body_size() and seen.headers["content-length"] == str(seen.size)
        assert "transfer-encoding" not in seen.headers and seen.counts["images"] == 1


def test_a_request_with_refusals_is_not_sent(provider_server):
    clip = MediaPart("audio", name="clip.wav", payload=Payload.from_bytes(wav_bytes(seconds=0.1), "audio/wav"))
    rendered = render(Prompt(messages=(Message("user", (clip,)),)), {}, provider_server.target("messages", "claude-sonnet-4-5"))
    with pytest.raises(NotSendable):
        send_one(rendered)
    assert not provider_server.received


def test_no_key_sends_no_auth_header(provider_server):
    outcome = send_one(rendered_for(provider_server, "chat"), api_key=None, retry_policy=NO_RETRY)
    assert outcome.error.status == 401 and "didn't provide an API key" in outcome.error.message
    assert "authorization" not in provider_server.received[-1].headers


# --- errors ------------------------------------------------------------------------------------------------

ERROR_TYPES = {
    # spec: {protocol: (status, provider error type)}
    "400": {"chat": (400, "invalid_request_error"), "responses": (400, "invalid_request_error"),
            "messages": (400, "invalid_request_error"), "gemini": (400, "INVALID_ARGUMENT")},
    "429": {"chat": (429, "requests"), "responses": (429, "requests"), "messages": (429, "rate_limit_error"), "gemini": (429, "RESOURCE_EXHAUSTED")},
    "500": {"chat": (500, "server_error"), "responses": (500, "server_error"), "messages": (500, "api_error"), "gemini": (500, "INTERNAL")},
    "529": {"chat": (529, "server_error"), "responses": (529, "server_error"), "messages": (529, "overloaded_error"), "gemini": (529, "UNAVAILABLE")},
}  # fmt: skip


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("spec", list(ERROR_TYPES))
def test_each_error_status_gives_the_providers_type_and_message(provider_server, protocol, spec):
    provider_server.script([spec])
    outcome = send_one(rendered_for(provider_server, protocol), retry_policy=NO_RETRY)
    e = outcome.error
    assert not outcome.ok and outcome.result is None
    assert (e.status, e.error_type) == ERROR_TYPES[spec][protocol]
    assert e.kind == "http" and e.retryable == (spec != "400")
    assert len(outcome.attempts) == 1 and outcome.attempts[0].status == e.status
    assert outcome.response_json is not None  # the provider's error body, logged as it came


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_key_is_reported_and_not_retried(provider_server, protocol):
    outcome = send_one(rendered_for(provider_server, protocol), api_key="sk-wrong-key-123456", retry_policy=FAST)
    e = outcome.error
    expected = {"chat": (401, "invalid_request_error"), "responses": (401, "invalid_request_error"),
                "messages": (401, "authentication_error"), "gemini": (400, "INVALID_ARGUMENT")}[protocol]  # fmt: skip
    assert (e.status, e.error_type, e.retryable) == (*expected, False)
    assert len(outcome.attempts) == 1
    assert ("API key" in e.message) or ("x-api-key" in e.message)


def test_an_invalid_body_is_a_400_that_is_not_retried(provider_server):
    rendered = rendered_for(provider_server, "messages")
    del rendered.body["max_tokens"]  # as a broken converter would send it
    outcome = send_one(rendered, retry_policy=FAST)
    assert (outcome.error.status, outcome.error.error_type) == (400, "invalid_request_error")
    assert "max_tokens: Field required" in outcome.error.message and len(outcome.attempts) == 1


@pytest.mark.parametrize(
    "protocol, spec, finish, error_type",
    [("gemini", "blocked", "content_filter", "blocked:SAFETY"), ("gemini", "safety", "content_filter", "finish:SAFETY"),
     ("responses", "incomplete", "length", "incomplete:max_output_tokens"), ("chat", "midgen", "error", "502")],
)  # fmt: skip
def test_failures_arriving_as_200_are_failures_with_their_usage(provider_server, protocol, spec, finish, error_type):
    provider_server.script([spec])
    outcome = send_one(rendered_for(provider_server, protocol), retry_policy=NO_RETRY)
    assert outcome.status == 200 and not outcome.ok
    assert outcome.error is outcome.result.error and outcome.error.kind == "response"
    assert (outcome.result.finish_reason, outcome.error.error_type) == (finish, error_type)
    assert outcome.result.usage.input is not None  # billed, so logged


def test_malformed_json_gives_a_clear_error(provider_server):
    provider_server.script(["malformed"])
    outcome = send_one(rendered_for(provider_server, "chat"), retry_policy=FAST)
    e = outcome.error
    assert (e.kind, e.status, e.retryable) == ("malformed", 200, False)
    assert "not valid JSON" in e.message and '{"id": "chatcmpl-1"' in e.message and "application/json" in e.message
    assert len(outcome.attempts) == 1


def test_an_html_error_page_is_quoted(provider_server):
    provider_server.script(["html"])
    outcome = send_one(rendered_for(provider_server, "messages"), retry_policy=NO_RETRY)
    assert outcome.error.status == 502 and "not JSON (text/html)" in outcome.error.message and "502 Bad Gateway" in outcome.error.message


# --- retries -------------------------------------------------------------------------------------------------


def test_a_429_is_retried_after_the_retry_after_it_gives(provider_server):
    provider_server.script(["429:retry-after=1", "ok"])
    t0 = time.perf_counter()
    outcome = send_one(rendered_for(provider_server, "messages"))
    assert outcome.ok and time.perf_counter() - t0 >= 1.0
    first, second = outcome.attempts
    assert (first.status, first.wait_s, first.error["error_type"]) == (429, 1.0, "rate_limit_error")
    assert (second.status, second.wait_s, second.error) == (200, None, None)
    assert outcome.elapsed_s >= 1.0 and outcome.latency_s < 1.0  # latency is the last attempt's


def test_retry_after_ms_is_preferred(provider_server):
    provider_server.script(["429:retry-after-ms=150,retry-after=30", "ok"])
    outcome = send_one(rendered_for(provider_server, "chat"))
    assert outcome.ok and outcome.attempts[0].wait_s == 0.15


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_500_and_529_are_retried_until_an_answer(provider_server, protocol):
    provider_server.script(["500", "529", "503", "ok"])
    outcome = send_one(rendered_for(provider_server, protocol), retry_policy=FAST)
    assert outcome.ok, outcome.error
    assert [a.status for a in outcome.attempts] == [500, 529, 503, 200]
    assert all(0 <= a.wait_s <= 0.02 for a in outcome.attempts[:-1])


def test_retries_stop_at_the_cap(provider_server):
    provider_server.script(["500"] * 5)
    outcome = send_one(rendered_for(provider_server, "gemini"), retry_policy=RetryPolicy(max_retries=2, base_delay_s=0.005))
    assert [a.status for a in outcome.attempts] == [500, 500, 500]
    assert outcome.error.status == 500 and "Not retried: gave up after 3 attempts." in outcome.error.message
    assert len(provider_server.received) == 3


def test_a_quota_429_and_x_should_retry_false_are_not_retried(provider_server):
    provider_server.script(["429:quota", "500:should-retry=false"])
    quota = send_one(rendered_for(provider_server, "chat"), retry_policy=FAST)
    assert quota.error.error_type == "insufficient_quota" and len(quota.attempts) == 1
    told = send_one(rendered_for(provider_server, "chat"), retry_policy=FAST)
    assert told.error.status == 500 and not told.error.retryable and len(told.attempts) == 1


def test_x_should_retry_true_makes_a_400_retried(provider_server):
    provider_server.script(["400:should-retry=true", "ok"])
    assert len(send_one(rendered_for(provider_server, "chat"), retry_policy=FAST).attempts) == 2


def test_a_retry_after_beyond_the_cap_fails_at_once(provider_server):
    provider_server.script(["429:retry-after=120"])
    t0 = time.perf_counter()
    outcome = send_one(rendered_for(provider_server, "messages"))
    assert time.perf_counter() - t0 < 0.5 and len(outcome.attempts) == 1
    assert "asked to wait 120 s before retrying, more than the 60 s we wait" in outcome.error.message


def test_a_hang_times_out_after_the_read_timeout(provider_server):
    provider_server.script(["hang"])
    outcome = send_one(rendered_for(provider_server, "chat"), timeouts=Timeouts(read=0.3), retry_policy=NO_RETRY)
    e = outcome.error
    assert (e.kind, e.status, e.retryable) == ("timeout", None, True)
    assert "read timeout" in e.message and "0.3 s" in e.message
    assert 0.3 <= outcome.attempts[0].latency_s < 0.8 and outcome.ttfb_s is None


def test_a_timeout_is_retried(provider_server):
    provider_server.script(["hang", "ok"])
    outcome = send_one(rendered_for(provider_server, "gemini"), timeouts=Timeouts(read=0.2), retry_policy=FAST)
    assert outcome.ok and [a.error and a.error["kind"] for a in outcome.attempts] == ["timeout", None]


def test_a_total_timeout_caps_a_slow_answer(provider_server):
    provider_server.script(["slow=1000"])
    outcome = send_one(rendered_for(provider_server, "chat"), timeouts=Timeouts(read=5, total=0.2), retry_policy=NO_RETRY)
    assert outcome.error.kind == "timeout" and "total timeout" in outcome.error.message


def test_a_closed_connection_is_retried(provider_server):
    provider_server.script(["close", "ok"])
    outcome = send_one(rendered_for(provider_server, "responses"), retry_policy=FAST)
    assert outcome.ok and outcome.attempts[0].error["kind"] == "connection"


def test_a_refused_connection_is_retried_then_reported():
    with refused_port() as port:
        target = Target("chat", "gpt-4o", base_url=f"http://127.0.0.1:{port}/v1")
        outcome = send_one(render(cat_prompt(), {}, target), retry_policy=RetryPolicy(max_retries=2, base_delay_s=0.005))
    e = outcome.error
    assert (e.kind, e.status, e.retryable) == ("connection", None, True)
    assert f"Could not connect to 127.0.0.1:{port}" in e.message and "gave up after 3 attempts" in e.message
    assert len(outcome.attempts) == 3


def test_on_attempt_is_called_for_every_attempt_sync_or_async(provider_server):
    seen = []

    async def async_hook(attempt):
        seen.append(("async", attempt.number, attempt.status))

    provider_server.script(["500", "ok"])
    send_one(rendered_for(provider_server, "chat"), retry_policy=FAST, on_attempt=lambda a: seen.append(("sync", a.number, a.status)))
    provider_server.script(["529", "ok"])
    send_one(rendered_for(provider_server, "messages"), retry_policy=FAST, on_attempt=async_hook)
    assert seen == [("sync", 1, 500), ("sync", 2, 200), ("async", 1, 529), ("async", 2, 200)]


# --- the key ------------------------------------------------------------------------------------------------


def test_the_key_appears_nowhere_in_what_is_returned(provider_server):
    outcomes = []
    for protocol in PROTOCOLS:
        outcomes.append(send_one(rendered_for(provider_server, protocol)))
        provider_server.script(["429", "500"])
        outcomes.append(send_one(rendered_for(provider_server, protocol), retry_policy=RetryPolicy(max_retries=1, base_delay_s=0.001)))
    for outcome in outcomes:
        assert KEY not in repr(outcome) and KEY not in json.dumps(outcome.to_dict())
        assert KEY not in str(outcome.error) and KEY not in repr(outcome.attempts)
    assert KEY not in repr(list(provider_server.received))


def test_a_key_echoed_by_a_server_is_redacted(provider_server):
    """A misbehaving server (or proxy) that echoes the key into its error body."""

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": f"bad header {request.headers['authorization']}", "type": "x"}})

    async def main():
        async with make_client(transport=httpx.MockTransport(echo)) as client:
            return await send(rendered_for(provider_server, "chat"), api_key=KEY, client=client, retry_policy=NO_RETRY)

    outcome = asyncio.run(main())
    assert "bad header Bearer [redacted]" in outcome.error.message
    assert KEY not in repr(outcome) and KEY not in json.dumps(outcome.to_dict())


def test_cookies_a_provider_sets_are_never_sent_back(provider_server):
    """One client serves every team's providers: a cookie set on one team's call must not ride along on the
    next call to that host (another team's, perhaps)."""
    seen = []

    def sets_a_cookie(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=team-a; Path=/"},
                              json={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]})  # fmt: skip

    async def main():
        async with make_client(transport=httpx.MockTransport(sets_a_cookie)) as client:
            for _ in range(2):
                await send(rendered_for(provider_server, "chat"), api_key=KEY, client=client, retry_policy=NO_RETRY)
            client.cookies = {"stray": "1"}  # nor can a caller give it any
            await send(rendered_for(provider_server, "chat"), api_key=KEY, client=client, retry_policy=NO_RETRY)
            return client.cookies

    assert not asyncio.run(main())
    assert seen == [None, None, None]


# --- concurrency -----------------------------------------------------------------------------------------------


def test_the_limiter_bounds_calls_in_flight(provider_server):
    provider_server.delay_s = 0.1
    renders = [rendered_for(provider_server, "chat") for _ in range(12)]

    async def main(limit):
        limiter = asyncio.Semaphore(limit) if limit else None
        async with make_client(max_connections=50) as client:
            return await asyncio.gather(*(send(r, api_key=KEY, client=client, limiter=limiter) for r in renders))

    outcomes = asyncio.run(main(3))
    assert all(o.ok for o in outcomes) and provider_server.max_in_flight == 3
    assert max(o.attempts[0].queued_s for o in outcomes) >= 0.25  # the last ones waited three rounds
    provider_server.reset()
    asyncio.run(main(None))
    assert provider_server.max_in_flight == 12  # without it all go at once


def test_the_limiter_is_not_held_while_waiting_to_retry(provider_server):
    """A call backing off after a 429 leaves its slot to others."""
    provider_server.script(["429:retry-after-ms=300", "ok"], model="gpt-4o")
    slow = rendered_for(provider_server, "chat", "gpt-4o")
    quick = rendered_for(provider_server, "chat", "gpt-4o-mini")

    async def main():
        limiter = asyncio.Semaphore(1)
        async with make_client() as client:
            first = asyncio.create_task(send(slow, api_key=KEY, client=client, limiter=limiter))
            await asyncio.sleep(0.1)
            t0 = time.perf_counter()
            await send(quick, api_key=KEY, client=client, limiter=limiter)
            quick_s = time.perf_counter() - t0
            return await first, quick_s

    outcome, quick_s = asyncio.run(main())
    assert outcome.ok and len(outcome.attempts) == 2 and quick_s < 0.15


def test_send_sync(provider_server):
    outcome = send_sync(rendered_for(provider_server, "gemini"), api_key=KEY)
    assert outcome.ok and "images=1" in outcome.result.output_text


def test_send_sync_refuses_to_run_inside_a_loop(provider_server):
    async def main():
        send_sync(rendered_for(provider_server, "chat"), api_key=KEY)

    with pytest.raises(RuntimeError, match="await send"):
        asyncio.run(main())


def test_the_dispatcher_keeps_calls_in_flight_from_sync_threads_within_limits(provider_server):
    provider_server.delay_s = 0.1
    with Dispatcher(limits={"openai": 4}, default_limit=2, retry_policy=FAST) as dispatcher:
        futures = [dispatcher.submit(rendered_for(provider_server, "chat"), api_key=KEY, provider="openai") for _ in range(8)]
        results = []
        thread = threading.Thread(target=lambda: results.append(dispatcher.send(rendered_for(provider_server, "messages"), api_key=KEY, provider="anthropic")))
        thread.start()
        outcomes = [f.result(5) for f in futures]
        thread.join(5)
    assert all(o.ok for o in outcomes + results) and len(results) == 1
    assert provider_server.max_in_flight_by_model[MODELS["chat"]] == 4


def test_a_future_cancelled_before_the_loop_starts_its_call_sends_nothing(provider_server):
    with Dispatcher(retry_policy=FAST) as dispatcher:
        dispatcher._loop.call_soon_threadsafe(time.sleep, 0.3)  # the loop busy: the calls wait to start
        first = dispatcher.submit(rendered_for(provider_server, "chat"), api_key=KEY)
        second = dispatcher.submit(rendered_for(provider_server, "chat"), api_key=KEY)
        assert first.cancel()
        assert second.result(5).ok

    assert len(provider_server.received) == 1


def test_a_request_queued_behind_a_full_limit_counts_its_wait_from_when_it_was_handed_over(provider_server):
    """queued_since: the wait for the limit of a request that finds it full counts from when the caller
    handed it over (its time waiting for the event loop is part of that wait); one that finds a slot free
    counts from when it starts, however long ago it was handed over."""
    rendered = rendered_for(provider_server, "chat")

    async def main():
        async with make_client() as client:
            limiter = asyncio.Semaphore(1)
            free = await send(rendered, api_key=KEY, client=client, limiter=limiter, retry_policy=NO_RETRY,
                              queued_since=time.perf_counter() - 1.0)  # fmt: skip
            await limiter.acquire()  # full now: released 0.2 s from here
            asyncio.get_running_loop().call_later(0.2, limiter.release)
            before = time.time()
            behind = await send(rendered, api_key=KEY, client=client, limiter=limiter, retry_policy=NO_RETRY,
                                queued_since=time.perf_counter() - 1.0)  # fmt: skip
            return free, behind, before

    free, behind, before = asyncio.run(main())
    assert free.ok and free.attempts[0].queued_s < 0.1
    assert behind.ok and 1.15 < behind.attempts[0].queued_s < 1.6
    assert behind.attempts[0].started_at == pytest.approx(before - 1.0, abs=0.1)  # when it was handed over
