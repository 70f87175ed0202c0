"""The audit list: who changed a team's members, providers or keys, what, and when.

    audit.record(team, request.user, AuditEvent.Action.ROLE_CHANGED, "Made bob an editor (was viewer).",
                 member="bob", role="editor", was="viewer")

The summary is a short sentence in plain words for the Team page; details are a small JSON object
of names and roles for whoever reads the table later. Neither may ever hold a key: a detail named
like a secret (key, token, password...) is refused outright, and callers describe a key only by
what happened to it ("replaced"), never by its value or any part of it.
"""

from __future__ import annotations

import re

from django.core.paginator import Page, Paginator

from playground.accounts.models import AuditEvent, Team

PER_PAGE = 25
# A detail with such a name is a mistake waiting to leak: refuse it rather than store it.
_SECRET_NAME = re.compile(r"(api_?key|^key$|secret|token|password|passwd|credential)", re.I)


def record(team: Team, actor, action: str, summary: str, **details) -> AuditEvent:
    """Store one event of `team`. `actor` is the user who did it (None: Prism itself)."""
    if action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    if secret := [name for name in details if _SECRET_NAME.search(name)]:
        raise ValueError(f"audit details never hold secrets: {secret}")
    name = actor.get_username() if actor is not None and actor.is_authenticated else ""
    return AuditEvent.objects.create(team=team, actor=actor if name else None, actor_name=name, action=action,
                                     summary=summary[:500], details=details)


def page_of(team: Team, number) -> Page:
    """One page of the team's events, newest first; a bad page number is the nearest page."""
    events = AuditEvent.objects.filter(team=team).order_by("-created_at", "-pk")
    return Paginator(events, PER_PAGE).get_page(number)
