"""The fake provider itself: it must reject what the real APIs reject (with their error shapes),
accept what they accept, select behaviours as documented, and stay responsive under slow answers.
Requests here are written by hand, so each check is aimed at one rule."""

import asyncio
import base64
import copy
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from playground.providers import parse_error
from tests.media_samples import jpeg_bytes, png_bytes, wav_bytes
from tests.provider_server import Behaviour, ProviderServer

from . import KEY

ROOT = Path(__file__).resolve().parents[2]
PNG = base64.b64encode(png_bytes(64, 48)).decode()
JPG = base64.b64encode(jpeg_bytes(64, 48)).decode()
WAV = base64.b64encode(wav_bytes(seconds=0.1)).decode()
PNG_URL = f"data:image/png;base64,{PNG}"

VALID = {
    "chat": {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
                                     {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}]}]},
    "responses": {"model": "gpt-4.1", "instructions": "Be terse.", "max_output_tokens": 64, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": PNG_URL, "detail": "auto"}]}]},
    "messages": {"model": "claude-sonnet-4-5", "max_tokens": 32, "system": "Be terse.", "messages": [
        {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                                     {"type": "text", "text": "hi"}]}]},
    "gemini": {"systemInstruction": {"parts": [{"text": "Be terse."}]}, "contents": [
        {"role": "user", "parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]}],
        "generationConfig": {"maxOutputTokens": 64}},
}  # fmt: skip


def url_for(server, protocol, model="gemini-2.5-flash"):
    return {
        "chat": server.base_url + "/v1/chat/completions",
        "responses": server.base_url + "/v1/responses",
        "messages": server.base_url + "/v1/messages",
        "gemini": server.base_url + f"/v1beta/models/{model}:generateContent",
    }[protocol]


def auth_for(protocol, key=KEY) -> dict:
    if protocol in ("chat", "responses"):
        return {"Authorization": f"Bearer {key}"}
    if protocol == "messages":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return {"x-goog-api-key": key}


@functools.cache
def http() -> httpx.Client:
    """One client for this module's requests: making one loads the CA bundle (about 20 ms of CPU),
    which most of the time spent by these tests went to when each post() made its own."""
    return httpx.Client(trust_env=False, timeout=5)


def post(server, protocol, body, *, headers=None, model="gemini-2.5-flash", params=None):
    h = auth_for(protocol) if headers is None else headers
    return http().post(url_for(server, protocol, model), json=body, headers=h, params=params)


def body(protocol, change=None):
    data = copy.deepcopy(VALID[protocol])
    if change:
        change(data)
    return data


def user_parts(protocol, data):
    return {
        "chat": lambda: data["messages"][1]["content"],
        "responses": lambda: data["input"][0]["content"],
        "messages": lambda: data["messages"][0]["content"],
        "gemini": lambda: data["contents"][0]["parts"],
    }[protocol]()


# --- valid bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages", "gemini"])
def test_it_accepts_a_valid_body_and_says_what_arrived(provider_server, protocol):
    r = post(provider_server, protocol, body(protocol))
    assert r.status_code == 200, r.text
    seen = provider_server.received[-1]
    assert seen.problems == [] and seen.protocol == protocol and seen.status == 200
    assert seen.counts["images"] == 1 and seen.texts == ["hi"] and seen.system == ["Be terse."]
    assert seen.counts["audio"] == (1 if protocol == "chat" else 0)
    assert "images=1" in r.text and "user: hi" in r.text and "system: Be terse." in r.text


def test_gemini_snake_case_is_accepted_but_recorded(provider_server):
    data = {"system_instruction": {"parts": [{"text": "x"}]}, "contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": PNG}}, {"text": "hi"}]}]}
    r = post(provider_server, "gemini", data)
    assert r.status_code == 200, r.text
    assert provider_server.received[-1].snake_case == ["system_instruction", "contents[0].parts[0].inline_data", "contents[0].parts[0].inlineData.mime_type"]


def test_gateway_mode_takes_gateway_parts_and_answers_errors_in_openrouters_shape():
    with ProviderServer(gateway=True) as server:
        data = body("chat", lambda d: user_parts("chat", d).append({"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}))
        assert post(server, "chat", data).status_code == 200
        assert server.received[-1].counts["video"] == 1
        bad = post(server, "chat", body("chat", lambda d: d.pop("messages")))
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 400 and "metadata" in bad.json()["error"]
    with ProviderServer() as strict:
        data = body("chat", lambda d: user_parts("chat", d).append({"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}))
        assert post(strict, "chat", data).status_code == 400  # OpenAI rejects video_url (docs/protocols.md §5)


# --- invalid bodies --------------------------------------------------------------------------------------


def _set(path_fn, key, value):
    def change(d):
        path_fn(d)[key] = value

    return change


INVALID = [
    # Chat Completions
    ("chat", lambda d: user_parts("chat", d)[1].update(image_url=PNG_URL), "expected an object, but got a string"),
    ("chat", lambda d: user_parts("chat", d)[1]["image_url"].update(url=PNG), "Expected a base64-encoded data URL"),
    ("chat", lambda d: user_parts("chat", d)[1]["image_url"].update(detail="original"), "Supported values are: 'auto', 'low', and 'high'"),
    ("chat", lambda d: d["messages"].insert(0, {"role": "system", "content": [user_parts("chat", d)[1]]}), "Invalid value: 'image_url'"),
    ("chat", lambda d: d.update(max_output_tokens=10), "Unrecognized request argument supplied: max_output_tokens"),
    ("chat", lambda d: user_parts("chat", d)[2]["input_audio"].update(data="data:audio/wav;base64," + WAV), "not a data URL"),
    ("chat", lambda d: user_parts("chat", d)[2]["input_audio"].update(format="flac"), "Supported values are: 'wav', and 'mp3'"),
    ("chat", lambda d: d.update(temperature=3), "decimal above maximum value"),
    ("chat", lambda d: user_parts("chat", d)[1]["image_url"].update(url="data:image/png;base64,@@@@"), "Invalid base64"),
    ("chat", lambda d: user_parts("chat", d)[1]["image_url"].update(url="data:image/png;base64," + JPG), "unsupported image"),
    ("chat", lambda d: d.pop("model"), "Missing required parameter: 'model'"),
    ("chat", lambda d: d["messages"][1].update(role="robot"), "Invalid value: 'robot'"),
    # Responses
    ("responses", lambda d: user_parts("responses", d)[1].update(image_url={"url": PNG_URL}), "expected a string, but got an object"),
    ("responses", lambda d: user_parts("responses", d)[1].pop("detail"), "Missing required parameter: 'input[0].content[1].detail'"),
    ("responses", lambda d: d.update(max_output_tokens=5), "Expected a value >= 16"),
    ("responses", lambda d: user_parts("responses", d).append({"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}), "Invalid value: 'input_audio'"),
    ("responses", lambda d: d.update(max_completion_tokens=64), "Unsupported parameter: 'max_completion_tokens'"),
    ("responses", lambda d: user_parts("responses", d).append({"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0="}), "filename"),
    # Anthropic Messages
    ("messages", lambda d: d.pop("max_tokens"), "max_tokens: Field required"),
    ("messages", lambda d: user_parts("messages", d)[0]["source"].update(data=PNG_URL), "bare base64"),
    ("messages", lambda d: user_parts("messages", d)[0]["source"].update(media_type="image/jpeg"), "appears to be a image/png image"),
    ("messages", lambda d: user_parts("messages", d)[0]["source"].update(media_type="image/heic"), "Input should be 'image/jpeg'"),
    ("messages", lambda d: d.update(temperature=1.5), "less than or equal to 1"),
    ("messages", lambda d: d["messages"].insert(0, {"role": "system", "content": "x"}), "Input should be 'user' or 'assistant'"),
    ("messages", lambda d: user_parts("messages", d)[1].update(text=""), "text content blocks must be non-empty"),
    ("messages", lambda d: d.update(max_completion_tokens=5), "max_completion_tokens: Extra inputs are not permitted"),
    # Gemini
    ("gemini", lambda d: d["contents"][0].update(role="assistant"), "valid role: user, model"),
    ("gemini", lambda d: user_parts("gemini", d)[1].update(inline={"x": 1}), 'Unknown name "inline"'),
    ("gemini", lambda d: user_parts("gemini", d)[1]["inlineData"].update(mimeType="image/gif"), "Unsupported MIME type: image/gif"),
    ("gemini", lambda d: user_parts("gemini", d)[1]["inlineData"].update(data=PNG_URL), "Base64 decoding failed"),
    ("gemini", lambda d: user_parts("gemini", d)[1].update(text="both"), "oneof field 'data' is already set"),
    ("gemini", lambda d: d["contents"][0].update(parts=[]), "must not be empty"),
    ("gemini", lambda d: d["generationConfig"].update(max_tokens=5), 'Unknown name "max_tokens"'),
    ("gemini", lambda d: d["generationConfig"].update(temperature=2.5), "temperature must be in [0.0, 2.0]"),
    ("gemini", lambda d: d["systemInstruction"]["parts"].append({"inlineData": {"mimeType": "image/png", "data": PNG}}), "only text parts"),
]  # fmt: skip


@pytest.mark.parametrize("protocol, change, expected", INVALID, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(INVALID)])
def test_it_rejects_an_invalid_body_with_the_protocols_error(provider_server, protocol, change, expected):
    r = post(provider_server, protocol, body(protocol, change))
    assert r.status_code == 400, r.text
    data = r.json()
    if protocol in ("chat", "responses"):
        assert data["error"]["type"] == "invalid_request_error" and expected in data["error"]["message"]
    elif protocol == "messages":
        assert data["type"] == "error" and data["error"]["type"] == "invalid_request_error" and expected in data["error"]["message"]
    else:
        assert data["error"]["status"] == "INVALID_ARGUMENT" and data["error"]["code"] == 400 and expected in data["error"]["message"]
    assert provider_server.received[-1].problems  # recorded for assertions
    assert expected in parse_error(protocol, 400, r.headers, r.content).message  # and our parser reads it


def test_a_body_that_is_not_json_is_a_400(provider_server):
    with httpx.Client(trust_env=False) as client:
        r = client.post(url_for(provider_server, "messages"), content=b"{nope", headers={**auth_for("messages"), "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


# --- authentication --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "protocol, headers, status, expected",
    [
        ("chat", {}, 401, "You didn't provide an API key"),
        ("chat", {"Authorization": "Bearer sk-wrong"}, 401, "Incorrect API key provided"),
        ("responses", {"Authorization": "Bearer sk-wrong"}, 401, "Incorrect API key provided"),
        ("messages", {"anthropic-version": "2023-06-01"}, 401, "x-api-key header is required"),
        ("messages", {"x-api-key": "wrong", "anthropic-version": "2023-06-01"}, 401, "invalid x-api-key"),
        ("messages", {"x-api-key": KEY}, 400, "anthropic-version: header is required"),
        ("messages", {"x-api-key": KEY, "anthropic-version": "1999-01-01"}, 400, "invalid version"),
        ("gemini", {}, 403, "unregistered callers"),
        ("gemini", {"x-goog-api-key": "wrong"}, 400, "API key not valid"),  # what Google answers for a bad key
    ],
)
def test_it_checks_credentials_like_each_provider(provider_server, protocol, headers, status, expected):
    r = post(provider_server, protocol, body(protocol), headers=headers)
    assert r.status_code == status and expected in r.text


def test_gemini_also_takes_the_key_in_the_query(provider_server):
    assert post(provider_server, "gemini", body("gemini"), headers={}, params={"key": KEY}).status_code == 200
    assert provider_server.received[-1].query == {}  # the key is not recorded


def test_anthropic_2026_version_rejects_sampling_parameters(provider_server):
    headers = {"x-api-key": KEY, "anthropic-version": "2026-10-21"}
    assert post(provider_server, "messages", body("messages"), headers=headers).status_code == 200
    r = post(provider_server, "messages", body("messages", lambda d: d.update(temperature=0.5)), headers=headers)
    assert r.status_code == 400 and "2026-10-21" in r.text


def test_recorded_headers_never_hold_the_key(provider_server):
    for protocol in ("chat", "messages", "gemini"):
        post(provider_server, protocol, body(protocol))
    post(provider_server, "chat", body("chat"), headers={"Authorization": "Bearer sk-other-secret"})
    shown = repr(list(provider_server.received))
    assert KEY not in shown and "sk-other-secret" not in shown
    assert provider_server.received[0].headers["authorization"] == "<key: valid>"
    assert provider_server.received[-1].headers["authorization"] == "<key: wrong>"


# --- behaviours --------------------------------------------------------------------------------------------


def test_behaviour_specs_parse():
    assert Behaviour.parse("429:retry-after=1,quota") == Behaviour("429", (("retry-after", "1"), ("quota", True)))
    assert Behaviour.parse("slow=300") == Behaviour("ok", (("delay", "300"),))
    assert Behaviour.parse("500:should-retry=false").spec == "500:should-retry=false"
    with pytest.raises(ValueError, match="Unknown fake behaviour"):
        Behaviour.parse("418")


def test_behaviours_come_from_the_script_then_the_header_then_the_model_name(provider_server):
    s = provider_server
    s.script(["503"], model="gpt-4o")
    s.script(["429:retry-after=7", "500"])
    assert post(s, "chat", body("chat")).status_code == 503  # gpt-4o's own queue first
    r = post(s, "chat", body("chat"))
    assert r.status_code == 429 and r.headers["retry-after"] == "7" and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert post(s, "chat", body("chat")).status_code == 500
    assert post(s, "chat", body("chat")).status_code == 200  # queues empty: ok
    assert post(s, "chat", body("chat"), headers={**auth_for("chat"), "x-prism-fake": "529"}).status_code == 529
    assert post(s, "chat", body("chat", lambda d: d.update(model="fake-409"))).status_code == 409
    assert post(s, "gemini", body("gemini"), model="fake-404").status_code == 404
    assert [r.behaviour for r in s.received] == ["503", "429:retry-after=7", "500", "ok", "529", "409", "404"]


def test_an_invalid_body_does_not_use_up_the_script(provider_server):
    provider_server.script(["500"])
    assert post(provider_server, "chat", body("chat", lambda d: d.pop("model"))).status_code == 400
    assert post(provider_server, "chat", body("chat")).status_code == 500


@pytest.mark.parametrize(
    "protocol, status, expected_type",
    [("messages", 529, "overloaded_error"), ("messages", 429, "rate_limit_error"), ("gemini", 429, "RESOURCE_EXHAUSTED"),
     ("gemini", 500, "INTERNAL"), ("chat", 500, "server_error"), ("responses", 429, "requests")],
)  # fmt: skip
def test_error_statuses_use_the_protocols_own_error_type(provider_server, protocol, status, expected_type):
    provider_server.script([str(status)])
    r = post(provider_server, protocol, body(protocol))
    assert r.status_code == status
    assert parse_error(protocol, status, r.headers, r.content).error_type == expected_type


def test_odd_answers(provider_server):
    s = provider_server
    s.script(["malformed", "html", "empty", "429:quota,retry-after-ms=250", "500:should-retry=false", "503:retry-after-date=30"])
    assert post(s, "chat", body("chat")).status_code == 200 and s.received[-1].status == 200
    r = post(s, "chat", body("chat"))
    assert (r.status_code, r.headers["content-type"]) == (502, "text/html") and "Bad Gateway" in r.text
    assert post(s, "chat", body("chat")).content == b""
    r = post(s, "chat", body("chat"))
    assert r.json()["error"]["code"] == "insufficient_quota" and r.headers["retry-after-ms"] == "250"
    assert post(s, "chat", body("chat")).headers["x-should-retry"] == "false"
    assert "GMT" in post(s, "chat", body("chat")).headers["retry-after"]


def test_failures_that_arrive_as_200(provider_server):
    s = provider_server
    s.script(["blocked"])
    assert "promptFeedback" in post(s, "gemini", body("gemini")).json()
    s.script(["incomplete"])
    assert post(s, "responses", body("responses")).json()["status"] == "incomplete"
    s.script(["midgen"])
    assert post(s, "chat", body("chat")).json()["choices"][0]["finish_reason"] == "error"
    s.script(["failed"])
    assert post(s, "responses", body("responses")).json()["status"] == "failed"


def test_unknown_paths_and_methods(provider_server):
    with httpx.Client(trust_env=False) as client:
        assert client.post(provider_server.base_url + "/v2/whatever", json={}).status_code == 404
        assert client.get(url_for(provider_server, "chat"), headers=auth_for("chat")).status_code == 405


# --- concurrency ---------------------------------------------------------------------------------------------


def test_slow_and_hanging_answers_do_not_hold_up_the_others(provider_server):
    """30 answers delayed by 200 ms, while two requests hang, come back together (~200 ms on a quiet machine)."""
    s = provider_server

    async def main():
        async with httpx.AsyncClient(trust_env=False, timeout=5, limits=httpx.Limits(max_connections=40)) as client:
            url, headers = url_for(s, "chat"), auth_for("chat")
            hang = {**headers, "x-prism-fake": "hang"}
            hanging = [asyncio.create_task(client.post(url, json=body("chat"), headers=hang)) for _ in range(2)]
            await asyncio.sleep(0.05)
            slow = {**headers, "x-prism-fake": "slow=200"}
            t0 = time.perf_counter()
            answers = await asyncio.gather(*(client.post(url, json=body("chat"), headers=slow) for _ in range(30)))
            elapsed = time.perf_counter() - t0
            for task in hanging:
                task.cancel()
            await asyncio.gather(*hanging, return_exceptions=True)
            return answers, elapsed

    answers, elapsed = asyncio.run(main())
    assert all(a.status_code == 200 for a in answers)
    # Together: one after another they take 30 × 0.2 = 6 s, and behind the hanging two they would wait out
    # the 5 s timeout. The bound leaves room for a loaded 2-core machine (0.96 s seen with both passes running).
    assert 0.2 <= elapsed < 2.0, elapsed
    assert s.max_in_flight >= 32 and s.max_in_flight_by_model["gpt-4o"] >= 32


# --- control API and command line -------------------------------------------------------------------------------


def test_the_http_control_api(provider_server):
    s = provider_server
    with httpx.Client(trust_env=False, base_url=s.base_url) as client:
        assert client.post("/_fake/script", json={"specs": ["500"]}).status_code == 200
        assert post(s, "chat", body("chat")).status_code == 500
        assert client.post("/_fake/config", json={"delay_s": 0.01}).json()["delay_s"] == 0.01
        stats = client.get("/_fake/stats").json()
        assert stats["requests"] == 1 and stats["statuses"] == {"500": 1} and stats["scripted_left"] == 0
        client.post("/_fake/reset")
        assert client.get("/_fake/stats").json()["requests"] == 0


def test_it_runs_standalone():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.provider_server", "--port", "0", "--delay", "0.01", "--key", "sk-cli"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("Fake provider listening on http://127.0.0.1:"), line + process.stderr.read()
        base = line.split()[4]
        with httpx.Client(trust_env=False, timeout=5) as client:
            r = client.post(base + "/v1/chat/completions", json=VALID["chat"], headers={"Authorization": "Bearer sk-cli"})
        assert r.status_code == 200 and json.loads(r.text)["object"] == "chat.completion"
    finally:
        process.terminate()
        process.wait(5)
