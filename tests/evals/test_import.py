"""ZIP imports into an evaluation set: the manifest validated row by row, media through the
library's checks, ZIP safety, progress, resuming."""

import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from playground.evals import imports
from playground.evals.models import EvalCase, EvalImport
from playground.uploads.models import MediaItem
from tests import eval_data
from tests import media_samples as samples
from tests.evals.zips import jsonl, pngs, zip_bytes
from tests.factories import make_eval_set


def _import(client, eval_set, data: bytes, name="set.zip"):
    # The task is queued on commit (enqueue.py); run the callbacks as the commit would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("evals:import", args=[eval_set.pk]), {"file": SimpleUploadedFile(name, data)})


def _job(eval_set) -> EvalImport:
    return eval_set.imports.get()


def _messages(job) -> list[str]:
    return [e["message"] for e in job.errors]


@pytest.fixture
def eset(team, user):
    return make_eval_set(team, "Imported", user=user)


def test_csv_manifest_made_by_the_generators_imports_every_case(client_logged_in, eset, celery_eager, tmp_path):
    cases = eval_data.make_shapes(tmp_path / "shapes", n=12)
    path = eval_data.write_zip(cases, tmp_path / "shapes.zip", manifest="csv")
    response = _import(client_logged_in, eset, path.read_bytes(), "shapes.zip")
    assert response.status_code == 302
    job = _job(eset)
    assert (job.status, job.total, job.done, job.added, job.errors) == ("done", 12, 12, 12, [])
    assert job.archive == ""  # the ZIP is no longer held once done
    got = list(eset.cases.order_by("position"))
    assert [c.expected for c in got] == [c.expected for c in cases]
    assert got[0].tags == cases[0].tags
    assert got[0].fields == {k: str(v) for k, v in cases[0].fields.items()}
    assert got[0].expected_kind == ""  # the manifest's kind "image" is the media's kind, not the answer's
    assert got[0].media.get().item.kind == "image" and got[0].media.get().slot == "image"
    page = client_logged_in.get(reverse("evals:import_status", args=[job.pk]))
    assert "12 cases added" in page.content.decode()


def test_jsonl_rows_with_several_files_json_and_numbers(client_logged_in, team, user, celery_eager):
    eset = make_eval_set(team, "Numbers", user=user, expected_kind="number")
    files = pngs(3)
    rows = [
        {"files": ["img/0.png", "img/1.png"], "expected": 3, "tags": ["pair"], "note": "two"},
        {"file": "img/2.png", "expected": {"count": 1}, "kind": "json", "fields": {"lang": "en"}},
        {"file": "./img/0.png", "expected": "2.5", "tags": "a; b"},
    ]
    _import(client_logged_in, eset, zip_bytes({**files, "manifest.jsonl": jsonl(rows)}))
    job = _job(eset)
    assert job.status == "done", job.errors
    first, second, third = eset.cases.order_by("position")
    assert first.expected == 3 and [m.slot for m in first.ordered_media()] == ["image", "image_2"]
    assert first.fields == {"note": "two"} and first.tags == ["pair"]
    assert second.expected == {"count": 1} and second.kind() == "json" and second.fields == {"lang": "en"}
    assert third.expected == 2.5 and third.tags == ["a", "b"]
    # img/0.png twice: one library item
    assert MediaItem.objects.filter(team=team).count() == 3


def test_an_invalid_row_refuses_the_whole_import_naming_every_row(client_logged_in, team, user, celery_eager):
    eset = make_eval_set(team, "Labels", user=user, expected_kind="label",
                         labels=[{"label": "cat", "synonyms": ["kitten"]}, {"label": "dog", "synonyms": []}])
    csv = (
        b"file,expected,kind,tags\n"
        b"img/0.png,kitten,,\n"  # fine: a synonym
        b"cats/x.jpg,cat,,\n"  # not in the ZIP
        b"img/1.png,horse,,\n"  # not a label
        b"img/2.png,cat,colour,\n"  # bad kind
        b",cat,,\n"  # no file
        b"img/0.png,7,number,\n"  # fine
    )
    _import(client_logged_in, eset, zip_bytes({**pngs(3), "manifest.csv": csv}))
    job = _job(eset)
    assert job.status == "failed"
    text = "\n".join(_messages(job))
    assert "row 3: file 'cats/x.jpg' is not in the ZIP" in text
    assert "row 4: column 'expected': label 'horse' is not one of the set's labels (cat, dog)" in text
    assert "row 5: column 'kind':" in text and "row 6: 'file' is empty" in text
    assert "row 2" not in text and "row 7" not in text
    assert not eset.cases.exists() and not MediaItem.objects.filter(team=team).exists()
    page = client_logged_in.get(reverse("evals:detail", args=[eset.pk])).content.decode()
    assert "nothing was imported" in page and "cats/x.jpg" in page


def test_a_file_the_decoder_refuses_drops_only_its_row(client_logged_in, eset, celery_eager):
    rows = [{"file": "img/0.png", "expected": "ok"}, {"file": "broken.png", "expected": "x"},
            {"file": "img/1.png", "expected": "ok too"}]
    _import(client_logged_in, eset, zip_bytes({**pngs(2), "broken.png": b"\x89PNG\r\n\x1a\nnot really",
                                               "manifest.jsonl": jsonl(rows)}))
    job = _job(eset)
    assert job.status == "done" and job.added == 2 and job.done == 3
    assert len(job.errors) == 1 and job.errors[0]["row"] == 2 and job.errors[0]["message"].startswith("row 2: ")
    assert [c.expected for c in eset.cases.order_by("position")] == ["ok", "ok too"]
    html = client_logged_in.get(reverse("evals:import_status", args=[job.pk])).content.decode()
    assert "1 row refused (the other rows were added)" in html


def test_no_manifest_makes_one_blank_case_per_media_file(client_logged_in, eset, celery_eager):
    _import(client_logged_in, eset, zip_bytes({**pngs(2), "notes.txt": b"hello", "inner.zip": zip_bytes(pngs(1))}))
    job = _job(eset)
    assert job.status == "done" and job.added == 2  # the text file and the nested ZIP are ignored
    assert all(c.expected is None for c in eset.cases.all())


def test_a_row_naming_a_nested_zip_is_an_error(client_logged_in, eset, celery_eager):
    _import(client_logged_in, eset, zip_bytes({"inner.zip": zip_bytes(pngs(1)), "manifest.jsonl": jsonl([{"file": "inner.zip"}])}))
    assert "row 1: file 'inner.zip' is a ZIP; archives inside the ZIP are not imported" in _messages(_job(eset))


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "C:/evil.png", "img/../../evil.png", "a\\b.png"])
def test_path_traversal_refuses_the_archive(client_logged_in, eset, celery_eager, name):
    _import(client_logged_in, eset, zip_bytes({name: samples.png_bytes(), "manifest.jsonl": jsonl([{"file": name}])}))
    job = _job(eset)
    assert job.status == "failed" and "not a plain relative path" in _messages(job)[0]
    assert not eset.cases.exists()


def test_a_symlink_refuses_the_archive(client_logged_in, eset, celery_eager):
    _import(client_logged_in, eset, zip_bytes({"link.png": b"/etc/passwd", **pngs(1)}, symlinks={"link.png"}))
    job = _job(eset)
    assert job.status == "failed" and "symbolic link" in _messages(job)[0] and not eset.cases.exists()


def test_a_zip_bomb_is_refused_unopened(client_logged_in, eset, celery_eager):
    bomb = zip_bytes({"bomb.png": b"\0" * (20 * 1024 * 1024)}, compress=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 100_000
    _import(client_logged_in, eset, bomb)
    job = _job(eset)
    assert job.status == "failed" and "ZIP bomb" in _messages(job)[0]


def test_total_and_member_limits(client_logged_in, eset, celery_eager, monkeypatch):
    monkeypatch.setattr(imports, "MAX_MEMBERS", 3)
    _import(client_logged_in, eset, zip_bytes(pngs(4)))
    assert "at most 3 are read" in _messages(eset.imports.first())[0]
    monkeypatch.setattr(imports, "MAX_MEMBERS", 100)
    monkeypatch.setattr(imports, "MAX_TOTAL_BYTES", 200)
    _import(client_logged_in, eset, zip_bytes(pngs(4)))
    assert "unpacks to more than" in _messages(eset.imports.first())[0]
    assert not eset.cases.exists()


def test_an_oversize_member_is_a_row_error(client_logged_in, eset, celery_eager, settings):
    settings.MAX_UPLOAD_BYTES = 5000  # the ZIP itself fits: the member is compressed
    data = zip_bytes({"big.png": b"\0" * 20_000, "manifest.jsonl": jsonl([{"file": "big.png"}])}, compress=zipfile.ZIP_DEFLATED)
    assert len(data) < 5000
    _import(client_logged_in, eset, data)
    assert "row 1: file 'big.png' is larger than the" in _messages(_job(eset))[1]


def test_a_member_longer_than_its_header_says_is_refused(eset, tmp_path):
    data = zip_bytes({"a.png": samples.png_bytes()})
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("a.png")
        info.file_size = 10  # a lying header
        with pytest.raises(imports.MediaRejected, match="damaged in the ZIP"):
            imports.extract_member(zf, info, tmp_path)


def test_not_a_zip_is_refused_at_once(client_logged_in, eset):
    response = _import(client_logged_in, eset, samples.png_bytes(), "photo.png")
    assert response.status_code == 302 and not eset.imports.exists()
    page = client_logged_in.get(response["Location"]).content.decode()
    assert "This is not a ZIP file." in page


def test_progress_is_committed_in_batches_and_an_import_resumes(team, user, eset, monkeypatch, tmp_path):
    monkeypatch.setattr(imports, "BATCH", 2)
    path = tmp_path / "five.zip"
    path.write_bytes(zip_bytes(pngs(5)))
    job = imports.start_import(eset, user=user, path=Path(path), file_name="five.zip")
    assert imports.run_import(job.pk, slice_s=0) is True  # one batch, then a continuation is due
    job.refresh_from_db()
    assert (job.status, job.done, job.added, job.total) == ("running", 2, 2, 5)
    assert eset.cases.count() == 2
    assert imports.run_import(job.pk, slice_s=0) is True
    assert imports.run_import(job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.done, job.added) == ("done", 5, 5)
    assert EvalCase.objects.filter(set=eset).count() == 5  # nothing doubled
    assert imports.run_import(job.pk) is False  # a redelivered task finds it done


def test_the_task_continues_itself_on_the_queue(client_logged_in, eset, celery_eager, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 1)
    monkeypatch.setattr(imports, "SLICE_S", 0)
    _import(client_logged_in, eset, zip_bytes(pngs(3)))
    job = _job(eset)
    assert (job.status, job.added) == ("done", 3)


def test_status_polls_until_done(client_logged_in, eset, user):
    job = EvalImport.objects.create(set=eset, created_by=user, status="running", total=10, done=4, file_name="x.zip")
    url = reverse("evals:import_status", args=[job.pk])
    response = client_logged_in.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "4 of 10 rows" in html and 'hx-trigger="every 1s"' in html
    EvalImport.objects.filter(pk=job.pk).update(status="done", added=10, done=10)
    response = client_logged_in.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286 and "every 1s" not in response.content.decode()


def test_other_teams_import_is_404_and_viewer_cannot_import(client, eset, user, other_user, viewer):
    job = EvalImport.objects.create(set=eset, created_by=user)
    client.force_login(other_user)
    assert client.get(reverse("evals:import_status", args=[job.pk])).status_code == 404
    assert _import(client, eset, zip_bytes(pngs(1))).status_code == 404
    client.force_login(viewer)
    assert _import(client, eset, zip_bytes(pngs(1))).status_code == 403
    assert eset.imports.count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_files_are_checked_in_threads(team, user, tmp_path, monkeypatch):
    # As in a worker: no surrounding transaction, so each batch's files go through a thread pool.
    monkeypatch.setattr(imports, "_threads", lambda: 3)
    eset = make_eval_set(team, "Threads", user=user)
    files = {**pngs(7), "dup.png": pngs(1)["img/0.png"], "broken.png": b"\x89PNG\r\n\x1a\nnope"}
    rows = [{"file": name, "expected": name} for name in files]
    path = tmp_path / "t.zip"
    path.write_bytes(zip_bytes({**files, "manifest.jsonl": jsonl(rows)}))
    job = imports.start_import(eset, user=user, path=path, file_name="t.zip")
    assert imports.run_import(job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.added, [e["row"] for e in job.errors]) == ("done", 8, [9])
    assert MediaItem.objects.filter(team=team).count() == 7  # dup.png is img/0.png's item
    assert [c.expected for c in eset.cases.order_by("position")] == list(files)[:8]


def test_a_zip_may_be_larger_than_one_media_file_up_to_its_own_cap(client_logged_in, eset, celery_eager, settings):
    data = zip_bytes(pngs(3))
    settings.MAX_UPLOAD_BYTES = len(data) - 10  # a media upload of this size would be refused
    settings.PRISM_EVAL_ZIP_MAX_MB = 1
    _import(client_logged_in, eset, data)
    assert _job(eset).status == "done" and eset.cases.count() == 3
    settings.PRISM_EVAL_ZIP_MAX_MB = 0
    response = _import(client_logged_in, eset, data)
    assert "larger than the 0 MB limit for imports" in client_logged_in.get(response["Location"]).content.decode()
    assert eset.imports.count() == 1


def test_the_import_needs_the_csrf_token(user, eset):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("evals:import", args=[eset.pk]), {"file": SimpleUploadedFile("a.zip", zip_bytes(pngs(1)))})
    assert response.status_code == 403 and not eset.imports.exists()
