"""The lists' rendered rows: kept per catalogue version, never stale after a write, bounded."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import facet_index
from cooperations.models import Cooperation
from cooperations.rendered_rows import RenderedRows, Row

from .catalogue_data import build_catalogue


def test_rows_shown_before_are_neither_read_nor_rendered_again(client, db):
    build_catalogue()
    first = client.get("/cooperations/")
    with CaptureQueriesContext(connection) as again:
        second = client.get("/cooperations/")
    assert second.content == first.content
    sql = " ".join(q["sql"] for q in again.captured_queries)
    # Only which of the page's ids are still published: no participation or theme prefetch.
    assert "cooperations_participation" not in sql
    assert "cooperations_cooperation_themes" not in sql
    assert len(facet_index.current().rows) == len(first.context["cooperations"]) > 0


def test_a_renamed_cooperation_shows_its_new_name_at_once(client, db):
    build_catalogue()
    client.get("/cooperations/")
    cooperation = Cooperation.objects.published().order_by("pk").first()
    old_name = cooperation.name
    cooperation.name = "Nom tout neuf de la coopération"
    cooperation.save()  # keeps history: a new catalogue version
    page = client.get("/cooperations/").content.decode()
    assert "Nom tout neuf de la coopération" in page
    assert f">{old_name}<" not in page


def test_the_store_drops_its_oldest_rows_past_its_capacity():
    store = RenderedRows(capacity=3)
    for pk in range(5):
        store.put((pk, 3), Row(f"<li>{pk}</li>"))
    assert len(store) == 3
    assert store.get((0, 3)) is None and store.get((1, 3)) is None
    assert store.get((4, 3)) == "<li>4</li>"
    assert store.get((4, 4)) is None  # another heading level is another row


def test_a_zero_capacity_keeps_nothing():
    store = RenderedRows(capacity=0)
    store.put((1, 3), Row("<li>1</li>"))
    assert len(store) == 0


def test_an_edit_without_history_shows_to_visitors_once_the_index_is_rebuilt(client, db, settings):
    build_catalogue()
    client.get("/cooperations/")
    cooperation = Cooperation.objects.published().order_by("pk").first()
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Renommée sans historique")
    # The version did not move: the row stays as rendered until the index's age runs out.
    assert "Renommée sans historique" not in client.get("/cooperations/").content.decode()
    settings.FACET_INDEX_MAX_AGE = 0
    assert "Renommée sans historique" in client.get("/cooperations/").content.decode()
