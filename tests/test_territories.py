import gzip
import json

import pytest
from django.core.management import CommandError, call_command

from cooperations.models import Territory
from cooperations.search import stems
from cooperations.territories import (
    FIXTURE_PATH,
    TerritoryDataError,
    build_rows,
    load_territories,
    read_fixture,
    write_fixture,
)

from .conftest import make_cooperation, make_territory

Kind = Territory.Kind


def row(kind, code, name, population=None, departement="", region="", epci=""):
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "population": population,
        "departement": departement,
        "region": region,
        "epci": epci,
    }


# Codes that no official territory uses, so that these rows never meet the official list the
# session fixture may already have committed to the test database.
def small_rows():
    return [
        row(Kind.REGION, "00", "Région d'essai"),
        row(Kind.DEPARTEMENT, "00", "Département d'essai", region="00"),
        row(Kind.CA, "000000001", "Agglomération d'essai", 1500, departement="00", region="00"),
        row(Kind.COMMUNE, "00001", "Saint-Essai-sur-Mer", 1000, "00", "00", "000000001"),
        row(Kind.COMMUNE, "00002", "Île-d'Essai", 500, "00", "00"),
    ]


def snapshot():
    return list(Territory.objects.order_by("pk").values())


@pytest.fixture(scope="module")
def fixture_rows():
    return read_fixture(FIXTURE_PATH)


# --- The committed 2026 list, loaded once per session -------------------------------------


def test_official_list_has_22_metropoles_with_lyon_as_met69(official_territories, db):
    metropoles = Territory.objects.metropoles()
    assert metropoles.count() == 22
    assert metropoles.filter(kind=Kind.METRO).count() == 21
    lyon = metropoles.get(kind=Kind.MET69)
    assert (lyon.code, lyon.name) == ("200046977", "Métropole de Lyon")


def test_official_list_has_26_regions_and_109_departements_with_corsica_and_mayotte(
    official_territories, db
):
    assert Territory.objects.filter(kind=Kind.REGION).count() == 26
    departements = Territory.objects.filter(kind=Kind.DEPARTEMENT)
    assert departements.count() == 109
    assert {"2A", "2B", "976"} <= set(departements.values_list("code", flat=True))


def test_official_list_has_1255_epci_and_11_ept(official_territories, db):
    assert Territory.objects.filter(kind__in=Territory.EPCI_KINDS).count() == 1255
    assert Territory.objects.filter(kind=Kind.EPT).count() == 11


def test_official_list_keeps_only_current_communes(official_territories, db):
    communes = Territory.objects.filter(kind=Kind.COMMUNE)
    assert communes.count() == 34969
    # Paris's arrondissements are another type in the package, with codes of their own.
    assert not communes.filter(code="75101").exists()


def test_brest_links_to_brest_metropole_finistere_and_bretagne(official_territories, db):
    brest = Territory.objects.select_related("epci", "departement", "region").get(
        kind=Kind.COMMUNE, code="29019"
    )
    assert brest.name == "Brest"
    assert (brest.epci.code, brest.epci.name) == ("242900314", "Brest Métropole")
    assert brest.departement.code == "29"
    assert brest.region.code == "53"
    assert brest.vintage == 2026


def test_grand_paris_commune_links_to_the_metropole_not_its_ept(official_territories, db):
    saint_denis = Territory.objects.get(kind=Kind.COMMUNE, code="93066")
    assert saint_denis.epci.code == "200054781"
    assert Territory.objects.get(kind=Kind.EPT, code="200057867").departement.code == "93"


def test_loaded_territories_get_a_folded_search_name(official_territories, db):
    saint_etienne = Territory.objects.get(kind=Kind.METRO, code="244200770")
    assert saint_etienne.search_name == "saint etienne metropole"


def test_reloading_the_official_list_changes_nothing(official_territories, db, fixture_rows):
    before = snapshot()
    report = load_territories(fixture_rows)
    assert (report.total_created, report.total_updated) == (0, 0)
    assert report.total_unchanged == 36370
    assert snapshot() == before


def test_renamed_commune_is_updated_not_duplicated(official_territories, db, fixture_rows):
    brest = next(r for r in fixture_rows if (r["kind"], r["code"]) == (Kind.COMMUNE, "29019"))
    count = Territory.objects.count()
    report = load_territories([{**brest, "name": "Brest-Océane", "population": 142000}])
    assert report.updated == {Kind.COMMUNE: 1}
    assert Territory.objects.count() == count
    renamed = Territory.objects.get(kind=Kind.COMMUNE, code="29019")
    assert (renamed.name, renamed.search_name, renamed.population) == (
        "Brest-Océane",
        "brest oceane",
        142000,
    )
    assert renamed.epci.code == "242900314"


# --- load_territories on small hand-made rows ---------------------------------------------


@pytest.mark.django_db
def test_load_creates_rows_with_links_and_vintage():
    report = load_territories(small_rows(), vintage=2026)
    assert report.created == {Kind.REGION: 1, Kind.DEPARTEMENT: 1, Kind.CA: 1, Kind.COMMUNE: 2}
    commune = Territory.objects.get(kind=Kind.COMMUNE, code="00001")
    assert commune.departement.code == commune.region.code == "00"
    assert commune.epci.code == "000000001"
    assert commune.search_name == "saint essai sur mer"
    assert commune.vintage == 2026
    assert Territory.objects.get(kind=Kind.COMMUNE, code="00002").epci is None


@pytest.mark.django_db
def test_dry_run_leaves_the_database_untouched():
    load_territories(small_rows())
    before = snapshot()
    changed = small_rows()
    changed[3]["name"] = "Nouveau nom"
    changed.append(row(Kind.COMMUNE, "00003", "Commune nouvelle", 10, "00", "00"))
    report = load_territories(changed, dry_run=True)
    assert (report.total_created, report.total_updated) == (1, 1)
    assert snapshot() == before


@pytest.mark.django_db
def test_renamed_territory_is_found_by_search_under_its_new_name():
    from cooperations.derived import refresh_derived_text

    load_territories(small_rows())
    epci = Territory.objects.get(kind=Kind.CA, code="000000001")
    cooperation = make_cooperation(partners=[epci])
    refresh_derived_text()
    changed = small_rows()
    renamed = next(r for r in changed if r["code"] == "000000001")
    renamed["name"] = "Agglomération Renommée"
    load_territories(changed)
    cooperation.refresh_from_db()
    assert stems("agglomeration renommee") in cooperation.search_text
    assert "Agglomération Renommée" in cooperation.export_text


@pytest.mark.django_db
def test_new_vintage_updates_rows_whose_data_did_not_change():
    load_territories(small_rows(), vintage=2025)
    report = load_territories(small_rows(), vintage=2026)
    assert report.total_updated == 5
    assert not Territory.objects.filter(code__startswith="0000", vintage=2025).exists()


@pytest.mark.django_db
def test_load_never_deletes_territories_missing_from_the_rows():
    petr = make_territory(Kind.PETR, "PETR du Pays d'Essai", code="")
    gone = make_territory(Kind.CC, "CC disparue", code="000000009")
    load_territories(small_rows())
    assert Territory.objects.filter(pk__in=[petr.pk, gone.pk]).count() == 2
    assert Territory.objects.get(pk=gone.pk).vintage is None


@pytest.mark.django_db
def test_hand_typed_territory_with_official_code_is_completed_not_duplicated():
    typed = make_territory(Kind.CA, "agglo d essai", code="000000001")
    load_territories(small_rows())
    assert Territory.objects.filter(kind=Kind.CA, code="000000001").count() == 1
    typed.refresh_from_db()
    assert (typed.name, typed.population, typed.vintage) == ("Agglomération d'essai", 1500, 2026)


@pytest.mark.django_db
def test_dangling_link_raises_and_writes_nothing():
    before = snapshot()
    rows = [*small_rows(), row(Kind.COMMUNE, "00004", "Perdue", 1, departement="0Z")]
    with pytest.raises(TerritoryDataError, match="0Z"):
        load_territories(rows)
    assert snapshot() == before


# --- build_rows on a tiny package ---------------------------------------------------------


@pytest.fixture
def tiny_package(tmp_path):
    data = {
        "regions.json": [
            {"code": "53", "nom": "Bretagne"},
            {"code": "84", "nom": "Auvergne-Rhône-Alpes"},
        ],
        "departements.json": [
            {"code": "29", "region": "53", "nom": "Finistère"},
            {"code": "35", "region": "53", "nom": "Ille-et-Vilaine"},
            {"code": "69", "region": "84", "nom": "Rhône"},
        ],
        "communes.json": [
            commune("29019", "Brest", "29", "53", population=142346),
            commune("29155", "Ouessant", "29", "53", population=820),
            commune("35236", "Redon", "35", "53", population=9000),
            commune("29200", "Pont-de-Bois", "29", "53", population=500),
            # Same code as Redon: a former commune kept as commune déléguée.
            commune("35236", "Redon-Vieux", "35", "53", type="commune-deleguee"),
            commune(
                "69381", "Lyon 1er Arrondissement", "69", "84", type="arrondissement-municipal"
            ),
            commune("69123", "Lyon", "69", "84", population=520000),
            commune("69999", "Îlot sans habitant", "69", "84"),
        ],
        "epci.json": [
            grouping("242900314", "Brest Métropole", "METRO", [("29019", 142346)]),
            # Listed first but smaller: the département comes from population, not order.
            grouping("243500741", "Redon Agglomération", "CA", [("29200", 500), ("35236", 9000)]),
            grouping("200046977", "Métropole de Lyon", "MET69", [("69123", 520000)]),
        ],
        "ept.json": [grouping("200000001", "Territoire d'essai", "EPT", [("29019", 142346)])],
    }
    for name, content in data.items():
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    return tmp_path


def commune(code, nom, departement, region, type="commune-actuelle", population=None):
    data = {"code": code, "nom": nom, "departement": departement, "region": region, "type": type}
    if population is not None:
        data["population"] = population
    return data


def grouping(code, nom, type, members):
    return {
        "code": code,
        "nom": nom,
        "type": type,
        "populationMunicipale": sum(population for _, population in members),
        "membres": [{"code": c, "populationMunicipale": p} for c, p in members],
    }


def test_build_rows_derives_compact_sorted_rows_from_the_package(tiny_package):
    assert build_rows(tiny_package) == [
        row("REG", "53", "Bretagne"),
        row("REG", "84", "Auvergne-Rhône-Alpes"),
        row("DEP", "29", "Finistère", region="53"),
        row("DEP", "35", "Ille-et-Vilaine", region="53"),
        row("DEP", "69", "Rhône", region="84"),
        row("CA", "243500741", "Redon Agglomération", 9500, "35", "53"),
        row("METRO", "242900314", "Brest Métropole", 142346, "29", "53"),
        row("MET69", "200046977", "Métropole de Lyon", 520000, "69", "84"),
        row("EPT", "200000001", "Territoire d'essai", 142346, "29", "53"),
        row("COM", "29019", "Brest", 142346, "29", "53", "242900314"),
        row("COM", "29155", "Ouessant", 820, "29", "53"),
        row("COM", "29200", "Pont-de-Bois", 500, "29", "53", "243500741"),
        row("COM", "35236", "Redon", 9000, "35", "53", "243500741"),
        row("COM", "69123", "Lyon", 520000, "69", "84", "200046977"),
        row("COM", "69999", "Îlot sans habitant", None, "69", "84"),
    ]


def test_fixture_round_trips_and_rewrites_to_identical_bytes(tiny_package, tmp_path):
    rows = build_rows(tiny_package)
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    write_fixture(rows, first)
    write_fixture(list(reversed(rows)), second)
    assert read_fixture(first) == rows
    assert first.read_bytes() == second.read_bytes()


def test_committed_fixture_is_in_canonical_form(fixture_rows, tmp_path):
    rewritten = tmp_path / "territoires.csv.gz"
    write_fixture(fixture_rows, rewritten)
    assert rewritten.read_bytes() == FIXTURE_PATH.read_bytes()
    assert FIXTURE_PATH.stat().st_size < 1_000_000


def test_fixture_with_unexpected_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(b"kind,code,nom\nREG,53,Bretagne\n"))
    with pytest.raises(TerritoryDataError, match="En-tête"):
        read_fixture(path)


# --- Commands -----------------------------------------------------------------------------


def test_build_command_writes_the_fixture_from_the_package(tiny_package, tmp_path, capsys):
    output = tmp_path / "out" / "territoires.csv.gz"
    call_command("build_territories", source=tiny_package, output=output)
    assert read_fixture(output) == build_rows(tiny_package)
    assert "15 territoires écrits" in capsys.readouterr().out


def test_build_command_without_package_says_which_file_is_missing(tmp_path):
    with pytest.raises(CommandError, match="regions.json"):
        call_command("build_territories", source=tmp_path, output=tmp_path / "out.csv.gz")


@pytest.mark.django_db
def test_load_command_dry_run_reports_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "small.csv.gz"
    write_fixture(small_rows(), path)
    before = snapshot()
    call_command("load_territories", file=path, dry_run=True)
    out = capsys.readouterr().out
    assert "Commune : 2 créé(s), 0 mis à jour, 0 inchangé(s)" in out
    assert "simulation" in out
    assert snapshot() == before


@pytest.mark.django_db
def test_load_command_creates_then_finds_nothing_to_do(tmp_path, capsys):
    path = tmp_path / "small.csv.gz"
    write_fixture(small_rows(), path)
    call_command("load_territories", file=path)
    call_command("load_territories", file=path)
    out = capsys.readouterr().out
    assert "Total : 5 créé(s), 0 mis à jour, 0 inchangé(s)." in out
    assert "Total : 0 créé(s), 0 mis à jour, 5 inchangé(s)." in out
