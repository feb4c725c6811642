"""The health endpoint for load balancers: `/sante/` answers 200 when this server can reach
its database and its cache, 503 otherwise, in JSON.

A small view rather than django-health-check: two checks are all a load balancer needs here,
and they fit in a few lines without another dependency and its settings. It is cheap (a
connection opened for one `SELECT 1`, one cache write and read, side by side), answers within
a second whatever the database does, is never cached, and is exempt from the HTTPS redirect
(SECURE_REDIRECT_EXEMPT) because load balancers probe in plain HTTP.
"""

import threading
import time

from django.core.cache import cache
from django.db import Error, connection
from django.http import JsonResponse
from django.utils.log import log_response
from django.views.decorators.cache import never_cache

from .errors import RETRY_AFTER_SECONDS

# A load balancer that waits longer for the answer than it probes takes a frozen server for
# a slow one: the database check answers within this, whatever the database does.
DATABASE_CHECK_SECONDS = 0.8


class DatabaseProbe(threading.Thread):
    """`SELECT 1` in a thread of its own, on a connection of its own that it closes: opening it
    is part of the check (a server that cannot open one cannot serve), and neither a new
    connection (up to DATABASE_CONNECT_TIMEOUT, 1 s) nor a query to a frozen database can hold the
    answer, which `result()` gives within DATABASE_CHECK_SECONDS of the start. Right after this
    process has given up on the database, opening the connection fails at once (the backend's
    OutageBreaker, catalogue/postgresql/base.py): « erreur : DatabaseNotAnswering »."""

    def __init__(self):
        super().__init__(name="sante-base", daemon=True)
        self.outcome = "erreur : pas de réponse à temps"
        self.deadline = time.monotonic() + DATABASE_CHECK_SECONDS

    def run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            self.outcome = "ok"
        # Error, not DatabaseError: InterfaceError (connection closed) derives from Error only.
        except Error as error:
            self.outcome = f"erreur : {type(error).__name__}"
        finally:
            connection.close()

    def result(self) -> str:
        self.join(max(0.0, self.deadline - time.monotonic()))
        return self.outcome


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
    database = DatabaseProbe()
    database.start()
    cache_result = check_cache()  # meanwhile
    checks = {"database": database.result(), "cache": cache_result}
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
