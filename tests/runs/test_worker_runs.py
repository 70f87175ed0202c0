"""Runs sent by a real Celery worker process (threads pool, the runs queue), through the broker
of the pass: bin/test runs this on the embedded default (filesystem broker, SQLite) and at team
scale (Redis, PostgreSQL). Each test starts its own worker (about 2 s): the SIGKILL test must own
the only worker on the queue, and a fresh one keeps the others independent of it."""

import collections
import re
import time

import pytest

from playground.runs import services
from playground.runs.dispatch import limits_redis_url
from playground.runs.models import Result, Run
from tests.conftest import wait_for
from tests.factories import make_model, make_provider
from tests.provider_server import DEFAULT_KEY

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RECORDED = re.compile(r"result (\d+) \([^)]*\): recorded (\w+)")


def runs_done(runs) -> bool:
    return all(Run.objects.get(pk=r.pk).status == Run.Status.DONE for r in runs)


def recorded_counts(worker) -> collections.Counter:
    return collections.Counter(int(m.group(1)) for m in RECORDED.finditer(worker.log()))


def test_a_worker_completes_a_run_across_four_protocols(runs_worker, team, user, text_version, four_models, provider_server):
    runs_worker.start()

    run = services.start_run(version=text_version, values={"subject": "a heron"}, provider_models=four_models,
                             user=user, team=team)
    wait_for(lambda: runs_done([run]), 30, "the run", runs_worker.log)

    results = list(run.results.order_by("position"))
    assert [r.protocol for r in results] == ["chat", "responses", "messages", "gemini"]
    for r in results:
        assert r.status == Result.Status.SUCCEEDED, (r.protocol, r.error_message)
        assert "Describe a heron in one line." in r.output_text
        assert r.input_tokens and r.cost_usd is not None and r.latency_total_ms is not None
    assert services.run_progress(run)["done"]
    assert sorted(recorded_counts(runs_worker).items()) == [(r.pk, 1) for r in results]
    assert DEFAULT_KEY not in runs_worker.log()


def test_the_provider_limit_holds_across_the_tasks_of_a_worker(runs_worker, team, user, text_version, provider_server):
    provider = make_provider(team, provider_server, "chat", max_concurrency=2)
    pm = make_model(provider, "fake-slow=400")
    runs_worker.start()  # 16 threads: the limit, not the threads, must hold the calls back

    run = services.start_run(version=text_version, values={}, provider_models=[pm] * 8, user=user, team=team)
    wait_for(lambda: runs_done([run]), 30, "the run", runs_worker.log)

    assert run.results.filter(status=Result.Status.SUCCEEDED).count() == 8
    assert provider_server.max_in_flight_by_model["fake-slow=400"] == 2


@pytest.mark.skipif(not limits_redis_url(), reason="the limit is global only with Redis: runs in bin/test's "
                                                           "team pass (CELERY_BROKER_URL=redis://...)")
def test_the_provider_limit_holds_across_two_worker_processes(runs_workers, team, user, text_version, provider_server):
    provider = make_provider(team, provider_server, "chat", max_concurrency=3)
    pm = make_model(provider, "fake-slow=300")
    workers = [runs_workers("alpha").start(), runs_workers("beta").start()]  # 16 threads each

    run = services.start_run(version=text_version, values={}, provider_models=[pm] * 20, user=user, team=team)
    wait_for(lambda: runs_done([run]), 60, "the run", workers[0].log)

    assert run.results.filter(status=Result.Status.SUCCEEDED).count() == 20
    # Each worker logs "recorded" just after its write: under load the last line can trail the run's end.
    wait_for(lambda: sum(sum(recorded_counts(w).values()) for w in workers) >= 20, 10, "the log lines", workers[1].log)
    counts = [sum(recorded_counts(w).values()) for w in workers]
    assert sum(counts) == 20 and all(counts), counts  # both processes sent some
    assert provider_server.max_in_flight_by_model["fake-slow=300"] == 3


def test_a_worker_killed_mid_run_leaves_every_result_recorded_exactly_once(runs_worker, team, user, text_version,
                                                                          four_models, provider_server):
    """SIGKILL while requests are in flight: nothing is acknowledged or restored. The next worker's
    sweeper takes over the results whose lease expired (the filesystem broker has lost their
    messages; Redis would return them only after its visibility timeout), the rest are still in
    the broker's queue. The provider may see a killed request twice; the result is recorded once."""
    provider_server.delay_s = 3.0  # requests in flight when the worker dies
    runs_worker.concurrency = 4
    runs_worker.start()
    runs = [services.start_run(version=text_version, values={"subject": f"case {i}"}, provider_models=four_models,
                               user=user, team=team) for i in range(3)]  # fmt: skip
    ids = [r.pk for run in runs for r in run.results.all()]
    wait_for(lambda: provider_server.in_flight >= 4, 20, "four requests in flight", runs_worker.log)
    time.sleep(0.5)  # the rest of the batches' requests arrive too: nothing is in transit at the kill

    runs_worker.kill()
    sent_before_kill = len(provider_server.received)
    in_flight = set(Result.objects.filter(pk__in=ids, status=Result.Status.RUNNING).values_list("pk", flat=True))
    assert len(in_flight) >= 4 and not recorded_counts(runs_worker)  # a task takes a batch: all sent at once
    provider_server.delay_s = 0.2
    started = time.monotonic()
    runs_worker.start()
    wait_for(lambda: runs_done(runs), 60, "every run after the restart", runs_worker.log)

    results = Result.objects.filter(pk__in=ids)
    assert all(r.status == Result.Status.SUCCEEDED for r in results), [(r.pk, r.status, r.error_message) for r in results]
    assert recorded_counts(runs_worker) == collections.Counter({pk: 1 for pk in ids})  # each written once
    assert {r.pk for r in results if r.claims == 2} == in_flight  # taken over from the dead worker
    assert {r.pk for r in results if r.claims == 1} == set(ids) - in_flight
    assert "re-queued" in runs_worker.log(-1)
    seen = collections.Counter(rec.model for rec in provider_server.received)
    assert sum(seen.values()) == len(ids) + sent_before_kill  # killed requests were sent twice
    assert time.monotonic() - started < 45
    assert DEFAULT_KEY not in runs_worker.log()
