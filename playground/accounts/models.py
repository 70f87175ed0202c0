from django.conf import settings
from django.db import models
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


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "team"
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug
