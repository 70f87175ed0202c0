"""Evaluation runs: an evaluation set sent through a prompt version to several models (and arms).

An EvalRun makes one EvalItem per case x arm x sample; each item owns one runs.Run (origin "eval")
whose Results are the models' answers, sent by the ordinary runs machinery (limits, retries,
leases, sweeper). EvalScore stores each scorer's verdict on a Result; Review a person's.
The design: /tmp/prism-handoff/EVALRUNS_DESIGN.md (README "Where things are").
"""

from django.conf import settings
from django.db import models

from playground.accounts.models import Team
from playground.catalog.models import ProviderModel
from playground.evals.models import EvalCase, EvalSet
from playground.prompts.models import PromptVersion
from playground.runs.models import Result, Run


class EvalRun(models.Model):
    class Status(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        STOPPED = "stopped", "Stopped (budget reached)"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.PREPARING, Status.RUNNING)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="eval_runs")
    eval_set = models.ForeignKey(EvalSet, on_delete=models.PROTECT, related_name="eval_runs")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="eval_runs")
    name = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARING)
    status_message = models.TextField(blank=True)  # why it stopped or failed, in words
    # {"media": {"<prompt media variable>": "<case slot>"}, "variables": {"<prompt variable>": "<case field>"}}
    bindings = models.JSONField(default=dict, blank=True)
    # [{"key": "as-is", "title": "As uploaded", "settings": {}}, {"key": "edge-512", ..., "settings": {"variant": {"max_edge": 512}}}]
    arms = models.JSONField(default=list, blank=True)
    samples = models.PositiveIntegerField(default=1)
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reuse_identical = models.BooleanField(default=False)  # answer identical bodies from a stored response
    # [{"name": <playground.scoring registry name>, "config": {...}}]: copied from the set at start, editable later
    scorers = models.JSONField(default=list, blank=True)
    judge_model = models.ForeignKey(ProviderModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider_models = models.ManyToManyField(ProviderModel, through="EvalRunModel", related_name="eval_runs")
    total_requests = models.PositiveIntegerField(default=0)  # cases x arms x samples x models
    prepared_cases = models.PositiveIntegerField(default=0)  # cases whose items and runs are made

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.name or f"Evaluation {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def ordered_models(self) -> list[ProviderModel]:
        return [m.provider_model for m in self.model_links.select_related("provider_model__provider").order_by("position")]

    def arm_keys(self) -> list[str]:
        return [a["key"] for a in self.arms] or ["as-is"]


class EvalRunModel(models.Model):
    eval_run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="model_links")
    provider_model = models.ForeignKey(ProviderModel, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["eval_run", "provider_model"], name="one_link_per_eval_model")]

    def __str__(self) -> str:
        return f"model {self.provider_model_id} of evaluation {self.eval_run_id}"


class EvalItem(models.Model):
    """One case x arm x sample of an evaluation; its Run holds one Result per model."""

    eval_run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(EvalCase, on_delete=models.CASCADE, related_name="eval_items")
    arm = models.CharField(max_length=40, default="as-is")
    sample = models.PositiveIntegerField(default=0)
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="eval_item")

    class Meta:
        ordering = ["eval_run", "case__position", "case_id", "arm", "sample"]
        constraints = [models.UniqueConstraint(fields=["eval_run", "case", "arm", "sample"], name="one_item_per_case_arm_sample")]

    def __str__(self) -> str:
        return f"case {self.case_id} arm {self.arm} sample {self.sample} of {self.eval_run_id}"


class EvalScore(models.Model):
    """One scorer's verdict on one Result. Re-scoring replaces the rows; nothing is sent again."""

    eval_run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="scores")
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="eval_scores")
    case = models.ForeignKey(EvalCase, on_delete=models.CASCADE, related_name="+")
    scorer = models.CharField(max_length=100)  # the scorer's name, or name#n when the same one appears twice
    value = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    explanation = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["result", "scorer"], name="one_score_per_result_scorer")]
        indexes = [models.Index(fields=["eval_run", "scorer"])]

    def __str__(self) -> str:
        return f"{self.scorer} on result {self.result_id}: {self.value}"


class Review(models.Model):
    """A person's verdict on one Result; it overrides the automatic scores in accuracy."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="reviews")
    eval_run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="reviews")
    case = models.ForeignKey(EvalCase, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.BooleanField(null=True, blank=True)  # correct / incorrect
    rating = models.PositiveSmallIntegerField(null=True, blank=True)  # 1-5
    comment = models.TextField(blank=True)
    blind = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["result", "reviewer"], name="one_review_per_result_reviewer")]
        indexes = [models.Index(fields=["eval_run", "reviewer"])]

    def __str__(self) -> str:
        return f"review of result {self.result_id} by {self.reviewer_id}"
