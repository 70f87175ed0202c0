"""Exporting a set to a ZIP (media + manifest.jsonl) and importing it back unchanged."""

import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from playground.evals.models import EvalSet
from tests.factories import make_eval_case, make_eval_set, make_png, make_wav


def _snapshot(eset: EvalSet) -> list:
    return [(c.expected, c.expected_kind, c.tags, c.fields, [(m.slot, m.item.sha256) for m in c.ordered_media()])
            for c in eset.cases.order_by("position").prefetch_related("media__item")]


def test_export_then_import_round_trips(client_logged_in, team, user, celery_eager):
    eset = make_eval_set(team, "Mixed / set", user=user)
    a = make_png(team, "a b.png", user=user)
    b = make_png(team, "a b.png", width=20, height=20, user=user)  # the same name: a second entry name
    tone = make_wav(team, "tone.wav", user=user)
    make_eval_case(eset, a, expected="a cat", tags=["x", "y"], fields={"lang": "en"})
    make_eval_case(eset, [b, tone], expected={"n": 2}, kind="json")
    make_eval_case(eset, a, expected=3.5, kind="number")
    make_eval_case(eset, tone)  # expected blank

    response = client_logged_in.get(reverse("evals:export", args=[eset.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="Mixed-set.zip"' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        rows = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
    assert names == ["manifest.jsonl", "media/a-b-2.png", "media/a-b.png", "media/tone.wav"]
    assert rows[1] == {"files": ["media/a-b-2.png", "media/tone.wav"], "expected": {"n": 2}, "kind": "json"}

    copy = make_eval_set(team, "Copy", user=user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        client_logged_in.post(reverse("evals:import", args=[copy.pk]), {"file": SimpleUploadedFile("x.zip", data)})
    job = copy.imports.get()
    assert job.status == "done", job.errors
    assert _snapshot(copy) == _snapshot(eset)
