"""SQLite's full-text index (FTS5): what it finds is what reading the column finds, it follows
every write, and it comes back after a table rebuild drops its triggers."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import search as search_module
from cooperations.derived import refresh_derived_text
from cooperations.models import Cooperation
from cooperations.search import ensure_sqlite_index, search

from .catalogue_data import build_catalogue
from .conftest import make_cooperation

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL has its own index (GIN)"
)


def matches(query: str, index: bool) -> list[tuple[int, int]]:
    search_module._sqlite_index_ready[connection.alias] = index
    try:
        return sorted(search(Cooperation.objects.all(), query).values_list("pk", "search_rank"))
    finally:
        search_module._sqlite_index_ready.pop(connection.alias)


def test_the_index_finds_what_reading_the_column_finds(db):
    build_catalogue()
    words = " ".join(Cooperation.objects.values_list("search_text", flat=True)).split()
    queries = ["brest", "mobilites", "contrat reciprocite", "242900074", "zzz", "tourisme loisirs"]
    rng = random.Random(11)
    queries += [w[: rng.randint(1, len(w))] for w in rng.sample(words, 40) if w != "|"]
    queries += [" ".join(rng.sample(words, 2)) for _ in range(20)]
    for query in queries:
        assert matches(query, index=True) == matches(query, index=False), query


def test_the_search_goes_through_the_index(db):
    make_cooperation("Ferme urbaine")
    with CaptureQueriesContext(connection) as queries:
        assert list(search(Cooperation.objects.all(), "ferme").values_list("name", flat=True))
    assert "cooperations_search_fts MATCH" in queries.captured_queries[-1]["sql"]


def test_the_index_follows_renames_and_deletions(db):
    cooperation = make_cooperation("Maraîchage partagé")
    assert matches("maraichage", index=True)
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Verger commun")
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    assert not matches("maraichage", index=True)
    assert [pk for pk, _rank in matches("verger", index=True)] == [cooperation.pk]
    cooperation.delete()
    assert not matches("verger", index=True)


def test_a_dropped_trigger_is_made_again_with_the_rows_already_there(db):
    cooperation = make_cooperation("Réseau de chaleur")
    with connection.cursor() as cursor:
        # What Django does when it rebuilds the table to alter it on SQLite.
        cursor.execute("DROP TRIGGER cooperations_search_fts_update")
    assert ensure_sqlite_index()
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Géothermie")
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    assert [pk for pk, _rank in matches("geothermie", index=True)] == [cooperation.pk]
    assert not matches("chaleur", index=True)
