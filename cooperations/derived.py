"""What each cooperation keeps derived from itself and its relations, so that reading it is one
column: its search text (search.py), its line of the CSV export (exports.py), its result row
in the public lists and the body of its page (rendered_rows.py).

`refresh_derived_text()` rebuilds them; whatever writes a cooperation, its participations,
themes, factors or sources, or renames a territory or a vocabulary label, calls it afterwards
(the admin, the import, the territory register's reload). After any other bulk change — a raw
SQL fix, say — `manage.py refresh_search` brings them back in line.
"""

import itertools
from collections.abc import Iterator

from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q, QuerySet

from . import exports
from .models import Cooperation, CooperationPage
from .rendered_rows import detail_html, related_keys, row_html
from .search import document_for

DERIVED_FIELDS = ["search_text", "export_head", "export_text", "list_html"]
# What `models.CooperationPage` holds, in a table of its own.
PAGE_FIELDS = ["html", "related_keys", "built_from"]


def _stored_page(cooperation) -> CooperationPage | None:
    try:
        return cooperation.stored_page
    except CooperationPage.DoesNotExist:
        return None


def _stale(queryset: QuerySet, batch_size: int) -> Iterator[tuple[list, list, int]]:
    """By batches of `batch_size` rows of `queryset`: the cooperations whose search text,
    export text or list row is out of date, and the stored pages out of date or missing, given
    their fresh ones, and how many rows the batch read. 10 queries per batch (rows with their
    stored page, their five relations, the export's row and relation reads)."""
    rows = (
        queryset.with_relations()
        .select_related("stored_page")
        .order_by("pk")
        .iterator(chunk_size=batch_size)
    )
    while batch := list(itertools.islice(rows, batch_size)):
        export_texts = exports.export_texts([cooperation.pk for cooperation in batch])
        stale, pages = [], []
        for cooperation in batch:
            texts = (
                document_for(cooperation),
                *export_texts.get(cooperation.pk, ("", "")),
                row_html(cooperation),
            )
            if texts != tuple(getattr(cooperation, name) for name in DERIVED_FIELDS):
                for name, text in zip(DERIVED_FIELDS, texts, strict=True):
                    setattr(cooperation, name, text)
                stale.append(cooperation)
            # Read before the new page is made: making it sets `cooperation.stored_page`.
            stored = _stored_page(cooperation)
            page = CooperationPage(
                cooperation=cooperation,
                html=detail_html(cooperation),
                related_keys=related_keys(cooperation),
                built_from=cooperation.updated_at,
            )
            if stored is None or any(
                getattr(stored, name) != getattr(page, name) for name in PAGE_FIELDS
            ):
                pages.append(page)
        yield stale, pages, len(batch)


def refresh_derived_text(cooperations: QuerySet | None = None, batch_size: int = 500) -> int:
    """Rebuild the search text, export text, list row and stored page of the given
    cooperations (all when None); returns how many were read. 10 queries per batch of
    `batch_size` rows, and the updates."""
    queryset = Cooperation.objects.all() if cooperations is None else cooperations
    total = 0
    for stale, pages, read in _stale(queryset, batch_size):
        Cooperation.objects.bulk_update(stale, DERIVED_FIELDS)
        CooperationPage.objects.bulk_create(
            pages, update_conflicts=True, unique_fields=["cooperation"], update_fields=PAGE_FIELDS
        )
        total += read
    return total


def stale_count() -> int:
    """How many cooperations have an out-of-date search text, export text, list row or page
    body (reads every row)."""
    return sum(
        len({cooperation.pk for cooperation in stale} | {page.cooperation_id for page in pages})
        for stale, pages, _read in _stale(Cooperation.objects.all(), 500)
    )


def fill_missing_derived_text(using: str = "default") -> int:
    """Build the export text, list row and page body of the published cooperations that have
    none (after the migrations that added them, or rows written by hand); run after every
    migrate. Returns how many."""
    # After `migrate` back to before the columns and table existed there is nothing to fill.
    applied = MigrationRecorder(connections[using]).applied_migrations()
    if ("cooperations", "0016_cooperation_export_head") not in applied:
        return 0
    missing = (
        Cooperation.objects.using(using)
        .published()
        .filter(
            Q(export_head="") | Q(export_text="") | Q(list_html="") | Q(stored_page__isnull=True)
        )
    )
    if not missing.exists():
        return 0
    return refresh_derived_text(missing)
