"""Evaluation sets and their cases: creating, editing inline, adding files and library items;
team scoping, roles, CSRF, escaping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from playground.evals import services
from playground.evals.models import EvalCase, EvalSet
from playground.uploads import services as media
from playground.uploads.models import MediaItem
from tests import media_samples as samples
from tests.factories import make_eval_case, make_eval_set, make_png, make_wav


@pytest.fixture
def eset(team, user):
    return make_eval_set(team, "Shapes", user=user)


def test_create_rename_and_delete_a_set(client_logged_in, team):
    response = client_logged_in.post(reverse("evals:create"), {"name": "  Birds  ", "expected_kind": "label"})
    eset = EvalSet.objects.get(team=team)
    assert response["Location"] == reverse("evals:detail", args=[eset.pk])
    assert (eset.name, eset.expected_kind) == ("Birds", "label")
    client_logged_in.post(reverse("evals:edit", args=[eset.pk]), {
        "name": "Birds 2", "description": "garden", "expected_kind": "label",
        "labels": "robin: redbreast\nwren", "scorers": '[{"type": "label"}]'})
    eset.refresh_from_db()
    assert eset.name == "Birds 2" and eset.labels == [{"label": "robin", "synonyms": ["redbreast"]},
                                                      {"label": "wren", "synonyms": []}]
    assert eset.scorers == [{"type": "label"}]
    client_logged_in.post(reverse("evals:delete", args=[eset.pk]))
    assert not EvalSet.objects.exists()


def test_bad_settings_change_nothing_and_say_why(client_logged_in, eset):
    response = client_logged_in.post(reverse("evals:edit", args=[eset.pk]), {
        "name": "X", "expected_kind": "text", "labels": "", "scorers": '{"type": "exact"}'}, follow=True)
    assert "scorers must be a list of objects" in response.content.decode()
    eset.refresh_from_db()
    assert eset.name == "Shapes" and eset.scorers == []
    with pytest.raises(services.Invalid, match="listed twice"):
        services.clean_labels("cat: kitten\nkitten")


def test_delete_checks_hook_keeps_a_set_in_use(client_logged_in, eset, monkeypatch):
    monkeypatch.setattr(services, "DELETE_CHECKS", [lambda s: "used by 2 evaluation runs"])
    response = client_logged_in.post(reverse("evals:delete", args=[eset.pk]), follow=True)
    assert "cannot be deleted: used by 2 evaluation runs" in response.content.decode()
    assert EvalSet.objects.filter(pk=eset.pk).exists()


def test_list_shows_counts_and_media_kinds_of_this_team_only(client_logged_in, team, other_team, eset, png, wav):
    make_eval_case(eset, png)
    make_eval_case(eset, [png, wav])
    make_eval_set(other_team, "Secret of B")
    html = client_logged_in.get(reverse("evals:list")).content.decode()
    assert "Shapes" in html and "Secret of B" not in html
    summary = services.set_summaries(team)[0]
    assert (summary.case_count, summary.kinds) == (2, ["audio", "image"])


def test_dropping_files_makes_one_case_each_and_lists_refusals(client_logged_in, team, eset, png):
    files = [SimpleUploadedFile("a.png", samples.png_bytes(10, 10)), SimpleUploadedFile("b.wav", samples.wav_bytes(seconds=0.5)),
             SimpleUploadedFile("broken.jpg", b"\xff\xd8\xffnot a jpeg"),
             SimpleUploadedFile("again.png", media.StoredFile.objects.get(pk=png.sha256).read_bytes())]
    response = client_logged_in.post(reverse("evals:upload", args=[eset.pk]), {"file": files}, follow=True)
    html = response.content.decode()
    assert "Added 3 case(s)" in html and "broken.jpg was not added:" in html
    cases = list(eset.cases.order_by("position"))
    assert [c.position for c in cases] == [1, 2, 3] and all(c.expected is None for c in cases)
    assert cases[2].media.get().item == png  # the same bytes: the library's item, not a second one
    assert MediaItem.objects.filter(team=team).count() == 3
    assert [m.slot for c in cases for m in c.media.all()] == ["image", "audio", "image"]


def test_cases_from_library_items_ignore_other_teams(client_logged_in, eset, png, wav, other_team):
    foreign = make_png(other_team, "b.png")
    client_logged_in.post(reverse("evals:from_library", args=[eset.pk]),
                          {"items": [str(wav.pk), str(foreign.pk), "abc", str(png.pk), str(wav.pk)]})
    assert [c.media.get().item for c in eset.cases.order_by("position")] == [wav, png]
    picker = client_logged_in.get(reverse("evals:picker", args=[eset.pk])).content.decode()
    assert png.name in picker and foreign.name not in picker or foreign.name == png.name


def test_inline_edit_parses_by_kind_and_refuses_bad_values(client_logged_in, eset, png):
    case = make_eval_case(eset, png)
    url = reverse("evals:case_edit", args=[case.pk])
    form = client_logged_in.get(url).content.decode()
    assert 'name="expected"' in form and "csrfmiddlewaretoken" in form
    response = client_logged_in.post(url, {"expected": "1,024.5", "kind": "number", "tags": "big; red; big",
                                           "fields": "colour: red\nsize = 3"})
    case.refresh_from_db()
    assert (case.expected, case.kind(), case.tags, case.fields) == (1024.5, "number", ["big", "red"],
                                                                    {"colour": "red", "size": "3"})
    assert f'id="case-{case.pk}"' in response.content.decode()
    response = client_logged_in.post(url, {"expected": "lots", "kind": "number", "tags": "", "fields": ""})
    assert "is not a number" in response.content.decode()
    case.refresh_from_db()
    assert case.expected == 1024.5 and case.tags == ["big", "red"]
    client_logged_in.post(url, {"expected": '{"a": [1, 2]}', "kind": "json", "tags": "", "fields": ""})
    case.refresh_from_db()
    assert case.expected == {"a": [1, 2]}


def test_label_answers_take_synonyms_and_refuse_unknown_labels(team, user, png):
    eset = make_eval_set(team, "Pets", user=user, expected_kind="label",
                         labels=[{"label": "cat", "synonyms": ["Kitten"]}])
    case = make_eval_case(eset, png)
    services.update_case(case, expected=" kitten ", kind="", tags="", fields="")
    assert case.expected == "cat"
    with pytest.raises(services.Invalid, match="not one of the set's labels"):
        services.update_case(case, expected="dog", kind="", tags="", fields="")


def test_output_is_escaped(client_logged_in, eset, png):
    make_eval_case(eset, png, expected="<script>alert(1)</script>", tags=["<b>t</b>"], fields={"x": "<img src=x>"})
    html = client_logged_in.get(reverse("evals:detail", args=[eset.pk])).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>t</b>" not in html and "<img src=x>" not in html


def test_delete_a_case_and_library_items_in_use_stay(client_logged_in, eset, png):
    case = make_eval_case(eset, png)
    with pytest.raises(media.ItemInUse, match="evaluation set “Shapes”, case 1"):
        media.delete_item(png)
    response = client_logged_in.post(reverse("evals:case_delete", args=[case.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.content == b""
    assert not EvalCase.objects.exists() and MediaItem.objects.filter(pk=png.pk).exists()


def test_other_team_gets_404_for_everything(client, eset, png, other_user):
    case = make_eval_case(eset, png, expected="secret")
    client.force_login(other_user)
    for name, args in [("evals:detail", [eset.pk]), ("evals:picker", [eset.pk]), ("evals:export", [eset.pk]),
                       ("evals:case_row", [case.pk]), ("evals:case_edit", [case.pk])]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    for name, args in [("evals:edit", [eset.pk]), ("evals:delete", [eset.pk]), ("evals:upload", [eset.pk]),
                       ("evals:from_library", [eset.pk]), ("evals:case_edit", [case.pk]), ("evals:case_delete", [case.pk])]:
        assert client.post(reverse(name, args=args), {"name": "x", "expected": "y"}).status_code == 404, name
    assert client.get(reverse("evals:detail", args=[99999999999999999999])).status_code == 404
    eset.refresh_from_db()
    case.refresh_from_db()
    assert eset.name == "Shapes" and case.expected == "secret"


def test_viewer_reads_but_cannot_write(client, eset, png, viewer):
    case = make_eval_case(eset, png, expected="cat")
    client.force_login(viewer)
    html = client.get(reverse("evals:detail", args=[eset.pk])).content.decode()
    assert "cat" in html and "Add as cases" not in html and "Import a ZIP" not in html
    assert client.get(reverse("evals:case_edit", args=[case.pk])).status_code == 200  # the plain row
    for name, args in [("evals:edit", [eset.pk]), ("evals:delete", [eset.pk]), ("evals:upload", [eset.pk]),
                       ("evals:from_library", [eset.pk]), ("evals:case_edit", [case.pk]), ("evals:case_delete", [case.pk])]:
        assert client.post(reverse(name, args=args), {"name": "x", "expected": "dog", "items": [str(png.pk)]}).status_code == 403
    assert client.post(reverse("evals:create"), {"name": "V"}).status_code == 403
    case.refresh_from_db()
    assert case.expected == "cat" and EvalSet.objects.count() == 1 and EvalCase.objects.count() == 1


def test_posts_need_the_csrf_token(user, eset, png):
    case = make_eval_case(eset, png, expected="cat")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("evals:case_edit", args=[case.pk]), {"expected": "dog"}).status_code == 403
    assert client.post(reverse("evals:create"), {"name": "x"}).status_code == 403
    case.refresh_from_db()
    assert case.expected == "cat"


def test_wav_fixture_unused_guard(wav, team):
    # make_wav and make_png give distinct library items (the upload path dedups only equal bytes)
    assert make_wav(team, "again.wav").pk == wav.pk
