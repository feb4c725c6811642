"""The lists' result rows: stored with each cooperation, kept by each process for the catalogue
version it read them for, never stale after a write that keeps history."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import facet_index, rendered_rows
from cooperations.derived import refresh_derived_text, stale_count
from cooperations.models import Cooperation, CooperationPage
from cooperations.rendered_rows import row_html

from .catalogue_data import build_catalogue


def test_a_list_page_asks_the_database_once_and_renders_no_row(client, db, monkeypatch):
    build_catalogue()
    first = client.get("/cooperations/?statut=active")
    with CaptureQueriesContext(connection) as again:
        second = client.get("/cooperations/?statut=active")
    assert second.content == first.content
    # The catalogue's version only: this process read the page's rows for that version.
    assert len(again.captured_queries) == 1
    sql = again.captured_queries[0]["sql"]
    assert "history_id" in sql and "list_html" not in sql
    # Another page reads the rows it shows that no page read before, and only those.
    asked = []
    read = rendered_rows.published_rows
    monkeypatch.setattr(
        rendered_rows,
        "published_rows",
        lambda ids, fields, version=None: asked.append(list(ids)) or read(ids, fields, version),
    )
    seen = {row.pk for row in first.context["cooperations"]}
    with CaptureQueriesContext(connection) as other:
        everything = client.get("/cooperations/").context["cooperations"]
    new = [row.pk for row in everything if row.pk not in seen]
    assert new and asked == [new]
    assert len(other.captured_queries) == 2
    rows_sql = other.captured_queries[1]["sql"]
    assert "list_html" in rows_sql and "cooperations_participation" not in rows_sql


def test_stored_rows_are_those_rendered_from_the_records(client, db, admin_client):
    build_catalogue()
    visitor = client.get("/cooperations/").context["cooperations"]
    # Staff get rows rendered from the records on every request.
    staff = admin_client.get("/cooperations/").context["cooperations"]
    assert [row.pk for row in visitor] == [row.pk for row in staff] != []
    assert [str(row) for row in visitor] == [str(row) for row in staff]
    for row in visitor:
        assert Cooperation.objects.get(pk=row.pk).slug == row.slug


def test_a_renamed_cooperation_shows_its_new_name_at_once(client, db):
    build_catalogue()
    client.get("/cooperations/")
    cooperation = Cooperation.objects.published().order_by("pk").first()
    old_name = cooperation.name
    cooperation.name = "Nom tout neuf de la coopération"
    cooperation.save()  # keeps history: a new catalogue version
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))  # as every writer does
    page = client.get("/cooperations/").content.decode()
    assert "Nom tout neuf de la coopération" in page
    assert f">{old_name}<" not in page


def test_a_row_without_its_html_is_rendered_on_the_spot(client, db):
    build_catalogue()
    cooperation = Cooperation.objects.published().order_by("name").first()
    Cooperation.objects.filter(pk=cooperation.pk).update(list_html="")
    assert stale_count() == 1
    page = client.get("/cooperations/").content.decode()
    assert row_html(Cooperation.objects.for_list().get(pk=cooperation.pk)) in page


def test_a_write_in_another_process_is_seen_by_the_query_that_checks_the_version(client, db):
    build_catalogue()
    first = client.get("/cooperations/")
    count = first.context["paginator"].count
    kept = facet_index.current()
    cooperation = Cooperation.objects.published().order_by("pk").first()
    cooperation.name = "Aaa, renommée ailleurs"
    cooperation.save()  # keeps history: a new catalogue version
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    # As if another server had written: this process still holds the index it built before.
    facet_index._current = kept
    page = client.get("/cooperations/")
    assert page.context["paginator"].count == count
    assert "Aaa, renommée ailleurs" in page.content.decode()
    assert facet_index.current() is not kept
    # Unpublished elsewhere: gone from the rows and from the count at the next request.
    kept = facet_index.current()
    cooperation.is_published = False
    cooperation.save()
    facet_index._current = kept
    page = client.get("/cooperations/")
    assert page.context["paginator"].count == count - 1
    assert "Aaa, renommée ailleurs" not in page.content.decode()


def test_a_row_unpublished_without_history_goes_with_the_index(client, db, settings):
    build_catalogue()
    shown = client.get("/cooperations/").context["cooperations"][0]
    Cooperation.objects.filter(pk=shown.pk).update(is_published=False)
    # The version did not move: the page stays the one of that version, its facet counts and
    # rows, until the index is FACET_INDEX_MAX_AGE old.
    assert shown.pk in [row.pk for row in client.get("/cooperations/").context["cooperations"]]
    settings.FACET_INDEX_MAX_AGE = 0
    rows = client.get("/cooperations/").context["cooperations"]
    assert rows and shown.pk not in [row.pk for row in rows]


# --- record pages ----------------------------------------------------------------------------


def test_a_record_page_reads_its_stored_body_in_one_query(client, db):
    build_catalogue()
    slug = Cooperation.objects.published().order_by("pk").first().slug
    client.get(f"/cooperations/{slug}/")
    with CaptureQueriesContext(connection) as again:
        response = client.get(f"/cooperations/{slug}/")
    assert response.status_code == 200
    # The record with its body, then its related cooperations' names with the version check.
    assert len(again.captured_queries) == 2
    sql = " ".join(query["sql"] for query in again.captured_queries)
    assert "cooperations_cooperationpage" in sql and "history_id" in sql
    for table in ("participation", "source", "cooperationfactor", "theme"):
        assert f"cooperations_{table}" not in sql


def test_stored_record_pages_are_those_rendered_from_the_records(client, db, admin_client):
    build_catalogue()
    for cooperation in Cooperation.objects.published():
        url = cooperation.get_absolute_url()
        visitor = client.get(url).context
        # Staff get the body rendered from the records on every request.
        staff = admin_client.get(url).context
        assert str(visitor["body"]) == str(staff["body"])
        assert "Territoires</h2>" in str(visitor["body"])
        assert [other.pk for other in visitor["related"]] == [
            other.pk for other in staff["related"]
        ]
    assert stale_count() == 0


def test_a_record_page_without_its_stored_body_is_rendered_on_the_spot(client, db):
    build_catalogue()
    cooperation = Cooperation.objects.published().order_by("name").first()
    expected = client.get(cooperation.get_absolute_url()).content
    CooperationPage.objects.filter(pk=cooperation.pk).delete()
    assert stale_count() == 1
    assert client.get(cooperation.get_absolute_url()).content == expected


def test_a_record_page_shows_a_source_added_by_a_writer_at_once(client, db):
    build_catalogue()
    cooperation = Cooperation.objects.published().order_by("pk").first()
    client.get(cooperation.get_absolute_url())
    cooperation.sources.create(url="https://example.org/nouvelle-source", title="Source neuve")
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))  # as every writer does
    html = client.get(cooperation.get_absolute_url()).content.decode()
    assert '<a href="https://example.org/nouvelle-source" rel="noopener external">Source neuve' in (
        html
    )


def test_a_record_saved_without_its_derived_texts_is_shown_from_the_record(client, db):
    build_catalogue()
    cooperation = Cooperation.objects.published().order_by("pk").first()
    client.get(cooperation.get_absolute_url())
    cooperation.governance = "Un comité écrit depuis un script"
    cooperation.save()  # no refresh_derived_text: the stored page is older than the record
    assert stale_count() == 1
    html = client.get(cooperation.get_absolute_url()).content.decode()
    assert "Un comité écrit depuis un script" in html
