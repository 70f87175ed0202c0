"""Runs: one prompt version sent to several models; a Result per model.

Snapshot, don't reference: a Result keeps the exact request (by content, media by reference to
stored files), the provider's answer, usage, latency and cost as they were at send time, so later
edits to prompts, providers or prices never change what an old run shows.

    Run.objects.with_counts()                   # n_total, n_succeeded, n_failed, n_refused... and cost per run
    Result.objects.stale(run_id=run.pk)         # worker lost (lease expired) or task never came
    Result.objects.filter(run=run).counts_by_status()   # {"total": 4, "succeeded": 2, ...}
    Result.claim([ids], token)                  # the sending life of results: claim, renew, record
    Result.renew([ids], token); Result.record(result_id, token, fields)
    Run.start_if_queued(run_id); Run.finish_if_complete(run_id)

Claiming and recording run once per request, so they are hand-written SQL (sql.py) behind these
methods; sending.py explains the design (leases, tokens, exactly-once recording).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum
from django.utils import timezone

from playground.accounts.models import Team
from playground.catalog.models import ProviderModel
from playground.prompts.models import PromptVersion
from playground.runs import sql


def lease_s() -> float:
    """How long a claim lasts unless renewed (PRISM_RESULT_LEASE_S): a lost worker's results are
    sent again after this."""
    return float(getattr(settings, "PRISM_RESULT_LEASE_S", 30))


def batches(result_ids: list[int]) -> list[list[int]]:
    """The ids in order, cut into the batches a send task carries (PRISM_RUNS_BATCH each: enqueue.py says why)."""
    size = max(1, int(getattr(settings, "PRISM_RUNS_BATCH", 10)))
    return [result_ids[i:i + size] for i in range(0, len(result_ids), size)]


def requeue_after_s() -> float:
    """How long a queued result waits for its task before it is queued again (PRISM_RESULT_REQUEUE_S)."""
    return float(getattr(settings, "PRISM_RESULT_REQUEUE_S", 600))


class RequestBody(models.Model):
    """An exact request body, stored once by content.

    ``pieces`` hold every inline media payload as a reference to the stored file holding its
    base64 text, so a body with ten 3 MB photos costs a few hundred bytes here, and the exact
    bytes are rebuilt by splicing those files back in (bodies.py).
    """

    sha256 = models.CharField(max_length=64, primary_key=True)  # of the exact bytes
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The exact bytes as a list: strings of JSON text, and {"$b64": sha256, "size": n} where a
    # stored file's base64 text goes. A list because PostgreSQL's jsonb keeps neither key order
    # nor formatting of an object, and the bytes must come back exactly (bodies.py).
    pieces = models.JSONField(default=list)
    # The stored files spliced in; PROTECT keeps a logged request rebuildable.
    files = models.ManyToManyField("uploads.StoredFile", through="RequestBodyFile", related_name="request_bodies")

    def __str__(self) -> str:
        return f"body {self.sha256[:12]} ({self.size} B)"


class RequestBodyFile(models.Model):
    body = models.ForeignKey(RequestBody, on_delete=models.CASCADE)
    file = models.ForeignKey("uploads.StoredFile", on_delete=models.PROTECT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["body", "file"], name="one_use_per_body_file")]

    def __str__(self) -> str:
        return f"file {self.file_id} in body {self.body_id[:12]}"


def status_counts(path: str) -> dict:
    """The one definition of a run's counts, as Count expressions over ``path`` (the results):
    total, and one per status. Used by counts_by_status (one run) and with_counts (history), so
    the run page, its progress, the history and the exports count alike (runs/display.RunCounts
    says them in words)."""
    status = "status" if path == "pk" else f"{path}__status"

    def count(*statuses):
        return Count(path, filter=Q(**{f"{status}__in": statuses}), distinct=True)

    S = Result.Status
    return {
        "total": Count(path, distinct=True),
        "succeeded": count(S.SUCCEEDED),
        "failed": count(S.FAILED),
        "refused": count(S.REFUSED),
        "cancelled": count(S.CANCELLED),
        "running": count(S.RUNNING),
        "queued": count(S.QUEUED),
    }


class RunQuerySet(models.QuerySet):
    def with_counts(self):
        """Each run with ``n_total``, ``n_succeeded``, ``n_failed``, ``n_refused`` (not sent),
        ``n_cancelled``, ``n_running``, ``n_queued`` (status_counts) and ``cost`` (the sum of its
        results' cost_usd; None when none is known), in the one query."""
        return self.annotate(
            **{f"n_{k}": v for k, v in status_counts("results").items()},
            cost=Sum("results__cost_usd"),
        )


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="runs")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="runs")
    values = models.JSONField(default=dict, blank=True)  # the variable values used
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    # "" for a person's run, "eval" for an evaluation's: lists of runs can leave evaluations out.
    origin = models.CharField(max_length=20, blank=True, default="", db_index=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.prompt_version}"

    @classmethod
    def start_if_queued(cls, run_id: int) -> None:
        """Mark the run RUNNING if it is still QUEUED (its first result was claimed)."""
        sql.start_run(Result, run_id)  # hand-written: it runs while a run's first results are claimed

    @classmethod
    def finish_if_complete(cls, run_id: int) -> None:
        """Mark the run DONE once none of its results is left unfinished (a cancelled or done run
        stays as it is)."""
        if sql.any_unfinished(Result, run_id):
            return
        sql.finish_run(Result, run_id, now=timezone.now())


class ResultQuerySet(models.QuerySet):
    def lost(self, now=None):
        """Running, but the lease expired: the worker that had it was lost (or stalled)."""
        return self.filter(status=Result.Status.RUNNING, claimed_until__lt=now or timezone.now())

    def forgotten(self, now=None):
        """Queued, and its task was sent longer than PRISM_RESULT_REQUEUE_S ago (or never)."""
        now = now or timezone.now()
        return self.filter(
            Q(status=Result.Status.QUEUED)
            & (Q(enqueued_at__lt=now - timedelta(seconds=requeue_after_s())) | Q(enqueued_at__isnull=True))
        )

    def stale(self, now=None, run_id=None):
        """Results whose worker was lost (expired lease) or whose task never came (long queued),
        of one run when ``run_id`` is given. The sweeper queues them again."""
        now = now or timezone.now()
        qs = self.lost(now) | self.forgotten(now)
        if run_id is not None:
            qs = qs.filter(run_id=run_id)
        return qs

    def counts_by_status(self) -> dict:
        """One aggregate: {"total", "succeeded", "failed", "refused", "cancelled", "running", "queued"}."""
        return self.aggregate(**status_counts("pk"))


class Result(models.Model):
    """One model's answer within a run. Written by exactly one worker at a time (claimed)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Not sent"  # preflight: the protocol or model cannot carry the prompt
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.REFUSED, Status.CANCELLED)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField(default=0)  # column order on the run page
    provider_model = models.ForeignKey(ProviderModel, null=True, blank=True, on_delete=models.SET_NULL)
    # Snapshot of where it went.
    provider_name = models.CharField(max_length=100)
    protocol = models.CharField(max_length=20)
    model_name = models.CharField(max_length=200)
    url = models.URLField(max_length=1000)
    prices = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    request_body = models.ForeignKey(RequestBody, null=True, blank=True, on_delete=models.PROTECT)
    request_headers = models.JSONField(default=dict, blank=True)  # key masked
    notes = models.JSONField(default=list, blank=True)  # conversions, fallbacks, dropped settings
    # The answer.
    response_json = models.JSONField(null=True, blank=True)
    output_text = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=20, blank=True)
    finish_raw = models.CharField(max_length=60, blank=True)
    usage = models.JSONField(default=dict, blank=True)  # normalized; None values mean unknown
    usage_raw = models.JSONField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    latency_first_byte_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_total_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.JSONField(default=list, blank=True)  # one entry per try: status, latency, error
    error_status = models.PositiveIntegerField(null=True, blank=True)
    error_type = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # "http", "timeout", "connection", "malformed", "response" (a failure sent as 200), "key",
    # "config", "refused" (preflight), "internal" (a bug while sending) or "cancelled"; blank when it succeeded.
    error_kind = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=200, blank=True)  # the provider's, for support tickets
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)  # all attempts and waits
    sent_media = models.JSONField(default=dict, blank=True)  # {"images": n, "audio_s": x}: for per-item prices
    # The preflight's input-token estimate of the body sent (runs/reconcile.py estimate_snapshot):
    # {"total", "text", "image", "audio", "video", "pdf", "method", "unknown"}; None values are
    # kinds it could not count; {} when none was stored. Shown against the reported usage.
    estimate = models.JSONField(default=dict, blank=True)
    # Answered from this earlier result's stored response (same exact body and model), not sent: cost 0.
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reuses")
    # Claiming: a worker owns the result while claimed_until is in the future.
    claim_token = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveIntegerField(default=0)  # more than 1: taken over from a lost worker
    enqueued_at = models.DateTimeField(null=True, blank=True)  # last time a task was sent for it
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ResultQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position"]
        indexes = [
            models.Index(fields=["run", "status"]),
            models.Index(fields=["status", "claimed_until"], name="runs_result_stale"),  # the sweeper's query
        ]

    def __str__(self) -> str:
        return f"{self.model_name} in run {self.run_id}: {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    # The sending life of a result (sending.py). Class methods taking the id: a worker claims a
    # result before it loads anything. Each is one statement, true only while the claim is ours.

    @classmethod
    def claim(cls, result_ids: list[int], token: str) -> list[int]:
        """Take the results for the worker holding ``token``: RUNNING with a lease of lease_s(),
        each one that is queued or whose lease expired. One atomic UPDATE; each result is taken
        by exactly one caller. Returns the ids taken."""
        now = timezone.now()
        return sql.claim(cls, list(result_ids), token, until=now + timedelta(seconds=lease_s()), now=now)

    @classmethod
    def renew(cls, result_ids: list[int], token: str) -> list[int]:
        """Extend the leases; returns the ids still ours (a missing one was cancelled, or taken over)."""
        return sql.renew(cls, list(result_ids), token, until=timezone.now() + timedelta(seconds=lease_s()))

    @classmethod
    def record(cls, result_id: int, token: str, fields: dict) -> bool:
        """Write the outcome (``fields``: field name to value; finished_at is set and the lease
        cleared) only while the claim is ours: one UPDATE matching the token. False when it was
        not (cancelled, or taken over): nothing is written."""
        return sql.write(cls, result_id, token, {**fields, "finished_at": timezone.now(), "claimed_until": None})

    @classmethod
    def load_for_sending(cls, result_ids: list[int]) -> list["Result"]:
        """The results with their run's status, model, provider, team and body, in one SELECT:
        instances holding only what sending needs (any other field is deferred, as with ``.only()``)."""
        return sql.load(cls, list(result_ids))
