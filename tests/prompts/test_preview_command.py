"""`manage.py preview`: the exact body on stdout, reasons on stderr, the exit status.

Most tests run the command in this process through call_command (stdout is a byte stream, so the
body is compared byte for byte; the exit status is the command's SystemExit). Those tests hold no
database fixture, so pytest-django would fail any query the command made. Two things need the
real command line in a process of its own: that it starts and answers with no database at all
(no DATABASE_URL and an empty PRISM_DATA_DIR, or an unreachable PostgreSQL), and that argparse's
usage errors exit 2 (run_from_argv, in this process).
"""

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from playground.prompts.document import build_prompt, normalize
from playground.prompts.management.commands.preview import Command
from playground.prompts.sources import FileSource
from playground.protocols import Target, render
from tests import media_samples as samples

ROOT = Path(__file__).resolve().parents[2]

ISSUE_EXAMPLE = """{"system": "You are a careful visual analyst.",
 "messages": [{"role": "user", "parts": [{"text": "Describe {{subject}} in this picture."}, {"media": "photo.png", "detail": "high"}, {"media": "clip.wav"}]}],
 "variables": {"subject": "the main object"},
 "options": {"max_tokens": 300, "temperature": 0.2}}
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "photo.png").write_bytes(samples.png_bytes(64, 48))
    (tmp_path / "clip.wav").write_bytes(samples.wav_bytes(seconds=1.0))
    (tmp_path / "prompt.json").write_text(ISSUE_EXAMPLE)
    return tmp_path


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: str


def preview(*args, cwd) -> Run:
    """`manage.py preview ARGS` run in `cwd` through call_command."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # has .buffer, as a real stdout: the body goes there as bytes
    err = io.StringIO()
    code = 0
    with contextlib.chdir(cwd):
        try:
            call_command("preview", *map(str, args), stdout=out, stderr=err)
        except SystemExit as exc:
            code = exc.code
    out.flush()
    return Run(code, out.buffer.getvalue(), err.getvalue())


def preview_process(*args, cwd, data_dir, env=None) -> subprocess.CompletedProcess:
    """`manage.py preview ARGS` as a real process, without DATABASE_URL unless `env` gives one."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(PRISM_DATA_DIR=str(data_dir), **(env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "preview", *map(str, args)],
        cwd=cwd, env=environment, capture_output=True, timeout=120, check=False,
    )


def expected_body(folder: Path, doc: dict, target: Target, values=None) -> bytes:
    built = build_prompt(normalize(doc), FileSource(folder), values)
    return render(built.prompt, built.values, target).body_bytes()


def test_the_issue_example_prints_the_exact_chat_body(folder):
    run = preview("prompt.json", "--protocol", "chat", cwd=folder)

    assert run.returncode == 0, run.stderr
    assert run.stdout == expected_body(folder, json.loads(ISSUE_EXAMPLE), Target("chat", "gpt-4o"))
    body = json.loads(run.stdout)
    assert body["model"] == "gpt-4o" and body["max_completion_tokens"] == 300 and body["temperature"] == 0.2
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are a careful visual analyst."}
    text, image, audio = user["content"]
    assert text == {"type": "text", "text": "Describe the main object in this picture."}
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert image["image_url"]["detail"] == "high"
    assert audio["type"] == "input_audio" and audio["input_audio"]["format"] == "wav"
    assert audio["input_audio"]["data"].startswith("UklGR")  # "RIFF"


def test_anthropic_refuses_the_audio_and_says_so_on_stderr(folder):
    run = preview("prompt.json", "--protocol", "messages", cwd=folder)

    assert run.returncode == 1
    assert run.stdout == b""
    assert "refused: message 1 (user), part 3: Anthropic Messages has no audio block." in run.stderr


@pytest.mark.parametrize("protocol,model,code", [
    ("responses", "gpt-4.1", 1), ("gemini", "gemini-2.5-flash", 0), ("messages", "claude-opus-4-1", 1),
])
def test_each_protocol_with_its_default_or_given_model(folder, protocol, model, code):
    args = ["--model", model] if model.startswith("claude") else []
    run = preview(folder / "prompt.json", "--protocol", protocol, *args, cwd=ROOT)

    assert run.returncode == code, run.stderr
    if code == 0:
        assert run.stdout == expected_body(folder, json.loads(ISSUE_EXAMPLE), Target(protocol, model))
    else:
        assert "no audio" in run.stderr and model in run.stderr


def test_a_missing_variable_and_a_missing_file_are_named(folder):
    (folder / "p.json").write_text(json.dumps({"messages": [{"role": "user", "parts": [
        {"text": "Describe {{subject}}."}, {"media": "gone.png"}, {"media": "clip.wav"}]}]}))

    run = preview("p.json", "--protocol", "gemini", cwd=folder)

    assert run.returncode == 1 and run.stdout == b""
    err = run.stderr
    assert "error: message 1 (user), part 1: No value for variable {{subject}}." in err
    assert "error: message 1, part 2: gone.png: no such file." in err


def test_var_sets_text_and_media_variables(folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("cwd")
    (elsewhere / "cat.png").write_bytes(samples.png_bytes(20, 10))
    doc = {"messages": [{"role": "user", "parts": [
        {"text": "Is {{subject}} a cat?"}, {"media_variable": "photo", "kind": "image"}]}],
        "variables": {"subject": "this"}}
    (folder / "p.json").write_text(json.dumps(doc))

    run = preview(folder / "p.json", "--protocol", "messages", "--var", "subject=@@home",
                  "--var", "photo=@cat.png", cwd=elsewhere)

    assert run.returncode == 0, run.stderr
    content = json.loads(run.stdout)["messages"][0]["content"]
    assert content[0]["text"] == "Is @home a cat?"
    assert content[1]["source"]["media_type"] == "image/png"
    assert run.stdout == expected_body(folder, doc, Target("messages", "claude-sonnet-4-5"), {
        "subject": "@home", "photo": {"media": str(elsewhere / "cat.png")}})


def test_apply_fallbacks_sends_a_video_as_key_frames_to_chat(folder):
    (folder / "movie.mp4").write_bytes(samples.mp4_bytes(seconds=2.0))
    (folder / "v.json").write_text(json.dumps({"messages": [{"role": "user", "parts": [
        {"text": "What happens?"}, {"media": "movie.mp4"}]}]}))

    refused = preview("v.json", "--protocol", "chat", cwd=folder)
    applied = preview("v.json", "--protocol", "chat", "--apply-fallbacks", cwd=folder)

    assert refused.returncode == 1
    assert "refused: message 1 (user), part 2: OpenAI Chat Completions has no video part." in refused.stderr
    assert "--apply-fallbacks" in refused.stderr
    assert applied.returncode == 0, applied.stderr
    assert ("applied: message 1 (user), part 2: video “movie.mp4”: video sent as 8 key frames (stills, not the video) "
            "(OpenAI Chat Completions has no video part.)") in applied.stderr  # the words a run logs (prompts/fitting.py)
    content = json.loads(applied.stdout)["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text"] + ["image_url"] * 8
    assert all(c["image_url"]["url"].startswith("data:image/jpeg;base64,") for c in content[1:])


def test_a_per_target_choice_applies_to_its_target_only(folder):
    """A document's "variant_for" (the editor's per-column fallback) is what the command renders too."""
    (folder / "movie.mp4").write_bytes(samples.mp4_bytes(seconds=2.0))
    (folder / "t.json").write_text(json.dumps({"messages": [{"role": "user", "parts": [
        {"text": "What happens?"}, {"media": "movie.mp4", "variant_for": {"chat": {"frames": 4}}}]}]}))

    chat = preview("t.json", "--protocol", "chat", cwd=folder)
    gemini = preview("t.json", "--protocol", "gemini", cwd=folder)

    assert chat.returncode == 0, chat.stderr
    assert [c["type"] for c in json.loads(chat.stdout)["messages"][0]["content"]] == ["text"] + ["image_url"] * 4
    assert gemini.returncode == 0, gemini.stderr
    parts = json.loads(gemini.stdout)["contents"][0]["parts"]
    assert parts[1]["inlineData"]["mimeType"] == "video/mp4"  # Gemini keeps the video


def test_display_and_headers(folder):
    run = preview("prompt.json", "--protocol", "chat", "--display", "--headers", cwd=folder)

    assert run.returncode == 0
    out, err = run.stdout.decode(), run.stderr
    assert '"url": "data:image/png;base64,<base64 PNG, ' in out and out.endswith("}\n")
    assert "POST https://api.openai.com/v1/chat/completions" in err
    assert "Authorization: Bearer $OPENAI_API_KEY" in err
    assert "Content-Length: " in err


def test_messages_api_version_and_gateway_options(folder):
    run = preview("prompt.json", "--protocol", "messages", "--api-version", "2026-10-21", "--headers",
                  cwd=folder)
    assert "anthropic-version: 2026-10-21" in run.stderr

    (folder / "movie.mp4").write_bytes(samples.mp4_bytes(seconds=1.0))
    (folder / "v.json").write_text(json.dumps({"messages": [{"role": "user", "parts": [{"media": "movie.mp4"}]}]}))
    run = preview("v.json", "--protocol", "chat", "--gateway", cwd=folder)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["messages"][0]["content"][0]["type"] == "video_url"


@pytest.mark.parametrize("text,code,words", [
    ('{"messages": [{"role": "system", "parts": []}]}', 1, "error: p.json: messages[0].role must be user or assistant"),
    ('{"messages": [', 1, "error: p.json is not valid JSON"),
])
def test_a_malformed_document_says_where(folder, text, code, words):
    (folder / "p.json").write_text(text)

    run = preview("p.json", "--protocol", "chat", cwd=folder)

    assert run.returncode == code and words in run.stderr


def test_usage_errors_exit_2(folder, capsys):
    missing = preview("nope.json", "--protocol", "chat", cwd=folder)
    assert missing.returncode == 2 and "error: nope.json: no such file." in missing.stderr
    bad_var = preview("prompt.json", "--protocol", "chat", "--var", "no-equals", cwd=folder)
    assert bad_var.returncode == 2 and "NAME=VALUE" in bad_var.stderr
    with pytest.raises(CommandError, match="invalid choice: 'bard'"):
        preview("prompt.json", "--protocol", "bard", cwd=folder)

    # On the command line argparse's refusal is exit status 2 (call_command raises CommandError instead).
    with contextlib.chdir(folder), pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "preview", "prompt.json", "--protocol", "bard"])
    assert exit_info.value.code == 2 and "invalid choice: 'bard'" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", [None, "postgres://nobody@127.0.0.1:1/none"])
def test_it_needs_no_database(folder, tmp_path_factory, database_url):
    empty = tmp_path_factory.mktemp("empty-data")
    env = {"DATABASE_URL": database_url} if database_url else None

    run = preview_process("prompt.json", "--protocol", "chat", cwd=folder, data_dir=empty, env=env)

    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout == expected_body(folder, json.loads(ISSUE_EXAMPLE), Target("chat", "gpt-4o"))  # through a real pipe
    assert not list(empty.glob("*.sqlite3*"))


def test_it_reads_an_export_zip_and_prints_what_the_library_would_send(db, team, user, tmp_path):
    from playground.prompts.library_source import LibrarySource
    from playground.prompts.transfer import export_version
    from tests.factories import make_png, make_prompt, make_wav

    photo = make_png(team, user=user)
    clip = make_wav(team, "clip.wav", user=user)
    doc = normalize({**json.loads(ISSUE_EXAMPLE), "messages": [{"role": "user", "parts": [
        {"text": "Describe {{subject}} in this picture."},
        {"media": {"item": photo.pk}, "detail": "high"}, {"media": {"item": clip.pk}}]}]})
    version = make_prompt(team, "p", doc=doc, media_items=[photo, clip]).latest_version()
    (tmp_path / "export.zip").write_bytes(export_version(version))
    built = build_prompt(doc, LibrarySource(team))
    library_body = render(built.prompt, built.values, Target("chat", "gpt-4o")).body_bytes()

    run = preview("export.zip", "--protocol", "chat", cwd=tmp_path)
    refused = preview("export.zip", "--protocol", "messages", cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stdout == library_body
    assert refused.returncode == 1 and "no audio block" in refused.stderr


def test_an_unsafe_zip_is_refused(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("prompt.json", '{"messages": [{"role": "user", "parts": [{"media": "../secret.png"}]}]}')
        zf.writestr("../secret.png", samples.png_bytes())

    run = preview("evil.zip", "--protocol", "chat", cwd=tmp_path)

    assert run.returncode == 1 and "not a plain relative path" in run.stderr
    assert not (tmp_path.parent / "secret.png").exists()
