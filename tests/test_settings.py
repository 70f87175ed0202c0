"""Settings come from the environment: the helpers in playground/lib/env.py, and the switch between
the embedded default (SQLite, filesystem broker) and team scale (PostgreSQL, Redis)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from playground.lib.env import ConfigError, env_bool, env_int, env_list, env_secret, persistent_secret_key

ROOT = Path(__file__).resolve().parent.parent


# --- env helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("True", True), ("true", True), ("1", True),
                                             ("False", False), ("false", False), ("0", False)])
def test_env_bool_reads_true_and_false(monkeypatch, value, expected):
    monkeypatch.setenv("PRISM_FLAG", value)
    assert env_bool("PRISM_FLAG", not expected) is expected


def test_env_bool_uses_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("PRISM_FLAG", raising=False)
    assert env_bool("PRISM_FLAG", True) is True
    monkeypatch.setenv("PRISM_FLAG", "")
    assert env_bool("PRISM_FLAG", False) is False


@pytest.mark.parametrize("typo", ["ture", "yes", "on", "TRUE ", "Flase", "2"])
def test_env_bool_refuses_typos(monkeypatch, typo):
    monkeypatch.setenv("PRISM_FLAG", typo)
    with pytest.raises(ConfigError, match="PRISM_FLAG must be True or False"):
        env_bool("PRISM_FLAG", False)


def test_env_int_and_env_list(monkeypatch):
    monkeypatch.setenv("PRISM_N", "42")
    assert env_int("PRISM_N", 1) == 42
    monkeypatch.setenv("PRISM_N", "4x")
    with pytest.raises(ConfigError, match="whole number"):
        env_int("PRISM_N", 1)
    monkeypatch.setenv("PRISM_HOSTS", " a.example , b.example,,")
    assert env_list("PRISM_HOSTS", ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv("PRISM_HOSTS")
    assert env_list("PRISM_HOSTS", ["x"]) == ["x"]


def test_env_secret_reads_the_value_or_the_file_named_by_NAME_FILE(monkeypatch, tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("from-a-file\n")
    monkeypatch.delenv("PRISM_TOKEN", raising=False)
    monkeypatch.delenv("PRISM_TOKEN_FILE", raising=False)
    assert env_secret("PRISM_TOKEN") == ""
    monkeypatch.setenv("PRISM_TOKEN_FILE", str(secret_file))
    assert env_secret("PRISM_TOKEN") == "from-a-file"  # stripped of the trailing newline
    monkeypatch.setenv("PRISM_TOKEN", "direct")
    assert env_secret("PRISM_TOKEN") == "direct"  # the variable itself wins


def test_persistent_secret_key_is_generated_once_and_reused(tmp_path):
    path = tmp_path / "secret_key"
    first = persistent_secret_key(path, required=False)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # only the owner may read it
    assert persistent_secret_key(path, required=False) == first
    assert persistent_secret_key(tmp_path / "another", required=False) != first


def test_persistent_secret_key_is_refused_in_production(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        persistent_secret_key(tmp_path / "secret_key", required=True)
    assert not (tmp_path / "secret_key").exists()


# --- settings.py in a fresh process, as a server starts ---------------------------------------------

SHOW_SETTINGS = """
import json
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "broker": s.CELERY_BROKER_URL,
    "broker_options": getattr(s, "CELERY_BROKER_TRANSPORT_OPTIONS", None),
    "media": str(s.MEDIA_ROOT), "debug": s.DEBUG, "secret_key": s.SECRET_KEY,
}))
"""


def settings_with(tmp_path, **env):
    """settings.py evaluated in a subprocess with only these variables (and a private data dir)."""
    clean = {k: v for k, v in os.environ.items() if k not in {
        "DATABASE_URL", "CELERY_BROKER_URL", "PRISM_PRODUCTION", "SECRET_KEY", "SECRET_KEY_FILE", "DEBUG"}}
    clean.update(DJANGO_SETTINGS_MODULE="playground.settings", PRISM_DATA_DIR=str(tmp_path / "data"), **env)
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        return result
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_embedded_default_is_sqlite_and_a_filesystem_broker_in_the_data_dir(tmp_path):
    s = settings_with(tmp_path)
    data = tmp_path / "data"
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(data / "prism.sqlite3")
    assert s["broker"] == "filesystem://"
    assert s["broker_options"]["data_folder_in"] == str(data / "broker" / "queue")
    assert (data / "broker" / "queue").is_dir()
    assert s["media"] == str(data / "media")
    assert s["debug"] is False
    # A secret key was made once and kept for the next start.
    assert (data / "secret_key").read_text().strip() == s["secret_key"]
    assert settings_with(tmp_path)["secret_key"] == s["secret_key"]


def test_team_scale_uses_DATABASE_URL_and_CELERY_BROKER_URL(tmp_path):
    s = settings_with(
        tmp_path, DATABASE_URL="postgres://prism:pw@db.internal:5432/prism", CELERY_BROKER_URL="redis://cache:6379/0"
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["host"]) == ("prism", "db.internal")
    assert s["broker"] == "redis://cache:6379/0"
    assert s["broker_options"] is None  # the filesystem folders only apply to the filesystem broker
    assert not (tmp_path / "data" / "broker").exists()


STRONG_KEY = "pR1sm-" + "x7Kq2vLm9TzB4wYc" * 4
FERNET_KEY = "x" * 43 + "="


def test_production_requires_a_secret_key(tmp_path):
    refused = settings_with(tmp_path, PRISM_PRODUCTION="True")
    assert refused.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in refused.stderr
    key_file = tmp_path / "key"
    key_file.write_text(STRONG_KEY)
    no_encryption_key = settings_with(tmp_path, PRISM_PRODUCTION="True", SECRET_KEY_FILE=str(key_file))
    assert "PRISM_ENCRYPTION_KEY must be set" in no_encryption_key.stderr
    production = settings_with(tmp_path, PRISM_PRODUCTION="True", SECRET_KEY_FILE=str(key_file),
                               PRISM_ENCRYPTION_KEY=FERNET_KEY)
    assert production["secret_key"] == STRONG_KEY


def test_a_typo_in_a_boolean_stops_the_server_from_starting(tmp_path):
    refused = settings_with(tmp_path, DEBUG="ture")
    assert refused.returncode != 0
    assert "DEBUG must be True or False, not 'ture'" in refused.stderr


@pytest.mark.parametrize("key, reason", [
    ("Short-but-varied-key-0123456789", "fewer than 50"),
    ("ab" * 40, "fewer than 5 different characters"),
    ("django-insecure-" + "x7Kq2vLm9TzB4wYc" * 4, "django-insecure-"),
])
def test_production_refuses_a_weak_secret_key(tmp_path, key, reason):
    refused = settings_with(tmp_path, PRISM_PRODUCTION="True", SECRET_KEY=key, PRISM_ENCRYPTION_KEY=FERNET_KEY)
    assert refused.returncode != 0
    assert "SECRET_KEY is too weak for PRISM_PRODUCTION=True" in refused.stderr and reason in refused.stderr
    assert key not in refused.stderr  # the key itself is never printed


def test_production_refuses_debug(tmp_path):
    refused = settings_with(tmp_path, PRISM_PRODUCTION="True", SECRET_KEY=STRONG_KEY, PRISM_ENCRYPTION_KEY=FERNET_KEY,
                            DEBUG="True")
    assert refused.returncode != 0
    assert "DEBUG=True is not allowed when PRISM_PRODUCTION=True" in refused.stderr
    assert settings_with(tmp_path, DEBUG="True")["debug"] is True  # still fine for development


# The production settings README.md gives ("Running in production"): check --deploy must pass.
PRODUCTION_ENV = {
    "PRISM_PRODUCTION": "True", "SECRET_KEY": STRONG_KEY, "PRISM_ENCRYPTION_KEY": FERNET_KEY,
    "ALLOWED_HOSTS": "prism.example.com", "CSRF_TRUSTED_ORIGINS": "https://prism.example.com",
    "BEHIND_TLS_PROXY": "True", "SECURE_SSL_REDIRECT": "True", "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True", "SECURE_HSTS_PRELOAD": "True",
}


def manage(tmp_path, *args, **env):
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' conftest, never in a deployment.
    clean = {k: v for k, v in os.environ.items() if k not in {
        "DATABASE_URL", "CELERY_BROKER_URL", "PRISM_PRODUCTION", "SECRET_KEY", "SECRET_KEY_FILE", "DEBUG",
        "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    clean.update(DJANGO_SETTINGS_MODULE="playground.settings", PRISM_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_the_readme_production_settings_pass_check_deploy(tmp_path):
    readme = (ROOT / "README.md").read_text()
    for name, value in PRODUCTION_ENV.items():  # the README block and this test say the same
        if name not in ("SECRET_KEY", "PRISM_ENCRYPTION_KEY"):
            assert f"{name}={value}" in readme, name
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without HSTS the same check fails: it really looks at the settings.
    without_hsts = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("SECURE_HSTS")}
    failed = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **without_hsts)
    assert failed.returncode != 0 and "security.W004" in failed.stdout + failed.stderr


SHOW_DB_MODES = """
import os, stat
os.umask(0o022)  # the usual umask: what SQLite alone would create world-readable
import django
django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("CREATE TABLE t (x)")
    c.execute("INSERT INTO t VALUES (1)")
    name = connection.settings_dict["NAME"]
    for p in (name, name + "-wal", name + "-shm"):
        print(p, oct(stat.S_IMODE(os.stat(p).st_mode)))
"""


def test_the_sqlite_database_and_its_wal_files_are_owner_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PRISM_PRODUCTION", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="playground.settings", PRISM_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-c", SHOW_DB_MODES], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    modes = dict(line.split() for line in result.stdout.strip().splitlines())
    assert set(modes) == {str(tmp_path / "data" / f"prism.sqlite3{s}") for s in ("", "-wal", "-shm")}
    assert set(modes.values()) == {"0o600"}, modes


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for suffix in ("", "-wal"):
        (data / f"prism.sqlite3{suffix}").touch()
        os.chmod(data / f"prism.sqlite3{suffix}", 0o644)
    settings_with(tmp_path)
    for suffix in ("", "-wal"):
        assert stat.S_IMODE((data / f"prism.sqlite3{suffix}").stat().st_mode) == 0o600
