"""The side-by-side preview: render_previews, the preview endpoint, bodies, snippets, highlighting."""

import html
import json
import re
import time

import pytest
from django.urls import reverse

from playground.catalog import presets
from playground.prompts import editor
from playground.prompts.document import build_prompt
from playground.prompts.forms import PreviewSettingsForm
from playground.prompts.highlight import highlight_json
from playground.prompts.library_source import LibrarySource
from playground.prompts.previews import columns_for, curl_snippet, httpx_snippet, render_previews, targets_for
from playground.protocols import Target, render
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import doc_with, make_item, make_prompt


def post_form(client, prompt, doc, items=(), settings=None, url="prompts:preview", **extra):
    data = editor.form_data(doc, {i.pk: i for i in items}, settings)
    data.update(extra)
    return client.post(reverse(url, args=[prompt.pk]), data, headers=HX)


def four():
    return columns_for(PreviewSettingsForm.defaults())


# --- render_previews ---------------------------------------------------------------------------------


def test_it_renders_one_column_per_target_with_tokens_and_display(team, png, wav):
    doc = doc_with({"text": "Describe {{subject}}."}, {"media": {"item": png.pk}, "detail": "low"}, {"media": {"item": wav.pk}},
                   variables={"subject": "the cat"})

    previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=four())

    assert [c.key for c in previews.columns] == ["chat", "responses", "messages", "gemini"]
    chat, responses, messages, gemini = previews.columns
    # The default models are presets' (no team models here); only Gemini's takes audio.
    assert gemini.ok and not chat.ok and not responses.ok and not messages.ok
    assert all(c.choice is not None and not c.configured for c in previews.columns)
    assert "Describe the cat." in gemini.display and "Describe the cat." in chat.display
    assert "<base64 PNG" in chat.display and "<base64 WAV" not in chat.display
    assert "<base64 WAV" in gemini.display
    assert chat.tokens.total > 0 and chat.tokens.label == "estimate"
    # Chat Completions carries audio, on audio models only: the model's own inputs say no. Responses and
    # Messages have no audio part at all, and say so in their words.
    assert any(f"Model {chat.model} is set up without audio input." == r.message for r in chat.refusals)
    assert any(r.message.startswith("OpenAI Responses has no audio input") for r in responses.refusals)
    assert any(r.message == "Anthropic Messages has no audio block." for r in messages.refusals)
    # The editor gets each remark once per place, with the columns that made it.
    on_audio = previews.by_place[("part", 0, 2)]
    assert sorted(c for r in on_audio if r.level == "error" for c in r.columns) == ["Anthropic", "Chat", "Responses"]


def test_it_is_fast_and_reads_no_media_bytes(team, png, wav, monkeypatch):
    doc = doc_with({"text": "Describe {{subject}}."}, {"media": {"item": png.pk}}, {"media": {"item": wav.pk}},
                   variables={"subject": "the cat"})
    render_previews(doc=doc, values=None, source=LibrarySource(team), targets=four())  # warm: base64 files, tokenizer

    from playground.protocols.types import Payload

    def no_reading(*args, **kwargs):
        raise AssertionError("a preview must not read media bytes")

    monkeypatch.setattr(Payload, "read", no_reading)
    monkeypatch.setattr(Payload, "readinto", no_reading)
    start = time.perf_counter()
    for _ in range(5):
        previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=four())
        for column in previews.columns:
            _ = column.display_html  # what the page shows, too
    per_call = (time.perf_counter() - start) / 5
    assert per_call < 0.25, f"{per_call * 1000:.1f} ms per preview of four protocols"


def test_a_missing_variable_is_a_message_in_every_column_not_an_error(team):
    previews = render_previews(doc=doc_with({"text": "Describe {{subject}}."}), values=None,
                               source=LibrarySource(team), targets=four())

    for column in previews.columns:
        assert not column.ok
        assert any("No value for variable {{subject}}" in r.message for r in column.refusals)
    assert previews.by_place[("variable", "subject")][0].columns == ["Chat", "Responses", "Anthropic", "Gemini"]


def test_a_deleted_item_is_an_issue_on_its_part_and_later_parts_keep_their_place(team, png, wav):
    doc = doc_with({"text": "Hi"}, {"media": {"item": 999999}}, {"media": {"item": wav.pk}})

    previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=four())

    messages = previews.column("messages")
    assert not previews.column("chat").ok  # the issue blocks every protocol
    issue = previews.by_place[("part", 0, 1)][0]
    assert issue.kind == "issue" and "not in this team's library" in issue.message
    # The WAV is still part 3 (not shifted to part 2), so Anthropic's refusal lands on it.
    assert any(r.kind == "refusal" and "has no audio block" in r.message and "Anthropic" in r.columns
               for r in previews.by_place[("part", 0, 2)])
    assert all(r.place != ("part", 0, 1) or r.kind == "issue" for r in messages.remarks if r.kind == "refusal")
    assert not any("unresolved" in r.message for c in previews.columns for r in c.remarks)


def test_the_gateway_column_is_chat_completions_at_the_gateway(team):
    settings = {**PreviewSettingsForm.defaults(), "columns": ["gateway"]}
    previews = render_previews(doc=doc_with({"text": "Hi"}), values=None, source=LibrarySource(team),
                               targets=targets_for(settings))

    column = previews.columns[0]
    assert column.label == "Chat via gateway" and column.model == presets.OPENROUTER.models[0].name  # the first preset
    assert column.rendered.url == "https://openrouter.ai/api/v1/chat/completions"
    assert column.rendered.headers["Authorization"] == "Bearer $OPENROUTER_API_KEY"


# --- the preview endpoint ------------------------------------------------------------------------------


def test_the_preview_answers_a_fragment_with_every_column(client_logged_in, team, user, png):
    doc = doc_with({"text": "Describe {{subject}}."}, {"media": {"item": png.pk}}, variables={"subject": "a red kite"})
    prompt = make_prompt(team, user=user, doc=doc)

    response = post_form(client_logged_in, prompt, doc, [png])

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="preview-columns"' in body
    for key in ("chat", "responses", "messages", "gemini"):
        assert f'id="col-{key}"' in body
    assert body.count("Describe a red kite.") == 4
    assert "estimate" in body
    assert 'hx-swap-oob="true"' in body  # the remarks on each part, and the draft bar


def test_the_preview_rejects_get(client_logged_in, team, user):
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Hi"}))

    assert client_logged_in.get(reverse("prompts:preview", args=[prompt.pk])).status_code == 405
    assert client_logged_in.get(reverse("prompts:action", args=[prompt.pk])).status_code == 405


@pytest.mark.parametrize("text, expected", [  # the editor's field left blank: the empty text, said so
    ("Describe {{subject}}.", "{{subject}} is empty: it is sent as nothing."),
    ("Describe {{ nobody }}.", "{{nobody}} is empty: it is sent as nothing."),
])
def test_a_blank_or_unknown_variable_is_a_message_not_a_server_error(client_logged_in, team, user, text, expected):
    doc = doc_with({"text": text})
    prompt = make_prompt(team, user=user, doc=doc)

    response = post_form(client_logged_in, prompt, doc)

    assert response.status_code == 200
    assert expected in html.unescape(response.content.decode())


def test_a_value_for_a_variable_the_prompt_does_not_use_is_a_warning(client_logged_in, team, user):
    doc = doc_with({"text": "No variables here."}, variables={"stale": "old value"})
    prompt = make_prompt(team, user=user, doc=doc)

    response = post_form(client_logged_in, prompt, doc)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "A value was given for {{stale}}, which the prompt does not use." in page


def test_a_bad_json_schema_is_a_message_and_the_rest_still_previews(client_logged_in, team, user):
    doc = doc_with({"text": "Hi"})
    prompt = make_prompt(team, user=user, doc=doc)

    response = post_form(client_logged_in, prompt, doc, json_schema='{"type": "object",')

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Not valid JSON" in page
    assert 'id="col-chat"' in page


def test_the_audio_refusal_shows_in_anthropic_and_responses_and_on_the_part(client_logged_in, team, user, wav):
    doc = doc_with({"text": "Transcribe."}, {"media": {"item": wav.pk}})
    prompt = make_prompt(team, user=user, doc=doc)

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    columns = {key: _column_html(page, key) for key in ("chat", "responses", "messages", "gemini")}
    assert "Anthropic Messages has no audio block." in columns["messages"]
    assert "OpenAI Responses has no audio input" in columns["responses"]
    assert "is set up without audio input." in columns["chat"]  # the default Chat model is not an audio model
    assert "cannot send" not in columns["gemini"]
    part = _between(page, 'id="remarks-part-0-1"', "</div>\n</div>")
    assert "has no audio block." in part and "is set up without audio input." in part and "remark-error" in part


def test_a_refused_part_offers_its_fallback_and_the_button_applies_the_variant(client_logged_in, team, user):
    gif = make_item(team, samples.gif_bytes(32, 24, frames=4), "spinner.gif")
    doc = doc_with({"text": "What is this?"}, {"media": {"item": gif.pk}})
    prompt = make_prompt(team, user=user, doc=doc)

    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    chat = _column_html(page, "chat")
    assert "takes non-animated images only" in chat
    assert 'value="fallback:0:1:chat:variant:image:format=png"' in chat  # for the Chat column's target
    assert "Send a PNG copy" in chat

    response = post_form(client_logged_in, prompt, doc, [gif], url="prompts:action",
                         action="fallback:0:1:chat:variant:image:format=png")

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert 'id="editor-pane"' in page and "<html" not in page
    assert "Chat: PNG copy" in _text(page)  # the part says which target gets the copy
    assert "takes non-animated images only" not in _column_html(page, "chat")
    assert '"url": "data:image/png;base64,<base64 PNG' in _text(_column_html(response.content.decode(), "chat"))
    part = prompt.drafts.get().document["messages"][0]["parts"][1]
    assert part["variant_for"] == {"chat": {"format": "png"}} and "variant" not in part


# --- bodies and snippets ------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["chat", "gemini", "gateway"])
def test_the_downloaded_body_is_byte_for_byte_what_render_makes(client_logged_in, team, user, png, wav, column):
    audio = [{"media": {"item": wav.pk}}] if column == "gemini" else []  # the default Chat models take no audio
    doc = doc_with({"text": "Describe {{subject}}. ü"}, {"media": {"item": png.pk}, "detail": "high"},
                   *audio, variables={"subject": "the kite"}, options={"max_tokens": 200})
    prompt = make_prompt(team, user=user, doc=doc)

    response = client_logged_in.get(reverse("prompts:body", args=[prompt.pk, column]))

    assert response.status_code == 200
    got = b"".join(response.streaming_content)
    built = build_prompt(doc, LibrarySource(team))
    target = targets_for({**PreviewSettingsForm.defaults(), "columns": [column]})[0]
    assert got == render(built.prompt, built.values, target).body_bytes()
    assert response["Content-Disposition"] == f'attachment; filename="caption-{column}.json"'
    assert int(response["Content-Length"]) == len(got)
    json.loads(got)


def test_the_download_follows_the_draft_and_the_chosen_model(client_logged_in, team, user):
    doc = doc_with({"text": "Saved text"})
    prompt = make_prompt(team, user=user, doc=doc)
    settings = {**PreviewSettingsForm.defaults(), "model_chat": "preset:openai:gpt-5.4-mini"}
    post_form(client_logged_in, prompt, doc_with({"text": "Draft text"}), settings=settings)

    body = json.loads(b"".join(client_logged_in.get(reverse("prompts:body", args=[prompt.pk, "chat"])).streaming_content))
    saved = json.loads(b"".join(client_logged_in.get(reverse("prompts:body", args=[prompt.pk, "chat"]) + "?version=1").streaming_content))

    assert body["model"] == "gpt-5.4-mini"
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "Draft text"}]
    assert saved["messages"][-1]["content"] == [{"type": "text", "text": "Saved text"}]


def test_the_download_is_refused_with_the_reason_when_the_protocol_cannot_carry_the_prompt(client_logged_in, team, user, wav):
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Transcribe."}, {"media": {"item": wav.pk}}))

    response = client_logged_in.get(reverse("prompts:body", args=[prompt.pk, "messages"]))

    assert response.status_code == 409
    assert "Anthropic Messages has no audio block." in response.content.decode()
    assert "Content-Disposition" not in response


def test_the_curl_and_python_snippets_use_the_key_variable_and_the_body_file(client_logged_in, team, user, settings):
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Hi"}))
    settings.OPENAI_API_KEY = "sk-secret-should-never-show"

    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())

    chat = _column_html(page, "chat")
    assert 'curl https://api.openai.com/v1/chat/completions' in chat
    assert '-H "Authorization: Bearer $OPENAI_API_KEY"' in chat
    assert "--data-binary @- <<'PRISM_BODY'" in chat  # the body in the snippet (tests/prompts/test_snippets.py)
    assert "os.environ['OPENAI_API_KEY']" in chat
    assert "$ANTHROPIC_API_KEY" in _column_html(page, "messages")
    assert "$GEMINI_API_KEY" in _column_html(page, "gemini")
    assert "sk-" not in page


def test_snippets_are_valid_shell_and_python():
    rendered = render(build_prompt(doc_with({"text": "Hi"}), None).prompt, {}, Target("messages", "claude-sonnet-4-5"))

    curl = curl_snippet(rendered, "caption-messages.json")
    python = httpx_snippet(rendered, "caption-messages.json")

    assert '-H "x-api-key: $ANTHROPIC_API_KEY"' in curl and '-H "anthropic-version: 2023-06-01"' in curl
    compile(python, "snippet.py", "exec")
    assert "os.environ['ANTHROPIC_API_KEY']" in python and "json=body" in python


# --- the highlighter ------------------------------------------------------------------------------------


def test_the_highlighter_escapes_everything_and_changes_no_character():
    text = json.dumps({"a<b>": ["</pre><script>alert(1)</script>", 1.5e3, True, None],
                       "img": "data:image/png;base64,<base64 PNG, 1.2 MB>", "x": "<not sent: no audio>"}, indent=2)

    out = str(highlight_json(text))

    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<span class="j-k">"a&lt;b&gt;"</span>' in out
    assert '<span class="j-b">&lt;base64 PNG, 1.2 MB&gt;</span>' in out
    assert 'class="j-x"' in out and 'class="j-n">1500.0<' in out and 'class="j-l">true<' in out
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == text


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _between(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i : page.index(end, i)]


def _column_html(page: str, key: str) -> str:
    start = page.index(f'id="col-{key}"')
    end = page.find("</article>", start)
    return page[start:end]
