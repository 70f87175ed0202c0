"""The prompt editor: its form and the document, structural actions, the picker, uploads from the
editor, drafts, and who may do what."""

import html
import json

import pytest
from django.urls import reverse

from playground.prompts import editor
from playground.prompts.document import normalize
from playground.prompts.models import PromptDraft
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import make_item, make_png, make_prompt


@pytest.fixture
def prompt(team, user):
    return make_prompt(team, "Caption", user=user, doc=simple_doc())


def simple_doc(text="Describe {{subject}}.", **kw):
    return normalize({"name": "Caption", "system": "Be brief.", "messages": [{"role": "user", "parts": [{"text": text}]}],
                      "variables": {"subject": "a kite"}, **kw})


def post(client, prompt, doc, items=(), url="prompts:action", **extra):
    data = editor.form_data(doc, {i.pk: i for i in items})
    data.update(extra)
    return client.post(reverse(url, args=[prompt.pk]), data, headers=HX)


def draft_doc(prompt) -> dict:
    return PromptDraft.objects.get(prompt=prompt).document


# --- the form and the document ---------------------------------------------------------------------


def test_the_editor_form_and_the_document_are_inverse(team, png, wav):
    video = make_item(team, samples.mp4_bytes(), "clip.mp4")
    pdf = make_item(team, samples.pdf_bytes(pages=2), "brief.pdf")
    doc = normalize({
        "name": "Everything",
        "system": "You are {{role}}.\nTwo lines.",
        "messages": [
            {"role": "user", "parts": [
                {"text": "Look at {{subject}}:"},
                {"media": {"item": png.pk}, "detail": "high", "variant": {"max_edge": 512, "format": "jpeg", "quality": 70}},
                {"media": {"item": wav.pk}, "variant": {"format": "mp3", "bitrate": 64000}},
                {"media": {"item": video.pk}, "variant": {"frames": 4, "max_edge": 320}},
                {"media": {"item": pdf.pk}},
                {"media_variable": "photo", "kind": "image", "detail": "low"},
                {"media": {"url": "https://example.com/a.png", "kind": "image", "mime_type": "image/png"}, "send": "url"},
            ]},
            {"role": "assistant", "parts": [{"text": "Noted."}]},
        ],
        "variables": {"role": "an analyst", "subject": "the kite", "photo": {"media": {"item": png.pk}}},
        "options": {"max_tokens": 300, "temperature": 0.5, "json_schema": {"type": "object"}, "schema_name": "answer",
                    "strict": False},
    })
    items = {i.pk: i for i in (png, wav, video, pdf)}

    data = editor.form_data(doc, items)
    parsed = editor.parse_editor(_multi(data))

    assert parsed.errors == {}
    assert parsed.doc == doc
    assert editor.canonical(doc, items) == doc
    assert data["m-0-p-1-detail"] == "high" and data["m-0-p-1-image_format"] == "jpeg"
    assert json.loads(data["m-0-p-1-extra"]) == {"variant": {"quality": 70}}


def test_a_media_part_whose_item_is_gone_keeps_its_settings(team):
    doc = normalize({"messages": [{"role": "user", "parts": [{"media": {"item": 424242}, "variant": {"format": "wav"}}]}]})

    assert editor.canonical(doc, {}) == {**doc, "name": "Untitled prompt"}


def test_bad_fields_are_messages_on_their_place_and_left_out(team, png):
    doc = normalize({"messages": [{"role": "user", "parts": [{"media": {"item": png.pk}}]}]})
    data = editor.form_data(doc, {png.pk: png})
    data.update({"temperature": "warm", "m-0-p-0-max_edge": "3", "json_schema": "[1, 2]"})

    parsed = editor.parse_editor(_multi(data))

    assert "temperature" not in parsed.doc["options"] and "json_schema" not in parsed.doc["options"]
    assert "variant" not in parsed.doc["messages"][0]["parts"][0]
    options = " ".join(parsed.errors[("options",)])
    assert "Temperature: Enter a number." in options and "A JSON schema is an object" in options
    assert "Max edge: Ensure this value is greater than or equal to 16." in parsed.errors[("part", 0, 0)]


def test_a_blank_value_and_a_variable_just_typed_are_the_empty_text(team):
    """The editor has no "unset": a blank field is "", and a placeholder typed a moment ago (its field
    comes with the response) is "" too; a media slot's name is not a text variable."""
    doc = normalize({"system": "You are {{role}}.", "messages": [{"role": "user", "parts": [
        {"text": "Context: {{context}} Describe {{subject}}."}, {"media_variable": "photo", "kind": "image"}]}],
        "variables": {"subject": "the kite", "context": ""}})
    data = editor.form_data(doc, {})
    assert data["var-context"] == ""
    del data["var-role"]  # typed just now: no field yet

    parsed = editor.parse_editor(_multi(data))

    assert parsed.doc["variables"] == {"subject": "the kite", "context": "", "role": ""}


# --- pages and fragments ----------------------------------------------------------------------------------


def test_the_editor_is_a_full_page_and_its_posts_answer_fragments(client_logged_in, prompt):
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk]))
    assert page.status_code == 200
    assert b"<html" in page.content and b'id="editor-form"' in page.content and b'id="preview-columns"' in page.content

    action = post(client_logged_in, prompt, simple_doc(), action="add_text:0")
    assert action.status_code == 200
    assert b"<html" not in action.content
    assert action.content.lstrip().startswith(b'<section id="editor-pane"')


def test_the_prompts_list_links_to_the_editor(client_logged_in, prompt, other_team):
    make_prompt(other_team, "Not ours")

    page = client_logged_in.get(reverse("prompts:list")).content.decode()

    assert "Caption" in page and "Not ours" not in page
    assert reverse("prompts:edit", args=[prompt.pk]) in page
    assert ">v1<" in page
    assert f'href="{reverse("prompts:list")}" aria-current="page"' in page  # the nav link


def test_another_teams_prompt_is_not_found(client, other_user, prompt):
    client.force_login(other_user)
    pk = prompt.pk

    for name, method in [("edit", "get"), ("versions", "get"), ("picker", "get"), ("preview", "post"), ("action", "post"),
                         ("save", "post"), ("discard", "post"), ("upload", "post")]:
        response = getattr(client, method)(reverse(f"prompts:{name}", args=[pk]))
        assert response.status_code == 404, name
    assert client.get(reverse("prompts:body", args=[pk, "chat"])).status_code == 404
    assert client.get(reverse("prompts:export", args=[pk, 1])).status_code == 404
    assert client.post(reverse("prompts:restore", args=[pk, 1])).status_code == 404


def test_a_viewer_can_look_and_preview_but_not_save(client, viewer, prompt):
    client.force_login(viewer)

    assert client.get(reverse("prompts:edit", args=[prompt.pk])).status_code == 200
    assert post(client, prompt, simple_doc("Changed"), url="prompts:preview").status_code == 200
    page = client.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert "viewers cannot save" in page and 'id="save-version"' not in page

    response = post(client, prompt, simple_doc("Changed"), url="prompts:save")

    assert response.status_code == 403
    assert prompt.versions.count() == 1
    assert client.post(reverse("prompts:restore", args=[prompt.pk, 1])).status_code == 403
    assert client.post(reverse("prompts:create"), {"name": "Mine"}).status_code == 403


# --- structural actions ------------------------------------------------------------------------------------


def test_adding_a_text_part_and_a_message_puts_the_focus_in_the_new_text(client_logged_in, prompt):
    response = post(client_logged_in, prompt, simple_doc(), action="add_text:0")

    assert 'data-focus="id_m-0-p-1-text"' in response.content.decode()
    assert draft_doc(prompt)["messages"][0]["parts"] == [{"text": "Describe {{subject}}."}, {"text": ""}]

    response = post(client_logged_in, prompt, draft_doc(prompt), action="add_message")

    assert 'data-focus="id_m-1-p-0-text"' in response.content.decode()
    assert [m["role"] for m in draft_doc(prompt)["messages"]] == ["user", "assistant"]


def test_parts_and_messages_move_up_and_down_and_keep_the_focus_on_the_button(client_logged_in, prompt, png):
    doc = normalize({"name": "Caption", "messages": [
        {"role": "user", "parts": [{"text": "one"}, {"media": {"item": png.pk}}, {"text": "three"}]},
        {"role": "assistant", "parts": [{"text": "reply"}]},
    ]})

    response = post(client_logged_in, prompt, doc, [png], action="up_part:0:1")
    parts = draft_doc(prompt)["messages"][0]["parts"]
    assert [p.get("text", "media") for p in parts] == ["media", "one", "three"]
    # At the top the "up" button is disabled, so the focus goes to "down".
    assert 'data-focus="down-part-0-0"' in response.content.decode()

    response = post(client_logged_in, prompt, draft_doc(prompt), [png], action="down_part:0:1")
    assert [p.get("text", "media") for p in draft_doc(prompt)["messages"][0]["parts"]] == ["media", "three", "one"]
    assert 'data-focus="up-part-0-2"' in response.content.decode()

    post(client_logged_in, prompt, draft_doc(prompt), [png], action="down_message:0")
    assert [m["role"] for m in draft_doc(prompt)["messages"]] == ["assistant", "user"]

    post(client_logged_in, prompt, draft_doc(prompt), [png], action="remove_part:1:0")
    post(client_logged_in, prompt, draft_doc(prompt), [png], action="remove_message:0")
    assert draft_doc(prompt)["messages"] == [{"role": "user", "parts": [{"text": "three"}, {"text": "one"}]}]


def test_the_move_buttons_are_labelled_buttons_that_are_disabled_at_the_edges(client_logged_in, prompt):
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert 'aria-label="Move part 1 of message 1 up" title="Move up" disabled' in page
    assert 'aria-label="Remove part 1 of message 1"' in page


def test_an_out_of_date_action_is_a_message_not_an_error(client_logged_in, prompt):
    response = post(client_logged_in, prompt, simple_doc(), action="remove_part:0:7")

    assert response.status_code == 200
    assert "no longer there" in html.unescape(response.content.decode())


def test_a_media_variable_slot_is_named_and_listed_with_a_picker(client_logged_in, prompt):
    response = post(client_logged_in, prompt, simple_doc(), action="add_slot:0")

    page = response.content.decode()
    assert draft_doc(prompt)["messages"][0]["parts"][1] == {"media_variable": "image1", "kind": "image"}
    assert 'id="var-pick-image1"' in page
    assert "No media given for the image slot {{image1}}." in html.unescape(page)


# --- picking and uploading media ---------------------------------------------------------------------------


def test_the_picker_lists_the_teams_media_with_thumbnails_and_a_kind_filter(client_logged_in, prompt, png, wav, other_team):
    make_item(other_team, samples.jpeg_bytes(), "theirs.jpg")

    page = client_logged_in.get(reverse("prompts:picker", args=[prompt.pk]) + "?target=m-0-new", headers=HX).content.decode()

    assert "<html" not in page
    assert "photo.png" in page and "tone.wav" in page and "theirs.jpg" not in page
    assert reverse("uploads:thumbnail", args=[png.pk]) in page
    assert f'value="m-0-new|{png.pk}"' in page

    images = client_logged_in.get(reverse("prompts:picker", args=[prompt.pk]) + "?target=m-0-new&kind=image").content.decode()
    assert "photo.png" in images and "tone.wav" not in images


def test_picking_an_item_adds_a_media_part_or_sets_a_value(client_logged_in, prompt, png):
    response = post(client_logged_in, prompt, simple_doc(), pick=f"m-0-new|{png.pk}")

    assert draft_doc(prompt)["messages"][0]["parts"][1] == {"media": {"item": png.pk}}
    assert 'data-focus="pick-m-0-p-1"' in response.content.decode()
    assert reverse("uploads:thumbnail", args=[png.pk]) in response.content.decode()

    doc = normalize({"name": "Caption", "messages": [{"role": "user", "parts": [{"media_variable": "photo", "kind": "image"}]}]})
    post(client_logged_in, prompt, doc, pick=f"var-photo|{png.pk}")
    assert draft_doc(prompt)["variables"] == {"photo": {"media": {"item": png.pk}}}


def test_another_teams_item_cannot_be_picked(client_logged_in, prompt, other_team):
    theirs = make_png(other_team, "theirs.png")

    response = post(client_logged_in, prompt, simple_doc(), pick=f"m-0-new|{theirs.pk}")

    assert response.status_code == 200
    assert "not in this team's library" in html.unescape(response.content.decode())
    assert len(draft_doc(prompt)["messages"][0]["parts"]) == 1


def test_an_upload_from_the_editor_joins_the_library_and_is_picked(client_logged_in, prompt, team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("tone.wav", samples.wav_bytes(seconds=1.0), content_type="audio/wav")

    response = client_logged_in.post(reverse("prompts:upload", args=[prompt.pk]), {"file": upload, "target": "m-0-new"},
                                     headers=HX)

    item = team.media_items.get(name="tone.wav")
    page = response.content.decode()
    assert f'id="media-{item.pk}"' in page  # the library's media card
    assert f'value="m-0-new|{item.pk}"' in page and 'hx-trigger="load"' in page  # and the pick it makes


def test_a_refused_upload_from_the_editor_says_why(client_logged_in, prompt):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("notes.wav", samples.text_bytes(), content_type="audio/wav")

    response = client_logged_in.post(reverse("prompts:upload", args=[prompt.pk]), {"file": upload, "target": "m-0-new"})

    assert response.status_code == 200
    assert "refused" in response.content.decode() and "hx-trigger" not in response.content.decode()


# --- drafts ------------------------------------------------------------------------------------------------


def test_typing_keeps_a_draft_that_the_editor_reopens_with_an_unsaved_bar(client_logged_in, prompt):
    assert "No unsaved changes" in client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    response = post(client_logged_in, prompt, simple_doc("A new idea"), url="prompts:preview")
    assert 'id="draft-bar"' in response.content.decode() and "Unsaved changes" in response.content.decode()

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert "A new idea" in page
    assert 'data-dirty="true"' in page and "Unsaved changes" in page and "Discard" in page
    assert prompt.versions.count() == 1


def test_a_draft_equal_to_the_saved_version_is_not_unsaved(client_logged_in, prompt):
    post(client_logged_in, prompt, simple_doc(), url="prompts:preview")

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert 'data-dirty="false"' in page


def test_an_older_request_does_not_overwrite_a_newer_draft(client_logged_in, prompt):
    post(client_logged_in, prompt, simple_doc("newer"), url="prompts:preview", stamp="2000")
    post(client_logged_in, prompt, simple_doc("older"), url="prompts:preview", stamp="1000")

    assert draft_doc(prompt)["messages"][0]["parts"][0]["text"] == "newer"


def test_discarding_the_draft_goes_back_to_the_saved_version(client_logged_in, prompt):
    post(client_logged_in, prompt, simple_doc("A new idea"), url="prompts:preview")

    response = client_logged_in.post(reverse("prompts:discard", args=[prompt.pk]), headers=HX)

    assert response.status_code == 200 and response["HX-Redirect"] == reverse("prompts:edit", args=[prompt.pk])
    assert not PromptDraft.objects.exists()
    assert "A new idea" not in client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()


def test_each_user_has_their_own_draft(client, prompt, team):
    from tests.factories import make_member

    bob = make_member(team, username="bob")
    client.force_login(bob)
    post(client, prompt, simple_doc("Bob's idea"), url="prompts:preview")

    assert PromptDraft.objects.get().user == bob
    client.force_login(prompt.created_by)
    assert "Bob&#x27;s idea" not in client.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()


def test_the_preview_settings_are_kept_with_the_draft(client_logged_in, prompt):
    data = editor.form_data(simple_doc(), {})
    data.update({"pv-columns": ["messages", "gateway"], "pv-model_messages": "preset:anthropic:claude-haiku-4-5", "pv-anthropic_version": "2026-10-21"})
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), data, headers=HX)

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert 'id="col-messages"' in page and 'id="col-gateway"' in page and 'id="col-chat"' not in page
    assert 'value="preset:anthropic:claude-haiku-4-5" selected' in page
    assert "Claude Haiku 4.5 (Anthropic)" in page.split('id="col-messages"')[1]
    assert "2026-10-21" in page.split('id="col-messages"')[1]


def _multi(data: dict):
    from django.http import QueryDict

    q = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            q.setlist(key, value)
        else:
            q[key] = value
    return q
