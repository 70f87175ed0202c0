"""The bucket settings as a server reads them (settings.py in a fresh process), and the README's
team settings block passing `check --deploy`. On both passes: nothing here talks to a bucket."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from playground.lib.env import ConfigError, parse_env_keys

ROOT = Path(__file__).resolve().parent.parent.parent
STRONG_KEY = "pR1sm-" + "x7Kq2vLm9TzB4wYc" * 4
FERNET_KEY = "x" * 43 + "="
# Whatever the pass or the developer's shell set, these start unset here.
OURS = re.compile(r"^(PRISM_|AWS_|DATABASE_URL$|CELERY_BROKER_URL$|SECRET_KEY|DEBUG$|DJANGO_ALLOW_ASYNC_UNSAFE$)")

SHOW = """
import json
from django.conf import settings as s
print(json.dumps({"backend": s.STORAGES["default"]["BACKEND"], "options": s.STORAGES["default"].get("OPTIONS", {}),
                  "img": s.SECURE_CSP["img-src"], "media": s.SECURE_CSP["media-src"],
                  "cache": str(s.PRISM_MEDIA_CACHE_DIR)}))
"""


def run(tmp_path, args, **env):
    clean = {k: v for k, v in os.environ.items() if not OURS.match(k)}
    clean.update(DJANGO_SETTINGS_MODULE="playground.settings", PRISM_DATA_DIR=str(tmp_path / "data"),
                 AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, **env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def settings_with(tmp_path, **env):
    result = run(tmp_path, ["-c", SHOW], **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_embedded_default_keeps_media_in_the_local_folder(tmp_path):
    s = settings_with(tmp_path)
    assert s["backend"] == "django.core.files.storage.FileSystemStorage"
    assert s["img"] == ["'self'"] and s["media"] == ["'self'"]
    assert s["cache"] == str(tmp_path / "data" / "cache")


def test_a_bucket_is_private_with_signed_reads_and_the_csp_opens_only_for_signed_urls(tmp_path):
    bucket = dict(PRISM_S3_BUCKET="prism-media", PRISM_S3_REGION="eu-west-1", PRISM_S3_PREFIX="/team-a/")
    s = settings_with(tmp_path, **bucket)
    assert s["backend"] == "storages.backends.s3.S3Storage"
    o = s["options"]
    assert (o["bucket_name"], o["region_name"], o["location"], o["endpoint_url"]) == ("prism-media", "eu-west-1", "team-a", None)
    assert o["default_acl"] is None and o["querystring_auth"] is True and o["querystring_expire"] == 300
    assert s["img"] == ["'self'"]  # served through Prism: nothing else allowed

    signed = settings_with(tmp_path, **bucket, PRISM_S3_SIGNED_URLS="True", PRISM_S3_URL_EXPIRE_S="120")
    assert signed["options"]["querystring_expire"] == 120
    origins = ["https://prism-media.s3.amazonaws.com", "https://prism-media.s3.eu-west-1.amazonaws.com"]
    assert signed["img"] == ["'self'", *origins] and signed["media"] == ["'self'", *origins]

    minio = settings_with(tmp_path, PRISM_S3_BUCKET="media", PRISM_S3_ENDPOINT_URL="https://minio.internal:9000",
                          PRISM_S3_SIGNED_URLS="True")
    assert minio["img"] == ["'self'", "https://minio.internal:9000"]  # path style: the endpoint's origin


def test_signed_urls_without_a_bucket_refuse_to_start(tmp_path):
    result = run(tmp_path, ["-c", SHOW], PRISM_S3_SIGNED_URLS="True")
    assert result.returncode != 0 and "PRISM_S3_SIGNED_URLS=True needs PRISM_S3_BUCKET" in result.stderr


def readme_team_env() -> dict[str, str]:
    """The /etc/prism.env block of README "Running Prism for a team", with its placeholders filled."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("# /etc/prism.env", 1)[1].split("```", 1)[0]
    env = {}
    for line in block.splitlines()[1:]:
        line = line.split("#", 1)[0].strip()
        if line:
            name, value = line.split("=", 1)
            env[name] = value
    fills = {"SECRET_KEY": STRONG_KEY, "PRISM_ENCRYPTION_KEY": FERNET_KEY, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
             "AWS_SECRET_ACCESS_KEY": "example-secret"}
    return {name: fills.get(name, value.replace("…", "pw")) for name, value in env.items()}


def test_the_readme_team_settings_pass_check_deploy(tmp_path):
    env = readme_team_env()
    assert env["PRISM_S3_BUCKET"] and env["DATABASE_URL"].startswith("postgres://")

    result = run(tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_buckets_credentials_can_never_be_granted_to_teams():
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"):
        with pytest.raises(ConfigError, match="can never be granted"):
            parse_env_keys(f"{name}=api.openai.com@*")
