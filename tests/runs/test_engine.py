"""Sending and recording results in this process (no worker): sending.execute against the fake
provider, one protocol at a time, with its failures, retries, timeouts, cancellation and
idempotency; and the stored bodies (bodies.py) rebuilt byte for byte."""

import concurrent.futures
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from playground.catalog.models import Provider
from playground.lib.env import parse_env_keys
from playground.providers import RetryPolicy
from playground.runs import bodies, enqueue, sending, services
from playground.runs.models import RequestBody, Result, Run
from playground.runs.sql import DBThreads
from tests.factories import doc_with, make_model, make_png, make_provider, make_version, make_wav, model_for
from tests.provider_server import DEFAULT_KEY, refused_port

FAST = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)


def start(version, models, user, team, values=None) -> Run:
    return services.start_run(version=version, values=values or {}, provider_models=models, user=user, team=team)


def only_result(run) -> Result:
    [result] = run.results.all()
    return result


def send(result, **kw) -> Result:
    kw.setdefault("retry_policy_", FAST)
    sending.execute(result.pk, **kw)
    result.refresh_from_db()
    return result


@pytest.fixture(autouse=True)
def short_lease(settings):
    settings.PRISM_RESULT_LEASE_S = 3


# --- one request per protocol ------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages", "gemini", "compatible"])
def test_it_sends_and_records_an_answer_per_protocol(protocol, team, user, text_version, provider_server):
    pm = model_for(team, provider_server, protocol)
    run = start(text_version, [pm], user, team)
    result = only_result(run)
    assert result.status == Result.Status.QUEUED and result.request_body is not None

    assert sending.execute(result.pk) == "recorded"

    result.refresh_from_db()
    assert result.status == Result.Status.SUCCEEDED, result.error_message
    assert "[fake]" in result.output_text and "Describe a cat in one line." in result.output_text
    assert result.finish_reason == "stop" and result.finish_raw
    assert result.input_tokens and result.output_tokens and result.total_tokens == result.input_tokens + result.output_tokens
    assert result.usage["reasoning"] == 8 or protocol == "messages"  # Anthropic does not split out thinking
    assert result.usage_raw and result.response_json
    assert result.latency_first_byte_ms is not None and result.latency_total_ms >= result.latency_first_byte_ms
    assert len(result.attempts) == 1 and result.attempts[0]["status"] == 200
    expected = (Decimal(result.input_tokens) * Decimal("2.5") + Decimal(result.output_tokens) * 10) / 1_000_000
    assert result.cost_usd == expected.quantize(Decimal("0.00000001"))
    assert result.error_message == "" and result.error_kind == ""
    assert result.claims == 1 and result.claimed_until is None and result.finished_at
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.finished_at
    # What arrived is the stored body, byte for byte.
    [received] = list(provider_server.received)
    assert json.loads(b"".join(services.result_body_iter(result))) == received.body


def test_cached_tokens_are_priced_at_the_cached_rate(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "messages", "fake-ok:cached=5")
    result = only_result(start(text_version, [pm], user, team))

    result = send(result)

    assert result.usage["cached_input"] == 5
    cost = (Decimal(result.input_tokens - 5) * Decimal("2.5") + 5 * Decimal("1.25")
            + Decimal(result.output_tokens) * 10) / 1_000_000
    assert result.cost_usd == cost.quantize(Decimal("0.00000001"))


def test_unknown_prices_give_an_unknown_cost(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat", prices=False)
    result = send(only_result(start(text_version, [pm], user, team)))
    assert result.status == Result.Status.SUCCEEDED and result.cost_usd is None


# --- failures ----------------------------------------------------------------------------------------


def test_a_429_with_retry_after_is_retried_and_the_wait_honoured(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat")
    provider_server.script(["429:retry-after=1", "ok"])
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.SUCCEEDED
    assert [a["status"] for a in result.attempts] == [429, 200]
    assert result.attempts[0]["wait_s"] == 1.0
    assert result.elapsed_ms >= 1000


def test_anthropic_529_and_connection_drops_are_retried(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "messages")
    provider_server.script(["529", "close", "ok"])
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.SUCCEEDED
    assert [a["status"] for a in result.attempts] == [529, None, 200]
    assert result.attempts[1]["error"]["kind"] == "connection"


def test_retries_stop_at_the_cap(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "gemini")
    provider_server.script(["503"] * 5)
    result = send(only_result(start(text_version, [pm], user, team)), retry_policy_=RetryPolicy(max_retries=2, base_delay_s=0.01))

    assert result.status == Result.Status.FAILED
    assert len(result.attempts) == 3 and result.error_status == 503
    assert result.error_type == "UNAVAILABLE" and "gave up after 3 attempts" in result.error_message


@pytest.mark.parametrize("protocol, status, error_type", [
    ("chat", 400, "invalid_request_error"),
    ("messages", 401, "authentication_error"),
    ("gemini", 400, "INVALID_ARGUMENT"),
    ("responses", 401, "invalid_request_error"),
])
def test_client_errors_are_recorded_with_the_providers_type_and_message(protocol, status, error_type, team, user,
                                                                        text_version, provider_server):
    pm = model_for(team, provider_server, protocol)
    provider_server.script([f"{status}:message=Bad thing here"])
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.FAILED and result.error_kind == "http"
    assert result.error_status == status and result.error_type == error_type
    assert "Bad thing here" in result.error_message
    assert len(result.attempts) == 1  # not retried
    assert result.response_json  # the provider's error body, kept


def test_a_wrong_key_is_a_401_and_the_key_is_not_kept(team, user, text_version, provider_server):
    provider = make_provider(team, provider_server, "chat", key="sk-wrong-key-0000000000")
    pm = make_model(provider, "gpt-4o")
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.FAILED and result.error_status == 401
    assert "sk-wrong-key-0000000000" not in json.dumps([result.response_json, result.attempts, result.error_message])


def test_a_provider_that_hangs_is_a_timeout(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat", provider_kw={"timeout_s": 1})
    provider_server.script(["hang"])
    result = send(only_result(start(text_version, [pm], user, team)), retry_policy_=RetryPolicy(max_retries=0))

    assert result.status == Result.Status.FAILED and result.error_kind == "timeout"
    assert "1 s" in result.error_message and result.error_status is None


def test_a_refused_connection_is_recorded(team, user, text_version, provider_server):
    with refused_port() as port:
        provider = make_provider(team, provider_server, "messages")
        Provider.objects.filter(pk=provider.pk).update(base_url=f"http://127.0.0.1:{port}")
        pm = make_model(provider, "claude-sonnet-4-5")
        result = send(only_result(start(text_version, [pm], user, team)), retry_policy_=RetryPolicy(max_retries=1, base_delay_s=0.01))

    assert result.status == Result.Status.FAILED and result.error_kind == "connection"
    assert "Could not connect to 127.0.0.1" in result.error_message and len(result.attempts) == 2


def test_malformed_json_is_a_failure_with_an_excerpt(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat")
    provider_server.script(["malformed"])
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.FAILED and result.error_kind == "malformed"
    assert "not valid JSON" in result.error_message and "chatcmpl-1" in result.error_message


def test_a_failure_sent_as_200_keeps_its_usage(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "gemini")
    provider_server.script(["safety"])
    result = send(only_result(start(text_version, [pm], user, team)))

    assert result.status == Result.Status.FAILED and result.error_kind == "response"
    assert result.finish_reason == "content_filter" and result.finish_raw == "SAFETY"
    assert result.input_tokens and result.cost_usd is not None


def test_a_missing_key_at_send_time_fails_without_sending(team, user, text_version, provider_server, monkeypatch,
                                                           settings):
    settings.PRISM_ENV_KEYS = parse_env_keys("FAKE_RUN_KEY=127.0.0.1@*")
    monkeypatch.setenv("FAKE_RUN_KEY", DEFAULT_KEY)
    provider = make_provider(team, provider_server, "chat", key_source=Provider.KeySource.ENV, api_key_env="FAKE_RUN_KEY")
    pm = make_model(provider, "gpt-4o")
    result = only_result(start(text_version, [pm], user, team))
    monkeypatch.delenv("FAKE_RUN_KEY")

    result = send(result)

    assert result.status == Result.Status.FAILED and result.error_kind == "key"
    assert "FAKE_RUN_KEY is not set" in result.error_message
    assert len(provider_server.received) == 0


def test_a_granted_env_key_is_sent_only_while_granted_for_the_host(team, user, text_version, provider_server,
                                                                   monkeypatch, settings):
    settings.PRISM_ENV_KEYS = parse_env_keys(f"FAKE_RUN_KEY=127.0.0.1@{team.slug}")
    monkeypatch.setenv("FAKE_RUN_KEY", DEFAULT_KEY)
    provider = make_provider(team, provider_server, "chat", key_source=Provider.KeySource.ENV, api_key_env="FAKE_RUN_KEY")
    pm = make_model(provider, "gpt-4o")
    assert send(only_result(start(text_version, [pm], user, team))).status == Result.Status.SUCCEEDED

    queued = only_result(start(text_version, [pm], user, team))
    settings.PRISM_ENV_KEYS = parse_env_keys("FAKE_RUN_KEY=api.openai.com@*")  # the operator moves the grant
    moved = send(queued)
    assert moved.status == Result.Status.FAILED and moved.error_kind == "key"
    assert "for api.openai.com only, not for 127.0.0.1" in moved.error_message
    settings.PRISM_ENV_KEYS = ()  # and withdraws it
    withdrawn = send(only_result(start(text_version, [pm], user, team)))
    assert withdrawn.status == Result.Status.REFUSED and "not granted to your team" in withdrawn.error_message
    assert len(provider_server.received) == 1


def test_a_resent_request_gets_no_stored_key_once_the_provider_points_elsewhere(team, user, text_version,
                                                                               provider_server):
    pm = model_for(team, provider_server, "chat")
    old = send(only_result(start(text_version, [pm], user, team)))
    # The provider is moved to another server with a new key; the old request still names the old one.
    provider = pm.provider
    provider.base_url = "http://localhost:9/v1"
    provider.set_api_key("sk-a-key-for-the-other-server-000")
    provider.save()

    run = services.resend_result(old, user=user)

    [again] = run.results.all()
    assert again.status == Result.Status.REFUSED and again.error_kind == "key"
    assert "its stored key goes only there" in again.error_message
    assert len(provider_server.received) == 1


# --- exactly once --------------------------------------------------------------------------------------


def test_a_cancelled_result_is_not_sent(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat")
    run = start(text_version, [pm], user, team)

    assert services.cancel_run(run) == 1
    assert sending.execute(only_result(run).pk) == "skipped"

    assert len(provider_server.received) == 0
    assert only_result(run).status == Result.Status.CANCELLED
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED


def test_sending_twice_records_once(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "messages")
    result = only_result(start(text_version, [pm], user, team))

    assert sending.execute(result.pk) == "recorded"
    recorded = Result.objects.get(pk=result.pk)
    assert sending.execute(result.pk) == "skipped"

    again = Result.objects.get(pk=result.pk)
    assert len(provider_server.received) == 1
    assert (again.finished_at, again.output_text, again.claims) == (recorded.finished_at, recorded.output_text, 1)


def test_a_late_answer_after_a_takeover_is_dropped(team, user, text_version, provider_server):
    """Worker A stalls past its lease; B takes the result over and records it; A's answer, when
    it comes, finds the claim gone and writes nothing."""
    pm = model_for(team, provider_server, "chat")
    result = only_result(start(text_version, [pm], user, team))
    assert Result.claim([result.pk], "worker-a") == [result.pk]
    Result.objects.filter(pk=result.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    assert sending.execute(result.pk) == "recorded"  # B
    before = Result.objects.get(pk=result.pk)
    assert before.claims == 2

    assert not Result.record(result.pk, "worker-a", {"output_text": "late"})
    assert Result.objects.get(pk=result.pk).output_text == before.output_text


def test_the_sweeper_requeues_results_of_a_lost_worker(team, user, text_version, provider_server, django_capture_on_commit_callbacks, monkeypatch):
    pm = model_for(team, provider_server, "chat")
    run = start(text_version, [pm, pm], user, team)
    first, _second = run.results.order_by("position")
    assert Result.claim([first.pk], "dead-worker") == [first.pk]
    Result.objects.filter(pk=first.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    sent = []
    monkeypatch.setattr("playground.runs.tasks.send_results.delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        assert enqueue.reclaim_stale() == [first.pk]  # the second one was queued just now: its task is coming
    assert sent == [[first.pk]]
    first.refresh_from_db()
    assert first.status == Result.Status.QUEUED and first.claim_token == ""
    with django_capture_on_commit_callbacks(execute=True):
        assert enqueue.reclaim_stale() == []  # once only


def test_stale_results_are_the_lost_and_the_forgotten(team, user, text_version, four_models, settings):
    settings.PRISM_RESULT_REQUEUE_S = 600
    now = timezone.now()
    run = start(text_version, four_models, user, team)
    lost, forgotten, never_sent, fresh = run.results.order_by("position")
    S = Result.Status
    Result.objects.filter(pk=lost.pk).update(status=S.RUNNING, claimed_until=now - timedelta(seconds=1))
    Result.objects.filter(pk=forgotten.pk).update(enqueued_at=now - timedelta(seconds=601))
    Result.objects.filter(pk=never_sent.pk).update(enqueued_at=None)
    other = only_result(start(text_version, four_models[:1], user, team))
    Result.objects.filter(pk=other.pk).update(status=S.RUNNING, claimed_until=now + timedelta(seconds=30))  # live

    assert set(Result.objects.stale(now=now).values_list("pk", flat=True)) == {lost.pk, forgotten.pk, never_sent.pk}
    assert list(Result.objects.lost(now).values_list("pk", flat=True)) == [lost.pk]
    assert set(Result.objects.forgotten(now).values_list("pk", flat=True)) == {forgotten.pk, never_sent.pk}
    Result.objects.filter(pk=other.pk).update(claimed_until=now - timedelta(seconds=1))
    assert other.pk in Result.objects.stale(now=now).values_list("pk", flat=True)
    assert other.pk not in Result.objects.stale(now=now, run_id=run.pk).values_list("pk", flat=True)
    assert Result.objects.filter(pk=fresh.pk).stale(now=now).exists() is False


def test_counts_by_status_and_the_history_counts(team, user, text_version, four_models):
    run = start(text_version, four_models, user, team)
    a, b, c, d = run.results.order_by("position")
    S = Result.Status
    Result.objects.filter(pk=a.pk).update(status=S.SUCCEEDED, cost_usd=Decimal("0.25"))
    Result.objects.filter(pk=b.pk).update(status=S.FAILED, cost_usd=Decimal("0.5"))
    Result.objects.filter(pk=c.pk).update(status=S.REFUSED)

    assert Result.objects.filter(run=run).counts_by_status() == {
        "total": 4, "succeeded": 1, "failed": 1, "refused": 1, "cancelled": 0, "running": 0, "queued": 1,
    }  # fmt: skip
    assert services.run_progress(run, reclaim=False) == {
        "total": 4, "succeeded": 1, "failed": 1, "refused": 1, "cancelled": 0, "running": 0, "queued": 1,
        "finished": 3, "percent": 75, "done": False,
    }  # fmt: skip
    empty = start(text_version, [], user, team)
    counted = {r.pk: r for r in Run.objects.filter(pk__in=[run.pk, empty.pk]).with_counts()}
    # The history counts as counts_by_status does (models.status_counts): a refused result is not a failure.
    c = counted[run.pk]
    assert (c.n_total, c.n_succeeded, c.n_failed, c.n_refused, c.n_cancelled, c.n_running, c.n_queued) == (4, 1, 1, 1, 0, 0, 1)
    assert counted[run.pk].cost == Decimal("0.75")
    assert (counted[empty.pk].n_total, counted[empty.pk].n_succeeded, counted[empty.pk].n_failed, counted[empty.pk].cost) == (0, 0, 0, None)


def test_start_run_enqueues_on_commit_in_order(team, user, text_version, four_models, django_capture_on_commit_callbacks, monkeypatch, settings):
    settings.PRISM_RUNS_BATCH = 3
    sent = []
    monkeypatch.setattr("playground.runs.tasks.send_results.delay", sent.append)
    with django_capture_on_commit_callbacks() as callbacks:
        run = start(text_version, four_models, user, team)
        assert sent == []  # not before the commit
    for callback in callbacks:
        callback()
    ids = list(run.results.order_by("position").values_list("pk", flat=True))
    assert sent == [ids[:3], ids[3:]]  # batches of PRISM_RUNS_BATCH, in order
    assert [r.model_name for r in run.results.order_by("position")] == [pm.name for pm in four_models]


# --- re-running and re-sending ------------------------------------------------------------------------


def test_rerun_uses_the_same_version_values_and_models(team, user, text_version, four_models, provider_server):
    run = start(text_version, four_models, user, team, values={"subject": "an owl"})
    four_models[1].delete()  # gone from the catalog: left out of the re-run

    again = services.rerun(run, user=user)

    assert again.rerun_of == run and again.prompt_version == text_version and again.values == {"subject": "an owl"}
    assert [r.model_name for r in again.results.order_by("position")] == [four_models[i].name for i in (0, 2, 3)]
    assert all(r.status == Result.Status.QUEUED for r in again.results.all())


def test_resend_sends_the_same_stored_body_byte_for_byte(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "gemini")
    first = send(only_result(start(text_version, [pm], user, team, values={"subject": "a fox"})))
    sent_first = provider_server.received[-1].body

    again = services.resend_result(first, user=user)
    second = send(only_result(again))

    assert again.rerun_of_id == first.run_id
    assert second.request_body_id == first.request_body_id
    assert (second.url, second.request_headers) == (first.url, first.request_headers)
    assert b"".join(services.result_body_iter(second)) == b"".join(services.result_body_iter(first))
    assert provider_server.received[-1].body == sent_first
    assert second.status == Result.Status.SUCCEEDED and "re-sent" in second.notes[0]


def test_a_refused_result_cannot_be_resent(team, user, provider_server):
    wav = make_wav(team)
    version = make_version(team, doc_with({"media": {"item": wav.pk}}), user)
    refused = only_result(start(version, [model_for(team, provider_server, "messages")], user, team))

    again = only_result(services.resend_result(refused, user=user))

    assert again.status == Result.Status.REFUSED and "never sent" in again.error_message


def test_a_model_removed_before_sending_fails_clearly(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat")
    result = only_result(start(text_version, [pm], user, team))
    pm.delete()

    result = send(result)

    assert result.status == Result.Status.FAILED and result.error_kind == "config"
    assert "removed from the catalog" in result.error_message and not provider_server.received


# --- the key ----------------------------------------------------------------------------------------


def test_the_key_is_stored_nowhere(team, user, text_version, four_models, provider_server):
    provider_server.script(["401", "429:retry-after-ms=10", "ok", "ok", "ok"])
    run = start(text_version, four_models, user, team)
    for result in run.results.all():
        send(result)

    tables = [Result._meta.db_table, RequestBody._meta.db_table, Run._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            dump = repr(cursor.fetchall())
            assert DEFAULT_KEY not in dump, table
    headers = Result.objects.filter(protocol="chat").get().request_headers
    assert headers["Authorization"] == "Bearer $OPENAI_API_KEY"


# --- stored bodies --------------------------------------------------------------------------------


def test_a_body_with_media_is_stored_by_reference_and_rebuilt_exactly(team, user, provider_server):
    png = make_png(team)
    wav = make_wav(team)
    version = make_version(team, doc_with({"text": "Describe “this” \u00e9\u4e2d \\ \"q\"."}, {"media": {"item": png.pk}},
                                          {"media": {"item": wav.pk}}, {"media": {"item": png.pk}, "detail": "low"}), user)
    for protocol in ("chat", "gemini"):
        pm = model_for(team, provider_server, protocol, provider_kw={"name": f"p-{protocol}"})
        [check] = services.preflight(version=version, values={}, provider_models=[pm], team=team)
        assert check.ok, check.reasons

        stored = bodies.store_body(check.rendered.body)

        exact = check.rendered.body_bytes()
        assert bodies.body_bytes(stored) == exact
        assert stored.size == len(exact) and len(json.dumps(stored.pieces)) < 2000  # media by reference
        assert {f.sha256 for f in stored.files.all()} == {png.file_id, wav.file_id}
        assert bodies.store_body(check.rendered.body).pk == stored.pk  # once by content
        request = bodies.StoredRequest(protocol, check.rendered.url, check.rendered.headers, check.rendered.auth,
                                       stored.pieces, bodies._Model(pm.name))
        assert request.body_size() == len(exact) and b"".join(request.iter_body(1000)) == exact


def test_a_body_survives_the_databases_json(team, user, text_version, provider_server):
    """Key order and escapes come back exactly, PostgreSQL's jsonb included."""
    pm = model_for(team, provider_server, "messages")
    [check] = services.preflight(version=text_version, values={"subject": "z\u00e9 \"quoted\" \\ \u2028"},
                                 provider_models=[pm], team=team)
    sha = bodies.store_body(check.rendered.body).pk

    again = RequestBody.objects.get(pk=sha)
    assert bodies.body_bytes(again) == check.rendered.body_bytes()


# --- as in a worker: queries on the database threads, answers recorded from the dispatcher -------------


@pytest.mark.django_db(transaction=True)  # the database threads must see committed rows
def test_database_threads_send_and_record(team, user, text_version, four_models, provider_server):
    run = start(text_version, four_models, user, team)
    db = DBThreads(2)

    outcomes = [sending.execute(r.pk, db=db, retry_policy_=FAST) for r in run.results.order_by("position")]

    assert outcomes == ["recorded"] * 4
    assert run.results.filter(status=Result.Status.SUCCEEDED).count() == 4
    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert sending.execute(run.results.first().pk, db=db) == "skipped"


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_run_stops_a_request_in_flight(team, user, text_version, provider_server, settings):
    settings.PRISM_RESULT_LEASE_S = 1  # the lease is renewed, and cancellation noticed, every ~0.33 s
    pm = model_for(team, provider_server, "chat", "fake-slow=5000")
    run = start(text_version, [pm], user, team)
    result = only_result(run)
    db = DBThreads(1)

    def cancel_soon():
        while not provider_server.in_flight:
            time.sleep(0.02)
        services.cancel_run(run)

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    started = time.monotonic()
    assert sending.execute(result.pk, db=db) == "discarded"
    canceller.join()

    assert time.monotonic() - started < 2.5  # not the 5 s the provider takes
    result.refresh_from_db()
    assert result.status == Result.Status.CANCELLED and result.output_text == "" and result.attempts == []
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_sent_at_once_and_each_result_recorded_once(team, user, text_version, four_models, provider_server):
    """One task's batch: claimed together, in flight together (the provider sees all four before
    it answers one), recorded one by one; a result already finished in the batch is skipped."""
    provider_server.delay_s = 0.3
    run = start(text_version, four_models, user, team)
    ids = list(run.results.order_by("position").values_list("pk", flat=True))
    done_before = start(text_version, four_models[:1], user, team)
    finished = only_result(done_before).pk
    assert sending.execute(finished) == "recorded"
    db = DBThreads(2)
    seen_in_flight = []
    watcher = threading.Thread(target=lambda: [seen_in_flight.append(provider_server.in_flight) or time.sleep(0.02) for _ in range(20)])
    watcher.start()
    started = time.monotonic()

    outcomes = sending.execute_many([*ids, finished, ids[0]], db=db, retry_policy_=FAST)

    watcher.join()
    assert outcomes == {**dict.fromkeys(ids, "recorded"), finished: "skipped"}
    assert max(seen_in_flight) == 4 and time.monotonic() - started < 1.0  # together: not 4 × 0.3 s
    results = Result.objects.filter(pk__in=ids)
    assert all(r.status == Result.Status.SUCCEEDED and r.claims == 1 for r in results)
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_record_that_fails_does_not_lose_the_others_written_with_it(team, user, text_version, four_models):
    """The recorder writes answers that came together in one transaction; when one of them
    fails, the others are written one by one and only the bad one fails."""
    run = start(text_version, four_models, user, team)
    ids = list(run.results.order_by("position").values_list("pk", flat=True))
    assert Result.claim(ids, "worker-t") == ids
    db = DBThreads(1)
    recorder = sending._Recorder(db)
    gate = threading.Event()
    db.submit(gate.wait)  # hold the only database thread, so that all four queue up and go as one group
    futures = [recorder.record(pk, "worker-t", {"status": Result.Status.SUCCEEDED, "output_text": f"answer {pk}",
                                                            "input_tokens": "many" if pk == ids[2] else 7}) for pk in ids]  # fmt: skip
    gate.set()
    concurrent.futures.wait(futures, timeout=10)

    assert [f.exception() is None for f in futures] == [True, True, False, True]
    assert [f.result() for i, f in enumerate(futures) if i != 2] == [True, True, True]
    rows = {r.pk: r for r in Result.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in ids] == ["succeeded", "succeeded", "running", "succeeded"]
    assert rows[ids[3]].output_text == f"answer {ids[3]}" and rows[ids[3]].input_tokens == 7
