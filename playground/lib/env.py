"""Reading settings from the environment, in the style of healthchecks' settings helpers.

    >>> os.environ["DEBUG"] = "True"; env_bool("DEBUG", False)
    True
"""

import os
import secrets
import tempfile
from pathlib import Path


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    # Only True/False: a typo such as "ture" must fail loudly, not quietly mean False.
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value in ("True", "true", "1"):
        return True
    if value in ("False", "false", "0"):
        return False
    raise ConfigError(f"{name} must be True or False, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    if value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str:
    """The value of NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
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
