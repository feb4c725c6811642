"""What each cooperation keeps derived from itself and its relations, so that reading it is one
column: its search text (search.py), its line of the CSV export (exports.py) and its result row
in the public lists (rendered_rows.py).

`refresh_derived_text()` rebuilds them; whatever writes a cooperation, its participations,
themes, factors or sources, or renames a territory or a vocabulary label, calls it afterwards
(the admin, the import, the territory register's reload). After any other bulk change — a raw
SQL fix, say — `manage.py refresh_search` brings them back in line.
"""

import itertools
from collections.abc import Iterator

from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Prefetch, Q, QuerySet

from . import exports
from .models import Cooperation, Participation
from .rendered_rows import row_html
from .search import document_for

DERIVED_FIELDS = ["search_text", "export_text", "list_html"]


def _with_relations(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("legal_form").prefetch_related(
        "themes",
        Prefetch("participations", queryset=Participation.objects.select_related("territory")),
    )


def _stale(queryset: QuerySet, batch_size: int) -> Iterator[tuple[list, int]]:
    """By batches of `batch_size` rows of `queryset`: the cooperations whose search text,
    export text or list row is out of date, given their fresh ones, and how many rows the batch
    read. 8 queries per batch (rows, themes, participations, the export's row and relation
    reads)."""
    rows = _with_relations(queryset).order_by("pk").iterator(chunk_size=batch_size)
    while batch := list(itertools.islice(rows, batch_size)):
        export_texts = exports.export_texts([cooperation.pk for cooperation in batch])
        stale = []
        for cooperation in batch:
            texts = (
                document_for(cooperation),
                export_texts.get(cooperation.pk, ""),
                row_html(cooperation),
            )
            if texts != tuple(getattr(cooperation, name) for name in DERIVED_FIELDS):
                for name, text in zip(DERIVED_FIELDS, texts, strict=True):
                    setattr(cooperation, name, text)
                stale.append(cooperation)
        yield stale, len(batch)


def refresh_derived_text(cooperations: QuerySet | None = None, batch_size: int = 500) -> int:
    """Rebuild the search text, export text and list row of the given cooperations (all when
    None); returns how many were read. 8 queries per batch of `batch_size` rows, and the
    update."""
    queryset = Cooperation.objects.all() if cooperations is None else cooperations
    total = 0
    for stale, read in _stale(queryset, batch_size):
        Cooperation.objects.bulk_update(stale, DERIVED_FIELDS)
        total += read
    return total


def stale_count() -> int:
    """How many cooperations have an out-of-date search text, export text or list row (reads
    every row)."""
    return sum(len(stale) for stale, _read in _stale(Cooperation.objects.all(), 500))


def fill_missing_derived_text(using: str = "default") -> int:
    """Build the export text and list row of the published cooperations that have none (after
    the migrations that added them, or rows written by hand); run after every migrate. Returns
    how many."""
    # After `migrate` back to before the columns existed there is nothing to fill.
    applied = MigrationRecorder(connections[using]).applied_migrations()
    if ("cooperations", "0014_cooperation_list_html") not in applied:
        return 0
    missing = (
        Cooperation.objects.using(using).published().filter(Q(export_text="") | Q(list_html=""))
    )
    if not missing.exists():
        return 0
    return refresh_derived_text(missing)
