"""What each cooperation keeps derived from itself and its relations, so that reading it is one
column: its search text (search.py) and its line of the CSV export (exports.py).

`refresh_derived_text()` rebuilds both; whatever writes a cooperation, its participations,
themes, factors or sources, or renames a territory or a vocabulary label, calls it afterwards
(the admin, the import, the territory register's reload). After any other bulk change — a raw
SQL fix, say — `manage.py refresh_search` brings them back in line.
"""

from django.db.models import Prefetch, QuerySet

from . import exports
from .models import Cooperation, Participation
from .search import document_for


def _with_relations(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("legal_form").prefetch_related(
        "themes",
        Prefetch("participations", queryset=Participation.objects.select_related("territory")),
    )


def refresh_derived_text(cooperations: QuerySet | None = None, batch_size: int = 500) -> int:
    """Rebuild the search and export texts of the given cooperations (all when None); returns
    how many were read. Costs 9 queries per batch of `batch_size` rows (rows, themes,
    participations, the export's row and relation reads, update)."""
    queryset = Cooperation.objects.all() if cooperations is None else cooperations
    batch, total = [], 0
    for cooperation in _with_relations(queryset).order_by("pk").iterator(chunk_size=batch_size):
        batch.append(cooperation)
        if len(batch) == batch_size:
            total += _refresh(batch)
            batch = []
    return total + (_refresh(batch) if batch else 0)


def _refresh(batch: list[Cooperation]) -> int:
    export_texts = exports.export_texts([cooperation.pk for cooperation in batch])
    changed = []
    for cooperation in batch:
        texts = (document_for(cooperation), export_texts.get(cooperation.pk, ""))
        if texts != (cooperation.search_text, cooperation.export_text):
            cooperation.search_text, cooperation.export_text = texts
            changed.append(cooperation)
    Cooperation.objects.bulk_update(changed, ["search_text", "export_text"])
    return len(batch)


def stale_count() -> int:
    """How many cooperations have an out-of-date search or export text (reads every row)."""
    stale, batch = 0, []

    def count(batch) -> int:
        export_texts = exports.export_texts([cooperation.pk for cooperation in batch])
        return sum(
            1
            for cooperation in batch
            if (document_for(cooperation), export_texts.get(cooperation.pk, ""))
            != (cooperation.search_text, cooperation.export_text)
        )

    for cooperation in _with_relations(Cooperation.objects.order_by("pk")).iterator(chunk_size=500):
        batch.append(cooperation)
        if len(batch) == 500:
            stale += count(batch)
            batch = []
    return stale + (count(batch) if batch else 0)


def fill_missing_export_text(using: str = "default") -> int:
    """Build the export text of the published cooperations that have none (after the migration
    that added it, or rows written by hand); run after every migrate. Returns how many."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    # After `migrate` back to before the column existed there is nothing to fill.
    applied = MigrationRecorder(connections[using]).applied_migrations()
    if ("cooperations", "0013_cooperation_export_text") not in applied:
        return 0
    missing = Cooperation.objects.using(using).published().filter(export_text="")
    if not missing.exists():
        return 0
    return refresh_derived_text(missing)
