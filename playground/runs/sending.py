"""Sending one Result and recording its outcome, exactly once, whatever the workers do.

    sending.execute_many(ids)     # what the Celery task send_results(ids) does: claim, load, send, record
    sending.execute(result_id)    # the same for one result
    enqueue.results([ids])        # send_results per batch, once the transaction commits (enqueue.py)
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
  (``-Q runs --pool threads --concurrency 64``, bin/run): a task thread mostly waits, for the
  answers to its batch (up to 64 × ``PRISM_RUNS_BATCH`` requests in flight per process). All threads
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
  on 64 task threads opening one per task. A task carries a batch of results (enqueue.py,
  ``PRISM_RUNS_BATCH``): they are claimed, loaded and renewed by one statement each for the batch,
  and the run's completion is checked once, when the batch is done. The statements are written
  once per process (sql.py: the ORM's compiler cost as much CPU as all the rest). The database
  thread that claims a batch hands its requests to the dispatcher, and the dispatcher's callback
  hands each answer to the recorder (:class:`_Recorder`), which writes the answers that came
  together in one transaction on a database thread, so the task thread only waits (and renews
  the leases). bench/dispatch.py measures it.
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
from django.db import connection, transaction

from playground.catalog import secrets
from playground.providers import RetryPolicy, SendOutcome
from playground.runs.bodies import BodyError, StoredRequest
from playground.runs.dispatch import RunDispatcher, get_dispatcher, retry_policy, timeouts_for
from playground.runs.models import Result, Run, lease_s
from playground.runs.prices import cost_from_snapshot
from playground.runs.signals import results_recorded
from playground.runs.sql import DBThreads

__all__ = ["execute", "execute_many", "new_token", "outcome_fields", "warm_up"]

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


def _finish_runs(run_ids, result_ids=()) -> None:
    for run_id in run_ids:
        Run.finish_if_complete(run_id)
    if result_ids:  # apps above runs follow their results (runs/signals.py); their errors never stop sending
        for receiver, error in results_recorded.send_robust(sender=Result, result_ids=list(result_ids), run_ids=list(run_ids)):
            if isinstance(error, Exception):
                log.error("results_recorded receiver %r failed: %r", receiver, error, exc_info=error)


def _fail(result: Result, token: str, kind: str, message: str) -> str:
    fields = {"status": Result.Status.FAILED, "error_kind": kind, "error_message": message, "finish_reason": "error"}
    if Result.record(result.pk, token, fields):
        log.info("run %s result %s (%s): failed: %s", result.run_id, result.pk, result.model_name, message)
        return "recorded"
    return "discarded"


def _submit(result: Result, token: str, dispatcher, policy):
    """Hand the result's request to the dispatcher: a future, or "recorded"/"discarded" when it
    failed before sending (no model, no key, a body that cannot be rebuilt)."""
    pm = result.provider_model
    if pm is None:
        return _fail(result, token, "config", "The model was removed from the catalog before this request was sent.")
    provider = pm.provider
    try:
        key = provider.api_key(result.url)  # where this request goes, checked against the key's grant or server
    except secrets.KeyUnavailable as exc:
        return _fail(result, token, "key", str(exc))
    try:
        request = StoredRequest.for_result(result)
    except BodyError as exc:
        return _fail(result, token, "config", str(exc))
    return (dispatcher or get_dispatcher()).submit(
        request,
        api_key=key,
        provider=(f"provider-{provider.pk}", provider.max_concurrency),
        timeouts=timeouts_for(provider),
        retry_policy=policy or retry_policy(),
    )


def _start(result_ids: list[int], token: str, dispatcher, policy) -> list[tuple[Result, object]]:
    """Claim and load the results (one statement each for the whole batch), mark their runs
    started, and hand each request to the dispatcher: [(result, future or "recorded"/"discarded")],
    for the results this caller took. Runs where the queries run (a database thread in a worker),
    so that one hop takes the requests from the queue to the provider."""
    claimed = Result.claim(result_ids, token)
    if not claimed:
        return []
    results = Result.load_for_sending(claimed)
    handed = [(result, _submit(result, token, dispatcher, policy)) for result in results]
    # After the hand-over: the requests need not wait for this write (in a worker's first burst, a
    # hundred runs' UPDATEs queued behind each other on SQLite's lock).
    for run_id in dict.fromkeys(r.run_id for r in results if r.run.status == Run.Status.QUEUED):
        Run.start_if_queued(run_id)
    return handed


def _fields_for(result: Result, future: concurrent.futures.Future) -> tuple[dict, SendOutcome | None]:
    try:
        outcome = future.result()
    except Exception as exc:  # a bug, not the provider: record it rather than retry it forever
        log.exception("result %s: sending failed unexpectedly", result.pk)
        return {"status": Result.Status.FAILED, "error_kind": "internal", "finish_reason": "error",
                "error_message": f"Prism failed while sending this request ({type(exc).__name__}); the error was logged."}, None  # fmt: skip
    return outcome_fields(result, outcome), outcome


def _log_outcome(result: Result, outcome: SendOutcome | None) -> None:
    if outcome is None:
        return
    e = outcome.error
    log.info(
        "run %s result %s (%s %s): recorded %s, HTTP %s in %d ms, %d attempt(s)%s",
        result.run_id, result.pk, result.protocol, result.model_name, "succeeded" if outcome.ok else "failed",
        outcome.status, _ms(outcome.elapsed_s) or 0, len(outcome.attempts), f": {e.kind}: {e.message}" if e else "",
    )  # fmt: skip


# --- sending results ---------------------------------------------------------------------------------


def execute(result_id: int, **kwargs) -> str:
    """Claim, send and record one result (see :func:`execute_many`): "recorded", "skipped" or
    "discarded"."""
    return execute_many([result_id], **kwargs)[result_id]


def execute_many(result_ids, *, dispatcher: RunDispatcher | None = None, retry_policy_: RetryPolicy | None = None,
                 db: DBThreads | None = None) -> dict[int, str]:
    """Claim, send and record a batch of results, all in flight at once. Returns per id:
    "recorded", "skipped" (not ours to send: finished, cancelled, or claimed by a live worker)
    or "discarded" (sent, but by the time the answer came the result was cancelled or taken over).

    Why batches: a broker message, a task thread, a claim, a load and a lease renewal per batch
    rather than per request, which was most of a worker's CPU per request (bench/dispatch.py).

    ``db``: the worker's :class:`DBThreads`, to run the queries there (and record each answer
    straight from the dispatcher's callback, without waking this thread first); None to run
    them in this thread (tests, eager mode: they see this thread's transaction)."""
    ids = list(dict.fromkeys(result_ids))
    statuses = dict.fromkeys(ids, "skipped")
    if not ids:
        return statuses
    token = new_token()
    run_here = db.call if db is not None else _inline
    started = run_here(_start, ids, token, dispatcher, retry_policy_)
    taken = {result.pk for result, _ in started}
    for pk in ids:
        if pk not in taken:
            log.info("result %s: already finished, cancelled or being sent; nothing to do", pk)
    touched_runs = list(dict.fromkeys(result.run_id for result, _ in started))
    # Per result in flight: its answer's future, and (with db) the future of its record.
    calls: dict[int, tuple[Result, concurrent.futures.Future, concurrent.futures.Future]] = {}
    for result, future in started:
        if result.claims > 1:
            log.warning("run %s result %s: sent again; the worker that had it was lost", result.run_id, result.pk)
        if isinstance(future, str):
            statuses[result.pk] = future
            continue
        recorded: concurrent.futures.Future = concurrent.futures.Future()
        if db is not None:
            future.add_done_callback(_record_when_answered(result, token, db, recorded))
        calls[result.pk] = (result, future, recorded)

    # This thread sleeps until every answer is recorded (with database threads; without, until
    # each answer comes, then records it here), waking every lease/3 s to renew the leases.
    every = max(0.2, lease_s() / 3)
    while calls:
        awaited = {(rec if db is not None else fut): pk for pk, (_, fut, rec) in calls.items()}
        done, _ = concurrent.futures.wait(awaited, timeout=every, return_when=concurrent.futures.FIRST_COMPLETED)
        for waited in done:
            pk = awaited[waited]
            result, future, recorded = calls.pop(pk)
            statuses[pk] = _settle(result, future, recorded, token, db)
        if done or not calls:
            continue
        ours = set(run_here(Result.renew, list(calls), token))
        for pk in [pk for pk in calls if pk not in ours]:
            result, future, recorded = calls[pk]
            if future.done():  # the answer is in (perhaps recorded this instant): its record decides
                continue
            future.cancel()  # cancelled by the user, or taken over after a stall: stop the call
            log.info("run %s result %s: no longer ours (cancelled or taken over); call abandoned", result.run_id, pk)
    if touched_runs:
        run_here(_finish_runs, touched_runs, [pk for pk, s in statuses.items() if s == "recorded"])
    return statuses


class _Recorder:
    """Writes answers on a database thread, those that came together in one transaction.

    Answers come in bursts (the calls of a batch, sent together, come back together): a thread
    hand-off and a commit per answer cost more than the UPDATEs. So an answer joins a queue;
    one database thread at a time drains it, up to ``GROUP`` records per transaction. A record
    that fails takes its group back to one transaction per record, so one bad row does not lose
    the others."""

    GROUP = 50

    def __init__(self, db: DBThreads):
        self._db = db
        self._lock = threading.Lock()
        self._queue: list = []
        self._draining = False

    def record(self, result_id: int, token: str, fields: dict) -> concurrent.futures.Future:
        """Queue the outcome (Result.record: written only while the claim is ours); the future says if it was."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            self._queue.append((result_id, token, fields, done))
            if self._draining:
                return done
            self._draining = True
        self._db.submit(self._drain)
        return done

    def _drain(self) -> None:
        while True:
            with self._lock:
                group, self._queue = self._queue[: self.GROUP], self._queue[self.GROUP :]
                if not group:
                    self._draining = False
                    return
            try:
                with transaction.atomic():
                    written = [Result.record(*item[:3]) for item in group]
            except Exception:
                if not connection.is_usable():
                    connection.close()  # a broken connection must not stay with the thread
                for item in group:  # one at a time: the failing one fails alone
                    try:
                        item[3].set_result(Result.record(*item[:3]))
                    except Exception as exc:
                        item[3].set_exception(exc)
                continue
            for item, ok in zip(group, written, strict=True):
                item[3].set_result(ok)


_recorder_lock = threading.Lock()


def _recorder_for(db: DBThreads) -> _Recorder:
    """The recorder of these database threads (one per process, as they are)."""
    recorder = getattr(db, "recorder", None)
    if recorder is None:
        with _recorder_lock:
            recorder = getattr(db, "recorder", None) or _Recorder(db)
            db.recorder = recorder
    return recorder


def _record_when_answered(result: Result, token: str, db: DBThreads, recorded: concurrent.futures.Future):
    recorder = _recorder_for(db)

    def on_answer(done):  # in the dispatcher's loop thread: hand the answer to the recorder
        if done.cancelled():
            recorded.set_result((False, None))
            return
        fields, outcome = _fields_for(result, done)
        recorder.record(result.pk, token, fields).add_done_callback(
            lambda r: recorded.set_exception(r.exception()) if r.exception() else recorded.set_result((r.result(), outcome))
        )

    return on_answer


def _settle(result: Result, future, recorded, token: str, db) -> str:
    """The status of one call once its wait is over (recorded here when there are no db threads)."""
    if db is not None:
        written, outcome = recorded.result()
    elif future.cancelled():
        written, outcome = False, None
    else:
        fields, outcome = _fields_for(result, future)
        written = Result.record(result.pk, token, fields)
    if not written:
        log.info("run %s result %s: answer dropped; the result was cancelled or taken over meanwhile", result.run_id, result.pk)
        return "discarded"
    _log_outcome(result, outcome)
    return "recorded"
