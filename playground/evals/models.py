"""Evaluation sets: what a team tests models against.

An EvalSet holds EvalCases; a case is one or more library media (EvalCaseMedia, in slots such as
"image" or "audio") plus the expected answer, extra string fields (bound to prompt variables by an
evaluation run) and tags. EvalImport records a background ZIP import's progress.

Everything is scoped by the set's team: views look a set up, then require_membership(set.team_id)
(404 for another team). Media point at uploads.MediaItem with PROTECT: a library item a case uses
cannot be deleted from under the set (uploads' delete_item turns that into a message).
"""

from django.conf import settings
from django.db import models

from playground.accounts.models import Team
from playground.uploads.models import MediaItem


class ExpectedKind(models.TextChoices):
    """How a case's expected answer is read (scorers pick from it)."""

    TEXT = "text", "Text"
    LABEL = "label", "Label"
    NUMBER = "number", "Number"
    JSON = "json", "JSON"


class EvalSetQuerySet(models.QuerySet):
    def for_team(self, team) -> "EvalSetQuerySet":
        return self.filter(team=team)

    def with_case_counts(self) -> "EvalSetQuerySet":
        return self.annotate(case_count=models.Count("cases", distinct=True))


class EvalSet(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="eval_sets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # bumped by services on every change to a case
    # The kind of expected answer of cases that do not say their own (EvalCase.expected_kind blank).
    expected_kind = models.CharField(max_length=10, choices=ExpectedKind.choices, default=ExpectedKind.TEXT)
    # For label tasks: the allowed labels, each with synonyms that count as it:
    # [{"label": "cat", "synonyms": ["kitten"]}, ...] (shape checked by services.clean_labels).
    labels = models.JSONField(default=list, blank=True)
    # Scorer configurations for evaluation runs, e.g. [{"type": "exact"}, {"type": "wer", "normaliser": ...}].
    # Only the shape is checked here (a list of objects with a string "type"); playground/scoring reads them.
    scorers = models.JSONField(default=list, blank=True)

    objects = EvalSetQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["team", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class EvalCase(models.Model):
    set = models.ForeignKey(EvalSet, on_delete=models.CASCADE, related_name="cases")
    position = models.PositiveIntegerField()  # order in the set, 1-based; gaps allowed after deletes
    # The expected answer as JSON: a string (text or a label), a number, or any JSON value. None:
    # not filled in yet (cases made by dropping files start so).
    expected = models.JSONField(null=True, blank=True)
    # Overrides the set's expected_kind for this case; blank = the set's (see kind()).
    expected_kind = models.CharField(max_length=10, choices=ExpectedKind.choices, blank=True)
    # Extra fields, {name: string}, bound to prompt variables by an evaluation run.
    fields = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)  # list of strings, for filters and per-tag breakdowns
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["set", "position"])]

    def __str__(self) -> str:
        return f"case {self.position} of {self.set_id}"

    def kind(self) -> str:
        """The case's expected kind: its own, else its set's."""
        return self.expected_kind or self.set.expected_kind

    def ordered_media(self) -> list["EvalCaseMedia"]:
        """Its media in order; uses prefetch_related("media__item") when the queryset did it."""
        return sorted(self.media.all(), key=lambda m: (m.position, m.pk))


class EvalCaseMedia(models.Model):
    case = models.ForeignKey(EvalCase, on_delete=models.CASCADE, related_name="media")
    # PROTECT: deleting a library item a case uses is refused (the case would lose its input).
    item = models.ForeignKey(MediaItem, on_delete=models.PROTECT, related_name="eval_uses")
    slot = models.CharField(max_length=40, default="media")  # "image", "audio", "media"...: bound to a prompt's media slot
    position = models.PositiveIntegerField(default=0)  # order within the case

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        # Named in the library's "cannot be deleted: used by ..." message.
        return f"evaluation set “{self.case.set.name}”, case {self.case.position}"


class EvalImport(models.Model):
    """A ZIP import into a set, done by a worker; the set page polls it for progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    set = models.ForeignKey(EvalSet, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(max_length=255, blank=True)  # the uploaded ZIP's name, for the screen
    archive = models.CharField(max_length=500, blank=True)  # the ZIP's temporary path until the task is done
    total = models.PositiveIntegerField(default=0)  # manifest rows
    done = models.PositiveIntegerField(default=0)  # rows handled (added or refused)
    added = models.PositiveIntegerField(default=0)  # cases created
    # [{"row": n, "message": "..."}]: row 0 for the whole archive (unsafe ZIP, bad manifest header).
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.set_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
