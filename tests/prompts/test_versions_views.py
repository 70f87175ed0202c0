"""Saving versions from the editor, history, diffs, restoring, export and import."""

import html
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from playground.prompts import editor
from playground.prompts.document import normalize
from playground.prompts.models import Prompt, PromptDraft
from tests.conftest import HX
from tests.factories import make_prompt


def doc(text="Describe {{subject}}.", subject="a kite", **parts_and_more):
    return normalize({"name": parts_and_more.pop("name", "Caption"), "system": "Be brief.",
                      "messages": [{"role": "user", "parts": [{"text": text}, *parts_and_more.pop("parts", [])]}],
                      "variables": {"subject": subject}})


@pytest.fixture
def prompt(team, user):
    return make_prompt(team, "Caption", user=user, doc=doc())


def save(client, prompt, d, items=()):
    return client.post(reverse("prompts:save", args=[prompt.pk]), editor.form_data(d, {i.pk: i for i in items}), headers=HX)


# --- creating and saving ------------------------------------------------------------------------------


def test_a_new_prompt_starts_at_version_1_and_opens_the_editor(client_logged_in, team):
    response = client_logged_in.post(reverse("prompts:create"), {"name": "Receipts"})

    prompt = Prompt.objects.get(team=team, name="Receipts")
    assert response.status_code == 302 and response["Location"] == reverse("prompts:edit", args=[prompt.pk])
    assert prompt.latest_version().number == 1
    assert prompt.latest_version().content["name"] == "Receipts"


def test_a_new_prompt_needs_a_name(client_logged_in, team):
    response = client_logged_in.post(reverse("prompts:create"), {"name": ""})

    assert response.status_code == 200 and "Give the new prompt a name" in response.content.decode()
    assert not Prompt.objects.exists()


def test_saving_a_change_makes_a_version_and_saving_again_makes_none(client_logged_in, prompt, team, png):
    changed = doc("Describe {{subject}} in detail.", parts=[{"media": {"item": png.pk}, "detail": "low"}])

    first = save(client_logged_in, prompt, changed, [png])
    again = save(client_logged_in, prompt, changed, [png])

    assert first.status_code == 200 and "<html" not in first.content.decode()
    assert "Saved as v2." in first.content.decode()
    assert "No changes since v2" in again.content.decode()
    assert prompt.versions.count() == 2
    latest = prompt.latest_version()
    assert latest.content == changed
    assert list(latest.media_items.all()) == [png]  # so the library refuses to delete it
    assert 'id="prompt-head"' in first.content.decode() and 'hx-swap-oob="true"' in first.content.decode()


def test_opening_and_saving_without_changes_makes_no_version(client_logged_in, prompt):
    client_logged_in.get(reverse("prompts:edit", args=[prompt.pk]))
    response = save(client_logged_in, prompt, prompt.latest_version().content)

    assert "No changes since v1" in response.content.decode()
    assert prompt.versions.count() == 1


def test_saving_renames_the_prompt_and_clears_the_unsaved_bar(client_logged_in, prompt):
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc(name="Caption v2"), {}), headers=HX)

    response = save(client_logged_in, prompt, doc(name="Caption v2"))

    prompt.refresh_from_db()
    assert prompt.name == "Caption v2"
    assert 'data-dirty="false"' in response.content.decode()
    assert 'data-dirty="false"' in client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()


def test_a_prompt_with_an_invalid_schema_or_a_missing_item_is_not_saved(client_logged_in, prompt):
    data = editor.form_data(doc(), {})
    data["json_schema"] = "{not json"
    response = client_logged_in.post(reverse("prompts:save", args=[prompt.pk]), data, headers=HX)
    assert "Not saved" in response.content.decode() and "Not valid JSON" in html.unescape(response.content.decode())

    response = save(client_logged_in, prompt, doc(parts=[{"media": {"item": 98765}}]))
    assert "Library item 98765 is not in this team" in html.unescape(response.content.decode())
    assert prompt.versions.count() == 1


def test_a_version_saved_by_someone_else_is_announced_on_a_draft(client_logged_in, prompt, team):
    from tests.factories import make_member

    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc("Mine"), {}), headers=HX)
    prompt.save_version(doc("Theirs"), user=make_member(team, username="bob"))

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert "You started from v1; v2 has been saved since" in page
    assert "Mine" in page  # the draft is kept, not overwritten


def test_an_untouched_draft_follows_a_newer_version(client_logged_in, prompt, team):
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc(), {}), headers=HX)
    prompt.save_version(doc("Theirs"), user=None)

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert "Theirs" in page and 'data-dirty="false"' in page


def test_an_edit_on_a_draft_that_followed_a_newer_version_counts_as_made_on_it(client_logged_in, prompt, team):
    # The editor's GET shows the untouched draft following v2 but writes nothing; the page sends
    # back base=2 and its first post writes the follow, so the edit is not announced as stale.
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc(), {}), headers=HX)
    prompt.save_version(doc("Theirs"), user=None)
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert 'name="base" value="2"' in page and PromptDraft.objects.get().base_number == 1

    data = {**editor.form_data(doc("Theirs, and mine"), {}), "base": "2", "stamp": "5"}
    response = client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), data, headers=HX).content.decode()

    assert 'data-dirty="true"' in response and "has been saved since" not in response
    assert PromptDraft.objects.get().base_number == 2
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert "Theirs, and mine" in page and "has been saved since" not in page


def test_an_edit_from_a_page_opened_before_a_newer_version_is_announced_as_stale(client_logged_in, prompt, team):
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc(), {}), headers=HX)
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert 'name="base" value="1"' in page
    prompt.save_version(doc("Theirs"), user=None)

    data = {**editor.form_data(doc("Mine"), {}), "base": "1", "stamp": "5"}
    response = client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), data, headers=HX).content.decode()

    assert "You started from v1; v2 has been saved since" in response
    assert PromptDraft.objects.get().base_number == 1


# --- history, diff, restore --------------------------------------------------------------------------------


def test_the_history_lists_every_version_with_its_content(client_logged_in, prompt):
    prompt.save_version(doc("Second"), user=None)

    page = client_logged_in.get(reverse("prompts:versions", args=[prompt.pk])).content.decode()

    assert page.index('id="version-2"') < page.index('id="version-1"')
    assert "Second" in page and "Changes from v1" in page and "Restore as newest" in page


def test_the_diff_shows_what_changed_in_readable_lines(client_logged_in, prompt, team, png):
    prompt.save_version(doc("Describe {{subject}} closely.", subject="a red kite", parts=[{"media": {"item": png.pk}, "detail": "high"}]))

    response = client_logged_in.get(reverse("prompts:diff", args=[prompt.pk]) + "?a=1&b=2")

    page = html.unescape(response.content.decode())
    assert response.status_code == 200 and "<html" in page
    assert '<tr class="d-del">' in page and '<tr class="d-add">' in page
    deleted = [row for row in page.split("<tr ") if row.startswith('class="d-del"')]
    added = [row for row in page.split("<tr ") if row.startswith('class="d-add"')]
    assert any("Describe {{subject}}." in r for r in deleted) and any("Describe {{subject}} closely." in r for r in added)
    assert any("“photo.png” (library item" in r and "detail high" in r for r in added)
    assert any("{{subject}} = a red kite" in r for r in added)

    fragment = client_logged_in.get(reverse("prompts:diff", args=[prompt.pk]) + "?a=1&b=2&view=json", headers=HX)
    assert b"<html" not in fragment.content and b'id="diff-result"' in fragment.content
    assert '"detail": "high"' in html.unescape(fragment.content.decode())


def test_the_diff_of_equal_versions_says_so_and_bad_numbers_are_messages(client_logged_in, prompt):
    same = client_logged_in.get(reverse("prompts:diff", args=[prompt.pk]) + "?a=1&b=1").content.decode()
    assert "No differences" in same

    assert client_logged_in.get(reverse("prompts:diff", args=[prompt.pk]) + "?a=1&b=9").status_code == 404
    bad = client_logged_in.get(reverse("prompts:diff", args=[prompt.pk]) + "?a=x&b=1")
    assert bad.status_code == 200 and "Enter a whole number." in bad.content.decode()


def test_restoring_an_old_version_makes_it_the_newest(client_logged_in, prompt, user):
    prompt.save_version(doc("Second"), user=user)
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc("draft"), {}), headers=HX)

    response = client_logged_in.post(reverse("prompts:restore", args=[prompt.pk, 1]))

    assert response.status_code == 302
    latest = prompt.latest_version()
    assert latest.number == 3 and latest.content == prompt.versions.get(number=1).content
    assert not PromptDraft.objects.filter(prompt=prompt, user=user).exists()
    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert "Restored v1 as v3, the newest version." in page
    assert "Describe {{subject}}." in html.unescape(page)


def test_restoring_the_newest_version_makes_none(client_logged_in, prompt):
    client_logged_in.post(reverse("prompts:restore", args=[prompt.pk, 1]))

    assert prompt.versions.count() == 1


# --- export and import ---------------------------------------------------------------------------------


def test_a_version_exports_as_a_zip_that_imports_as_a_new_prompt(client_logged_in, prompt, team, png):
    prompt.save_version(doc(parts=[{"media": {"item": png.pk}}]), media_items=[png])

    response = client_logged_in.get(reverse("prompts:export", args=[prompt.pk, 2]))

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="caption-v2.zip"'
    assert "prompt.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()

    upload = SimpleUploadedFile("caption-v2.zip", response.content, content_type="application/zip")
    response = client_logged_in.post(reverse("prompts:import"), {"file": upload})

    imported = Prompt.objects.exclude(pk=prompt.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("prompts:edit", args=[imported.pk])
    assert imported.latest_version().content["messages"][0]["parts"][1] == {"media": {"item": png.pk}}


def test_a_refused_import_says_why_on_the_list(client_logged_in, team):
    upload = SimpleUploadedFile("notes.zip", b"PK\x03\x04 not really a zip", content_type="application/zip")

    response = client_logged_in.post(reverse("prompts:import"), {"file": upload})

    assert response.status_code == 200
    assert "Not imported:" in response.content.decode()
    assert not Prompt.objects.exists()


def test_viewers_cannot_import(client, viewer):
    client.force_login(viewer)
    upload = SimpleUploadedFile("p.json", b"{}", content_type="application/json")

    assert client.post(reverse("prompts:import"), {"file": upload}).status_code == 403
