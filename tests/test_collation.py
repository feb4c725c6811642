"""French name order on both engines: accents and case do not decide, letters do."""

import pytest
from django.db import connection

from cooperations.collation import FrenchOrder, compare
from cooperations.models import Cooperation

from .conftest import make_cooperation

FRENCH_ORDER = ["abc", "étoile", "Métropole de Lyon", "Montpellier", "Zèbre"]


@pytest.fixture
def named(db):
    for name in ["Zèbre", "Montpellier", "abc", "Métropole de Lyon", "étoile"]:
        make_cooperation(name)


def test_compare_ignores_accents_and_case_but_stays_total():
    assert compare("Métropole de Lyon", "Montpellier") < 0
    assert compare("étoile", "Zèbre") < 0
    assert compare("Zèbre", "abc") > 0
    assert compare("Brest", "Brest") == 0
    assert compare("Zèbre", "zebre") != 0


def test_french_order_expression_sorts_names_on_this_engine(named):
    names = list(
        Cooperation.objects.order_by(FrenchOrder("name"), "pk").values_list("name", flat=True)
    )
    assert names == FRENCH_ORDER


def test_list_default_order_is_french(client, named):
    response = client.get("/cooperations/", {"format": "json"})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == FRENCH_ORDER


def test_name_sort_is_french_in_the_page_and_the_export(client, named):
    response = client.get("/cooperations/", {"tri": "nom"})
    assert response.status_code == 200
    content = response.content.decode()
    positions = [content.index(f">{name}<") for name in FRENCH_ORDER]
    assert positions == sorted(positions)
    export = client.get("/cooperations/", {"tri": "nom", "format": "csv"})
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()[1:]
    assert [line.split(";")[1] for line in lines] == FRENCH_ORDER


def test_an_index_serves_the_french_name_order(named):
    queryset = Cooperation.objects.published().order_by(FrenchOrder("name"), "pk")[:20]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With five rows the planner would rightly read the table; forbid that to see
            # whether the index can give the order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        sql, params = queryset.query.sql_with_params()
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(prefix + sql, params)
        plan = " ".join(str(cell) for row in cursor.fetchall() for cell in row)
    assert "coop_published_name_fr_idx" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan.split("Limit", 1)[-1]
