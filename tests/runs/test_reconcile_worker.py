"""Estimates against the bill through a real runs worker: the worker's hand-written SQL (sql.load,
sql.write) leaves the stored estimate as start_run wrote it, and records the usage by modality
the fake reported, so the run page compares them."""

import re

import pytest
from django.urls import reverse

from playground.runs import services
from playground.runs.models import Result, Run
from tests.factories import doc_with, make_png, make_version, model_for
from tests.runs.test_worker_runs import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_run_keeps_the_estimate_and_the_page_compares_it(runs_worker, client_logged_in, team, user,
                                                                   provider_server):
    png = make_png(team)  # 64×48: 258 tokens on Gemini 2.x; text ⌈9/4⌉ + ⌈19/4⌉ = 8 (docs/protocols.md §6)
    version = make_version(team, doc_with({"text": "Describe the photo."}, {"media": {"item": png.pk}}), user)
    pm = model_for(team, provider_server, "gemini")
    provider_server.script(["ok:text=12,image=258"], model=pm.name)  # 270 against 266: 4 / 266 = +1.5%
    runs_worker.start()

    run = services.start_run(version=version, values={}, provider_models=[pm], user=user, team=team)
    wait_for(lambda: Run.objects.get(pk=run.pk).status == Run.Status.DONE, 30, runs_worker, "the run")

    [r] = run.results.all()
    assert r.status == Result.Status.SUCCEEDED, r.error_message
    assert (r.estimate["total"], r.estimate["text"], r.estimate["image"]) == (266, 8, 258)
    assert (r.input_tokens, r.usage["text_in"], r.usage["image_in"]) == (270, 12, 258)
    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Estimated 266 input tokens · reported 270 (+1.5%)" in text
    assert "Text: estimated 8 · reported 12 (+50.0%)" in text
