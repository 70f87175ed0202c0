"""Environment variables as provider keys: only those the operator granted in PRISM_ENV_KEYS,
to the teams and hosts granted, and never one of Prism's own settings.

    env_keys.choices(team)                       # [("OPENAI_API_KEY", "OPENAI_API_KEY (api.openai.com)")]
    env_keys.state("OPENAI_API_KEY", team, host) # "set", "missing", "not granted", "wrong host"
    env_keys.read("OPENAI_API_KEY", team, host)  # the value, or KeyUnavailable saying why

For a variable that is not granted, every answer (state, messages, has_key) is the same whether
it exists or not, so a team learns nothing about the server's environment beyond its grants.
"""

from __future__ import annotations

import os

from django.conf import settings

from playground.catalog.secrets import KeyUnavailable
from playground.lib.env import EnvKeyGrant, is_prism_setting, normal_host

SET, MISSING, NOT_GRANTED, WRONG_HOST = "set", "missing", "not granted", "wrong host"


def _grants() -> tuple[EnvKeyGrant, ...]:
    return tuple(getattr(settings, "PRISM_ENV_KEYS", ()) or ())


def grants_for(team, name: str | None = None) -> list[EnvKeyGrant]:
    """The grants that let ``team`` use ``name`` (any name when None); never a Prism setting."""
    if team is None:
        return []
    return [g for g in _grants() if (name is None or g.name == name) and not is_prism_setting(g.name)
            and g.allows_team(team.pk, team.slug)]


def hosts_for(team, name: str) -> set[str]:
    return set().union(*(g.hosts for g in grants_for(team, name)))


def choices(team) -> list[tuple[str, str]]:
    """The variables granted to ``team``, for the provider form, each with the hosts it may go to."""
    names: dict[str, set[str]] = {}
    for grant in grants_for(team):
        names.setdefault(grant.name, set()).update(grant.hosts)
    return [(name, f"{name} ({', '.join(sorted(hosts))})") for name, hosts in sorted(names.items())]


def state(name: str, team, host: str | None) -> str:
    """Whether ``team`` may send ``$name`` to ``host``, and if so whether it is set. The
    environment is looked at only for a granted variable."""
    hosts = hosts_for(team, name) if name else set()
    if not hosts:
        return NOT_GRANTED
    if normal_host(host) not in hosts:
        return WRONG_HOST
    return SET if os.environ.get(name) else MISSING


def problem(name: str, team, host: str | None) -> str | None:
    """What stops ``$name`` from being sent to ``host`` for ``team``, in words, or None."""
    what = state(name, team, host)
    shown = name or "(none chosen)"
    if what == NOT_GRANTED:
        return (f"The key's variable {shown} is not granted to your team by the operator "
                "(PRISM_ENV_KEYS): ask them to grant it, or store a key in Prism.")
    if what == WRONG_HOST:
        allowed = ", ".join(sorted(hosts_for(team, name)))
        here = normal_host(host) or "this address"
        return (f"The operator granted {shown} to your team for {allowed} only, not for {here}: "
                "point the base URL there, or store a key in Prism.")
    if what == MISSING:
        return _missing(shown)
    return None


def _missing(name: str) -> str:
    return (f"The environment variable {name} is not set where Prism runs: ask the operator to set it, "
            "or store a key in Prism.")


def read(name: str, team, host: str | None) -> str:
    """The value of ``$name`` to send to ``host`` for ``team``; KeyUnavailable when it may not."""
    if why := problem(name, team, host):
        raise KeyUnavailable(why)
    value = os.environ.get(name, "")
    if not value:  # unset in the meantime
        raise KeyUnavailable(_missing(name))
    return value
