"""Sending one Result and recording its outcome, exactly once, whatever the workers do.

    engine.execute(result_id)     # what the Celery task send_result(result_id) does
    engine.enqueue([ids])         # send_result for each, once the transaction commits
    engine.reclaim_stale()        # results whose worker was lost: queued again (the sweeper)

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
  (``services.run_progress``), so a run finishes even if every worker was restarted. Redis's late
  redelivery then finds the result finished and does nothing.
* **Many requests in flight per worker.** The runs worker uses Celery's threads pool
  (``-Q runs --pool threads --concurrency 64``, bin/run): a task thread mostly waits. All threads
  of a process share ONE :class:`RunDispatcher` (providers.Dispatcher): one event loop thread,
  one pooled httpx client, and one ``asyncio.Semaphore`` per provider sized by
  ``Provider.max_concurrency``, so the per-provider limit holds across every task of the
  process. The limit is per worker process: with several runs worker processes, each allows
  ``max_concurrency`` (a Redis-backed semaphore would make it global; not done, noted in README).
* **The key** is read from the provider (``Provider.api_key()``) at send time and only handed to
  ``providers.send``, which puts it in the outgoing headers; what is stored (headers as rendered,
  with ``$ENV`` in place of the key, errors redacted by providers) never holds it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import secrets as pysecrets
import threading
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from playground.catalog import secrets
from playground.catalog.models import ProviderModel
from playground.providers import Dispatcher, RetryPolicy, SendOutcome, Timeouts
from playground.runs.bodies import BodyError, StoredRequest
from playground.runs.models import Result, Run

__all__ = [
    "RunDispatcher", "get_dispatcher", "execute", "claim", "enqueue", "reclaim_stale", "start_sweeper",
    "price_snapshot", "cost_from_snapshot",
]  # fmt: skip

log = logging.getLogger("playground.runs")
# httpx logs every request at INFO; the line per result below says more, once.
logging.getLogger("httpx").setLevel(logging.WARNING)


def lease_s() -> float:
    return float(getattr(settings, "PRISM_RESULT_LEASE_S", 30))


def requeue_after_s() -> float:
    return float(getattr(settings, "PRISM_RESULT_REQUEUE_S", 600))


def retry_policy() -> RetryPolicy:
    return RetryPolicy(max_retries=int(getattr(settings, "PRISM_RUN_MAX_RETRIES", 3)))


def timeouts_for(provider) -> Timeouts:
    """Provider.timeout_s bounds each attempt (no streaming: the first byte is the whole answer)."""
    t = float(provider.timeout_s or 120)
    return Timeouts(connect=min(10.0, t), read=t, write=max(t, 30.0), pool=t, total=t)


# --- one dispatcher per process ------------------------------------------------------------------


class RunDispatcher(Dispatcher):
    """A Dispatcher whose limits come with each call: ``provider=(key, limit)``. The limit of a
    provider is read from the database per call, so a changed ``max_concurrency`` applies to the
    next calls (a new semaphore; calls in flight drain on the old one)."""

    def _limiter(self, provider):
        if provider is None:
            return None
        key, limit = provider
        current = self._limiters.get(key)
        if current is None or getattr(current, "_prism_limit", None) != limit:
            import asyncio

            current = asyncio.Semaphore(max(1, int(limit)))
            current._prism_limit = limit
            self._limiters[key] = current
        return current


_dispatcher: RunDispatcher | None = None
_dispatcher_pid: int | None = None
_dispatcher_lock = threading.Lock()


def get_dispatcher() -> RunDispatcher:
    """This process's dispatcher, made on first use (after a fork, a new one: threads don't fork)."""
    global _dispatcher, _dispatcher_pid
    with _dispatcher_lock:
        if _dispatcher is None or _dispatcher_pid != os.getpid():
            _dispatcher = RunDispatcher(
                max_connections=int(getattr(settings, "PRISM_DISPATCH_MAX_CONNECTIONS", 256)),
                retry_policy=retry_policy(),
            )
            _dispatcher_pid = os.getpid()
        return _dispatcher


# --- prices ---------------------------------------------------------------------------------------

_PRICE_FIELDS = {
    "input_per_mtok": "price_input_per_mtok",
    "cached_input_per_mtok": "price_cached_input_per_mtok",
    "output_per_mtok": "price_output_per_mtok",
    "per_image": "price_per_image",
    "per_audio_second": "price_per_audio_second",
}


def price_snapshot(pm: ProviderModel) -> dict:
    """The model's prices as they are now (strings; None: unknown), kept on the Result."""
    out = {}
    for key, name in _PRICE_FIELDS.items():
        value = getattr(pm, name)
        out[key] = None if value is None else str(value)
    return out


def cost_from_snapshot(prices: dict, usage, *, images: int = 0, audio_s: float = 0.0) -> Decimal | None:
    """USD from a price snapshot and normalized usage (ProviderModel.cost's rules)."""
    if usage is None:
        return None
    pm = ProviderModel(**{name: (Decimal(prices[key]) if prices.get(key) is not None else None)
                          for key, name in _PRICE_FIELDS.items()})  # fmt: skip
    return pm.cost(input_tokens=usage.input, cached_input_tokens=usage.cached_input, output_tokens=usage.output,
                   images=images, audio_seconds=audio_s)  # fmt: skip


# --- claiming ------------------------------------------------------------------------------------


def new_token() -> str:
    return f"{os.getpid()}-{pysecrets.token_hex(8)}"


def claim(result_id: int, token: str) -> bool:
    """Take the result for this worker: one atomic UPDATE, true for exactly one caller."""
    now = timezone.now()
    taken = (
        Result.objects.filter(pk=result_id)
        .filter(Q(status=Result.Status.QUEUED) | Q(status=Result.Status.RUNNING, claimed_until__lt=now))
        .update(status=Result.Status.RUNNING, claim_token=token, claimed_until=now + timedelta(seconds=lease_s()),
                claims=F("claims") + 1, started_at=now)
    )  # fmt: skip
    return taken == 1


def renew(result_id: int, token: str) -> bool:
    """Extend the lease; False when the result is no longer ours (cancelled, or taken over)."""
    until = timezone.now() + timedelta(seconds=lease_s())
    return bool(Result.objects.filter(pk=result_id, claim_token=token, status=Result.Status.RUNNING).update(claimed_until=until))


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else max(0, round(seconds * 1000))


def _finish_run(run_id: int) -> None:
    if Result.objects.filter(run_id=run_id).exclude(status__in=Result.FINISHED).exists():
        return
    Run.objects.filter(pk=run_id).exclude(status__in=(Run.Status.DONE, Run.Status.CANCELLED)).update(
        status=Run.Status.DONE, finished_at=timezone.now()
    )


def _write(result_id: int, token: str, fields: dict) -> bool:
    fields.update(finished_at=timezone.now(), claimed_until=None)
    written = Result.objects.filter(pk=result_id, claim_token=token, status=Result.Status.RUNNING).update(**fields)
    return written == 1


def _fail(result: Result, token: str, kind: str, message: str) -> str:
    if _write(result.pk, token, {"status": Result.Status.FAILED, "error_kind": kind, "error_message": message,
                                 "finish_reason": "error"}):  # fmt: skip
        log.info("run %s result %s (%s): failed before sending: %s", result.run_id, result.pk, result.model_name, message)
        _finish_run(result.run_id)
        return "recorded"
    return "discarded"


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
        "cost_usd": cost_from_snapshot(result.prices or {}, usage, images=int(media.get("images") or 0),
                                       audio_s=float(media.get("audio_s") or 0.0)),  # fmt: skip
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


# --- sending one result ----------------------------------------------------------------------------


def execute(result_id: int, *, dispatcher: RunDispatcher | None = None, retry_policy_: RetryPolicy | None = None) -> str:
    """Claim, send and record one result. Returns "recorded", "skipped" (not ours to send:
    finished, cancelled, or claimed by a live worker) or "discarded" (sent, but by the time the
    answer came the result was cancelled or taken over)."""
    token = new_token()
    if not claim(result_id, token):
        log.info("result %s: already finished, cancelled or being sent; nothing to do", result_id)
        return "skipped"
    result = Result.objects.select_related("provider_model__provider", "request_body").get(pk=result_id)
    Run.objects.filter(pk=result.run_id, status=Run.Status.QUEUED).update(status=Run.Status.RUNNING)
    if result.claims > 1:
        log.warning("run %s result %s: sending again; the worker that had it was lost", result.run_id, result_id)
    pm = result.provider_model
    if pm is None:
        return _fail(result, token, "config", "The model was removed from the catalog before this request was sent.")
    provider = pm.provider
    try:
        key = provider.api_key()
    except secrets.KeyUnavailable as exc:
        return _fail(result, token, "key", str(exc))
    try:
        request = StoredRequest.for_result(result)
    except BodyError as exc:
        return _fail(result, token, "config", str(exc))

    dispatcher = dispatcher or get_dispatcher()
    future = dispatcher.submit(
        request,
        api_key=key,
        provider=(f"provider-{provider.pk}", provider.max_concurrency),
        timeouts=timeouts_for(provider),
        retry_policy=retry_policy_ or retry_policy(),
    )
    del key
    every = max(0.2, lease_s() / 3)
    while True:
        try:
            outcome = future.result(timeout=every)
            break
        except concurrent.futures.TimeoutError:
            if not renew(result_id, token):
                future.cancel()  # cancelled by the user, or taken over after a stall: stop the call
                log.info("run %s result %s: no longer ours (cancelled or taken over); call abandoned", result.run_id, result_id)
                return "discarded"

    if not _write(result_id, token, outcome_fields(result, outcome)):
        log.info("run %s result %s: answer dropped; the result was cancelled or taken over meanwhile", result.run_id, result_id)
        return "discarded"
    e = outcome.error
    log.info(
        "run %s result %s (%s %s): recorded %s, HTTP %s in %d ms, %d attempt(s)%s",
        result.run_id, result_id, result.protocol, result.model_name, "succeeded" if outcome.ok else "failed",
        outcome.status, _ms(outcome.elapsed_s) or 0, len(outcome.attempts), f": {e.kind}: {e.message}" if e else "",
    )  # fmt: skip
    _finish_run(result.run_id)
    return "recorded"


# --- enqueueing and the sweeper ------------------------------------------------------------------


def enqueue(result_ids) -> None:
    """Send a task per result once the current transaction commits (at once outside one)."""
    ids = list(result_ids)
    if not ids:
        return
    Result.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())

    def send():
        from playground.runs.tasks import send_result

        for i in ids:
            send_result.delay(i)

    transaction.on_commit(send)


def stale_results(*, run_id: int | None = None, now=None):
    """Results whose worker was lost (expired lease) or whose task never came (long queued)."""
    now = now or timezone.now()
    lost = Q(status=Result.Status.RUNNING, claimed_until__lt=now)
    forgotten = Q(status=Result.Status.QUEUED) & (
        Q(enqueued_at__lt=now - timedelta(seconds=requeue_after_s())) | Q(enqueued_at__isnull=True)
    )
    qs = Result.objects.filter(lost | forgotten)
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    return qs


def reclaim_stale(*, run_id: int | None = None, limit: int = 500) -> list[int]:
    """Queue stale results again and send their tasks. Safe to run anywhere, any number of times:
    each result is reset by one conditional UPDATE, and only the caller that reset it sends."""
    now = timezone.now()
    requeued = []
    for pk, status in stale_results(run_id=run_id, now=now).values_list("pk", "status")[:limit]:
        if status == Result.Status.RUNNING:
            cond = Q(status=Result.Status.RUNNING, claimed_until__lt=now)
        else:
            cond = Q(status=Result.Status.QUEUED) & (
                Q(enqueued_at__lt=now - timedelta(seconds=requeue_after_s())) | Q(enqueued_at__isnull=True)
            )
        reset = Result.objects.filter(cond, pk=pk).update(
            status=Result.Status.QUEUED, claim_token="", claimed_until=None, enqueued_at=now
        )
        if reset:
            requeued.append(pk)
    if requeued:
        log.warning("re-queued %d result(s) whose worker was lost or whose task never came: %s", len(requeued), requeued[:20])

        def send():
            from playground.runs.tasks import send_result

            for i in requeued:
                send_result.delay(i)

        transaction.on_commit(send)
    return requeued


_sweeper: threading.Thread | None = None


def start_sweeper(interval_s: float | None = None) -> threading.Thread:
    """A daemon thread in this worker process running reclaim_stale() now and every ``lease/2`` s."""
    global _sweeper
    if _sweeper is not None and _sweeper.is_alive():
        return _sweeper
    interval = interval_s or max(0.5, lease_s() / 2)

    def loop():
        while True:
            try:
                close_old_connections()
                reclaim_stale()
            except Exception:  # a database hiccup must not end the sweeper
                log.exception("the stale-result sweeper failed; trying again in %g s", interval)
            finally:
                connection.close()  # this thread's connection; nothing held between passes
            time.sleep(interval)

    _sweeper = threading.Thread(target=loop, name="prism-result-sweeper", daemon=True)
    _sweeper.start()
    return _sweeper
