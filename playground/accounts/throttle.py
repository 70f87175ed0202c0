"""Login throttling with django-axes: the client address it counts, and the lockout page.

Failures are counted per address and per username (settings: AXES_*); a locked-out login gets
Prism's own login page with the reason, HTTP 429.
"""

import ipaddress
import math

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address a trusted proxy put in PRISM_CLIENT_IP_HEADER.

    A header is trusted only when the operator names it: anyone can send X-Forwarded-For, so by
    default a client could otherwise pick a fresh address for every guess. In a list
    (X-Forwarded-For) the right-most entry is the one the proxy next to Prism added."""
    header = settings.PRISM_CLIENT_IP_META
    if header:
        value = request.META.get(header, "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass  # missing or garbage: the connection's address, never the header's text
    return request.META.get("REMOTE_ADDR")


# AccessAttempt.username is a varchar(255): a longer name typed at a login page was a 500 on
# PostgreSQL (SQLite does not enforce the length). No real username is that long (Django's is
# at most 150), so cutting there never merges two accounts' failures.
AXES_USERNAME_LENGTH = 255


def client_username(request, credentials=None) -> str | None:
    """The username a login tried, as axes counts it: NUL removed (PostgreSQL refuses it), cut to fit."""
    source = credentials if credentials else getattr(request, "POST", {})
    name = source.get(settings.AXES_USERNAME_FORM_FIELD) if source else None
    if name is None:
        return None
    return str(name).replace("\x00", "")[:AXES_USERNAME_LENGTH]


def lockout_message(request) -> str:
    minutes = max(1, math.ceil(get_cool_off(request).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins for this account or address. Try again in {minutes} {unit}."


def lockout_response(request, original_response=None, credentials=None):
    """The login page (also for the admin's login) with the reason, not axes' plain text."""
    context = {"form": AuthenticationForm(request), "lockout_message": lockout_message(request),
               "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/login.html", context, status=429)


def reset_own_failures(sender, request, user, **kwargs):
    """A successful login forgets this user's failures from this address, and only those.

    Axes' own AXES_RESET_ON_SUCCESS deletes every failure matching any lockout parameter, so
    logging in to one's own account from an address would also wipe the failures that address
    ran up against other accounts, and guessing could go on without end."""
    if request is None:
        return
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=get_client_ip_address(request)).delete()
