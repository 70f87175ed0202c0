"""An evaluation sent by a real runs worker process (threads pool, the runs queue): the fake
recogniser answers from each image, the worker's results_recorded receiver scores the answers
and finishes the evaluation. Killing the worker mid-run loses and doubles nothing."""

import collections
import re

import pytest

from playground.evalruns import prepare, services
from playground.evalruns.models import EvalItem, EvalRun, EvalScore
from playground.runs.models import Result
from tests.conftest import wait_for
from tests.evalruns.runs_world import shapes_world, start

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RECORDED = re.compile(r"result (\d+) \([^)]*\): recorded (\w+)")


def test_a_worker_sends_scores_and_finishes_an_evaluation_even_when_killed(runs_worker, team, user, provider_server,
                                                                           tmp_path, monkeypatch):
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)  # prepared here, below
    w = shapes_world(team, user, provider_server, tmp_path, n=12, size=(256, 256),
                     models=("fake-see:err=0,delay=400", "fake-see:err=0.5,delay=400"))
    runs_worker.start()
    er = start(w)
    assert prepare.prepare(er.pk) == "done"
    assert EvalRun.objects.get(pk=er.pk).status == EvalRun.Status.RUNNING

    results = Result.objects.filter(run__eval_item__eval_run=er)
    wait_for(lambda: results.filter(status="succeeded").count() >= 2, 30, "the first answers", runs_worker.log)
    runs_worker.kill()
    runs_worker.start()
    wait_for(lambda: EvalRun.objects.get(pk=er.pk).status == EvalRun.Status.DONE, 60, "the evaluation", runs_worker.log)

    assert results.count() == 24 and set(results.values_list("status", flat=True)) == {"succeeded"}
    assert EvalItem.objects.filter(eval_run=er).count() == 12
    recorded = collections.Counter(int(m.group(1)) for m in RECORDED.finditer(runs_worker.log()))
    # None written twice. A result the killed worker wrote just before it died may lack its log line
    # (the line is written after the commit): the database, above, says every one was recorded.
    assert set(recorded) <= set(results.values_list("pk", flat=True)) and set(recorded.values()) == {1}
    scores = EvalScore.objects.filter(eval_run=er, scorer="label")
    assert scores.count() == 24
    by_model = collections.defaultdict(list)
    for passed, model in scores.values_list("passed", "result__model_name"):
        by_model[model].append(passed)
    assert all(by_model["fake-see:err=0,delay=400"])
    assert 0 < sum(by_model["fake-see:err=0.5,delay=400"]) < 12
    assert services.progress(er)["percent"] == 100
