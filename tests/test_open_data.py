"""The open-data package: valid for frictionless on real and synthetic data, invalid when broken."""

import csv
import io
import json
import shutil
import zipfile

import pytest
from frictionless import Package

from cooperations.models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
)
from cooperations.publishing import open_data

from .conftest import make_cooperation, make_metropole, make_territory, make_territory_world


@pytest.fixture(autouse=True)
def open_data_root(settings, tmp_path):
    settings.OPEN_DATA_ROOT = tmp_path / "open-data"
    return settings.OPEN_DATA_ROOT


def _absolute(path):
    return "https://catalogue.example" + path


def _build(tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    open_data.write_package(folder, _absolute)
    return folder


def _validate(folder):
    return Package(str(folder / "datapackage.json")).validate()


def _rows(folder, name):
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_package_of_one_cooperation_is_valid_and_complete(cooperation, tmp_path):
    CooperationFactor.objects.filter(cooperation=cooperation).update(
        text='=HYPERLINK("x")', source_url="https://example.org/f"
    )
    folder = _build(tmp_path)
    report = _validate(folder)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    [row] = _rows(folder, "cooperations")
    assert row["identifiant"] == cooperation.slug
    assert row["adresse_fiche"] == f"https://catalogue.example/cooperations/{cooperation.slug}/"
    participations = _rows(folder, "participations")
    assert {p["role"] for p in participations} == {"metropole", "partenaire"}
    territories = {t["identifiant"] for t in _rows(folder, "territoires")}
    assert {p["territoire"] for p in participations} == territories
    [illustration] = _rows(folder, "illustrations")
    # Formula escaped, as in the spreadsheet exports.
    assert illustration["texte"].startswith("'=")
    assert illustration["type"] == "facteur"
    assert _rows(folder, "cooperations_thematiques")[0]["cooperation"] == cooperation.slug


def test_unpublished_cooperations_and_their_territories_are_left_out(cooperation, tmp_path):
    hidden_partner = make_territory(name="Communauté cachée")
    hidden = make_cooperation(name="Brouillon", metropoles=[make_metropole()],
                              partners=[hidden_partner], is_published=False)  # fmt: skip
    folder = _build(tmp_path)
    assert hidden.slug not in {row["identifiant"] for row in _rows(folder, "cooperations")}
    assert "Communauté cachée" not in {row["nom"] for row in _rows(folder, "territoires")}


def _rewrite(folder, name, change):
    rows = _rows(folder, name)
    change(rows)
    with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_unknown_theme_makes_the_package_invalid(cooperation, tmp_path):
    folder = _build(tmp_path)
    assert _validate(folder).valid

    def unknown_theme(rows):
        rows[0]["thematique"] = "theme-inconnu"

    _rewrite(folder, "cooperations_thematiques", unknown_theme)
    report = _validate(folder)
    assert not report.valid
    assert ["foreign-key"] in report.flatten(["type"])


def test_dangling_territory_makes_the_package_invalid(cooperation, tmp_path):
    folder = _build(tmp_path)

    def dangling(rows):
        rows[0]["territoire"] = "999999999"

    _rewrite(folder, "participations", dangling)
    report = _validate(folder)
    assert not report.valid
    assert ["foreign-key"] in report.flatten(["type"])


def test_unknown_status_makes_the_package_invalid(cooperation, tmp_path):
    folder = _build(tmp_path)

    def status(rows):
        rows[0]["statut"] = "peut-etre"

    _rewrite(folder, "cooperations", status)
    assert ["constraint-error"] in _validate(folder).flatten(["type"])


def test_demo_package_is_valid(official_territories, db, tmp_path):
    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    folder = _build(tmp_path)
    report = _validate(folder)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    published = Cooperation.objects.published()
    assert len(_rows(folder, "cooperations")) == published.count() >= 100
    illustrations = CooperationFactor.objects.filter(cooperation__in=published).exclude(text="")
    illustrations_count = (
        illustrations.count()
        + CooperationPlusValue.objects.filter(cooperation__in=published).exclude(text="").count()
    )
    assert len(_rows(folder, "illustrations")) == illustrations_count
    assert len(_rows(folder, "participations")) == Participation.objects.count()
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "etalab-2.0"
    assert package["version"] == open_data.SCHEMA_VERSION


def test_current_folder_is_rebuilt_when_the_catalogue_changes(cooperation):
    first = open_data.current_folder(_absolute)
    assert open_data.current_folder(_absolute) == first
    make_cooperation(name="Nouvelle", metropoles=[make_metropole()], partners=[])
    second = open_data.current_folder(_absolute)
    assert second != first
    assert not first.exists()
    with zipfile.ZipFile(second / open_data.ZIP_NAME) as archive:
        names = set(archive.namelist())
    assert names == {"datapackage.json", *(r.path for r in open_data.RESOURCES)}


@pytest.fixture
def package_of_10000(db, tmp_path):
    """The folder of the package of 10,000 synthetic cooperations, written in bulk."""
    from cooperations.synthetic import write_catalogue

    make_territory_world(metropoles=8, neighbours=8)
    assert write_catalogue(10_000, seed=24) == 10_000
    return _build(tmp_path)


def _broken_copy(folder, tmp_path, name, change):
    copy = tmp_path / f"broken-{name}"
    shutil.copytree(folder, copy)
    _rewrite(copy, name, change)
    return copy


def test_package_of_10000_synthetic_cooperations_is_valid_and_breaks_when_broken(
    package_of_10000, tmp_path
):
    folder = package_of_10000
    report = _validate(folder)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    assert len(_rows(folder, "cooperations")) == 10_000
    assert len(_rows(folder, "participations")) >= 20_000
    assert len(_rows(folder, "illustrations")) >= 10_000

    def unknown_theme(rows):
        rows[-1]["thematique"] = "theme-inconnu"

    def dangling(rows):
        rows[-1]["territoire"] = "999999999"

    for name, change in (("cooperations_thematiques", unknown_theme), ("participations", dangling)):
        broken = _validate(_broken_copy(folder, tmp_path, name, change))
        assert not broken.valid, name
        assert ["foreign-key"] in broken.flatten(["type"]), name
