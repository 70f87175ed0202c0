"""API keys: write-only in the UI, encrypted at rest, rotatable, or read from the environment;
never in a page, the database in clear, a repr, a log line or an error report."""

import logging
import re

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import ExceptionReporter

from playground.catalog import secrets, services
from playground.catalog.forms import ProviderForm
from playground.catalog.models import Provider
from playground.lib.env import parse_env_keys
from tests.database_text import database_text
from tests.factories import make_provider

KEY = "sk-proj-Zq8xN3vT7cW1rLm5Ks9Hd2Fb6Yp4Jg0A"  # made up; long enough to be unmistakable
OTHER_KEY = "sk-ant-api03-Uu7Tt6Rr5Ee4Ww3Qq2Pp1Oo0"


def form_data(**overrides):
    data = {"name": "OpenAI", "protocol": "chat", "base_url": "https://api.openai.com/v1", "api_version": "",
            "key_source": "stored", "api_key": KEY, "api_key_env": "", "max_concurrency": "8", "timeout_s": "120",
            "notes": ""}
    data.update(overrides)
    return data


def create(owner_client, **overrides) -> Provider:
    response = owner_client.post(reverse("catalog:create"), form_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Provider.objects.get(name=overrides.get("name", "OpenAI"))


# --- pages ------------------------------------------------------------------------------------------


def test_a_saved_key_appears_on_no_page(owner_client, team):
    provider = create(owner_client)
    pages = [
        reverse("catalog:list"),
        reverse("catalog:detail", args=[provider.pk]),
        reverse("catalog:edit", args=[provider.pk]),
        reverse("catalog:delete", args=[provider.pk]),
        reverse("accounts:team"),
    ]
    for url in pages:
        page = owner_client.get(url).content.decode()
        assert KEY not in page, url
        assert KEY[-8:] not in page, url  # not even its tail
        assert provider.api_key_encrypted not in page, url
    assert provider.api_key() == KEY


def test_the_key_input_is_always_empty(owner_client):
    provider = create(owner_client)
    page = owner_client.get(reverse("catalog:edit", args=[provider.pk])).content.decode()
    field = re.search(r'<input type="password" name="api_key"[^>]*>', page).group(0)
    assert "value=" not in field
    assert "Leave empty to keep the stored key" in page


@pytest.mark.parametrize(
    "invalid",
    [
        {"base_url": "not a url"},
        {"name": ""},
        {"protocol": "messages", "api_version": "tomorrow"},
        {"max_concurrency": "-1"},
        {"remove_key": "on"},
    ],
)
def test_a_form_with_errors_does_not_echo_the_key(owner_client, invalid):
    existing = create(owner_client, name="Existing")  # so "remove the stored key" exists on its edit form
    urls = [reverse("catalog:edit", args=[existing.pk])]
    if "remove_key" not in invalid:  # a new provider has no stored key to remove
        urls.append(reverse("catalog:create"))
    for url in urls:
        response = owner_client.post(url, form_data(**{"name": "Other", **invalid}))
        page = response.content.decode()
        assert response.status_code == 200
        assert "Please check the fields" in page
        assert KEY not in page
        assert "type the key again" in page


def test_a_key_pasted_into_the_variable_name_is_not_echoed(owner_client):
    response = owner_client.post(reverse("catalog:create"), form_data(key_source="env", api_key="", api_key_env=KEY))
    page = response.content.decode()
    assert "Choose one of the variables the operator granted" in page
    assert KEY not in page
    assert not Provider.objects.exists()


def test_a_key_with_spaces_is_refused_without_repeating_it(owner_client):
    response = owner_client.post(reverse("catalog:create"), form_data(api_key="sk-abc def-ghi-jkl-mno"))
    page = response.content.decode()
    assert "printable characters without spaces" in page
    assert "def-ghi-jkl-mno" not in page


# --- storage ---------------------------------------------------------------------------------------------


def test_the_key_is_stored_only_encrypted(owner_client):
    provider = create(owner_client)
    text = database_text()
    assert KEY not in text
    assert provider.api_key_encrypted in text and provider.api_key_encrypted.startswith("gAAAA")  # a Fernet token
    assert secrets.decrypt(provider.api_key_encrypted) == KEY


def test_repr_and_str_do_not_show_the_key(owner_client):
    provider = create(owner_client)
    for text in (repr(provider), str(provider), repr(Provider.objects.all()), repr(services.key_status(provider)),
                 repr(ProviderForm(instance=provider, team=provider.team))):
        assert KEY not in text and provider.api_key_encrypted not in text


def test_editing_without_a_key_keeps_the_stored_one(owner_client):
    provider = create(owner_client)
    token, updated = provider.api_key_encrypted, provider.key_updated_at
    owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key="", notes="changed"))
    provider.refresh_from_db()
    assert provider.notes == "changed"
    assert provider.api_key_encrypted == token and provider.key_updated_at == updated
    assert provider.api_key() == KEY


def test_a_new_key_replaces_the_old_one(owner_client):
    provider = create(owner_client)
    owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key=OTHER_KEY))
    provider.refresh_from_db()
    assert provider.api_key() == OTHER_KEY


def test_the_stored_key_can_be_removed(owner_client):
    provider = create(owner_client)
    page = owner_client.get(reverse("catalog:edit", args=[provider.pk])).content.decode()
    assert "Remove the stored key" in page
    owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key="", remove_key="on"))
    provider.refresh_from_db()
    assert provider.api_key_encrypted == "" and provider.key_updated_at is None
    assert services.key_status(provider).text == "no key"
    with pytest.raises(secrets.KeyUnavailable):
        provider.api_key()


def test_switching_to_an_environment_variable_drops_the_stored_key(owner_client, monkeypatch, settings):
    provider = create(owner_client)
    settings.PRISM_ENV_KEYS = parse_env_keys("FAKE_TEST_KEY=api.openai.com@*")
    monkeypatch.setenv("FAKE_TEST_KEY", OTHER_KEY)
    response = owner_client.post(reverse("catalog:edit", args=[provider.pk]),
                                 form_data(api_key="", key_source="env", api_key_env="FAKE_TEST_KEY"))
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.api_key_encrypted == ""
    assert provider.api_key() == OTHER_KEY
    assert KEY not in database_text()


def test_switching_to_no_key_drops_the_stored_key(owner_client):
    provider = create(owner_client)
    owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key="", key_source="none"))
    provider.refresh_from_db()
    assert provider.api_key_encrypted == "" and provider.api_key() == ""


# --- environment variables -----------------------------------------------------------------------------------


def test_an_env_key_is_read_from_the_environment_when_sent(team, monkeypatch, settings):
    settings.PRISM_ENV_KEYS = parse_env_keys(f"FAKE_TEST_KEY=api.openai.com@{team.slug}")
    provider = make_provider(team, name="Env", base_url="https://api.openai.com/v1", key_source="env",
                             api_key_env="FAKE_TEST_KEY")
    monkeypatch.delenv("FAKE_TEST_KEY", raising=False)
    assert not provider.has_key
    assert services.key_status(provider).text == "from $FAKE_TEST_KEY: missing"
    with pytest.raises(secrets.KeyUnavailable, match="FAKE_TEST_KEY is not set"):
        provider.api_key()
    monkeypatch.setenv("FAKE_TEST_KEY", KEY)
    assert provider.api_key() == KEY
    assert services.key_status(provider) == services.KeyStatus("from $FAKE_TEST_KEY: set", True)
    assert KEY not in database_text()


# --- encryption and rotation -------------------------------------------------------------------------------------


def test_encryption_round_trip_uses_a_fresh_token_each_time(settings):
    settings.PRISM_ENCRYPTION_KEY = Fernet.generate_key().decode()
    first, second = secrets.encrypt(KEY), secrets.encrypt(KEY)
    assert first != second and KEY not in first
    assert secrets.decrypt(first) == secrets.decrypt(second) == KEY


def test_without_a_dedicated_key_one_is_derived_from_the_secret_key(settings):
    settings.PRISM_ENCRYPTION_KEY = ""
    token = secrets.encrypt(KEY)
    assert secrets.decrypt(token) == KEY
    settings.SECRET_KEY = "a-different-secret-key-for-this-test"
    with pytest.raises(secrets.KeyUnavailable, match="Enter the key again"):
        secrets.decrypt(token)


def test_keys_rotate_with_old_keys_listed_second(team, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PRISM_ENCRYPTION_KEY = old
    provider = services.apply_preset(team=team, key="openai", api_key=KEY)
    untouched = make_provider(team, name="Env", base_url="https://x.example/v1", key_source="env", api_key_env="X")

    settings.PRISM_ENCRYPTION_KEY = f"{new}, {old}"  # newest first; spaces are forgiven
    provider.refresh_from_db()
    assert provider.api_key() == KEY  # old tokens still read
    assert secrets.decrypt(secrets.encrypt("x")) == "x"
    assert Fernet(new.encode()).decrypt(secrets.encrypt("x").encode()) == b"x"  # new tokens use the new key

    assert services.reencrypt_stored_keys() == 1
    settings.PRISM_ENCRYPTION_KEY = new  # the old key can go
    provider.refresh_from_db()
    assert provider.api_key() == KEY
    untouched.refresh_from_db()
    assert untouched.api_key_encrypted == ""


def test_a_key_that_no_longer_decrypts_says_what_to_do(team, settings):
    settings.PRISM_ENCRYPTION_KEY = Fernet.generate_key().decode()
    provider = services.apply_preset(team=team, key="anthropic", api_key=KEY)
    settings.PRISM_ENCRYPTION_KEY = Fernet.generate_key().decode()
    provider.refresh_from_db()
    with pytest.raises(secrets.KeyUnavailable) as raised:
        provider.api_key()
    assert "Enter the key again" in str(raised.value) and KEY not in str(raised.value)
    assert services.reencrypt_stored_keys() == 0  # left as it is


# --- logs and error reports -----------------------------------------------------------------------------------------


def test_the_key_is_not_logged(owner_client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")  # settings quiet it to WARNING
    with CaptureQueriesContext(connection):  # SQL is logged (as with DEBUG=True), parameters included
        provider = create(owner_client)
        owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key=OTHER_KEY, base_url="bad"))
        owner_client.post(reverse("catalog:edit", args=[provider.pk]), form_data(api_key=OTHER_KEY))
        owner_client.get(reverse("catalog:list"))
    assert any("catalog_provider" in record.getMessage() for record in caplog.records)  # SQL was captured
    for secret in (KEY, OTHER_KEY):
        assert secret not in caplog.text


def test_an_error_report_shows_stars_for_the_key(owner_client, caplog, settings, monkeypatch):
    settings.DEBUG = False

    def broken_encrypt(plaintext: str) -> str:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(secrets, "encrypt", broken_encrypt)
    owner_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    response = owner_client.post(reverse("catalog:create"), form_data())
    assert response.status_code == 500
    assert KEY not in response.content.decode()

    record = next(r for r in caplog.records if r.name == "django.request" and r.exc_info)
    assert KEY not in caplog.text
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    assert "the disk is full" in text
    assert KEY not in text and KEY not in html
    assert "********************" in text  # the POST value and the frames' variables are starred

    # The same report with the filter off (DEBUG=True) would show it: the stars are the filter's work.
    settings.DEBUG = True
    assert KEY in ExceptionReporter(record.request, *record.exc_info).get_traceback_text()


def test_the_admin_shows_neither_the_key_nor_its_ciphertext(client, owner_client, team):
    from django.contrib.auth import get_user_model

    provider = create(owner_client)
    admin = get_user_model().objects.create_superuser("root", password="x")
    client.force_login(admin)
    page = client.get(reverse("admin:catalog_provider_change", args=[provider.pk])).content.decode()
    assert "stored, set" in page
    assert KEY not in page and provider.api_key_encrypted not in page


def test_a_stored_key_is_not_carried_to_another_server(owner_client):
    provider = create(owner_client)
    url = reverse("catalog:edit", args=[provider.pk])
    moved = owner_client.post(url, form_data(api_key="", base_url="https://collector.example/v1"))
    assert "points to another server: type the key again" in moved.content.decode()
    provider.refresh_from_db()
    assert provider.base_url == "https://api.openai.com/v1" and provider.api_key() == KEY

    # Another path on the same server keeps the key; a new key or no key at all may go anywhere.
    owner_client.post(url, form_data(api_key="", base_url="https://api.openai.com/v2"))
    provider.refresh_from_db()
    assert provider.base_url == "https://api.openai.com/v2" and provider.api_key() == KEY
    owner_client.post(url, form_data(api_key=OTHER_KEY, base_url="https://eu.api.openai.com/v1"))
    provider.refresh_from_db()
    assert provider.base_url == "https://eu.api.openai.com/v1" and provider.api_key() == OTHER_KEY
    owner_client.post(url, form_data(api_key="", remove_key="on", base_url="http://localhost:8000/v1"))
    provider.refresh_from_db()
    assert provider.base_url == "http://localhost:8000/v1" and provider.api_key_encrypted == ""
