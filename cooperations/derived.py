"""What each cooperation keeps derived from itself and its relations, so that reading it is one
column: its search text (search.py) and its line of the CSV export (publishing/exports.py). Data,
never presentation: the pages are rendered from the records by the templates.

`refresh_derived_text()` rebuilds them; whatever writes a cooperation, its participations,
themes, factors or sources, or renames a territory or a vocabulary label, calls it afterwards
(the admin, the import, the territory register's reload). After any other bulk change — a raw
SQL fix, say — `manage.py refresh_search` brings them back in line.
"""

import itertools
from collections.abc import Iterator

from django.db import connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q, QuerySet

from . import search
from .models import Cooperation, DerivedFormat
from .publishing import exports
from .search import document_for

DERIVED_FIELDS = ["search_text", "export_head", "export_text"]


def _stale(queryset: QuerySet, batch_size: int) -> Iterator[tuple[list, int]]:
    """By batches of `batch_size` rows of `queryset`: the cooperations whose search text or
    export text is out of date, given their fresh ones, and how many rows the batch read.
    10 queries per batch (rows, their six relations, the export's row and relation reads)."""
    rows = (
        queryset.with_relations()
        .prefetch_related("participations__territory__aliases")
        .order_by("pk")
        .iterator(chunk_size=batch_size)
    )
    while batch := list(itertools.islice(rows, batch_size)):
        export_texts = exports.export_texts([cooperation.pk for cooperation in batch])
        stale = []
        for cooperation in batch:
            texts = (document_for(cooperation), *export_texts.get(cooperation.pk, ("", "")))
            if texts != tuple(getattr(cooperation, name) for name in DERIVED_FIELDS):
                for name, text in zip(DERIVED_FIELDS, texts, strict=True):
                    setattr(cooperation, name, text)
                stale.append(cooperation)
        yield stale, len(batch)


def refresh_derived_text(cooperations: QuerySet | None = None, batch_size: int = 500) -> int:
    """Rebuild the search text and export text of the given cooperations (all when None);
    returns how many were read. 10 queries per batch of `batch_size` rows, and the updates."""
    queryset = Cooperation.objects.all() if cooperations is None else cooperations
    total = 0
    for stale, read in _stale(queryset, batch_size):
        Cooperation.objects.bulk_update(stale, DERIVED_FIELDS)
        total += read
    return total


def stale_count() -> int:
    """How many cooperations have an out-of-date search text or export text (reads every
    row)."""
    return sum(len(stale) for stale, _read in _stale(Cooperation.objects.all(), 500))


def fill_missing_derived_text(using: str = "default") -> int:
    """Rewrite every search text when its format changed since the stored rows were written
    (search.FORMAT_VERSION), and build the export text of the published cooperations that have
    none (after the migrations that added it, or rows written by hand); run after every
    migrate. Returns how many were read."""
    # After `migrate` back to before the columns existed there is nothing to fill.
    applied = MigrationRecorder(connections[using]).applied_migrations()
    if ("cooperations", "0022_search_stems") not in applied:
        return 0
    formats = DerivedFormat.objects.using(using)
    stored = formats.filter(name="search_text").values_list("version", flat=True).first()
    if stored != search.FORMAT_VERSION:
        with transaction.atomic(using=using):
            total = refresh_derived_text(Cooperation.objects.using(using).all())
            formats.update_or_create(
                name="search_text", defaults={"version": search.FORMAT_VERSION}
            )
        return total
    missing = (
        Cooperation.objects.using(using).published().filter(Q(export_head="") | Q(export_text=""))
    )
    if not missing.exists():
        return 0
    return refresh_derived_text(missing)
