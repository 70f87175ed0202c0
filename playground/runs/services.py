"""Runs: what views, tasks and commands call. Functions with keyword arguments, no classes.

    checks = preflight(version=v, values=vals, provider_models=[pm1, pm2], team=team)
    run = start_run(version=v, values=vals, provider_models=[pm1, pm2], user=u, team=team)
    run_progress(run)        # {"total": 2, "finished": 1, "percent": 50, "done": False, ...}
    cancel_run(run)          # results not finished -> cancelled; returns how many
    rerun(run, user=u)       # same version, values, models: a new run
    resend_result(result, user=u)    # a new run sending the very same stored body again
    b"".join(result_body_iter(result))  # the exact bytes that were sent

Sending and recording are in sending.py (tasks sent by enqueue.py); bodies (stored once by content) in bodies.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from playground.catalog.models import ProviderModel
from playground.runs import bodies, enqueue
from playground.runs.models import Result, Run
from playground.runs.preflight import Preflight, key_problem, preflight
from playground.runs.prices import price_snapshot
from playground.runs.reconcile import estimate_snapshot

__all__ = [
    "Preflight",
    "cancel_run",
    "cancel_runs",
    "preflight",
    "rerun",
    "resend_result",
    "result_body_iter",
    "reuse_identical",
    "run_progress",
    "start_run",
]  # fmt: skip


def _result_for(run: Run, position: int, check: Preflight) -> Result:
    pm = check.provider_model
    provider = pm.provider
    rendered = check.rendered
    result = Result(
        run=run,
        position=position,
        provider_model=pm,
        provider_name=provider.name,
        protocol=rendered.protocol if rendered is not None else provider.render_protocol,
        model_name=pm.name,
        url=(rendered.url if rendered is not None else provider.base_url)[:1000],
        prices=price_snapshot(pm),
        request_headers=dict(rendered.headers) if rendered is not None else {},
        notes=list(check.notes),
        sent_media=dict(check.sent_media),
        estimate=estimate_snapshot(check.tokens) if check.tokens is not None else {},
    )
    if check.ok:
        result.request_body = bodies.store_body(rendered.body)
        result.status = Result.Status.QUEUED
    else:
        result.status = Result.Status.REFUSED
        result.finished_at = timezone.now()
        if check.key_problem:
            result.error_kind = "key"
        else:
            result.error_kind = "refused"
        result.error_message = " ".join([*check.reasons, *([check.key_problem] if check.key_problem else [])])
    return result


def reuse_identical(results: list[Result], team) -> list[Result]:
    """Answer each queued result whose exact body went to the same model before in ``team`` and
    succeeded from that stored response instead of sending it: SUCCEEDED, ``reused_from`` the
    original, cost 0 (the original's cost is shown beside it). Returns the results answered so."""
    queued = [r for r in results if r.status == Result.Status.QUEUED and r.request_body_id and r.provider_model_id]
    if not queued:
        return []
    earlier = (Result.objects.filter(run__team=team, status=Result.Status.SUCCEEDED, reused_from__isnull=True,
                                     request_body_id__in={r.request_body_id for r in queued},
                                     provider_model_id__in={r.provider_model_id for r in queued})
               .exclude(run_id=queued[0].run_id).order_by("pk"))  # fmt: skip
    originals = {}
    for old in earlier:
        originals.setdefault((old.request_body_id, old.provider_model_id), old)
    now, answered = timezone.now(), []
    copied = ("response_json", "output_text", "finish_reason", "finish_raw", "usage", "usage_raw", "input_tokens",
              "output_tokens", "total_tokens", "latency_first_byte_ms", "latency_total_ms", "request_id")  # fmt: skip
    for r in queued:
        old = originals.get((r.request_body_id, r.provider_model_id))
        if old is None:
            continue
        for name in copied:
            setattr(r, name, getattr(old, name))
        r.status, r.reused_from, r.cost_usd, r.finished_at, r.started_at = Result.Status.SUCCEEDED, old, 0, now, now
        r.notes = [*r.notes, f"reused answer: the same request was answered in result {old.pk} (run {old.run_id})"]
        answered.append(r)
    return answered


def _create_run(*, team, version, values, user, rerun_of, results_for, origin="", reuse=False) -> Run:
    with transaction.atomic():
        run = Run.objects.create(team=team, prompt_version=version, values=dict(values or {}), created_by=user,
                                 rerun_of=rerun_of, origin=origin)  # fmt: skip
        results = results_for(run)
        if reuse:
            reuse_identical(results, team)
        Result.objects.bulk_create(results)
        queued = [r.pk for r in Result.objects.filter(run=run, status=Result.Status.QUEUED).order_by("position")]
        if queued:
            enqueue.results(queued)
        else:
            run.status = Run.Status.DONE
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run


def start_run(*, version, values: dict, provider_models: list, user, team, rerun_of=None, content=None,
              origin: str = "", reuse: bool = False, source=None) -> Run:
    """A run of ``version`` with ``values`` on each model, in the order given. Models that cannot
    take the prompt (or have no key) get a REFUSED result saying why; the others are queued and
    their tasks sent once the run is committed.

    ``content``: a document sent instead of the version's (preflight); ``origin``: who made the
    run ("eval"); ``reuse``: answer identical requests from a stored response (reuse_identical)."""
    checks = preflight(version=version, values=values, provider_models=provider_models, team=team, content=content,
                       source=source)  # fmt: skip
    return _create_run(
        team=team, version=version, values=values, user=user, rerun_of=rerun_of, origin=origin, reuse=reuse,
        results_for=lambda run: [_result_for(run, i, c) for i, c in enumerate(checks)],
    )  # fmt: skip


def cancel_run(run) -> int:
    """Results not finished become CANCELLED (a worker checks before sending, while waiting on the
    provider, and before recording, so one in flight stops within a lease renewal). Returns how
    many were cancelled."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Result.objects.filter(run=run, status__in=(Result.Status.QUEUED, Result.Status.RUNNING)).update(
            status=Result.Status.CANCELLED, finished_at=now, claimed_until=None, error_kind="cancelled",
            error_message="Cancelled before an answer was recorded.",
        )  # fmt: skip
        if cancelled:
            Run.objects.filter(pk=run.pk).update(status=Run.Status.CANCELLED, finished_at=now)
        else:
            Run.finish_if_complete(run.pk)
    run.refresh_from_db(fields=["status", "finished_at"])
    return cancelled


def cancel_runs(run_ids, *, unsent_only: bool = False) -> int:
    """cancel_run for many runs at once, in two statements. ``unsent_only``: only QUEUED results
    (not yet sent) are cancelled; those in flight are answered and kept (a budget stop). Returns how
    many were cancelled."""
    ids = list(run_ids)
    statuses = (Result.Status.QUEUED,) if unsent_only else (Result.Status.QUEUED, Result.Status.RUNNING)
    now = timezone.now()
    with transaction.atomic():
        touched = set(Result.objects.filter(run_id__in=ids, status__in=statuses).values_list("run_id", flat=True))
        cancelled = Result.objects.filter(run_id__in=touched, status__in=statuses).update(
            status=Result.Status.CANCELLED, finished_at=now, claimed_until=None, error_kind="cancelled",
            error_message="Cancelled before it was sent." if unsent_only else "Cancelled before an answer was recorded.",
        )  # fmt: skip
        for run_id in touched:
            if unsent_only:
                Run.finish_if_complete(run_id)
            else:
                Run.objects.filter(pk=run_id).update(status=Run.Status.CANCELLED, finished_at=now)
    return cancelled


def rerun(run, *, user) -> Run:
    """The same version and values on the same models (those still in the catalog), as a new run."""
    ids = [pk for pk in run.results.order_by("position", "pk").values_list("provider_model_id", flat=True) if pk]
    existing = set(ProviderModel.objects.filter(pk__in=ids, provider__team=run.team).values_list("pk", flat=True))
    return start_run(version=run.prompt_version, values=run.values, provider_models=[i for i in ids if i in existing],
                     user=user, team=run.team, rerun_of=run)  # fmt: skip


def resend_result(result, *, user) -> Run:
    """A new run with one result sending the same stored RequestBody (same bytes, same URL and
    headers) to the same model; the key and the prices are the current ones."""
    old = Result.objects.select_related("run", "provider_model__provider", "request_body").get(pk=result.pk)
    pm = old.provider_model

    def results_for(run):
        new = Result(
            run=run, position=0, provider_model=pm, provider_name=old.provider_name, protocol=old.protocol,
            model_name=old.model_name, url=old.url, prices=price_snapshot(pm) if pm else dict(old.prices),
            request_headers=dict(old.request_headers), request_body=old.request_body,
            notes=[f"re-sent: the exact request of result {old.pk} (run {old.run_id})"], sent_media=dict(old.sent_media),
            estimate=dict(old.estimate or {}),  # the same bytes: the estimate made of them then
        )  # fmt: skip
        problem = None
        if old.request_body is None:
            problem = ("refused", "This result was never sent, so there is no request to send again.")
        elif pm is None:
            problem = ("config", "The model was removed from the catalog; its request cannot be sent again.")
        else:
            kp = key_problem(pm.provider, old.url)  # the URL it will go to, which the provider may have left
            if kp:
                problem = ("key", kp)
        if problem:
            new.status, new.finished_at = Result.Status.REFUSED, timezone.now()
            new.error_kind, new.error_message = problem
        return [new]

    return _create_run(team=old.run.team, version=old.run.prompt_version, values=old.run.values, user=user,
                       rerun_of=old.run, results_for=results_for)  # fmt: skip


def result_body_iter(result) -> Iterator[bytes]:
    """The exact bytes sent for ``result`` (empty when it was not sent)."""
    body = result.request_body
    if body is None:
        return iter(())
    return bodies.iter_bytes(body)


def run_progress(run, *, reclaim: bool = True) -> dict:
    """Counts by status. Also re-queues this run's results whose worker was lost (see
    enqueue.reclaim_stale), so a run always finishes while someone watches it."""
    if reclaim and run.status in (Run.Status.QUEUED, Run.Status.RUNNING) and Result.objects.stale(run_id=run.pk).exists():
        enqueue.reclaim_stale(run_id=run.pk)
    counts = Result.objects.filter(run=run).counts_by_status()
    finished = counts["succeeded"] + counts["failed"] + counts["refused"] + counts["cancelled"]
    total = counts["total"]
    return {
        **counts,
        "finished": finished,
        "percent": round(100 * finished / total) if total else 100,
        "done": finished == total,
    }
