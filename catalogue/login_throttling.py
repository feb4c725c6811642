"""Login throttling, on top of django-axes: the client address behind a reverse proxy, and a
second, higher failure limit per address.

Axes counts failures per (username, address) — AXES_LOCKOUT_PARAMETERS in settings.py — with one
limit for every parameter set. A client trying many usernames from one address would then get
five guesses per username; the per-address limit (LOGIN_FAILURE_LIMIT_PER_ADDRESS) stops it.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Sum
from django.shortcuts import render


def _parse(address: str):
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip_address(request) -> str | None:
    """The address a login attempt is counted under.

    The peer address (REMOTE_ADDR), unless the peer is one of TRUSTED_PROXIES: then the
    X-Forwarded-For header is read from the right, skipping the trusted proxies, and the first
    other address is the client. Entries further left were written by the client itself and are
    never read, so nobody can pick the address their failures are counted under.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    networks = settings.TRUSTED_PROXIES
    if not _is_trusted(_parse(remote), networks):
        return remote or None
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Not written by a proxy of ours: count the attempt under the proxy's address.
            return remote
        if not _is_trusted(address, networks):
            return str(address)
    return str(_parse(hops[0])) if hops else remote


class LoginThrottlingHandler(AxesDatabaseHandler):
    """Axes' database handler, plus a lockout of an address after
    LOGIN_FAILURE_LIMIT_PER_ADDRESS failures within the cool-off, whatever the usernames.

    `get_failures` is where axes reads the failure count, both before authenticating (is the
    client locked?) and after a failure (does this one lock it?): reporting the account limit
    when the address has reached its own limit locks the address in both places. One more
    query (an aggregate over the address's attempts) per check.
    """

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures >= limit:
            return failures
        per_address = (
            AccessAttempt.objects.filter(
                ip_address=request.axes_ip_address,
                attempt_time__gte=get_cool_off_threshold(request),
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        if per_address >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS:
            return limit
        return failures


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page, in the admin's look, with status 429 (Too Many Requests)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "admin/login_locked_out.html",
        {
            "cooloff_minutes": minutes,
            "site_header": admin.site.site_header,
            "site_title": admin.site.site_title,
            "title": "Connexion temporairement bloquée",
        },
        status=429,
    )
