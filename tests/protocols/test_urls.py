"""Media sent by URL (issue 9): every protocol × kind either sends the URL the protocol can fetch,
sends the copy Prism stored inline with a note saying so and why, or refuses the part with the
reason. Never dropped silently (docs/protocols.md §8 preamble, §8.3; playground/protocols/urls.py)."""

import dataclasses

import pytest

from playground.protocols.render import render
from playground.protocols.serialize import materialize
from playground.protocols.types import MediaPart, Message, Omitted, Prompt, Target, TextPart

from .helpers import JPG, MP3, MP4, PDF
from .sdk_check import gemini_sdk_request, gemini_validate, validate_params

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
pytest.importorskip("google.genai.types")

from anthropic.types.message_create_params import MessageCreateParamsNonStreaming  # noqa: E402
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming  # noqa: E402
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming  # noqa: E402

BASE = "https://media.example.com/"
PAYLOADS = {"image": JPG, "audio": MP3, "video": MP4, "pdf": PDF}
MIMES = {"image": "image/jpeg", "audio": "audio/mpeg", "video": "video/mp4", "pdf": "application/pdf"}
NAMES = {"image": "cat.jpg", "audio": "talk.mp3", "video": "walk.mp4", "pdf": "report.pdf"}

TARGETS = {
    "chat": Target("chat", "gpt-4o"),
    "gateway": Target("chat", "google/gemini-3-flash-preview", gateway=True),
    "responses": Target("responses", "gpt-5.4"),
    "messages": Target("messages", "claude-sonnet-4-5"),
    "gemini": Target("gemini", "gemini-2.5-flash"),
}


def by_url(kind: str, *, copy: bool, url: str | None = None, **kw) -> MediaPart:
    """A part sent by its URL; with ``copy`` it carries the bytes Prism stored when it was added."""
    return MediaPart(
        kind, name=NAMES[kind], mime_type=MIMES[kind], delivery="url", url=url or BASE + NAMES[kind],
        payload=PAYLOADS[kind] if copy else None, width=640 if kind in ("image", "video") else None,
        height=480 if kind in ("image", "video") else None, size_bytes=3, **kw,
    )


def ask(part) -> Prompt:
    return Prompt(messages=[Message("user", [part, TextPart("What is this?")])])


# What each target does with a public HTTPS URL of each kind, when Prism holds no copy:
# "url" (sent as the URL), or the start of the refusal's reason.
WITHOUT_COPY = {
    ("chat", "image"): "url",
    ("chat", "audio"): "OpenAI Chat Completions takes audio as base64 only, not by URL.",
    ("chat", "video"): "OpenAI Chat Completions has no video part.",
    ("chat", "pdf"): "OpenAI Chat Completions has no file URL field: PDFs go as base64.",
    ("gateway", "image"): "url",
    ("gateway", "audio"): "the gateway takes audio as base64 only, not by URL.",
    ("gateway", "video"): "url",
    ("gateway", "pdf"): "url",
    ("responses", "image"): "url",
    ("responses", "audio"): "OpenAI Responses has no audio input",
    ("responses", "video"): "OpenAI Responses has no video input.",
    ("responses", "pdf"): "url",
    ("messages", "image"): "url",
    ("messages", "audio"): "Anthropic Messages has no audio block.",
    ("messages", "video"): "Anthropic Messages has no video block.",
    ("messages", "pdf"): "url",
    ("gemini", "image"): "url",
    ("gemini", "audio"): "Gemini fetches no audio from external URLs",
    ("gemini", "video"): "url",
    ("gemini", "pdf"): "url",
}
# The refusals above that are about the URL (the others refuse the kind, whatever its delivery).
URL_REFUSALS = {("chat", "audio"), ("chat", "pdf"), ("gateway", "audio"), ("gemini", "audio")}

# The part as each target sends it by URL (JSON), for the "url" cases.
URL_BODIES = {
    ("chat", "image"): {"type": "image_url", "image_url": {"url": BASE + "cat.jpg"}},
    ("gateway", "image"): {"type": "image_url", "image_url": {"url": BASE + "cat.jpg"}},
    ("gateway", "video"): {"type": "video_url", "video_url": {"url": BASE + "walk.mp4"}},
    ("gateway", "pdf"): {"type": "file", "file": {"filename": "report.pdf", "file_data": BASE + "report.pdf"}},
    ("responses", "image"): {"type": "input_image", "image_url": BASE + "cat.jpg", "detail": "auto"},
    ("responses", "pdf"): {"type": "input_file", "file_url": BASE + "report.pdf"},
    ("messages", "image"): {"type": "image", "source": {"type": "url", "url": BASE + "cat.jpg"}},
    ("messages", "pdf"): {"type": "document", "source": {"type": "url", "url": BASE + "report.pdf"}},
    ("gemini", "image"): {"fileData": {"mimeType": "image/jpeg", "fileUri": BASE + "cat.jpg"}},
    ("gemini", "video"): {"fileData": {"mimeType": "video/mp4", "fileUri": BASE + "walk.mp4"}},
    ("gemini", "pdf"): {"fileData": {"mimeType": "application/pdf", "fileUri": BASE + "report.pdf"}},
}
# The inline copy as each target sends it, for the URL refusals when there is a copy.
INLINE_BODIES = {
    ("chat", "audio"): {"type": "input_audio", "input_audio": {"data": "TVAz", "format": "mp3"}},
    ("chat", "pdf"): {"type": "file", "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,UERG"}},
    ("gateway", "audio"): {"type": "input_audio", "input_audio": {"data": "TVAz", "format": "mp3"}},
    ("gemini", "audio"): {"inlineData": {"mimeType": "audio/mp3", "data": "TVAz"}},
}


def first_part(rendered):
    body = materialize(rendered.body)
    if rendered.protocol == "chat":
        return body["messages"][0]["content"][0]
    if rendered.protocol == "responses":
        return body["input"][0]["content"][0]
    if rendered.protocol == "messages":
        return body["messages"][0]["content"][0]
    return body["contents"][0]["parts"][0]


def refusals_on_the_part(rendered):
    return [r for r in rendered.refusals if (r.message_index, r.part_index) == (0, 0)]


def inline_notes(rendered):
    return [n for n in rendered.notes if (n.message_index, n.part_index) == (0, 0) and "sent inline" in n.message]


@pytest.mark.parametrize(("key", "kind"), list(WITHOUT_COPY))
def test_a_url_without_a_copy_goes_as_the_url_or_is_refused_with_the_reason(key, kind):
    r = render(ask(by_url(kind, copy=False)), {}, TARGETS[key])
    expected = WITHOUT_COPY[(key, kind)]
    if expected == "url":
        assert r.ok, r.refusals
        assert first_part(r) == URL_BODIES[(key, kind)]
        assert inline_notes(r) == []
        return
    [ref] = refusals_on_the_part(r)
    assert ref.reason.startswith(expected)
    assert isinstance(_raw_first(r), Omitted)  # shown as refused in the body, not missing
    if (key, kind) in URL_REFUSALS:
        # Nothing Prism can do on its own: the reason says how to get a copy, and no button pretends otherwise.
        assert ref.fallback is None
        assert "Prism keeps only the URL of “" in ref.reason and "“Fetch and store a copy”" in ref.reason


def _raw_first(rendered):
    body = rendered.body
    if rendered.protocol in ("chat", "messages"):
        return body["messages"][0]["content"][0]
    if rendered.protocol == "responses":
        return body["input"][0]["content"][0]
    return body["contents"][0]["parts"][0]


@pytest.mark.parametrize(("key", "kind"), list(WITHOUT_COPY))
def test_with_a_stored_copy_a_url_the_target_cannot_take_goes_inline_with_a_note(key, kind):
    r = render(ask(by_url(kind, copy=True)), {}, TARGETS[key])
    expected = WITHOUT_COPY[(key, kind)]
    if expected == "url":  # the copy changes nothing where the URL goes
        assert r.ok and first_part(r) == URL_BODIES[(key, kind)] and inline_notes(r) == []
    elif (key, kind) in URL_REFUSALS:
        assert r.ok, r.refusals
        assert first_part(r) == INLINE_BODIES[(key, kind)]
        [note] = inline_notes(r)
        assert note.level == "warning"  # the copy may differ from what the URL serves today
        assert note.message.startswith(
            f"“{NAMES[kind]}” sent inline, from the copy Prism stored when it was added, not by its URL: {expected}"
        )
    else:  # the kind is refused whatever its delivery, and no inline note pretends it was sent
        [ref] = refusals_on_the_part(r)
        assert ref.reason.startswith(expected) and inline_notes(r) == []


@pytest.mark.parametrize("key", list(TARGETS))
@pytest.mark.parametrize("kind", ["image", "audio", "video", "pdf"])
@pytest.mark.parametrize("copy", [False, True])
def test_no_url_part_is_ever_dropped_silently(key, kind, copy):
    """Whatever the combination: the part is in the body, or refused where it stands; and when the
    user chose "by URL" and the bytes went instead, a note on the part says so."""
    part = by_url(kind, copy=copy)
    r = render(ask(part), {}, TARGETS[key])
    sent = _raw_first(r)
    if isinstance(sent, Omitted):
        assert refusals_on_the_part(r)
        return
    text = str(materialize(r.body))
    if part.url in text:
        assert inline_notes(r) == []
    else:
        assert copy and inline_notes(r), "the URL is not in the body and no note says the copy went instead"


def test_an_inline_only_target_gets_the_copy_with_a_note_and_the_url_part_without_one_is_refused():
    inline_only = Target("messages", "claude-sonnet-4-5", accepts_urls=False, label="Claude on a proxy")
    r = render(ask(by_url("image", copy=True)), {}, inline_only)
    assert r.ok
    assert first_part(r) == {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "SlBH"}}
    [note] = inline_notes(r)
    assert "Claude on a proxy is set up to take media inline only" in note.message
    without = render(ask(by_url("image", copy=False)), {}, inline_only)
    assert not without.ok and isinstance(_raw_first(without), Omitted) and BASE not in str(without.body)


def test_the_inlined_copy_is_what_the_checks_and_estimates_see():
    """The copy replaces the URL part before the per-part checks, the body and the record of what
    was sent (token estimates, size checks): they all see the inline bytes."""
    r = render(ask(by_url("audio", copy=True)), {}, TARGETS["chat"])
    [sent] = [s.media for s in r.sent if s.media is not None]
    assert sent.delivery == "inline" and sent.payload is MP3 and sent.url is None
    assert r.body_size() == len(r.body_bytes())


def test_a_model_without_the_kind_is_refused_for_the_kind_not_inlined():
    no_audio = Target("chat", "gpt-5.4", inputs=frozenset({"image", "pdf"}))
    r = render(ask(by_url("audio", copy=True)), {}, no_audio)
    [ref] = refusals_on_the_part(r)
    assert "without audio input" in ref.reason and inline_notes(r) == []


def test_media_by_url_in_an_assistant_turn_is_refused_for_the_role_not_inlined():
    p = Prompt(messages=[Message("user", [TextPart("Hi")]), Message("assistant", [by_url("pdf", copy=True)]),
                         Message("user", [TextPart("Go on")])])
    r = render(p, {}, TARGETS["chat"])
    [ref] = [x for x in r.refusals if x.message_index == 1]
    assert "assistant" in ref.reason and not [n for n in r.notes if "sent inline" in n.message]


# --- the bodies still fit the SDKs' request types ------------------------------------------------


def _mixed(copy: bool):
    return Prompt(messages=[Message("user", [TextPart("Look"), *(by_url(k, copy=copy) for k in ("image", "pdf", "audio"))])])


@pytest.mark.parametrize("copy", [True, False])
def test_chat_bodies_with_urls_and_inlined_copies_validate(copy):
    prompt = _mixed(copy) if copy else Prompt(messages=[Message("user", [TextPart("Look"), by_url("image", copy=False)])])
    r = render(prompt, {}, TARGETS["chat"])
    assert r.ok, r.refusals
    validate_params(materialize(r.body), CompletionCreateParamsNonStreaming)


def test_responses_and_messages_bodies_with_urls_validate():
    parts = [TextPart("Look"), by_url("image", copy=False), by_url("pdf", copy=False)]
    r = render(Prompt(messages=[Message("user", parts)]), {}, TARGETS["responses"])
    assert r.ok
    validate_params(materialize(r.body), ResponseCreateParamsNonStreaming)
    r = render(Prompt(messages=[Message("user", parts)]), {}, dataclasses.replace(TARGETS["messages"], api_version="2026-10-21"))
    assert r.ok
    validate_params(materialize(r.body), MessageCreateParamsNonStreaming)


def test_gemini_bodies_with_external_urls_and_an_inlined_copy_match_the_sdks_own_request():
    r = render(_mixed(True), {}, TARGETS["gemini"])
    assert r.ok, r.refusals
    body = materialize(r.body)
    assert body["contents"][0]["parts"][1:] == [
        {"fileData": {"mimeType": "image/jpeg", "fileUri": BASE + "cat.jpg"}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": BASE + "report.pdf"}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "TVAz"}},
    ]
    gemini_validate(body)
    assert gemini_sdk_request(body, "gemini-2.5-flash") == body


def test_an_inline_only_target_does_not_inline_a_kind_its_protocol_has_no_part_for():
    inline_only = Target("responses", "gpt-5.4", accepts_urls=False)
    r = render(ask(by_url("audio", copy=True)), {}, inline_only)
    assert refusals_on_the_part(r) and inline_notes(r) == []  # refused (limits.py asks first), not inlined
    assert isinstance(_raw_first(r), Omitted)


@pytest.mark.parametrize("key", ["chat", "gateway", "responses", "messages"])
def test_a_cloud_storage_uri_goes_only_to_gemini(key):
    gs = "gs://bucket/cat.jpg"
    r = render(ask(by_url("image", copy=False, url=gs)), {}, TARGETS[key])
    [ref] = refusals_on_the_part(r)
    assert "fetches web (https://) URLs only, not gs: URIs." in ref.reason and ref.fallback is None
    with_copy = render(ask(by_url("image", copy=True, url=gs)), {}, TARGETS[key])
    assert with_copy.ok and gs not in str(materialize(with_copy.body)) and inline_notes(with_copy)
    gemini = render(ask(by_url("image", copy=False, url=gs)), {}, TARGETS["gemini"])
    assert gemini.ok and first_part(gemini) == {"fileData": {"mimeType": "image/jpeg", "fileUri": gs}}


@pytest.mark.parametrize("key", ["chat", "gateway", "responses", "messages"])
def test_a_gemini_files_api_uri_is_refused_elsewhere(key):
    """File IDs are scoped to their provider (docs/protocols.md §8.8)."""
    files = "https://generativelanguage.googleapis.com/v1beta/files/abc123"
    [ref] = refusals_on_the_part(render(ask(by_url("image", copy=False, url=files)), {}, TARGETS[key]))
    assert "A Gemini Files API URI means nothing to" in ref.reason
    assert render(ask(by_url("image", copy=False, url=files)), {}, TARGETS["gemini"]).ok
