"""A library item chosen "by URL" (issue 9): an uploaded item has no URL a provider can fetch (an
issue on the part, in every column); an item fetched from a URL and stored goes by its URL where the
protocol fetches it and as its stored copy elsewhere, with a note; a URL reference (no copy) is
refused with the reason where the URL cannot go. The document sources' own URL rules too."""

import pytest

from playground.prompts.document import MediaProblem, build_prompt
from playground.prompts.library_source import LibrarySource
from playground.prompts.sources import FileSource, url_part
from playground.protocols import Target, render
from playground.protocols.serialize import materialize
from playground.protocols.types import Omitted
from playground.uploads.models import MediaItem
from tests.factories import doc_with, make_item, make_wav

URL = "https://media.example.com/tone.wav"
CHAT, GEMINI, MESSAGES = Target("chat", "gpt-4o-audio-preview"), Target("gemini", "gemini-3-flash-preview"), Target("messages", "claude-sonnet-4-5")


def fetched(item: MediaItem, url: str = URL) -> MediaItem:
    """The item as if added with "Fetch and store a copy" from ``url``."""
    item.source, item.source_url = MediaItem.Source.URL_FETCHED, url
    item.save()
    return item


def reference(item: MediaItem, url: str = URL) -> MediaItem:
    """The item as if added as a URL reference: the URL kept, the bytes not."""
    item.source, item.source_url, item.file = MediaItem.Source.URL_REFERENCE, url, None
    item.save()
    return item


def by_url(team, item):
    return build_prompt(doc_with({"text": "Listen."}, {"media": {"item": item.pk}, "send": "url"}), LibrarySource(team))


def audio_part(rendered):
    """The part after "Listen." (doc_with puts a system text first: Chat's first message)."""
    body = rendered.body
    if rendered.protocol == "chat":
        return body["messages"][1]["content"][1]
    return body["messages"][0]["content"][1] if rendered.protocol == "messages" else body["contents"][0]["parts"][1]


def test_an_uploaded_item_by_url_is_an_issue_on_its_part_saying_what_to_do(team, wav):
    built = by_url(team, wav)
    [issue] = built.issues
    assert (issue.message_index, issue.part_index) == (0, 1)
    assert issue.message == (
        "“tone.wav” was uploaded, so it has no public URL a provider could fetch (Prism's own media links open "
        "for your team only). Choose “inline base64” for this part."
    )


def test_a_fetched_item_goes_by_url_where_it_can_and_as_its_copy_elsewhere_with_a_note(team, wav):
    built = by_url(team, fetched(wav))
    assert built.issues == []
    part = built.media[(0, 1)]
    assert (part.delivery, part.url, part.payload is not None) == ("url", URL, True)

    chat = render(built.prompt, built.values, CHAT)  # Chat takes audio as base64 only
    assert chat.ok
    sent = materialize(audio_part(chat))
    assert sent["type"] == "input_audio" and sent["input_audio"]["format"] == "wav" and len(sent["input_audio"]["data"]) > 100
    [note] = [n for n in chat.notes if "sent inline" in n.message]
    assert (note.message_index, note.part_index) == (0, 1)
    assert note.message == (
        "“tone.wav” sent inline, from the copy Prism stored when it was added, not by its URL: "
        "OpenAI Chat Completions takes audio as base64 only, not by URL."
    )
    gemini = render(built.prompt, built.values, GEMINI)  # no audio from external URLs either
    assert gemini.ok and "inlineData" in audio_part(gemini)
    # The bytes are those of the stored copy, byte for byte.
    assert materialize(gemini.body)["contents"][0]["parts"][1]["inlineData"]["data"] == wav.file.base64_path().read_text()


def test_a_fetched_image_goes_by_its_url_to_every_protocol_that_fetches_images(team):
    from tests import media_samples as samples

    item = fetched(make_item(team, samples.png_bytes(40, 30), "photo.png"), "https://media.example.com/photo.png")
    built = build_prompt(doc_with({"media": {"item": item.pk}, "send": "url"}, {"text": "What is it?"}), LibrarySource(team))
    for target in (Target("chat", "gpt-5.4"), Target("responses", "gpt-5.4"), MESSAGES, GEMINI):
        r = render(built.prompt, built.values, target)
        assert r.ok, (target.protocol, r.refusals)
        assert "https://media.example.com/photo.png" in str(materialize(r.body))
        assert not [n for n in r.notes if "sent inline" in n.message]


def test_a_url_reference_is_refused_where_the_url_cannot_go_with_the_reason(team, wav):
    built = by_url(team, reference(wav))
    assert built.issues == [] and built.media[(0, 1)].payload is None
    for target, why in ((CHAT, "OpenAI Chat Completions takes audio as base64 only, not by URL."),
                        (GEMINI, "Gemini fetches no audio from external URLs")):
        r = render(built.prompt, built.values, target)
        assert isinstance(audio_part(r), Omitted)
        [ref] = r.refusals
        assert ref.reason.startswith(why) and ref.fallback is None
        assert "Prism keeps only the URL of “tone.wav”" in ref.reason and "“Fetch and store a copy”" in ref.reason


def test_a_url_reference_sent_inline_is_an_issue_that_says_how_to_get_a_copy(team, wav):
    built = build_prompt(doc_with({"media": {"item": reference(wav).pk}}), LibrarySource(team))
    [issue] = built.issues
    assert "its bytes are not stored" in issue.message and "Fetch and store a copy" in issue.message


def test_a_variant_of_an_item_by_url_is_an_issue_not_a_silent_original(team):
    item = fetched(make_wav(team))
    doc = doc_with({"media": {"item": item.pk}, "send": "url", "variant": {"format": "mp3"}})
    [issue] = build_prompt(doc, LibrarySource(team)).issues
    assert "a converted copy cannot go by URL" in issue.message and "“inline base64”" in issue.message


# --- URLs written in a document ------------------------------------------------------------------------


def test_a_document_url_needs_send_url_a_scheme_and_no_variant(tmp_path):
    ref = {"url": "https://media.example.com/a.png", "kind": "image", "mime_type": "image/png"}
    part = url_part(ref, detail=None, send="url")
    assert (part.delivery, part.url, part.payload, part.name) == ("url", ref["url"], None, "a.png")
    with pytest.raises(MediaProblem, match="Prism has no copy of its bytes"):
        url_part(ref, detail=None, send="inline")
    with pytest.raises(MediaProblem, match="a converted copy \\(variant\\) cannot go by URL"):
        FileSource(tmp_path).media_part(ref, detail=None, send="url", variant={"max_edge": 100})
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "media/a.png", 42):
        with pytest.raises(MediaProblem, match="A media URL starts with https://"):
            url_part(dict(ref, url=bad), detail=None, send="url")
    assert url_part(dict(ref, url="gs://bucket/a.png"), detail=None, send="url").url == "gs://bucket/a.png"


# --- in the side-by-side preview --------------------------------------------------------------------


def test_the_preview_names_on_the_part_which_columns_got_the_copy_and_which_the_url(team):
    from playground.prompts.previews import render_previews
    from tests import media_samples as samples

    item = fetched(make_item(team, samples.pdf_bytes(), "report.pdf"), "https://media.example.com/report.pdf")
    doc = doc_with({"text": "Summarise."}, {"media": {"item": item.pk}, "send": "url"})
    targets = [Target("chat", "gpt-5.4"), Target("responses", "gpt-5.4"), MESSAGES, GEMINI]
    previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=targets)

    assert all(c.ok for c in previews.columns), [(c.key, c.refusals) for c in previews.columns]
    chat, responses, messages, gemini = previews.columns
    assert "https://media.example.com/report.pdf" not in chat.display and "<base64 PDF" in chat.display
    for column in (responses, messages, gemini):
        assert "https://media.example.com/report.pdf" in column.display and "<base64" not in column.display
    [remark] = [r for r in previews.by_place[("part", 0, 1)] if "sent inline" in r.message]
    assert remark.level == "warning" and remark.columns == [chat.short_label]
    assert remark.message.endswith("OpenAI Chat Completions has no file URL field: PDFs go as base64.")


def test_the_preview_shows_an_uploaded_item_by_url_as_an_issue_on_its_part_in_every_column(team, wav):
    from playground.prompts.previews import render_previews

    doc = doc_with({"text": "Listen."}, {"media": {"item": wav.pk}, "send": "url"})
    previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=[CHAT, GEMINI])
    assert not any(c.ok for c in previews.columns)
    [remark] = previews.by_place[("part", 0, 1)]
    assert remark.kind == "issue" and "no public URL" in remark.message and len(remark.columns) == 2
