"""A fallback for the targets that need it, not for the part everywhere (issue 9, "Previews for
real models"): the key-frames button in the Chat column turns Chat to stills while Gemini keeps the
video; "leave out for models that cannot take it" makes a refusing column sendable with a warning.
Both are part of the document (variant_for, optional): drafts, versions and exports keep them."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from playground.prompts import editor
from playground.prompts.document import for_target, normalize
from playground.prompts.forms import PreviewSettingsForm
from playground.prompts.previews import fallback_action, merge_actions
from playground.prompts.transfer import export_version, import_prompt
from playground.protocols import Fallback
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import make_item, make_prompt

KEYFRAMES = "keyframes:count=8;format=jpeg;quality=85"
CHAT_KEYFRAMES = f"fallback:0:1:chat:keyframes:{KEYFRAMES}"


def video_doc(video, **part):
    return normalize({"name": "Clip", "messages": [{"role": "user", "parts": [
        {"text": "What happens in this clip?"}, {"media": {"item": video.pk}, **part}]}]})


@pytest.fixture
def video(team, user):
    return make_item(team, samples.mp4_bytes(), "clip.mp4", user)


def post(client, prompt, doc, items, url="prompts:action", **extra):
    data = editor.form_data(doc, {i.pk: i for i in items}, PreviewSettingsForm.defaults())
    data.update(extra)
    return client.post(reverse(url, args=[prompt.pk]), data, headers=HX)


def column_html(page: str, key: str) -> str:
    start = page.index(f'id="col-{key}"')
    return page[start:page.find("</article>", start)]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def part_html(page: str, mi: int, pi: int) -> str:
    start = page.index(f'id="part-{mi}-{pi}"')
    return page[start:page.index(f'id="remarks-part-{mi}-{pi}"', start)]


def chat_refuses_the_video(fragment: str) -> bool:
    """The Chat column's refusal: the protocol's (no video part) or its preset model's (no video input)."""
    return "has no video part" in fragment or "set up without video input" in fragment


def the_part(doc) -> dict:
    return doc["messages"][0]["parts"][1]


# --- the action: one target's fallback into variant_for ----------------------------------------------


def test_a_columns_fallback_goes_to_that_target_only(video):
    doc, focus = editor.apply_action(video_doc(video), CHAT_KEYFRAMES)
    assert the_part(doc) == {"media": {"item": video.pk}, "variant_for": {"chat": {"frames": 8}}}
    assert focus == "part-0-1"
    assert the_part(for_target(doc, "chat"))["variant"] == {"frames": 8}
    assert "variant" not in the_part(for_target(doc, "gemini"))  # Gemini keeps the video


def test_one_button_for_several_columns_sets_each(video):
    doc, _ = editor.apply_action(video_doc(video), f"fallback:0:1:chat,responses,messages:keyframes:{KEYFRAMES}")
    assert the_part(doc)["variant_for"] == {k: {"frames": 8} for k in ("chat", "responses", "messages")}


def test_a_per_target_variant_keeps_the_parts_own_choices(png):
    """A resize for Anthropic on top of the PNG copy chosen for all: both."""
    doc = normalize({"messages": [{"role": "user", "parts": [{"text": "Hi"}, {"media": {"item": png.pk}, "variant": {"format": "png"}}]}]})
    doc, _ = editor.apply_action(doc, "fallback:0:1:messages:variant:image:max_edge=2000")
    assert the_part(doc)["variant"] == {"format": "png"}
    assert the_part(doc)["variant_for"] == {"messages": {"format": "png", "max_edge": 2000, "quality": 85}}


def test_inline_for_one_target_sends_the_file_itself_there(png):
    doc = normalize({"messages": [{"role": "user", "parts": [{"text": "Hi"}, {"media": {"item": png.pk}, "send": "url"}]}]})
    doc, _ = editor.apply_action(doc, "fallback:0:1:chat:inline:")
    assert the_part(doc) == {"media": {"item": png.pk}, "send": "url", "variant_for": {"chat": {}}}
    assert the_part(for_target(doc, "chat")) == {"media": {"item": png.pk}, "variant": {}}  # inline, as it is
    assert the_part(for_target(doc, "gemini"))["send"] == "url"


def test_without_a_column_the_fallback_is_for_every_target_as_before(video):
    for action in (f"fallback:0:1::keyframes:{KEYFRAMES}", f"fallback:0:1:keyframes:{KEYFRAMES}"):  # new, old page
        doc, _ = editor.apply_action(video_doc(video), action)
        assert the_part(doc) == {"media": {"item": video.pk}, "variant": {"frames": 8}}


def test_undo_takes_back_one_targets_fallback(video):
    doc, _ = editor.apply_action(video_doc(video), f"fallback:0:1:chat,messages:keyframes:{KEYFRAMES}")
    doc, focus = editor.apply_action(doc, "unfallback:0:1:chat")
    assert the_part(doc)["variant_for"] == {"messages": {"frames": 8}} and focus == "part-0-1"
    doc, _ = editor.apply_action(doc, "unfallback:0:1:messages")
    assert the_part(doc) == {"media": {"item": video.pk}}


@pytest.mark.parametrize("action, message", [
    (f"fallback:0:1:claude:keyframes:{KEYFRAMES}", "Unknown preview column 'claude'"),
    ("fallback:0:1:chat:resize:x", "Unknown fallback 'resize'"),
    (f"fallback:0:5:chat:keyframes:{KEYFRAMES}", "That part is no longer there"),
    ("fallback:0:1:chat:variant:", "names no variant to make"),
    ("unfallback:0", "not understood; reload the page"),
    ("fallback:0:-1:chat:inline:", "not understood; reload the page"),
    ("fallback:0:" + "9" * 5000 + ":chat:inline:", "not understood; reload the page"),
])
def test_bad_fallback_actions_say_what_is_wrong(video, action, message):
    with pytest.raises(editor.ActionError, match=message):
        editor.apply_action(video_doc(video), action)


def test_fallback_action_names_the_column_and_merges_same_fallbacks():
    fb = Fallback("keyframes", "Send 8 key frames as images (stills, not the video)", KEYFRAMES)
    places = {(0, 1)}
    assert fallback_action(fb, ("part", 0, 1), places, column="chat") == CHAT_KEYFRAMES
    assert fallback_action(fb, ("part", 0, 1), places) == f"fallback:0:1::keyframes:{KEYFRAMES}"
    assert fallback_action(fb, ("part", 0, 2), places, column="chat") is None  # not a library part
    other = fallback_action(fb, ("part", 0, 1), places, column="messages")
    assert merge_actions(CHAT_KEYFRAMES, other) == f"fallback:0:1:chat,messages:keyframes:{KEYFRAMES}"
    png = fallback_action(Fallback("variant", "Send a PNG copy", "image:format=png"), ("part", 0, 1), places, column="messages")
    assert merge_actions(CHAT_KEYFRAMES, png) == CHAT_KEYFRAMES  # another fallback: not merged
    # A column with no button for it (a configured model: no clamping) does not take another column's away.
    assert merge_actions(None, "option:clamp_temperature") == "option:clamp_temperature"
    assert merge_actions("option:clamp_temperature", None) == "option:clamp_temperature"


# --- the form keeps both -----------------------------------------------------------------------------------


def test_the_form_round_trips_variant_for_and_optional(video, png):
    doc = normalize({"name": "Compare", "messages": [{"role": "user", "parts": [
        {"text": "Compare."},
        {"media": {"item": video.pk}, "optional": True, "variant_for": {"chat": {"frames": 8}, "gateway": {"frames": 4}}},
        {"media_variable": "shot", "kind": "image", "optional": True},
        {"media": {"item": png.pk}},
    ]}], "variables": {"shot": {"media": {"item": png.pk}}}})
    items = {video.pk: video, png.pk: png}
    assert editor.canonical(doc, items) == doc

    data = editor.form_data(doc, items)
    assert data["m-0-p-1-optional"] == "on" and data["m-0-p-2-optional"] == "on" and "m-0-p-3-optional" not in data
    data.pop("m-0-p-1-optional")  # the box unticked
    parsed = editor.parse_editor(editor._MultiDict(data))
    assert "optional" not in parsed.doc["messages"][0]["parts"][1]
    assert parsed.doc["messages"][0]["parts"][1]["variant_for"] == {"chat": {"frames": 8}, "gateway": {"frames": 4}}


def test_the_part_lists_its_per_target_choices(video):
    doc, _ = editor.apply_action(video_doc(video, optional=True), f"fallback:0:1:chat:keyframes:{KEYFRAMES}")
    view = editor.editor_context(doc, {video.pk: video})["message_views"][0].parts[1]
    assert view.optional is True
    assert [(t.label, t.description, t.undo) for t in view.per_target] == [("Chat", "8 key frames", "unfallback:0:1:chat")]
    lines = editor.readable_lines(doc, {video.pk: "clip.mp4"})
    assert lines[-1] == f"  Part 2 · “clip.mp4” (library item {video.pk}) · for Chat: frames=8 · left out where a model cannot take it"


@pytest.mark.parametrize("variant, words", [
    ({"frames": 4, "max_edge": 320}, "4 key frames, max edge 320 px"),
    ({"format": "jpeg", "quality": 85}, "JPEG copy"),  # 85: the default quality
    ({"format": "webp", "quality": 60}, "WEBP copy, quality 60"),
    ({"max_edge": 2000}, "max edge 2000 px"),
    ({"format": "mp3", "bitrate": 128000}, "MP3 copy"),  # 128000: the default bitrate
    ({"format": "mp3", "bitrate": 64000}, "MP3 copy, bitrate 64000"),
    ({}, "the file itself, inline"),
])
def test_variants_in_words(variant, words):
    assert editor.describe_variant("video" if "frames" in variant else "image", variant) == words


# --- the editor page: the Chat column's button, Gemini unchanged ------------------------------------------------


def test_the_chat_columns_key_frames_button_turns_chat_to_stills_and_leaves_gemini_the_video(client_logged_in, team, user, video):
    doc = video_doc(video)
    prompt = make_prompt(team, user=user, doc=doc)
    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    chat = column_html(page, "chat")
    assert chat_refuses_the_video(chat)
    assert f'value="{CHAT_KEYFRAMES}"' in chat  # the Chat column's button is for Chat

    response = post(client_logged_in, prompt, doc, [video], action=CHAT_KEYFRAMES)

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    saved = prompt.drafts.get().document
    assert the_part(saved) == {"media": {"item": video.pk}, "variant_for": {"chat": {"frames": 8}}}
    chat = text_of(column_html(page, "chat"))
    assert not chat_refuses_the_video(chat) and "key frames" in chat
    assert chat.count('"type": "image_url"') == 8
    gemini = text_of(column_html(page, "gemini"))
    assert '"mimeType": "video/mp4"' in gemini and "key frames" not in gemini
    part = text_of(part_html(page, 0, 1))
    assert "Chat: 8 key frames" in part and "Undo" in part

    # Reloaded (the draft), then saved as a version and reloaded: the choice is still Chat's only.
    page = text_of(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    assert "Chat: 8 key frames" in page
    assert post(client_logged_in, prompt, saved, [video], url="prompts:save").status_code == 200
    version = prompt.latest_version()
    assert version.number == 2 and the_part(version.content)["variant_for"] == {"chat": {"frames": 8}}
    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    assert "Chat: 8 key frames" in text_of(part_html(page, 0, 1))
    assert '"mimeType": "video/mp4"' in text_of(column_html(page, "gemini"))

    # Undo: Chat refuses the video again.
    response = post(client_logged_in, prompt, saved, [video], action="unfallback:0:1:chat")
    assert chat_refuses_the_video(html.unescape(column_html(response.content.decode(), "chat")))
    assert "variant_for" not in the_part(prompt.drafts.get().document)


def test_leave_out_makes_the_chat_column_sendable_with_a_warning_and_gemini_unchanged(client_logged_in, team, user, video):
    doc = video_doc(video)
    prompt = make_prompt(team, user=user, doc=doc)
    before = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())

    response = post(client_logged_in, prompt, doc, [video], url="prompts:preview", **{"m-0-p-1-optional": "on"})

    page = html.unescape(response.content.decode())
    chat = column_html(page, "chat")
    assert chat_refuses_the_video(chat) and "Left out for" in chat
    assert "remark-error" not in chat  # nothing refused: sendable
    body = text_of(chat)
    assert '"content": "What happens in this clip?"' in body or '"text": "What happens in this clip?"' in body
    assert "video/mp4" not in body and '"type": "image_url"' not in body  # the video is not in Chat's body
    assert text_of(column_html(page, "gemini")) == text_of(column_html(before, "gemini"))
    assert prompt.drafts.get().document["messages"][0]["parts"][1]["optional"] is True
    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    assert 'name="m-0-p-1-optional" checked' in page


# --- export and import keep them -----------------------------------------------------------------------------------


def test_export_and_import_keep_per_target_fallbacks_and_optional_parts(team, user, other_team, other_user, video, png):
    doc = normalize({"name": "Clip", "messages": [{"role": "user", "parts": [
        {"text": "What happens?"},
        {"media": {"item": video.pk}, "optional": True, "variant_for": {"chat": {"frames": 8}}},
        {"media": {"item": png.pk}, "variant_for": {"messages": {"max_edge": 32}}},
    ]}]})
    version = make_prompt(team, user=user, doc=doc, media_items=[video, png]).latest_version()

    data = export_version(version)
    imported = import_prompt(team=other_team, user=other_user,
                             uploaded_file=SimpleUploadedFile("clip.zip", data, content_type="application/zip"))

    parts = imported.latest_version().content["messages"][0]["parts"]
    assert parts[1]["optional"] is True and parts[1]["variant_for"] == {"chat": {"frames": 8}}
    assert parts[2]["variant_for"] == {"messages": {"max_edge": 32}}
    assert parts[1]["media"]["item"] != video.pk  # the other team's own copy


# --- build_prompt carries "optional" ----------------------------------------------------------------------------


def test_an_optional_slots_value_is_left_out_where_refused_and_a_shared_value_stays_required(team, wav):
    from playground.prompts.document import build_prompt
    from playground.prompts.library_source import LibrarySource
    from playground.protocols import Target, render

    def rendered(*slots):
        doc = normalize({"messages": [{"role": "user", "parts": [{"text": "Listen."}, *slots]}],
                         "variables": {"sound": {"media": {"item": wav.pk}}}})
        built = build_prompt(doc, LibrarySource(team))
        return render(built.prompt, built.values, Target("messages", "claude-sonnet-4-5"))

    left_out = rendered({"media_variable": "sound", "kind": "audio", "optional": True})
    assert left_out.ok and [n.message for n in left_out.notes if n.message.startswith("Left out")] == [
        "Left out for claude-sonnet-4-5: Anthropic Messages has no audio block."]
    both = rendered({"media_variable": "sound", "kind": "audio", "optional": True}, {"media_variable": "sound", "kind": "audio"})
    assert not both.ok  # the same value in a required slot too: refused there, so not marked optional
    assert [r.part_index for r in both.refusals] == [1, 2]
