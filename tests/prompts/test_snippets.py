"""The editor's code snippets (prompts/snippets.py), each run for real against the fake provider:
curl with its heredoc, Python with httpx and with each official SDK (openai Chat Completions and
Responses, anthropic Messages, google-genai generateContent), and JavaScript with fetch under
Node. Each must send the preview's body (the same JSON object) with the key read from the
environment variable the snippet names, and no snippet may contain a key."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from playground.prompts import snippets as snippets_module
from playground.prompts.document import build_prompt
from playground.prompts.library_source import LibrarySource
from playground.prompts.snippets import snippets
from playground.protocols import render
from tests.factories import doc_with, make_png
from tests.provider_server import DEFAULT_KEY

# The text a shell, a Python string or a JavaScript literal could mistake for its own syntax.
TRICKY = "Describe it. It's $HOME's `cat` \\n ''' \"quoted\" \u00e9\u2028 PRISM_BODY\nPRISM_BODY"
SDK_FOR = {"chat": "openai", "responses": "openai", "messages": "anthropic", "gemini": "genai"}


def _rendered(team, server, protocol: str, *, image: bool = True):
    parts = [{"text": TRICKY}]
    if image:
        parts.append({"media": {"item": make_png(team).pk}})
    doc = doc_with(*parts, options={"temperature": 0.5, "max_tokens": 200})
    built = build_prompt(doc, LibrarySource(team))
    rendered = render(built.prompt, built.values, server.target(protocol, "gpt-4o" if protocol in ("chat", "responses") else "fake-model"))
    assert rendered.ok, rendered.refusals
    return rendered


def _run(snippet, rendered, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, rendered.auth.env: DEFAULT_KEY}
    if snippet.language == "python":
        cmd = [sys.executable, "-c", snippet.text]
    elif snippet.language == "shell":
        cmd = ["bash", "-c", snippet.text]
    else:
        script = tmp_path / "request.js"
        script.write_text(snippet.text)
        cmd = ["node", str(script)]
    return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def _sent(server) -> dict:
    body = server.received[-1].body
    return json.loads(body) if isinstance(body, bytes | str) else body


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages", "gemini"])
def test_every_snippet_sends_the_previews_body_with_the_key_from_the_environment(team, provider_server, tmp_path, protocol):
    rendered = _rendered(team, provider_server, protocol, image=False)
    expected = json.loads(rendered.body_bytes())
    shown = snippets(rendered, "caption.json")

    assert [s.key for s in shown] == ["curl", "httpx", SDK_FOR[protocol], "fetch"]
    for snippet in shown:
        if snippet.key == "fetch" and not shutil.which("node"):
            continue
        assert DEFAULT_KEY not in snippet.text and rendered.auth.env in snippet.text
        provider_server.reset()
        done = _run(snippet, rendered, tmp_path)
        assert done.returncode == 0, f"{snippet.label}:\n{done.stdout}\n{done.stderr}"
        [received] = provider_server.received
        assert received.status == 200, (snippet.label, received.problems)
        assert _sent(provider_server) == expected, snippet.label
        assert "[fake]" in done.stdout, snippet.label  # the answer was read and printed


def test_the_javascript_snippet_is_valid_for_node(team, provider_server, tmp_path):
    if not shutil.which("node"):
        pytest.skip("no node")
    for protocol in ("chat", "gemini"):
        [fetch] = [s for s in snippets(_rendered(team, provider_server, protocol, image=False), "c.json") if s.key == "fetch"]
        script = tmp_path / f"{protocol}.js"
        script.write_text(fetch.text)
        assert subprocess.run(["node", "--check", str(script)], capture_output=True).returncode == 0


def test_curl_carries_the_body_in_a_heredoc_the_shell_leaves_alone(team, provider_server):
    rendered = _rendered(team, provider_server, "messages", image=False)
    [curl] = [s for s in snippets(rendered, "caption.json") if s.key == "curl"]

    assert "--data-binary @- <<'PRISM_BODY'" in curl.text and curl.text.endswith("\nPRISM_BODY")
    assert '-H "x-api-key: $ANTHROPIC_API_KEY"' in curl.text
    assert "caption.json" not in curl.text  # nothing to download first


@pytest.mark.parametrize("protocol, image", [("chat", True), ("responses", True), ("messages", True), ("gemini", True),
                                             ("chat", False)])
def test_a_body_with_media_or_too_big_is_read_from_the_downloaded_file(team, provider_server, tmp_path, monkeypatch,
                                                                       protocol, image):
    """Media make bodies megabytes: the snippets read the file Download body saves (a text body
    too, above INLINE_MAX)."""
    monkeypatch.setattr(snippets_module, "INLINE_MAX", 16 * 1024 if image else 200)
    rendered = _rendered(team, provider_server, protocol, image=image)
    (tmp_path / "caption-chat.json").write_bytes(rendered.body_bytes())  # what Download body saves

    for snippet in snippets(rendered, "caption-chat.json"):
        assert "caption-chat.json" in snippet.text and "saved by Download body" in snippet.text, snippet.label
        assert ("carries media as base64" if image else "too big to paste") in snippet.text, snippet.label
        assert len(snippet.text) < 3000, snippet.label
        provider_server.reset()
        done = _run(snippet, rendered, tmp_path)
        assert done.returncode == 0, f"{snippet.label}:\n{done.stderr}"
        assert _sent(provider_server) == json.loads(rendered.body_bytes()), snippet.label


def test_the_editor_shows_every_snippet_of_each_column(client_logged_in, team, user, settings):
    from django.urls import reverse

    from tests.factories import make_prompt

    settings.OPENAI_API_KEY = "sk-secret-should-never-show"
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Hi"}))
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    for label in ("curl", "Python · httpx", "Python · openai", "Python · anthropic", "Python · google-genai", "JavaScript"):
        assert f">{label}</summary>" in page, label
    assert "--data-binary @- &lt;&lt;&#x27;PRISM_BODY&#x27;" in page
    assert "sk-secret" not in page
