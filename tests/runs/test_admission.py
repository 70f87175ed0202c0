"""A worker claims a result only when its provider has room in the process (dispatch.Admission):
the rest of a batch stays queued, is kept from the sweeper while it waits, and is woken, not
polled, when a call to its provider ends."""

import threading
import time

import pytest

from playground.runs import sending, services
from playground.runs.dispatch import Admission
from playground.runs.models import Result
from playground.runs.sql import DBThreads
from tests.factories import make_model, make_provider
from tests.runs.test_engine import FAST


def test_room_is_twice_the_limit_per_provider_and_a_result_without_a_provider_always_goes():
    admission = Admission()
    wanted = {1: ("a", 2), 2: ("a", 2), 3: ("a", 2), 4: ("a", 2), 5: ("a", 2), 6: ("b", 1), 7: (None, None)}

    assert admission.take(wanted, timeout=0) == [1, 2, 3, 4, 6, 7]
    assert admission.outstanding("a") == 4 and admission.outstanding("b") == 1
    assert admission.take({5: ("a", 2)}, timeout=0) == []
    admission.release("a")
    assert admission.take({5: ("a", 2)}, timeout=0) == [5]


def test_a_waiting_task_is_woken_when_a_call_to_its_provider_ends_not_at_its_timeout():
    admission = Admission()
    assert admission.take({1: ("a", 1), 2: ("a", 1)}, timeout=0) == [1, 2]
    got = {}

    def waiter():
        started = time.monotonic()
        got["ids"] = admission.take({3: ("a", 1)}, timeout=10)
        got["after_s"] = time.monotonic() - started

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    assert "ids" not in got  # no room: it waits
    admission.release("a")
    thread.join(5)

    assert got["ids"] == [3] and 0.15 < got["after_s"] < 1.0


def test_a_wait_for_two_providers_ends_with_either_and_no_freed_slot_is_left_idle():
    admission = Admission()
    admission.take({1: ("a", 1), 2: ("a", 1), 3: ("b", 1), 4: ("b", 1)}, timeout=0)
    results = []
    threads = [threading.Thread(target=lambda pk=pk: results.append(admission.take({pk: ("a", 1), pk + 1: ("b", 1)}, timeout=10)))
               for pk in (10, 20)]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(0.2)
    admission.release("b")
    admission.release("a")
    deadline = time.monotonic() + 2
    while sum(map(len, results)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert sum(map(len, results)) == 2  # both freed slots taken, whoever was woken first
    assert admission.outstanding("a") == 2 and admission.outstanding("b") == 2
    if len(results) == 1:  # the first waiter took both: the second waits on, until another call ends
        admission.release("a")
    for t in threads:
        t.join(2)
    assert not any(t.is_alive() for t in threads) and len(results) == 2


def test_no_room_means_nothing_after_the_timeout():
    admission = Admission()
    admission.take({1: ("a", 1), 2: ("a", 1)}, timeout=0)
    started = time.monotonic()
    assert admission.take({3: ("a", 1)}, timeout=0.3) == []
    assert 0.25 < time.monotonic() - started < 1.0


@pytest.fixture
def one_slot_models(team, provider_server):
    """Five models behind one provider that takes one request at a time."""
    provider = make_provider(team, provider_server, "chat", max_concurrency=1)
    return [make_model(provider, f"gpt-4o-{i}") for i in range(5)]


@pytest.mark.django_db(transaction=True)  # the database threads must see committed rows
def test_a_batch_is_claimed_as_its_provider_has_room_and_the_rest_stays_queued(team, user, text_version, one_slot_models,
                                                                                provider_server, settings):  # fmt: skip
    settings.PRISM_RESULT_LEASE_S = 1  # leases renewed and waiting results kept every ~0.33 s
    provider_server.delay_s = 0.4
    run = services.start_run(version=text_version, values={}, provider_models=one_slot_models, user=user, team=team)
    ids = list(run.results.order_by("position").values_list("pk", flat=True))
    before = dict(Result.objects.filter(pk__in=ids).values_list("pk", "enqueued_at"))
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(dict(Result.objects.filter(pk__in=ids).values_list("pk", "status")))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcomes = sending.execute_many(ids, db=DBThreads(2), retry_policy_=FAST)
    finally:
        stop.set()
        watcher.join()

    assert outcomes == dict.fromkeys(ids, "recorded")
    running = [sum(s == Result.Status.RUNNING for s in snap.values()) for snap in seen]
    assert max(running) == 2  # the limit (1) in flight and one waiting for its slot; never all five
    assert provider_server.max_in_flight == 1
    last = Result.objects.get(pk=ids[-1])
    assert last.claims == 1 and last.enqueued_at > before[ids[-1]]  # kept from the sweeper while it waited


@pytest.mark.django_db(transaction=True)
def test_results_cancelled_while_they_wait_for_room_are_dropped(team, user, text_version, one_slot_models,
                                                                 provider_server, settings):  # fmt: skip
    settings.PRISM_RESULT_LEASE_S = 1
    provider_server.delay_s = 1.5
    run = services.start_run(version=text_version, values={}, provider_models=one_slot_models, user=user, team=team)
    ids = list(run.results.order_by("position").values_list("pk", flat=True))

    def cancel_soon():
        while not provider_server.in_flight:
            time.sleep(0.02)
        services.cancel_run(run)

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    started = time.monotonic()
    outcomes = sending.execute_many(ids, db=DBThreads(2), retry_policy_=FAST)
    canceller.join()

    assert time.monotonic() - started < 1.4  # not five answers of 1.5 s
    assert [outcomes[pk] for pk in ids[2:]] == ["skipped"] * 3  # never claimed
    assert set(Result.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Result.Status.CANCELLED}
    assert Result.objects.filter(pk__in=ids[2:], claims=0).count() == 3
