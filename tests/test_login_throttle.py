"""Login throttling (django-axes): per address and per username, on Prism's login page and the
admin's, with Prism's own page and HTTP 429; a cool-off that ends; a success that resets."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.factories import make_user

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
MESSAGE = "Too many failed sign-ins for this account or address. Try again in 15 minutes."


@pytest.fixture
def staff(db):
    return make_user(username="root", password=PASSWORD, is_staff=True, is_superuser=True)


def attempt(client, url, username, password, ip="10.0.0.1", **extra):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and "/login/" not in response.url


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_six_wrong_passwords_then_the_right_one_is_refused(client, staff, url):
    for _ in range(6):
        response = attempt(client, url, "root", "wrong")
    assert response.status_code == 429

    response = attempt(client, url, "root", PASSWORD)
    assert response.status_code == 429 and not logged_in(response)
    page = response.content.decode()
    assert MESSAGE in page
    assert "Log in to Prism" in page  # Prism's own page, with the form to try again later
    assert "_auth_user_id" not in client.session
    # Another address is refused for that account too (a distributed attack on one account).
    assert attempt(client, url, "root", PASSWORD, ip="10.0.0.99").status_code == 429


def test_the_failures_below_the_limit_are_plain_wrong_passwords(client, user):
    for _ in range(4):
        response = attempt(client, LOGIN, user.username, "wrong")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password))


def test_one_address_trying_many_accounts_is_stopped(client, user, other_user):
    for n in range(5):
        attempt(client, LOGIN, f"guess{n}", "wrong")
    # Another user from the same address, with the right password: refused after the address limit.
    response = attempt(client, LOGIN, other_user.username, other_user.raw_password)
    assert response.status_code == 429 and MESSAGE in response.content.decode()
    # The same user from elsewhere is not affected.
    assert logged_in(attempt(client, LOGIN, other_user.username, other_user.raw_password, ip="10.0.0.2"))


def test_x_forwarded_for_is_not_trusted_by_default(client, user):
    for n in range(5):
        attempt(client, LOGIN, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = attempt(client, LOGIN, user.username, user.raw_password, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_a_configured_proxy_header_gives_the_client_address(client, user, settings):
    settings.PRISM_CLIENT_IP_META = "HTTP_X_FORWARDED_FOR"
    for n in range(5):  # one proxy (10.0.0.1) in front: each guess from the same client address
        attempt(client, LOGIN, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7")
    assert attempt(client, LOGIN, user.username, user.raw_password,
                   HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another client behind the same proxy is not locked out; its left-most (spoofable) entry is ignored.
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password,
                             HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5"))


def test_the_lockout_ends_after_the_cool_off(client, user):
    for _ in range(5):
        attempt(client, LOGIN, user.username, "wrong")
    assert attempt(client, LOGIN, user.username, user.raw_password).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert attempt(client, LOGIN, user.username, user.raw_password).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password))


def test_the_limit_and_cool_off_come_from_settings(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    for _ in range(2):
        attempt(client, LOGIN, user.username, "wrong")
    response = attempt(client, LOGIN, user.username, user.raw_password)
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()


def test_a_successful_login_resets_only_its_own_failures(client, user, other_user):
    for _ in range(4):
        attempt(client, LOGIN, user.username, "wrong")
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password))
    client.post(reverse("accounts:logout"))
    for _ in range(4):  # four more: not locked out, the earlier four were forgotten
        assert attempt(client, LOGIN, user.username, "wrong").status_code == 200
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password))
    client.post(reverse("accounts:logout"))

    # Logging in to one's own account does not wipe the failures against another one.
    for _ in range(4):
        attempt(client, LOGIN, other_user.username, "wrong", ip="10.0.0.7")
    assert logged_in(attempt(client, LOGIN, user.username, user.raw_password, ip="10.0.0.7"))
    client.post(reverse("accounts:logout"))
    assert attempt(client, LOGIN, other_user.username, "wrong", ip="10.0.0.7").status_code == 429


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_a_very_long_or_nul_username_is_counted_not_a_500(client, db, url):
    """AccessAttempt.username is varchar(255): a 5,000-character name was a 500 on PostgreSQL."""
    for name in ("x" * 5000, "ro\x00ot"):
        response = attempt(client, url, name, "wrong")
        assert response.status_code == 200, (name[:10], response.status_code)
    counted = set(AccessAttempt.objects.values_list("username", flat=True))
    assert "x" * 255 in counted  # the form refuses a NUL before any password is checked
