"""A short-lived cache of the public pages for anonymous visitors.

Why: visitors mostly open the same few lists (the whole catalogue, a métropole,
a theme), so the rendered page is kept in Django's cache for PUBLIC_CACHE_SECONDS: in each
process's local memory, or in one Redis shared by every server when REDIS_URL is set.

Several servers: the key depends only on the catalogue's version (read from the shared
database), the presentation's version (the templates and static files each server is deployed
with, `presentation_version`) and the request's absolute URL (with the public host the reverse
proxy passes on), never on the process, the worker or the hash seed, so every server computes
the same key and serves what another one cached. When the cache cannot be reached, pages are
served uncached: the catalogue must not go down with its cache.

Correctness: the key holds the catalogue's version — the latest history id of cooperations,
participations, factors, plus-values and sources, one indexed query — so any write through the
admin or the import (both record history) shows at the next request, and so does an edit of
what records show without being part of them (a territory's name, a vocabulary's label: a
`ReferenceEdit`). A deploy that changes a template or a static file changes the presentation's
version: visitors get the new pages at once, never the old markup from a shared cache. Staff (anyone
with a session cookie), requests carrying flash messages and the spreadsheet exports are never
cached.
"""

import functools
import hashlib
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError, connection
from django.dispatch import receiver
from redis.exceptions import RedisError

from catalogue.postgresql.base import DatabaseNotAnswering

from .lookups import any_of_parameter
from .models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
    ReferenceEdit,
    Source,
)
from .publishing.spreadsheets import FORMATS

logger = logging.getLogger(__name__)

_HISTORY_MODELS = (Cooperation, Participation, CooperationFactor, CooperationPlusValue, Source)
# After a cache error, this process leaves the cache alone for this many seconds: during an
# outage each page then pays no connection attempt and the log gets one line, not one per page.
CACHE_RETRY_SECONDS = 10
_cache_down_until = 0.0


@functools.cache
def _version_sql() -> str:
    # Built once: reaching a history model through `Model.history` makes a manager class.
    tables = [(model.history.model._meta.db_table, "history_id") for model in _HISTORY_MODELS]
    # The edits of what records show without their history moving (a vocabulary's label, a
    # territory's name).
    tables.append((ReferenceEdit._meta.db_table, "id"))
    # Table names come from the models; MAX over the primary key reads one index entry each.
    selects = ", ".join(
        f"(SELECT MAX({column}) FROM {table}) AS v{number}"  # noqa: S608
        for number, (table, column) in enumerate(tables)
    )
    return f"SELECT {selects}"


def _version(values) -> str:
    return "-".join(str(value) for value in values)


def reference_mark(version: str) -> str:
    """The part of a catalogue version that only a `ReferenceEdit` moves (territories and
    vocabularies edited or loaded): what values that show no record are kept under, so that
    a cooperation's write leaves them be."""
    return version.rpartition("-")[2]


def _marks(version: str) -> list[int]:
    # An empty history table reads as None: no history row yet, as if its latest id were 0.
    return [0 if part == "None" else int(part) for part in version.split("-")]


# The column of each history model that names the cooperation a history row belongs to.
_COOPERATION_COLUMN = {Cooperation: "id"}


def changed_cooperations(older: str, newer: str) -> set[int] | None:
    """The ids of the cooperations whose history moved from version `older` to `newer` (deleted
    and unpublished ones included): what a process holding values of `older` must read again.

    None when the change is not one of records alone: a `ReferenceEdit` (a territory's name, a
    vocabulary's label: what many records show), a history that went back (rows deleted) or
    versions of another format. The caller then reads everything again."""
    before, after = _marks(older), _marks(newer)
    if len(before) != len(after) or len(after) != len(_HISTORY_MODELS) + 1:
        return None
    if before[-1] != after[-1] or any(b > a for b, a in zip(before, after, strict=True)):
        return None
    changed: set[int] = set()
    for model, low, high in zip(_HISTORY_MODELS, before, after, strict=False):
        if low == high:
            continue
        column = _COOPERATION_COLUMN.get(model, "cooperation_id")
        changed.update(
            model.history.filter(history_id__gt=low, history_id__lte=high)
            .order_by()
            .values_list(column, flat=True)
        )
    return changed


@contextmanager
def _cursor(binary: bool = False):
    """A cursor for the queries every page sends, always the same SQL. On PostgreSQL, each is
    prepared on the connection the first time it runs (the database's `prepare_threshold`
    option, catalogue/settings.py), so that PostgreSQL plans it once instead of at every page:
    for a query this small, planning costs as much as running it. With `binary`, PostgreSQL
    sends the prepared query's results in its binary format, which psycopg reads without
    parsing (a `bytea` comes as the bytes it holds; unprepared, as text that psycopg turns into
    the same bytes). Elsewhere, Django's cursor."""
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
        # Django cannot log the text of a prepared statement run by its name: where queries
        # are logged (DEBUG, the tests' query counts), the same query goes unprepared.
        or connection.queries_logged
    ):
        with connection.cursor() as cursor:
            yield cursor
        return
    # What `connection.cursor()` does — the health check, Django's error wrapping — around a
    # psycopg cursor that binds parameters on the server (Django's binds them in the client,
    # which rules out preparing).
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    cursor_class = _preparing_cursor_class(binary)
    with connection.make_cursor(cursor_class(connection.connection)) as cursor:
        yield cursor


@functools.cache
def _preparing_cursor_class(binary: bool):
    # Imported on first use: the PostgreSQL backend module needs psycopg, never on SQLite.
    from django.db.backends.postgresql.base import ServerBindingCursor

    results_in_binary = True if binary else None

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=results_in_binary)

    return PreparingCursor


def prepared_rows(sql: str, params: list, binary: bool = False) -> list:
    """The rows of a query that always has the same SQL, prepared on PostgreSQL (`_cursor`)."""
    with _cursor(binary) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def catalogue_version() -> str:
    """The latest history id of each recorded model, as one string: one query.

    Most pages send it first, and it then stands for the health check of the connection that
    the previous request left open (CONN_HEALTH_CHECKS): instead of a `SELECT 1` before it, one
    more round trip to the database on every page, the query runs at once; if the
    connection turns out broken (the database restarted since), it is closed and the query runs
    once more on a new one, as the health check would have done."""
    checking = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if checking:
        connection.health_check_done = True
    try:
        return _read_version()
    except (OperationalError, InterfaceError) as error:
        # A database that did not answer in time is not a connection gone stale: trying a new
        # one would only wait once more (catalogue/postgresql/base.py).
        if not checking or isinstance(error, DatabaseNotAnswering) or connection.is_usable():
            raise
        connection.close()
        return _read_version()


def _read_version() -> str:
    with _cursor() as cursor:
        cursor.execute(_version_sql())
        return _version(cursor.fetchone())


@functools.cache
def _published_sql(fields: tuple[str, ...]) -> tuple[str, list]:
    # Built by the ORM once per process and set of fields, with a stand-in for the ids (the
    # last parameter): building it for every page cost as much as running it.
    query = Cooperation.objects.published().order_by().values_list(*fields)
    sql, params = query.filter(pk__any_of={0}).query.sql_with_params()
    return sql, list(params[:-1])


def published_rows(ids: list[int], fields: tuple[str, ...]) -> list:
    """`fields` of the published cooperations among `ids`, in no particular order: one query."""
    sql, params = _published_sql(fields)
    return prepared_rows(sql, [*params, any_of_parameter(ids, connection.vendor)])


def _cacheable(request) -> bool:
    return (
        settings.PUBLIC_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and request.GET.get("format") not in FORMATS
    )


@functools.cache
def presentation_version() -> str:
    """A digest of what the pages are made with besides the data: every template file of the
    template engines' folders and the static files' manifest, read once per process (a deploy
    starts new processes; a test that changes the template settings clears it)."""
    digest = hashlib.sha256()
    folders = [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes())
    manifest = Path(settings.STATIC_ROOT or "") / "staticfiles.json"
    if settings.STATIC_ROOT and manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:16]


@receiver(setting_changed)
def _forget_presentation(setting, **kwargs) -> None:
    if setting in ("TEMPLATES", "STATIC_ROOT", "STORAGES"):
        presentation_version.cache_clear()


def page_cache_key(request, version: str) -> str:
    """The same on every server for the same request, catalogue version and presentation."""
    # The host and scheme too: pages carry absolute permalinks.
    url = request.build_absolute_uri().encode()
    versions = f"{version}|{presentation_version()}|".encode()
    return "public-page:" + hashlib.sha256(versions + url).hexdigest()


def _cache_call(method: str, *args):
    """Call the cache, or return None while it is unreachable (a warning per retry delay)."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return getattr(cache, method)(*args)
    except (RedisError, OSError) as error:
        _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
        logger.warning(
            "Cache des pages injoignable (%s : %s) : pages servies sans cache pendant %s s.",
            error.__class__.__name__,
            error,
            CACHE_RETRY_SECONDS,
        )
        return None


def cache_public_page(view):
    """Serve the view's 200 responses from the cache for anonymous visitors (see above)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        # Kept on the request: the facet index of the page reads the same version.
        request.catalogue_version = catalogue_version()
        key = page_cache_key(request, request.catalogue_version)
        response = _cache_call("get", key)
        if response is None:
            response = view(request, *args, **kwargs)
            keep = response.status_code == 200 and not response.streaming and not response.cookies
            # A page made from the previous facet index while the new one is built is not the
            # page of this version.
            if keep and not getattr(request, "index_behind", False):
                _cache_call("set", key, response, settings.PUBLIC_CACHE_SECONDS)
        return response

    return wrapper
