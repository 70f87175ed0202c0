"""Plain factory functions for tests: each fills in sensible defaults with setdefault."""

import itertools
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model

from playground.accounts.models import Membership, Team

_counter = itertools.count(1)


def make_user(**kw):
    kw.setdefault("username", f"user{next(_counter)}")
    password = kw.pop("password", "secret-pass-123")
    user = get_user_model().objects.create_user(**kw)
    user.raw_password = password
    user.set_password(password)
    user.save()
    return user


def make_team(**kw) -> Team:
    kw.setdefault("name", f"Team {next(_counter)}")
    return Team.objects.create(**kw)


def make_member(team: Team | None = None, role: str = Membership.Role.EDITOR, **kw):
    team = team or make_team()
    user = make_user(**kw)
    team.add_member(user, role)
    return user


def make_item(team: Team, data: bytes, name: str = "sample.bin", user=None):
    from playground.uploads import services

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(data)
        tmp.flush()
        return services.add_path(team=team, user=user, path=Path(tmp.name), name=name).item
