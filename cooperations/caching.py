"""A short-lived cache of the public pages for anonymous visitors.

Why: a filtered list with its facet counts costs 15 queries and 50–60 ms of CPU at 10,000
cooperations, so 2 cores serve about 35 of them per second; issue 5 asks for 100 under 20
concurrent clients. Visitors mostly open the same few lists (the whole catalogue, a métropole,
a theme), so each gunicorn worker keeps the rendered page in Django's cache
(local memory unless CACHES says otherwise) for PUBLIC_CACHE_SECONDS.

Correctness: the key holds the catalogue's version — the latest history id of cooperations,
participations, factors, plus-values and sources, one indexed query — so any write through the
admin or the import (both record history) shows at the next request. Edits that keep no history
(territory names, vocabulary labels) show within PUBLIC_CACHE_SECONDS at most. Staff (anyone
with a session cookie), requests carrying flash messages and the spreadsheet exports are never
cached.
"""

import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .exports import FORMATS
from .models import Cooperation, CooperationFactor, CooperationPlusValue, Participation, Source

_HISTORY_MODELS = (Cooperation, Participation, CooperationFactor, CooperationPlusValue, Source)


def catalogue_version() -> str:
    """The latest history id of each recorded model, as one string: one query."""
    tables = [model.history.model._meta.db_table for model in _HISTORY_MODELS]
    # Table names come from the models; MAX over the primary key reads one index entry each.
    selects = ", ".join(f"(SELECT MAX(history_id) FROM {table})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")
        return "-".join(str(value) for value in cursor.fetchone())


def _cacheable(request) -> bool:
    return (
        settings.PUBLIC_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and request.GET.get("format") not in FORMATS
    )


def cache_public_page(view):
    """Serve the view's 200 responses from the cache for anonymous visitors (see above)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        # The host and scheme too: pages carry absolute permalinks.
        path = request.build_absolute_uri().encode()
        key = (
            "public-page:" + hashlib.sha256(catalogue_version().encode() + b"|" + path).hexdigest()
        )
        response = cache.get(key)
        if response is None:
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming and not response.cookies:
                cache.set(key, response, settings.PUBLIC_CACHE_SECONDS)
        return response

    return wrapper
