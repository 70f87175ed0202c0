"""Prompts and their immutable versions.

The editor and previews arrive with the prompt-template work; what is here now is the part the
media library depends on: a saved version records which media items it uses, and the database
refuses to delete an item that a version needs (PROTECT).
"""

import hashlib
import json

from django.conf import settings
from django.db import models, transaction

from playground.accounts.models import Team
from playground.uploads.models import MediaItem


class Prompt(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> "PromptVersion | None":
        return self.versions.order_by("-number").first()

    def save_version(self, content: dict, *, media_items=(), user=None) -> "PromptVersion":
        """Record content as a new version, unless it equals the latest one (then that is returned)."""
        digest = content_digest(content)
        with transaction.atomic():
            # Lock the prompt row so two saves never take the same version number.
            Prompt.objects.select_for_update().filter(pk=self.pk).first()
            latest = self.latest_version()
            if latest and latest.content_sha256 == digest:
                return latest
            version = PromptVersion.objects.create(
                prompt=self,
                number=(latest.number + 1) if latest else 1,
                content=content,
                content_sha256=digest,
                created_by=user,
            )
            PromptVersionMedia.objects.bulk_create(
                PromptVersionMedia(version=version, item=item) for item in {item.pk: item for item in media_items}.values()
            )
            Prompt.objects.filter(pk=self.pk).update(updated_at=version.created_at)
        return version


class PromptVersion(models.Model):
    """One saved state of a prompt. Never changed after it is created."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    media_items = models.ManyToManyField(MediaItem, through="PromptVersionMedia", related_name="prompt_versions")

    class Meta:
        ordering = ["prompt", "-number"]
        constraints = [models.UniqueConstraint(fields=["prompt", "number"], name="one_number_per_prompt_version")]

    def __str__(self) -> str:
        return f"{self.prompt.name} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A prompt version is immutable; save a new version instead.")
        super().save(*args, **kwargs)


class PromptVersionMedia(models.Model):
    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="media_uses")
    # PROTECT: a media item cannot be deleted while a saved version needs it.
    item = models.ForeignKey(MediaItem, on_delete=models.PROTECT, related_name="prompt_uses")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="one_use_per_version_item")]

    def __str__(self) -> str:
        return str(self.version)


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class PromptDraft(models.Model):
    """One user's unsaved working copy of a prompt, written on every edit and preview.

    Not a version: it changes in place, nobody else sees it, and "Save version" turns it into
    one. ``preview`` keeps the user's preview columns and models; ``stamp`` is the client's
    time of the edit, so a slow request that lands after a newer one cannot overwrite it.
    """

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_drafts")
    document = models.JSONField()
    preview = models.JSONField(default=dict, blank=True)
    base_number = models.PositiveIntegerField(null=True, blank=True)  # the version the edits started from
    stamp = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prompt", "user"], name="one_draft_per_prompt_user")]

    def __str__(self) -> str:
        return f"Draft of {self.prompt.name} by {self.user}"
