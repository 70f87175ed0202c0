"""Reading settings from the environment, in the style of healthchecks' settings helpers.

    >>> os.environ["DEBUG"] = "True"; env_bool("DEBUG", False)
    True
"""

import ipaddress
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path


class ConfigError(RuntimeError):
    pass


# Every variable the settings read: none of them may ever be granted to teams as a provider key.
_READ: set[str] = set()


def _get(name: str, default: str = "") -> str:
    _READ.add(name)
    return os.environ.get(name, default)


def names_read() -> frozenset[str]:
    return frozenset(_READ)


def env_str(name: str, default: str = "") -> str:
    return _get(name, default)


def env_bool(name: str, default: bool) -> bool:
    # Only True/False: a typo such as "ture" must fail loudly, not quietly mean False.
    value = _get(name, "")
    if value == "":
        return default
    if value in ("True", "true", "1"):
        return True
    if value in ("False", "false", "0"):
        return False
    raise ConfigError(f"{name} must be True or False, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = _get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = _get(name, "")
    if value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str:
    """The value of NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    if _get(name):
        return os.environ[name]
    path = _get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return ""


def persistent_secret_key(path: Path, *, required: bool) -> str:
    """A key generated once for the embedded default and kept in the data folder."""
    if required:
        raise ConfigError("SECRET_KEY (or SECRET_KEY_FILE) must be set when PRISM_PRODUCTION=True")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # Written to a private temp file, then linked into place: the link either creates the complete
    # file or fails because another process (web and worker start together) got there first.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key)
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(tmp)
    return key


def weak_secret_key(key: str) -> str | None:
    """Why KEY is weak by Django's own measure (the deploy check security.W009), or None."""
    from django.core.checks.security.base import (
        SECRET_KEY_INSECURE_PREFIX,
        SECRET_KEY_MIN_LENGTH,
        SECRET_KEY_MIN_UNIQUE_CHARACTERS,
    )

    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r}, the mark of a development key"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"it has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} different characters"
    return None


def private_sqlite_file(name, *, create: bool = True) -> None:
    """Make the SQLite database file owner-only (0600), creating it empty if need be.

    SQLite creates its -wal and -shm files with the database file's permissions, so they follow.
    An existing database (and journal) readable by others is tightened too."""
    name = str(name)
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if create:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError:
            return  # no folder yet, read-only...: SQLite reports it when it opens the file
    for p in (path, Path(name + "-wal"), Path(name + "-shm"), Path(name + "-journal")):
        try:
            mode = p.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(p, mode & 0o700)
        except OSError:
            pass


# --- environment variables granted to teams as provider keys (PRISM_ENV_KEYS) ---------------------

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TEAM = re.compile(r"^(\*|#\d+|[-a-zA-Z0-9_]+)$")
# Prism's own and its tools' variables, whether or not settings.py has read them yet.
_OWN = re.compile(r"^(PRISM_|CELERY_|DJANGO_|DATABASE_|DB_|SECRET_KEY|AXES_|TEST_|DEMO_|AWS_)"
                  r"|(DATABASE_URL|BROKER_URL|REDIS_URL)$")
ENV_KEYS_SYNTAX = "NAME=host[,host...]@team[,team...] separated by ';' (team: a slug, #id or *)"


@dataclass(frozen=True)
class EnvKeyGrant:
    """One grant: the variable ``name`` may be sent as the key of the ``teams``' providers, to
    ``hosts`` only. ``teams`` holds slugs, ``#id``s, or ``*`` for every team."""

    name: str
    hosts: frozenset[str]
    teams: frozenset[str]

    def allows_team(self, team_id, slug: str | None) -> bool:
        return "*" in self.teams or f"#{team_id}" in self.teams or (slug is not None and slug in self.teams)


def is_prism_setting(name: str) -> bool:
    """A variable Prism itself (or its tools) reads: never a team's key."""
    return name in _READ or bool(_OWN.search(name))


def normal_host(host: str | None) -> str:
    """Host names as compared: lower case, no brackets around IPv6, no trailing dot."""
    return (host or "").strip().lower().strip("[]").rstrip(".")


def _host_problem(host: str) -> str | None:
    if "://" in host:
        return "is a URL: give only the host name, e.g. api.openai.com"
    if "*" in host:
        return "has a wildcard: list every host name exactly"
    if "/" in host:
        return "has a path: give only the host name"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if ":" in host:
        return "has a port: give only the host name (any port of it is allowed)"
    if not all(_HOST_LABEL.match(label) for label in host.split(".")):
        return "is not a host name"
    return None


def parse_env_keys(value: str, *, setting: str = "PRISM_ENV_KEYS") -> tuple[EnvKeyGrant, ...]:
    """``OPENAI_API_KEY=api.openai.com@*;ANTHROPIC_API_KEY=api.anthropic.com@research,#4``.

    Refuses (ConfigError) a malformed grant and any of Prism's own variables. Messages name the
    grant by its position and variable, never quote the rest: a key pasted here by mistake must
    not end up in a log."""
    grants = []
    entries = [e.strip() for e in value.replace("\n", ";").split(";")]
    for number, entry in enumerate((e for e in entries if e), start=1):
        name, eq, rest = entry.partition("=")
        name = name.strip()
        where = f"{setting}, grant {number}"
        if not eq or not ENV_NAME.match(name):
            raise ConfigError(f"{where}: expected {ENV_KEYS_SYNTAX}, with a variable name in capitals, digits "
                              "and underscores before '='")
        where += f" ({name})"
        if is_prism_setting(name):
            raise ConfigError(f"{where}: {name} is one of Prism's own settings (or its scripts') and can never be "
                              "granted to teams")
        hosts_part, at, teams_part = rest.rpartition("@")
        if not at:
            raise ConfigError(f"{where}: say which teams may use it after '@' (slugs, #ids, or * for all): "
                              f"{ENV_KEYS_SYNTAX}")
        hosts = [normal_host(h) for h in hosts_part.split(",") if h.strip()]
        if not hosts:
            raise ConfigError(f"{where}: name the host(s) the key may be sent to before '@', e.g. api.openai.com")
        for i, host in enumerate(hosts, start=1):
            if problem := _host_problem(host):
                raise ConfigError(f"{where}: host {i} {problem}")
        teams = [t.strip() for t in teams_part.split(",") if t.strip()]
        if not teams:
            raise ConfigError(f"{where}: name the teams after '@' (slugs, #ids, or * for all)")
        for i, team in enumerate(teams, start=1):
            if not _TEAM.match(team):
                raise ConfigError(f"{where}: team {i} is not a slug, #id or *")
        grants.append(EnvKeyGrant(name, frozenset(hosts), frozenset(teams)))
    return tuple(grants)


def env_key_grants(name: str = "PRISM_ENV_KEYS") -> tuple[EnvKeyGrant, ...]:
    return parse_env_keys(_get(name, ""), setting=name)


def check_env_key_grants(grants) -> None:
    """Again once every setting is read (apps ready): a grant of a variable read after it is refused."""
    for grant in grants:
        if is_prism_setting(grant.name):
            raise ConfigError(f"PRISM_ENV_KEYS ({grant.name}): {grant.name} is one of Prism's own settings "
                              "(or its scripts') and can never be granted to teams")


def bucket_origins(bucket: str, options: dict) -> list[str]:
    """The origins presigned GETs of the media bucket point at (for the Content-Security-Policy),
    as botocore builds them: path style on a custom endpoint unless told "virtual"; on AWS, the
    bucket's virtual host, global or regional."""
    from urllib.parse import urlsplit

    if endpoint := options.get("endpoint_url"):
        split = urlsplit(endpoint)
        host = f"{bucket}.{split.netloc}" if options.get("addressing_style") == "virtual" else split.netloc
        return [f"{split.scheme}://{host}"]
    if options.get("addressing_style") == "path":
        return ["https://s3.amazonaws.com"] + ([f"https://s3.{r}.amazonaws.com"] if (r := options.get("region_name")) else [])
    region = options.get("region_name")
    return [f"https://{bucket}.s3.amazonaws.com"] + ([f"https://{bucket}.s3.{region}.amazonaws.com"] if region else [])
