"""Sending one Result and recording its outcome, exactly once, whatever the workers do.

    sending.execute(result_id)    # what the Celery task send_result(result_id) does: claim, load, send, record
    enqueue.results([ids])        # send_result for each, once the transaction commits (enqueue.py)
    enqueue.reclaim_stale()       # results whose worker was lost: queued again (sweeper.py does the reset)

Where the parts live: this module sends one result; dispatch.py holds the process's dispatcher and
the provider limits; models.py the result's claim/renew/record (``Result.claim`` ...) and the
stale query (``Result.objects.stale()``), with the hot statements hand-written in sql.py (and the
database threads); prices.py the price snapshot and cost; sweeper.py the stale-result sweeper;
enqueue.py the sending of tasks; tasks.py the thin Celery task.

Design (issue 4):

* **The database is the source of truth; a broker message is only a wake-up.** A task claims its
  Result with one conditional UPDATE (``status=queued``, or ``running`` whose lease expired) that
  sets a fresh ``claim_token`` and ``claimed_until = now + lease``. A second message for the same
  result (a redelivery, a re-run of the sweeper, a double click) finds it claimed or finished and
  does nothing. The outcome is written by one conditional UPDATE matching that token and
  ``status=running``, so a result is recorded once; a late duplicate, a cancelled result, or a
  worker whose lease was taken over finds nothing to update and its outcome is dropped (logged).
* **Leases.** While the provider works, the waiting task renews its lease every ``lease/3``
  seconds with an UPDATE on the same token; that UPDATE also notices a cancellation (the row is
  no longer ``running``) and aborts the HTTP call. A worker that dies stops renewing; after
  ``PRISM_RESULT_LEASE_S`` its results are stale.
* **Redelivery.** Tasks are acked late (settings: ``acks_late``, ``reject_on_worker_lost``), so a
  task is acknowledged only once its result is recorded. What happens to the unacked message of a
  killed worker depends on the broker: Redis puts it back only after the transport's visibility
  timeout (an hour by default); kombu's filesystem transport deletes a message file when it is
  *received*, so it is simply gone. Neither is fast or certain enough, so every runs worker runs a
  **sweeper** (started on ``worker_ready``, every ``lease/2`` s, and once at start): results
  ``running`` with an expired lease, and results ``queued`` whose message was sent longer than
  ``PRISM_RESULT_REQUEUE_S`` ago, are set back to ``queued`` (one conditional UPDATE each, so two
  sweepers never both win) and a new task is sent. The run page does the same for its own run
  (``services.run_progress``), so a run finishes even if every worker was restarted. So the runs
  worker turns kombu's Redis ack emulation off (playground/celery.py; the variants worker keeps
  it): a killed runs worker's messages are simply gone, as on the filesystem broker, and its
  results come back through the sweeper, sooner than a redelivery would have (an hour); saved: a
  Redis transaction per message received and per ack.
* **Many requests in flight per worker.** The runs worker uses Celery's threads pool
  (``-Q runs --pool threads --concurrency 64``, bin/run): a task thread mostly waits. All threads
  of a process share ONE :class:`RunDispatcher` (providers.Dispatcher): one event loop thread,
  one pooled httpx client, and one ``asyncio.Semaphore`` per provider sized by
  ``Provider.max_concurrency``, so the per-provider limit holds across every task of the
  process (dispatch.py). At team scale (Redis broker, or ``PRISM_LIMITS_REDIS_URL``) the limit is global:
  after the process's semaphore, each call takes a slot of a Redis-backed counting semaphore
  with leases (providers.limits; renewed while held, so a SIGKILLed worker's slots come back
  after ``PRISM_LIMITS_LEASE_S``; a waiting call is woken when a slot frees, not by polling, and
  while no other worker waits a finished call hands its slot to the next one without Redis). On
  the embedded default it is per worker process. A runs worker warms up at start
  (:func:`warm_up`: the dispatcher, the Redis connections, the database threads' connections),
  so its first tasks do not pay for them.
* **Few database connections, little CPU.** In a worker, the queries run on
  ``PRISM_RUNS_DB_THREADS`` (4) threads of the process, each keeping its connection, rather than
  on 64 task threads opening one per task; claim, load, record and the run's completion are
  single SQL statements written once per process (sql.py: the ORM's compiler cost as much CPU
  as all the rest); the database thread that claims a result hands its request to the dispatcher, and
  the dispatcher's callback hands the answer to a database thread, so the task thread only
  waits (and renews the lease). bench/dispatch.py measures it.
* **The key** is read from the provider (``Provider.api_key(result.url)``) at send time, for the
  URL the request goes to (an environment key only if granted to the team for that host, a
  stored key only to its base URL's server), and only handed to ``providers.send``, which puts
  it in the outgoing headers; what is stored (headers as rendered, with ``$ENV`` in place of the
  key; answers, errors and request ids redacted by providers/redact.py) never holds it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import secrets as pysecrets
import threading

from django.conf import settings
from django.db import connection

from playground.catalog import secrets
from playground.providers import RetryPolicy, SendOutcome
from playground.runs.bodies import BodyError, StoredRequest
from playground.runs.dispatch import RunDispatcher, get_dispatcher, retry_policy, timeouts_for
from playground.runs.models import Result, Run, lease_s
from playground.runs.prices import cost_from_snapshot
from playground.runs.sql import DBThreads

__all__ = ["execute", "new_token", "outcome_fields", "warm_up"]

log = logging.getLogger("playground.runs")


def new_token() -> str:
    """A claim token: this process's id (to find its log) and 64 random bits."""
    return f"{os.getpid()}-{pysecrets.token_hex(8)}"


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else max(0, round(seconds * 1000))


def outcome_fields(result: Result, outcome: SendOutcome) -> dict:
    """The Result columns for a send outcome (providers.SendOutcome), parsed per protocol."""
    r, e = outcome.result, outcome.error
    usage = r.usage if r is not None else None
    media = result.sent_media or {}
    fields = {
        "status": Result.Status.SUCCEEDED if outcome.ok else Result.Status.FAILED,
        "response_json": outcome.response_json,
        "output_text": r.output_text if r is not None else "",
        "finish_reason": (r.finish_reason if r is not None else "error")[:20],
        "finish_raw": ((r.raw_finish_reason or "") if r is not None else "")[:60],
        "usage": usage.to_dict() if usage is not None else {},
        "usage_raw": r.raw_usage if r is not None else None,
        "input_tokens": usage.input if usage is not None else None,
        "output_tokens": usage.output if usage is not None else None,
        "total_tokens": usage.total if usage is not None else None,
        "cost_usd": cost_from_snapshot(
            result.prices or {}, usage, images=int(media.get("images") or 0), audio_s=float(media.get("audio_s") or 0.0)
        ),
        "latency_first_byte_ms": _ms(outcome.ttfb_s),
        "latency_total_ms": _ms(outcome.latency_s),
        "elapsed_ms": _ms(outcome.elapsed_s),
        "attempts": [a.to_dict() for a in outcome.attempts],
        "request_id": (outcome.request_id or "")[:200],
        "error_status": e.status if e is not None else None,
        "error_type": ((e.error_type or "") if e is not None else "")[:100],
        "error_message": e.message if e is not None else "",
        "error_kind": e.kind if e is not None else "",
    }
    return fields


def _inline(fn, *args):
    return fn(*args)


def warm_up(db: DBThreads, *, tasks_at_once: int) -> None:
    """At worker start, before the first task: make the dispatcher, open the limits' Redis
    connections, and give each database thread its connection. A cold worker paid for these in
    its first tasks, all at once: its first 64 requests took 50-250 ms more (bench/dispatch.py)."""
    get_dispatcher().warm_up(connections=tasks_at_once)
    threads = int(getattr(settings, "PRISM_RUNS_DB_THREADS", 4))
    ready = threading.Barrier(threads)

    def connect():
        try:
            ready.wait(2)  # holds each thread until all are here: one connect per thread
        except threading.BrokenBarrierError:  # fewer threads than that: those there connect
            pass
        connection.ensure_connection()

    for done in [db.submit(connect) for _ in range(threads)]:
        done.result()


# --- the steps, each run where the queries run (a database thread in a worker) -----------------------


def _claim_and_load(result_id: int, token: str) -> Result | None:
    if not Result.claim(result_id, token):
        return None
    result = Result.load_for_sending(result_id)
    if result is None:
        return None
    if result.run.status == Run.Status.QUEUED:
        Run.start_if_queued(result.run_id)
    return result


def _record(result_id: int, run_id: int, token: str, fields: dict) -> bool:
    if not Result.record(result_id, token, fields):
        return False
    Run.finish_if_complete(run_id)
    return True


def _fail(result: Result, token: str, kind: str, message: str) -> str:
    fields = {"status": Result.Status.FAILED, "error_kind": kind, "error_message": message, "finish_reason": "error"}
    if _record(result.pk, result.run_id, token, fields):
        log.info("run %s result %s (%s): failed: %s", result.run_id, result.pk, result.model_name, message)
        return "recorded"
    return "discarded"


def _start(result_id: int, token: str, dispatcher, policy):
    """Claim and load the result, and hand its request to the dispatcher: (result, future), or
    (result, "recorded"/"discarded") when it failed before sending, or (None, None) when it is
    not ours. Runs where the queries run (a database thread in a worker), so that one hop takes
    the request from the queue to the provider."""
    result = _claim_and_load(result_id, token)
    if result is None:
        return None, None
    pm = result.provider_model
    if pm is None:
        return result, _fail(result, token, "config", "The model was removed from the catalog before this request was sent.")
    provider = pm.provider
    try:
        key = provider.api_key(result.url)  # where this request goes, checked against the key's grant or server
    except secrets.KeyUnavailable as exc:
        return result, _fail(result, token, "key", str(exc))
    try:
        request = StoredRequest.for_result(result)
    except BodyError as exc:
        return result, _fail(result, token, "config", str(exc))
    future = (dispatcher or get_dispatcher()).submit(
        request,
        api_key=key,
        provider=(f"provider-{provider.pk}", provider.max_concurrency),
        timeouts=timeouts_for(provider),
        retry_policy=policy or retry_policy(),
    )
    return result, future


def _fields_for(result: Result, future: concurrent.futures.Future) -> tuple[dict, SendOutcome | None]:
    try:
        outcome = future.result()
    except Exception as exc:  # a bug, not the provider: record it rather than retry it forever
        log.exception("result %s: sending failed unexpectedly", result.pk)
        return {"status": Result.Status.FAILED, "error_kind": "internal", "finish_reason": "error",
                "error_message": f"Prism failed while sending this request ({type(exc).__name__}); the error was logged."}, None  # fmt: skip
    return outcome_fields(result, outcome), outcome


# --- sending one result --------------------------------------------------------------------------------


def execute(result_id: int, *, dispatcher: RunDispatcher | None = None, retry_policy_: RetryPolicy | None = None,
            db: DBThreads | None = None) -> str:
    """Claim, send and record one result. Returns "recorded", "skipped" (not ours to send:
    finished, cancelled, or claimed by a live worker) or "discarded" (sent, but by the time the
    answer came the result was cancelled or taken over).

    ``db``: the worker's :class:`DBThreads`, to run the queries there (and record the answer
    straight from the dispatcher's callback, without waking this thread first); None to run
    them in this thread (tests, eager mode: they see this thread's transaction)."""
    token = new_token()
    start = db.call if db is not None else _inline
    result, future = start(_start, result_id, token, dispatcher, retry_policy_)
    if result is None:
        log.info("result %s: already finished, cancelled or being sent; nothing to do", result_id)
        return "skipped"
    if result.claims > 1:
        log.warning("run %s result %s: sent again; the worker that had it was lost", result.run_id, result_id)
    if isinstance(future, str):
        return future

    recorded: concurrent.futures.Future = concurrent.futures.Future()
    got: dict = {}
    if db is not None:
        def on_answer(done):  # in the dispatcher's loop thread: hand the answer to a database thread
            if done.cancelled():
                recorded.set_result(False)
                return
            fields, got["outcome"] = _fields_for(result, done)
            db.submit(_record, result_id, result.run_id, token, fields).add_done_callback(
                lambda r: recorded.set_exception(r.exception()) if r.exception() else recorded.set_result(r.result())
            )

        future.add_done_callback(on_answer)
    # With database threads this thread sleeps until the answer is recorded (one wake-up, not one for
    # the answer and one for its record); without, until the answer comes. It wakes to renew the lease.
    awaited = recorded if db is not None else future
    every = max(0.2, lease_s() / 3)
    while True:
        try:
            concurrent.futures.wait([awaited], timeout=every)
            if awaited.done():
                break
        except concurrent.futures.CancelledError:
            break
        if not (db.call if db is not None else _inline)(Result.renew, result_id, token):
            if future.done():  # the answer is in (perhaps recorded this instant): its record decides
                continue
            future.cancel()  # cancelled by the user, or taken over after a stall: stop the call
            log.info("run %s result %s: no longer ours (cancelled or taken over); call abandoned", result.run_id, result_id)
            return "discarded"
    if db is not None:
        written = recorded.result()
    else:
        fields, got["outcome"] = _fields_for(result, future)
        written = _record(result_id, result.run_id, token, fields)
    if not written:
        log.info("run %s result %s: answer dropped; the result was cancelled or taken over meanwhile", result.run_id, result_id)
        return "discarded"
    outcome = got.get("outcome")
    if outcome is not None:
        e = outcome.error
        log.info(
            "run %s result %s (%s %s): recorded %s, HTTP %s in %d ms, %d attempt(s)%s",
            result.run_id, result_id, result.protocol, result.model_name, "succeeded" if outcome.ok else "failed",
            outcome.status, _ms(outcome.elapsed_s) or 0, len(outcome.attempts), f": {e.kind}: {e.message}" if e else "",
        )  # fmt: skip
    return "recorded"
