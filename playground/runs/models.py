"""Runs: one prompt version sent to several models; a Result per model.

Snapshot, don't reference: a Result keeps the exact request (by content, media by reference to
stored files), the provider's answer, usage, latency and cost as they were at send time, so later
edits to prompts, providers or prices never change what an old run shows.
"""

from django.conf import settings
from django.db import models

from playground.accounts.models import Team
from playground.catalog.models import ProviderModel
from playground.prompts.models import PromptVersion


class RequestBody(models.Model):
    """An exact request body, stored once by content.

    ``skeleton`` is the body's JSON with every inline media payload replaced by a reference to
    the stored file holding its base64 text, so a body with ten 3 MB photos costs a few hundred
    bytes here, and the exact bytes are rebuilt by splicing those files back in.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)  # of the exact bytes
    size = models.BigIntegerField()
    skeleton = models.JSONField()
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.prompt_version}"


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
    # "config", "refused" (preflight) or "lost" (see engine.py); blank when it succeeded.
    error_kind = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=200, blank=True)  # the provider's, for support tickets
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)  # all attempts and waits
    sent_media = models.JSONField(default=dict, blank=True)  # {"images": n, "audio_s": x}: for per-item prices
    # Claiming: a worker owns the result while claimed_until is in the future.
    claim_token = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveIntegerField(default=0)  # more than 1: taken over from a lost worker
    enqueued_at = models.DateTimeField(null=True, blank=True)  # last time a task was sent for it
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

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
