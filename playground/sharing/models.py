"""Share links: a saved prompt opened by anyone holding an unguessable link, and forks made from one.

A link's token is 256 bits from secrets.token_urlsafe, shown to the sharer once when the link is
made and stored only as its SHA-256: someone who reads the database (a backup, the admin) holds
no usable link. A sharer who loses a link makes a new one and revokes the old one.

    link, token = ShareLink.create(prompt=..., version=None, runs=[...], user=..., expires_at=...)
    link = ShareLink.objects.live().for_token(token)       # None: unknown, revoked or expired
    link.shown_version()                                    # the fixed version, or the newest
    ShareLink.count_view(link.pk)                          # the only write of a visit: one UPDATE
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from playground.prompts.models import Prompt, PromptVersion
from playground.runs.models import Run

TOKEN_BYTES = 32  # 256 bits of randomness; the issue asks for at least 128
MAX_TOKEN_CHARS = 128  # a path segment longer than this is no token of ours (not even hashed)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ShareLinkQuerySet(models.QuerySet):
    def live(self, now=None) -> ShareLinkQuerySet:
        """Not revoked and not expired: the links whose pages and media answer."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def for_token(self, token: str) -> ShareLink | None:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            return None
        return self.select_related("prompt", "version").filter(token_hash=token_hash(token)).first()


class ShareLink(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="share_links")
    # None: "always the latest" (the newest version when the page is opened).
    version = models.ForeignKey(PromptVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, so the sharer can tell their links apart (24 of 256 bits).
    token_hint = models.CharField(max_length=8)
    # Chosen runs of the prompt shown with their results; none: the page shows no runs.
    runs = models.ManyToManyField(Run, blank=True, related_name="share_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"share link {self.token_hint}… of {self.prompt}"

    @classmethod
    def create(cls, *, prompt: Prompt, version: PromptVersion | None, runs=(), user=None, expires_at=None
               ) -> tuple[ShareLink, str]:
        """A new link and its token (the only time the token exists outside the visitor's URL)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link = cls.objects.create(prompt=prompt, version=version, token_hash=token_hash(token), token_hint=token[:4],
                                  created_by=user, expires_at=expires_at)
        link.runs.set(runs)
        return link, token

    @property
    def is_latest(self) -> bool:
        return self.version_id is None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_live(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def shown_version(self) -> PromptVersion | None:
        return self.version if self.version_id else self.prompt.latest_version()

    @classmethod
    def count_view(cls, link_id: int) -> None:
        cls.objects.filter(pk=link_id).update(view_count=F("view_count") + 1, last_viewed_at=timezone.now())


class ForkOrigin(models.Model):
    """Where a forked prompt came from. The source's name and number are kept as they were, so
    the line "Forked from <name> v<N>" stays when the source is renamed, deleted or revoked."""

    prompt = models.OneToOneField(Prompt, on_delete=models.CASCADE, related_name="fork_origin")
    source_prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    source_version = models.ForeignKey(PromptVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="forks")
    link = models.ForeignKey(ShareLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    source_name = models.CharField(max_length=200)
    source_number = models.PositiveIntegerField()
    forked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.prompt} forked from {self.source_name} v{self.source_number}"
