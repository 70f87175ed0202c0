"""Every change of a team's membership: what the Team page's views call.

    team = create_team(user=alice, name="Research")            # alice owns it
    invite, token = create_invite(team=team, actor=alice, role="viewer", max_uses=1, days=7)
    accept_invite(token=token, user=bob)                        # bob is a viewer now
    change_role(membership=bob_in_team, actor=alice, role="editor")
    remove_member(membership=bob_in_team, actor=alice)

Each function checks who may do it and refuses with Refused (a message for people; nothing is
changed) or NotOwner (the actor is a member without the owner role: views answer 403). Each
change is written to the audit list (audit.py) in the same transaction.

A team always keeps at least one owner: the last owner cannot leave, be removed or be demoted.
The team's row is locked first (select_for_update) so two owners demoting each other at once
cannot both succeed on PostgreSQL; SQLite runs one writing transaction at a time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from playground.accounts import audit
from playground.accounts.models import AuditEvent, Invite, Membership, Team, hash_token

Role = Membership.Role
Action = AuditEvent.Action

TOKEN_BYTES = 32  # 256 bits from secrets: far past guessing
MAX_TOKEN_LENGTH = 64  # token_urlsafe(32) is 43 characters; anything much longer is not one of ours
MAX_INVITE_USES = 1000
MAX_INVITE_DAYS = 90
OWNERS_ONLY = "Only team owners manage members and invites."
LAST_OWNER = "{team} needs at least one owner: make someone else an owner first."


class Refused(Exception):
    """A change Prism will not make; str() says why, in words for the person who asked."""


class NotOwner(Refused):
    """The actor is a member, but not an owner of the team."""


def _role_label(role: str) -> str:
    return Role(role).label.lower()


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise Refused("Choose a role: owner, editor or viewer.")
    return role


def _owner(team: Team, actor) -> Membership:
    membership = Membership.objects.filter(team=team, user=actor).first() if actor.is_authenticated else None
    if membership is None:
        raise Refused("You are not a member of that team.")
    if not membership.is_owner:
        raise NotOwner(OWNERS_ONLY)
    return membership


def _lock(team: Team) -> Team:
    return Team.objects.select_for_update().get(pk=team.pk)


def _other_owners(membership: Membership) -> bool:
    return (Membership.objects.filter(team_id=membership.team_id, role=Role.OWNER)
            .exclude(pk=membership.pk).exists())


# --- teams -------------------------------------------------------------------------------------------


@transaction.atomic
def create_team(*, user, name: str) -> Team:
    name = (name or "").strip()
    if not name:
        raise Refused("Give the team a name.")
    if len(name) > 100:
        raise Refused("A team name has at most 100 characters.")
    team = Team.objects.create(name=name)
    team.add_member(user, Role.OWNER)
    audit.record(team, user, Action.TEAM_CREATED, f"{user.get_username()} created the team {name}.", name=name)
    return team


# --- invites -----------------------------------------------------------------------------------------


@transaction.atomic
def create_invite(*, team: Team, actor, role: str, max_uses: int = 1, days: int = 7) -> tuple[Invite, str]:
    """A new invite and its token: the token is not stored (only its sha256) and cannot be had again."""
    _owner(team, actor)
    _check_role(role)
    if not 1 <= max_uses <= MAX_INVITE_USES:
        raise Refused(f"An invite is good for 1 to {MAX_INVITE_USES} uses.")
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise Refused(f"An invite expires after 1 to {MAX_INVITE_DAYS} days.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invite = Invite.objects.create(team=team, role=role, token_hash=hash_token(token), max_uses=max_uses,
                                   expires_at=timezone.now() + timedelta(days=days), created_by=actor)
    uses = "once" if max_uses == 1 else f"{max_uses} times"
    audit.record(team, actor, Action.INVITE_CREATED,
                 f"{actor.get_username()} made invite #{invite.pk} ({_role_label(role)}, usable {uses}, "
                 f"for {days} day{'s' if days != 1 else ''}).", invite=invite.pk, role=role, max_uses=max_uses,
                 days=days)
    return invite, token


def find_invite(token: str) -> Invite | None:
    """The usable invite this token opens, else None (used up, expired, revoked or never made)."""
    if not isinstance(token, str) or not 20 <= len(token) <= MAX_TOKEN_LENGTH:
        return None
    return Invite.objects.usable().select_related("team").filter(token_hash=hash_token(token)).first()


@transaction.atomic
def revoke_invite(*, invite: Invite, actor) -> None:
    _owner(invite.team, actor)
    if invite.revoked_at is not None:
        raise Refused("That invite was already revoked.")
    Invite.objects.filter(pk=invite.pk).update(revoked_at=timezone.now())
    audit.record(invite.team, actor, Action.INVITE_REVOKED, f"{actor.get_username()} revoked invite #{invite.pk}.",
                 invite=invite.pk)


@transaction.atomic
def accept_invite(*, token: str, user) -> Membership:
    """Join the invite's team in its role. An existing member keeps their role (an invite never
    demotes anyone) and the invite keeps its use."""
    invite = find_invite(token)
    if invite is None:
        raise Refused("This invite link is not valid.")
    team = _lock(invite.team)
    existing = Membership.objects.filter(team=team, user=user).first()
    if existing is not None:
        raise Refused(f"You are already a member of {team.name}.")
    # One use, counted only while uses are left: two people racing for the last use cannot both win.
    taken = Invite.objects.usable().filter(pk=invite.pk).update(uses=F("uses") + 1)
    if not taken:
        raise Refused("This invite link is not valid.")
    membership = Membership.objects.create(team=team, user=user, role=invite.role)
    audit.record(team, user, Action.INVITE_ACCEPTED,
                 f"{user.get_username()} joined as {_role_label(invite.role)} with invite #{invite.pk}.",
                 invite=invite.pk, member=user.get_username(), role=invite.role)
    return membership


# --- members -----------------------------------------------------------------------------------------


@transaction.atomic
def add_member(*, team: Team, actor, username: str, role: str) -> Membership:
    """Add an existing user by user name."""
    _owner(team, actor)
    _check_role(role)
    username = (username or "").strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first() if username else None
    if user is None:
        raise Refused("There is no user with that name.")
    if Membership.objects.filter(team=team, user=user).exists():
        raise Refused(f"{user.get_username()} is already a member: change their role in the list instead.")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(team=team, user=user, role=role)
    except IntegrityError:  # added by someone else a moment ago
        raise Refused(f"{user.get_username()} is already a member.") from None
    audit.record(team, actor, Action.MEMBER_ADDED,
                 f"{actor.get_username()} added {user.get_username()} as {_role_label(role)}.",
                 member=user.get_username(), role=role)
    return membership


@transaction.atomic
def change_role(*, membership: Membership, actor, role: str) -> Membership:
    team = _lock(membership.team)
    _owner(team, actor)
    _check_role(role)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    was = membership.role
    if role == was:
        raise Refused(f"{membership.user.get_username()} is already {_role_label(role)}.")
    if was == Role.OWNER and not _other_owners(membership):
        raise Refused(LAST_OWNER.format(team=team.name))
    Membership.objects.filter(pk=membership.pk).update(role=role)
    membership.role = role
    audit.record(team, actor, Action.ROLE_CHANGED,
                 f"{actor.get_username()} made {membership.user.get_username()} {_role_label(role)} "
                 f"(was {_role_label(was)}).", member=membership.user.get_username(), role=role, was=was)
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, actor) -> None:
    team = _lock(membership.team)
    _owner(team, actor)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.user_id == actor.pk:
        raise Refused("To leave the team yourself, use “Leave this team”.")
    if membership.is_owner and not _other_owners(membership):
        raise Refused(LAST_OWNER.format(team=team.name))
    name = membership.user.get_username()
    membership.delete()
    audit.record(team, actor, Action.MEMBER_REMOVED, f"{actor.get_username()} removed {name} ({_role_label(membership.role)}).",
                 member=name, role=membership.role)


@transaction.atomic
def leave(*, team: Team, user) -> None:
    team = _lock(team)
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise Refused("You are not a member of that team.")
    if membership.is_owner and not _other_owners(membership):
        raise Refused(f"You are the last owner of {team.name}: make someone else an owner before you leave.")
    membership.delete()
    audit.record(team, user, Action.MEMBER_LEFT, f"{user.get_username()} left the team.",
                 member=user.get_username(), role=membership.role)
