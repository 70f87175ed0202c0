"""Environment keys are granted by the operator (PRISM_ENV_KEYS), per team and host, never named by
a team: the form offers only the team's grants, sending checks the grant against the URL it goes
to, Prism's own settings can never be granted, and nothing tells an ungranted variable's existence."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from playground.catalog import secrets, services
from playground.catalog.models import Provider
from playground.lib.env import ConfigError, parse_env_keys
from playground.runs.preflight import key_problem
from tests.factories import make_provider

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "sk-granted-Zq8xN3vT7cW1rLm5Ks9Hd2Fb6Yp4"
NOT_GRANTED = "not granted to your team by the operator"


@pytest.fixture
def grants(settings, team, other_team):
    settings.PRISM_ENV_KEYS = parse_env_keys(
        f"FAKE_OPENAI_KEY=api.openai.com,eu.api.openai.com@{team.slug};"
        f"OTHER_TEAM_KEY=api.openai.com@{other_team.slug};SHARED_ANTHROPIC_KEY=api.anthropic.com@*"
    )
    return settings.PRISM_ENV_KEYS


def form_data(**overrides):
    data = {"name": "OpenAI", "protocol": "chat", "base_url": "https://api.openai.com/v1", "api_version": "",
            "key_source": "env", "api_key": "", "api_key_env": "FAKE_OPENAI_KEY", "max_concurrency": "8",
            "timeout_s": "120", "notes": ""}
    data.update(overrides)
    return data


def env_provider(team, name="FAKE_OPENAI_KEY", base_url="https://api.openai.com/v1") -> Provider:
    return make_provider(team, name=f"Env {name}", base_url=base_url, key_source="env", api_key_env=name)


# --- the setting -------------------------------------------------------------------------------------


def test_grants_parse_names_hosts_and_teams():
    a, b = parse_env_keys(" OPENAI_API_KEY=api.openai.com@* ;\nANTHROPIC_API_KEY=API.Anthropic.com.,[::1]@research,#4;")
    assert (a.name, a.hosts, a.teams) == ("OPENAI_API_KEY", {"api.openai.com"}, {"*"})
    assert (b.name, b.hosts, b.teams) == ("ANTHROPIC_API_KEY", {"api.anthropic.com", "::1"}, {"research", "#4"})
    assert b.allows_team(4, "other") and b.allows_team(9, "research") and not b.allows_team(9, "ml")
    assert parse_env_keys("") == ()


@pytest.mark.parametrize("value, message", [
    ("OPENAI_API_KEY", "expected NAME=host"),
    ("openai_key=api.openai.com@*", "capitals, digits and underscores"),
    ("OPENAI_API_KEY=api.openai.com", "say which teams may use it after '@'"),
    ("OPENAI_API_KEY=@*", "name the host(s)"),
    ("OPENAI_API_KEY=api.openai.com@", "name the teams"),
    ("OPENAI_API_KEY=https://api.openai.com@*", "host 1 is a URL"),
    ("OPENAI_API_KEY=*.openai.com@*", "host 1 has a wildcard"),
    ("OPENAI_API_KEY=api.openai.com:443@*", "host 1 has a port"),
    ("OPENAI_API_KEY=api.openai.com,bad_host!@*", "host 2 is not a host name"),
    ("OPENAI_API_KEY=api.openai.com@team one", "team 1 is not a slug, #id or *"),
    ("SECRET_KEY=evil.example@*", "SECRET_KEY is one of Prism's own settings"),
    ("PRISM_ENCRYPTION_KEY=evil.example@*", "one of Prism's own settings"),
    ("DATABASE_URL=evil.example@*", "one of Prism's own settings"),
    ("CELERY_BROKER_URL=evil.example@*", "one of Prism's own settings"),
    ("MAX_UPLOAD_MB=evil.example@*", "one of Prism's own settings"),  # read by settings.py, by name
])
def test_a_malformed_or_forbidden_grant_is_refused_with_a_clear_message(value, message):
    with pytest.raises(ConfigError, match="PRISM_ENV_KEYS") as refused:
        parse_env_keys(f"GOOD_KEY=api.example.com@*;{value}")
    assert message in str(refused.value)
    assert "grant 2" in str(refused.value)


def test_a_refusal_never_quotes_the_value_a_key_pasted_by_mistake_stays_out_of_logs():
    with pytest.raises(ConfigError) as refused:
        parse_env_keys(f"OPENAI_API_KEY={KEY}")
    assert KEY not in str(refused.value)


def run_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PRISM_ENV_KEYS", "DATABASE_URL", "CELERY_BROKER_URL")}
    clean.update(DJANGO_SETTINGS_MODULE="playground.settings", **env)
    code = "import django; django.setup(); print('started')"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_prism_refuses_to_start_with_a_forbidden_grant(tmp_path):
    data = str(tmp_path / "data")
    assert "started" in run_check(PRISM_DATA_DIR=data, PRISM_ENV_KEYS="OPENAI_API_KEY=api.openai.com@*").stdout
    refused = run_check(PRISM_DATA_DIR=data, PRISM_ENV_KEYS="SECRET_KEY=evil.example@*")
    assert refused.returncode != 0 and "SECRET_KEY is one of Prism's own settings" in refused.stderr
    # LOG_LEVEL is read after PRISM_ENV_KEYS in settings.py and matches no pattern: refused once all are read.
    late = run_check(PRISM_DATA_DIR=data, PRISM_ENV_KEYS="LOG_LEVEL=evil.example@*")
    assert late.returncode != 0 and "LOG_LEVEL is one of Prism's own settings" in late.stderr


# --- the form --------------------------------------------------------------------------------------


def test_the_form_offers_only_the_teams_grants_as_a_select(owner_client, grants):
    page = owner_client.get(reverse("catalog:create")).content.decode()
    assert '<select name="api_key_env"' in page
    assert "FAKE_OPENAI_KEY (api.openai.com, eu.api.openai.com)" in page
    assert "SHARED_ANTHROPIC_KEY (api.anthropic.com)" in page
    assert "OTHER_TEAM_KEY" not in page  # another team's grant


def test_without_grants_the_form_says_to_store_the_key(owner_client, settings):
    settings.PRISM_ENV_KEYS = ()
    page = owner_client.get(reverse("catalog:create")).content.decode()
    assert "granted no environment variable to this team" in page
    response = owner_client.post(reverse("catalog:create"), form_data(api_key_env=""))
    assert "granted no environment variable to this team" in response.content.decode()
    assert not Provider.objects.exists()


@pytest.mark.parametrize("name", ["SECRET_KEY", "PRISM_ENCRYPTION_KEY", "DATABASE_URL", "OTHER_TEAM_KEY", "HOME"])
def test_a_variable_that_is_not_granted_cannot_be_named(owner_client, grants, monkeypatch, name):
    monkeypatch.setenv("OTHER_TEAM_KEY", "sk-other-teams-key-000000")
    response = owner_client.post(reverse("catalog:create"), form_data(api_key_env=name,
                                                                      base_url="https://collector.example/v1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose one of the variables the operator granted to this team" in page
    assert f'value="{name}"' not in page
    assert not Provider.objects.exists()


def test_a_granted_variable_is_bound_to_its_hosts(owner_client, grants):
    refused = owner_client.post(reverse("catalog:create"), form_data(base_url="https://collector.example/v1"))
    assert "granted FAKE_OPENAI_KEY to your team for api.openai.com, eu.api.openai.com only, not for collector.example" \
        in refused.content.decode()
    assert not Provider.objects.exists()

    assert owner_client.post(reverse("catalog:create"), form_data()).status_code == 302
    provider = Provider.objects.get()
    assert provider.api_key_env == "FAKE_OPENAI_KEY"
    edit = reverse("catalog:edit", args=[provider.pk])
    moved = owner_client.post(edit, form_data(base_url="http://collector.example:8080/v1"))
    assert "not for collector.example" in moved.content.decode()
    assert owner_client.post(edit, form_data(base_url="https://eu.api.openai.com/v1")).status_code == 302


# --- reading, sending, and what pages say ---------------------------------------------------------------


def test_a_granted_key_is_read_only_for_its_team_and_hosts(team, other_team, grants, monkeypatch):
    monkeypatch.setenv("FAKE_OPENAI_KEY", KEY)
    provider = env_provider(team)
    assert provider.has_key and provider.api_key() == KEY
    assert provider.api_key("https://eu.api.openai.com/v1/chat/completions") == KEY
    assert services.key_status(provider) == services.KeyStatus("from $FAKE_OPENAI_KEY: set", True)

    # The URL actually sent to decides: a request made for another host gets no key.
    with pytest.raises(secrets.KeyUnavailable, match="not for collector.example"):
        provider.api_key("https://collector.example/v1/chat/completions")
    # A base URL changed behind the form's back (the admin, a shell) stops the key too.
    Provider.objects.filter(pk=provider.pk).update(base_url="https://collector.example/v1")
    provider.refresh_from_db()
    assert not provider.has_key
    with pytest.raises(secrets.KeyUnavailable, match="not for collector.example"):
        provider.api_key()
    # Another team's provider naming this team's variable gets nothing.
    theirs = env_provider(other_team)
    assert not theirs.has_key
    with pytest.raises(secrets.KeyUnavailable, match=NOT_GRANTED):
        theirs.api_key()


def test_a_withdrawn_grant_stops_the_key(team, grants, settings, monkeypatch):
    monkeypatch.setenv("FAKE_OPENAI_KEY", KEY)
    provider = env_provider(team)
    assert provider.api_key() == KEY
    settings.PRISM_ENV_KEYS = parse_env_keys("SHARED_ANTHROPIC_KEY=api.anthropic.com@*")
    assert not provider.has_key
    with pytest.raises(secrets.KeyUnavailable, match=NOT_GRANTED):
        provider.api_key()


def test_a_grant_of_a_prism_setting_slipped_in_at_run_time_is_still_refused(team, settings, monkeypatch):
    from playground.lib.env import EnvKeyGrant

    settings.PRISM_ENV_KEYS = (EnvKeyGrant("SECRET_KEY", frozenset({"api.openai.com"}), frozenset({"*"})),)
    monkeypatch.setenv("SECRET_KEY", KEY)
    provider = env_provider(team, "SECRET_KEY")
    with pytest.raises(secrets.KeyUnavailable, match=NOT_GRANTED):
        provider.api_key()


@pytest.mark.parametrize("name", ["SECRET_KEY", "PRISM_ENCRYPTION_KEY", "NOT_GRANTED_BUT_SET", "NEVER_SET_ANYWHERE"])
def test_an_ungranted_variable_reads_the_same_whether_it_exists_or_not(owner_client, team, user, grants, monkeypatch,
                                                                        name):
    """A provider saved before grants existed: every page and message says "not granted", set or not."""
    monkeypatch.setenv("NOT_GRANTED_BUT_SET", KEY)
    monkeypatch.delenv("NEVER_SET_ANYWHERE", raising=False)
    provider = env_provider(team, name)
    assert not provider.has_key
    assert services.key_status(provider).text == f"from ${name}: {NOT_GRANTED}"
    with pytest.raises(secrets.KeyUnavailable) as refused:
        provider.api_key()
    assert str(refused.value) == key_problem(provider) == (
        f"The key's variable {name} is not granted to your team by the operator (PRISM_ENV_KEYS): "
        "ask them to grant it, or store a key in Prism.")
    for url in (reverse("catalog:list"), reverse("catalog:detail", args=[provider.pk]),
                reverse("catalog:edit", args=[provider.pk])):
        page = owner_client.get(url).content.decode()
        assert NOT_GRANTED in page and ": set<" not in page and ": missing<" not in page, url
        assert KEY not in page


def test_pages_of_a_set_and_an_unset_ungranted_variable_are_identical(owner_client, team, grants, monkeypatch):
    provider = env_provider(team, "SOME_SERVER_SECRET")
    urls = [reverse("catalog:list"), reverse("catalog:detail", args=[provider.pk]),
            reverse("catalog:edit", args=[provider.pk])]

    def pages():  # the CSRF token is masked afresh for every response
        return [re.sub(r"[A-Za-z0-9]{64}", "TOKEN", owner_client.get(u).content.decode()) for u in urls]

    monkeypatch.delenv("SOME_SERVER_SECRET", raising=False)
    unset = pages()
    monkeypatch.setenv("SOME_SERVER_SECRET", KEY)
    assert pages() == unset


def test_a_granted_but_unset_variable_says_so(team, grants, monkeypatch):
    monkeypatch.delenv("FAKE_OPENAI_KEY", raising=False)
    provider = env_provider(team)
    assert services.key_status(provider) == services.KeyStatus("from $FAKE_OPENAI_KEY: missing", False)
    assert "FAKE_OPENAI_KEY is not set where Prism runs" in key_problem(provider)


def test_a_stored_key_goes_only_to_its_base_urls_server_when_sent(team):
    provider = make_provider(team, name="Stored", base_url="https://api.openai.com/v1", key=KEY)
    assert provider.api_key("https://api.openai.com/v1/chat/completions") == KEY
    # e.g. re-sending a request made while the provider pointed elsewhere.
    with pytest.raises(secrets.KeyUnavailable, match="made for collector.example, but Stored now points to api.openai.com"):
        provider.api_key("https://collector.example/v1/chat/completions")
