"""The health endpoint for load balancers: `/sante/` answers 200 when this server can reach
its database and its cache, 503 otherwise, in JSON.

A small view rather than django-health-check: two checks are all a load balancer needs here,
and they fit in a few lines without another dependency and its settings. It is cheap (one
`SELECT 1`, one cache write and read), never cached, and exempt from the HTTPS redirect
(SECURE_REDIRECT_EXEMPT) because load balancers probe in plain HTTP.
"""

from django.core.cache import cache
from django.db import Error, connection
from django.http import JsonResponse
from django.utils.log import log_response
from django.views.decorators.cache import never_cache

from .errors import RETRY_AFTER_SECONDS


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    # Error, not DatabaseError: InterfaceError (connection closed) derives from Error only.
    except Error as error:
        return f"erreur : {type(error).__name__}"
    return "ok"


def check_cache() -> str:
    try:
        cache.set("sante:sonde", "ok", 10)
        if cache.get("sante:sonde") != "ok":
            return "erreur : valeur écrite non relue"
    # Whatever the backend raises when its server is gone (redis.ConnectionError, OSError…):
    # a health check reports failures, it does not raise them.
    except Exception as error:  # noqa: BLE001
        return f"erreur : {type(error).__name__}"
    return "ok"


@never_cache
def health(request):
    checks = {"database": check_database(), "cache": check_cache()}
    healthy = all(result == "ok" for result in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # A warning, not Django's error line for a 5xx: probes repeat every few seconds.
        log_response(
            "Health check failed: %s", checks, response=response, request=request, level="warning"
        )
    return response
