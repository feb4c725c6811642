"""The synthetic inventory: deterministic, realistic in shape, and imported cleanly."""

import pytest
from django.core.management import call_command

from cooperations.importing import run_import
from cooperations.inventory import read_spreadsheet
from cooperations.models import Cooperation, Participation
from cooperations.synthetic import EXTENSIONS, FORMATS, generate_rows, write_inventory

from .conftest import make_territory_world


@pytest.fixture
def world(db):
    return make_territory_world()


def test_same_seed_gives_the_same_file(world):
    assert generate_rows(20, seed=7) == generate_rows(20, seed=7)
    assert generate_rows(20, seed=7) != generate_rows(20, seed=8)


def test_every_cooperation_name_is_marked_fictitious(world):
    headers, rows = generate_rows(30, seed=1)
    names = [row[headers.index("Nom")] for row in rows]
    assert all(name.endswith("(fictif)") for name in names)


def test_partners_are_neighbours_of_the_metropole(world):
    plan, outcome = run_import(
        read_spreadsheet(write_inventory(*generate_rows(40), "csv-utf8")), True
    )
    assert plan.row_errors == [] and plan.file_errors == []
    assert outcome.created == 40
    assert Cooperation.objects.count() == 40
    for cooperation in Cooperation.objects.prefetch_related("participations__territory"):
        metropoles = [
            p.territory
            for p in cooperation.participations.all()
            if p.role == Participation.Role.METROPOLE
        ]
        partners = [
            p.territory
            for p in cooperation.participations.all()
            if p.role == Participation.Role.PARTNER
        ]
        assert partners
        places = {m.departement_id for m in metropoles} | {m.region_id for m in metropoles}
        assert all(p.departement_id in places or p.region_id in places for p in partners)


@pytest.mark.parametrize("messy", [False, True], ids=["clean", "messy"])
@pytest.mark.parametrize("file_format", FORMATS)
def test_173_rows_import_cleanly_then_reimport_unchanged(world, file_format, messy):
    data = write_inventory(*generate_rows(173, seed=3, messy=messy), file_format)
    sheet = read_spreadsheet(data, EXTENSIONS[file_format])

    plan, outcome = run_import(sheet, commit=False)
    assert plan.row_errors == [] and plan.file_errors == []
    assert plan.count("new") == 173
    assert Cooperation.objects.count() == 0

    plan, outcome = run_import(sheet, commit=True)
    assert outcome.created == 173
    assert Cooperation.objects.count() == 173

    plan, outcome = run_import(sheet, commit=True)
    assert plan.count("skip") == 173
    assert outcome.created == outcome.updated == 0


def test_cp1252_file_is_really_cp1252_with_semicolons(world):
    data = write_inventory(*generate_rows(5), "csv-cp1252")
    text = data.decode("cp1252")
    assert text.startswith("Identifiant;Nom;Métropoles")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_command_writes_the_file(world, tmp_path):
    output = tmp_path / "inventaire.ods"
    call_command("generate_inventory", "--rows", "12", "--format", "ods", "-o", str(output))
    sheet = read_spreadsheet(output.read_bytes(), "ods")
    assert len(sheet.rows) == 12


@pytest.mark.parametrize("file_format", ["xlsx", "csv-cp1252"])
def test_messy_inventory_on_the_official_territories_imports_cleanly(
    official_territories, db, file_format
):
    headers, rows = generate_rows(173, seed=11, messy=True)
    metropole_cells = {row[headers.index("Métropole(s)") - 1] for row in rows}
    assert len(metropole_cells) > 10
    sheet = read_spreadsheet(write_inventory(headers, rows, file_format), file_format[:4])
    plan, outcome = run_import(sheet, commit=True)
    assert [str(e) for e in plan.row_errors] == []
    assert outcome.created == 173
    plan, outcome = run_import(sheet, commit=True)
    assert plan.count("skip") == 173


def test_bulk_catalogue_is_published_with_metropole_partners_and_illustrations(world):
    from cooperations.synthetic import write_catalogue

    assert write_catalogue(2500, seed=3) == 2500
    written = Cooperation.objects.filter(slug__startswith="synthetique-3-")
    assert written.count() == written.filter(is_published=True, state="publiee").count() == 2500
    assert not written.exclude(participations__role=Participation.Role.METROPOLE).exists()
    assert not written.exclude(participations__role=Participation.Role.PARTNER).exists()
    assert written.filter(factor_links__isnull=False).exists()
    assert all(c.name.endswith("(fictif)") for c in written)
