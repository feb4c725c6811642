"""Import of the factor and plus-value illustrations: their texts and their own sources."""

import pytest

from cooperations.importing import plan_import, run_import
from cooperations.models import Cooperation, CooperationFactor, CooperationPlusValue
from cooperations.resources import HEADERS, export_dataset

from .conftest import get_or_make_territory
from .test_importing import sheet, table_counts

HEADER = [
    "Identifiant",
    "Nom",
    "Métropoles",
    "Facteur gouvernance (comment)",
    "Facteur gouvernance (source)",
    "Plus-value echelles (comment)",
    "Plus-value echelles (source)",
]
ROW = [
    "brest-iroise",
    "Contrat Brest – Iroise",
    "Brest Métropole",
    "Un comité de pilotage commun.",
    "https://example.org/gouvernance",
    "Un bassin de vie partagé.",
    "https://example.org/echelles",
]


@pytest.fixture
def brest(db):
    return get_or_make_territory("METRO", "Brest Métropole", "242900314")


@pytest.fixture
def imported(brest):
    plan, outcome = run_import(sheet(ROW, header=HEADER), commit=True)
    assert plan.is_valid and outcome.created == 1
    return Cooperation.objects.get(slug="brest-iroise")


def test_factor_text_and_source_select_the_factor(imported):
    link = CooperationFactor.objects.get(cooperation=imported)
    assert (link.factor.slug, link.text, link.source_url) == (
        "gouvernance",
        "Un comité de pilotage commun.",
        "https://example.org/gouvernance",
    )
    assert link.history.count() == 1


def test_plus_value_illustration_selects_the_plus_value(imported):
    link = CooperationPlusValue.objects.get(cooperation=imported)
    assert (link.plus_value, link.text, link.source_url) == (
        "echelles",
        "Un bassin de vie partagé.",
        "https://example.org/echelles",
    )
    assert imported.adds_scale and not imported.adds_pooling
    assert link.history.count() == 1


def test_reimport_changes_nothing_and_a_new_source_is_an_update(imported):
    before = table_counts()
    plan, _ = run_import(sheet(ROW, header=HEADER), commit=True)
    assert [row.action for row in plan.rows] == ["skip"]
    assert table_counts() == before
    row = list(ROW)
    row[HEADER.index("Facteur gouvernance (source)")] = "https://example.org/autre"
    row[HEADER.index("Plus-value echelles (comment)")] = "Un autre texte."
    plan, _ = run_import(sheet(row, header=HEADER), commit=True)
    assert plan.rows[0].changes == ["Facteurs de réussite", "Plus-value"]
    assert CooperationFactor.objects.get().source_url == "https://example.org/autre"
    assert CooperationPlusValue.objects.get().text == "Un autre texte."


def test_emptied_plus_value_cells_remove_the_illustration_only(imported):
    row = list(ROW)
    row[HEADER.index("Plus-value echelles (comment)")] = ""
    row[HEADER.index("Plus-value echelles (source)")] = ""
    run_import(sheet(row, header=HEADER), commit=True)
    assert not CooperationPlusValue.objects.exists()
    imported.refresh_from_db()
    assert imported.adds_scale  # the « Plus-value » column alone says whether it holds


def test_a_bad_source_address_rejects_the_file_and_writes_nothing(brest):
    row = list(ROW)
    row[HEADER.index("Facteur gouvernance (source)")] = "pas une adresse"
    before = table_counts()
    plan, outcome = run_import(sheet(row, header=HEADER), commit=True)
    assert outcome is None
    assert [str(e) for e in plan.row_errors] == [
        "Ligne 2, colonne « Facteur gouvernance (source) », valeur « pas une adresse » : "
        "« pas une adresse » n'est pas une adresse web valide."
    ]
    assert table_counts() == before


def test_export_writes_the_illustration_columns_and_reimports_unchanged(imported):
    dataset = export_dataset(Cooperation.objects.all())
    row = dict(zip(HEADERS, dataset[0], strict=True))
    assert row["Facteur gouvernance (source)"] == "https://example.org/gouvernance"
    assert row["Plus-value echelles (comment)"] == "Un bassin de vie partagé."
    assert row["Plus-value echelles (source)"] == "https://example.org/echelles"
    plan = plan_import(sheet(list(dataset[0]), header=HEADERS))
    assert [r.action for r in plan.rows] == ["skip"]
