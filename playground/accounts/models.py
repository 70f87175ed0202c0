import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify


class TeamQuerySet(models.QuerySet):
    def for_user(self, user) -> "TeamQuerySet":
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Team(models.Model):
    """Everything a user creates belongs to a team; a user sees only their teams' objects."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = _unique_slug(self.name)
        super().save(*args, **kwargs)

    def role_of(self, user) -> str | None:
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None

    def add_member(self, user, role: str = "editor") -> "Membership":
        membership, _ = Membership.objects.update_or_create(team=self, user=user, defaults={"role": role})
        return membership


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"  # manages members and providers
        EDITOR = "editor", "Editor"  # creates and changes media, prompts, runs
        VIEWER = "viewer", "Viewer"  # reads only

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.EDITOR)

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "team"
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def hash_token(token: str) -> str:
    """The sha256 an invite token is stored as: a database reader learns nothing usable."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class InviteQuerySet(models.QuerySet):
    def usable(self) -> "InviteQuerySet":
        """Not revoked, not expired, uses left."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=F("max_uses"))


class Invite(models.Model):
    """A link that lets whoever holds it join a team in a role. Only the sha256 of its token is
    kept (services.create_invite hands the token out once)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"invite #{self.pk} to {self.team} ({self.role})"

    def __repr__(self) -> str:  # never the hash either
        return f"<Invite {self.pk} team={self.team_id} {self.role} {self.uses}/{self.max_uses}>"

    @property
    def uses_left(self) -> int:
        return max(self.max_uses - self.uses, 0)


class AuditEvent(models.Model):
    """One change of a team's membership, providers or keys (audit.record writes them).
    The actor's name is copied so the line still reads right after the user is deleted."""

    class Action(models.TextChoices):
        TEAM_CREATED = "team_created", "Team created"
        INVITE_CREATED = "invite_created", "Invite made"
        INVITE_REVOKED = "invite_revoked", "Invite revoked"
        INVITE_ACCEPTED = "invite_accepted", "Invite accepted"
        MEMBER_ADDED = "member_added", "Member added"
        ROLE_CHANGED = "role_changed", "Role changed"
        MEMBER_REMOVED = "member_removed", "Member removed"
        MEMBER_LEFT = "member_left", "Member left"
        PROVIDER_CREATED = "provider_created", "Provider created"
        PROVIDER_CHANGED = "provider_changed", "Provider changed"
        PROVIDER_DELETED = "provider_deleted", "Provider deleted"
        KEY_SET = "key_set", "Key set"
        KEY_REPLACED = "key_replaced", "Key replaced"
        KEY_REMOVED = "key_removed", "Key removed"
        MODEL_ADDED = "model_added", "Model added"
        MODEL_CHANGED = "model_changed", "Model changed"
        MODEL_REMOVED = "model_removed", "Model removed"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"], name="audit_team_newest_first")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name}: {self.summary}"
