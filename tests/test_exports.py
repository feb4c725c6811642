"""Exports equal the filtered list, carry their context, and never run a formula."""

import csv
import datetime
import io
import os
import re
import shutil
import subprocess

import openpyxl
import pytest
import tablib
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cooperations.models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
    SuccessFactor,
    Territory,
)
from cooperations.publishing.exports import (
    HEADERS,
    ILLUSTRATION_HEADERS,
    TERRITORY_HEADERS,
    filename,
)

from .catalogue_data import build_catalogue
from .conftest import make_cooperation


@pytest.fixture
def catalogue(db):
    return build_catalogue()


FILTERED = {"metropole": "242900314", "tri": "recent"}


def listed(client, params) -> list[str]:
    """Names of the filtered list as the HTML page shows them, across all pages."""
    response = client.get("/cooperations/", {**params, "format": "json"})
    return [row["name"] for row in response.json()["results"]]


def xlsx_sheets(response) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def ods_sheets(response) -> dict[str, list[list]]:
    book = tablib.Databook()
    book.load(response.content, format="ods")
    return {sheet.title: [list(sheet.headers), *map(list, sheet)] for sheet in book.sheets()}


def test_xlsx_rows_equal_the_filtered_list_in_order(client, catalogue):
    response = client.get("/cooperations/", {**FILTERED, "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment;" in response["Content-Disposition"]
    sheets = xlsx_sheets(response)
    rows = sheets["Coopérations"]
    assert rows[0] == HEADERS
    names = [row[HEADERS.index("Nom")] for row in rows[1:]]
    assert (
        names
        == listed(client, FILTERED)
        == [
            "Contrat de réciprocité Brest – Iroise",
            "Pôle métropolitain Loire-Bretagne",
        ]
    )


def test_xlsx_rows_use_readable_labels(client, catalogue):
    rows = xlsx_sheets(client.get("/cooperations/", {**FILTERED, "format": "xlsx"}))
    row = dict(zip(HEADERS, rows["Coopérations"][1], strict=True))
    assert row["Métropoles"] == "Brest Métropole (242900314)"
    assert row["Partenaires"] == "CC du Pays d'Iroise (242900074)"
    assert row["Thématiques"] == "Mobilités et transports"
    assert row["Forme de coopération"] == "Contrat de réciprocité"
    assert row["Statut"] == "Active"
    assert row["Date de signature"] == "2016"
    assert row["Plus-value"] == "Enjeux d'échelles"
    assert row["Adresse de la fiche"] == "http://testserver/cooperations/brest-iroise/"


def test_xlsx_about_sheet_states_filters_permalink_date_count_and_licence(client, catalogue):
    rows = xlsx_sheets(client.get("/cooperations/", {**FILTERED, "format": "xlsx"}))
    about = {row[0]: row[1] for row in rows["À propos"][1:]}
    assert about["Filtres"] == "Métropole : Brest Métropole — tri : signature la plus récente"
    assert about["Lien permanent"] == (
        "http://testserver/cooperations/?metropole=242900314&tri=recent"
    )
    assert about["Nombre de lignes"] == 2
    assert "Licence Ouverte" in about["Licence"] and "2.0" in about["Licence"]
    assert about["Date d'extraction"]


def test_ods_has_the_same_rows_and_about_sheet(client, catalogue):
    response = client.get("/cooperations/", {**FILTERED, "format": "ods"})
    assert response["Content-Type"] == "application/vnd.oasis.opendocument.spreadsheet"
    sheets = ods_sheets(response)
    rows = sheets["Coopérations"]
    assert rows[0] == HEADERS
    assert [row[HEADERS.index("Nom")] for row in rows[1:]] == listed(client, FILTERED)
    about = {row[0]: row[1] for row in sheets["À propos"][1:]}
    assert about["Nombre de lignes"] == 2
    assert "Licence Ouverte" in about["Licence"]


def test_csv_is_streamed_utf8_with_bom_and_semicolons(client, catalogue):
    response = client.get("/cooperations/", {**FILTERED, "format": "csv"})
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HEADERS
    assert [row[1] for row in rows[1:]] == listed(client, FILTERED)


def test_export_takes_every_page_not_only_the_current_one(client, catalogue):
    for n in range(30):
        make_cooperation(f"Action {n:02d}", metropoles=[catalogue.brest])
    response = client.get("/cooperations/", {"metropole": "242900314", "page": 2, "format": "csv"})
    rows = list(
        csv.reader(
            io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"
        )
    )
    assert len(rows) == 1 + 32


def test_search_export_keeps_relevance_order(client, catalogue):
    response = client.get("/cooperations/", {"q": "covoiturage", "format": "xlsx"})
    names = [r[1] for r in xlsx_sheets(response)["Coopérations"][1:]]
    assert names == ["Covoiturage rouennais", "Contrat de réciprocité Brest – Iroise"]


def test_export_leaves_out_unpublished_records(client, catalogue):
    rows = xlsx_sheets(client.get("/cooperations/", {"format": "xlsx"}))["Coopérations"]
    assert len(rows) == 1 + 4
    assert "brouillon" not in {row[0] for row in rows}


def test_formulas_in_records_are_neutralised_in_every_format(client, catalogue):
    catalogue.carpool.summary = "=1+1"
    catalogue.carpool.name = "@Covoiturage"
    catalogue.carpool.save()
    params = {"metropole": "200023414"}
    xlsx = xlsx_sheets(client.get("/cooperations/", {**params, "format": "xlsx"}))
    row = dict(zip(HEADERS, xlsx["Coopérations"][1], strict=True))
    assert row["Résumé"] == "'=1+1" and row["Nom"] == "'@Covoiturage"
    ods = ods_sheets(client.get("/cooperations/", {**params, "format": "ods"}))
    assert dict(zip(HEADERS, ods["Coopérations"][1], strict=True))["Résumé"] == "'=1+1"
    body = b"".join(client.get("/cooperations/", {**params, "format": "csv"}).streaming_content)
    assert ";'=1+1;" in body.decode("utf-8-sig")
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/cooperations/", {**params, "format": "xlsx"}).content)
    )
    assert all(cell.data_type != "f" for row in book["Coopérations"] for cell in row)


def test_page_export_states_the_page_scope_and_its_permalink(client, catalogue):
    response = client.get("/thematiques/mobilites-transports/", {"format": "xlsx"})
    sheets = xlsx_sheets(response)
    about = {row[0]: row[1] for row in sheets["À propos"][1:]}
    assert about["Filtres"].startswith("Thématique de la page : Mobilités et transports")
    assert about["Lien permanent"] == "http://testserver/thematiques/mobilites-transports/"
    assert [r[0] for r in sheets["Coopérations"][1:]] == ["brest-iroise", "covoiturage-rouennais"]
    assert "cooperations-mobilites-transports-" in response["Content-Disposition"]


def test_ods_survives_markup_control_characters_and_line_breaks(client, catalogue):
    catalogue.carpool.name = "Covoiturage <rouennais> & co\x0b"
    catalogue.carpool.summary = "Première ligne\nSeconde ligne"
    catalogue.carpool.save()
    sheets = ods_sheets(client.get("/cooperations/", {"metropole": "200023414", "format": "ods"}))
    row = dict(zip(HEADERS, sheets["Coopérations"][1], strict=True))
    assert row["Nom"] == "Covoiturage <rouennais> & co"
    assert row["Résumé"].startswith("Première ligne")


def test_export_query_count_grows_only_by_chunks_of_rows(
    client, catalogue, django_assert_max_num_queries
):
    from cooperations.derived import refresh_derived_text
    from cooperations.models import Cooperation

    from .test_views import bulk_catalogue

    bulk_catalogue(400, catalogue)
    client.get("/cooperations/")  # builds the facet index, which the export then reads
    # Rows written in bulk without their export text: the export builds it on the way, with
    # the catalogue's version, then rows + territories, themes, factors, sources.
    with django_assert_max_num_queries(7):
        response = client.get("/cooperations/", {"format": "csv"})
        built_on_the_way = b"".join(response.streaming_content)
    assert built_on_the_way.count(b"\r\n") == 1 + 404
    refresh_derived_text(Cooperation.objects.filter(slug__startswith="masse-"))
    client.get("/cooperations/")
    # Then one query per chunk of 2,000 rows, and the same file.
    with django_assert_max_num_queries(2):
        response = client.get("/cooperations/", {"format": "csv"})
        stored = b"".join(response.streaming_content)
    assert stored == built_on_the_way


def attachment_name(response) -> str:
    match = re.fullmatch(
        r'attachment; filename="([a-z0-9-]+\.(csv|xlsx|ods))"', response["Content-Disposition"]
    )
    assert match, response["Content-Disposition"]
    return match.group(1)


@pytest.mark.parametrize(
    ("url", "params", "stem"),
    [
        ("/cooperations/", {"format": "csv"}, "cooperations"),
        (
            "/cooperations/",
            {"format": "xlsx", "metropole": "242900314"},
            "cooperations-brest-metropole",
        ),
        (
            "/cooperations/",
            {"format": "ods", "thematique": "mobilites-transports", "statut": "active"},
            "cooperations-mobilites-transports",
        ),
        (
            "/thematiques/mobilites-transports/",
            {"format": "csv"},
            "cooperations-mobilites-transports",
        ),
    ],
)
def test_file_name_says_the_scope_then_the_date(client, catalogue, url, params, stem):
    response = client.get(url, params)
    assert response.status_code == 200
    extension = params["format"]
    assert attachment_name(response) == f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


def test_territory_page_export_is_named_after_the_territory(client, catalogue):
    response = client.get(catalogue.brest.get_absolute_url(), {"format": "xlsx"})
    assert response.status_code == 200
    assert attachment_name(response).startswith("cooperations-brest-metropole-")


def test_file_name_is_plain_ascii_whatever_the_scope():
    name = filename('Cœur d\'Essonne « Agglo » / Île-de-France\r\n"x"', "csv")
    assert (
        name
        == f"cooperations-coeur-d-essonne-agglo-ile-de-france-x-{timezone.localdate():%Y-%m-%d}.csv"
    )


def test_unknown_values_are_left_empty(client, catalogue):
    catalogue.carpool.status = ""
    catalogue.carpool.legal_form = None
    catalogue.carpool.save()
    response = client.get("/cooperations/", {"metropole": "200023414", "format": "xlsx"})
    assert response.status_code == 200
    row = dict(zip(HEADERS, xlsx_sheets(response)["Coopérations"][1], strict=True))
    assert row["Nom"] == "Covoiturage rouennais"
    assert row["Statut"] is None
    assert row["Forme de coopération"] is None
    assert "Non renseigné" not in response.content.decode("latin-1")


def test_no_result_page_offers_no_download(client, catalogue):
    response = client.get("/cooperations/", {"q": "introuvablexyz"})
    assert response.status_code == 200
    assert response.context["paginator"].count == 0
    content = response.content.decode()
    assert "Télécharger cette sélection" not in content
    assert "format=csv" not in content
    listing = client.get("/cooperations/")
    assert "Télécharger cette sélection" in listing.content.decode()


def test_csv_runs_its_queries_before_sending_any_byte(client, catalogue):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cooperations/", {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "cooperations_cooperation" in sql and "cooperations_participation" in sql
    with CaptureQueriesContext(connection) as later:
        body = b"".join(response.streaming_content)
    assert later.captured_queries == []
    assert body.count(b"\r\n") == 1 + 4


def test_csv_of_an_empty_selection_has_only_its_header(client, catalogue):
    response = client.get("/cooperations/", {"q": "introuvablexyz", "format": "csv"})
    assert response.status_code == 200
    rows = list(
        csv.reader(
            io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows == [HEADERS]


def test_xlsx_export_has_a_bold_frozen_filtered_header(client, catalogue):
    response = client.get("/cooperations/", {**FILTERED, "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Coopérations"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:V3"
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["B2"].font.b
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJKLMNOPQRSTUV"]
    assert all(8 <= width <= 60 for width in widths)
    assert widths[HEADERS.index("Nom")] > widths[HEADERS.index("Fin")]


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "ods"])
def test_a_public_export_reimports_unchanged(client, catalogue, file_format):
    from cooperations.importing import RowPlan, plan_import
    from cooperations.inventory import read_spreadsheet

    make_cooperation(
        "Coopération au statut inconnu",
        metropoles=[Territory.objects.filter(kind=Territory.Kind.METRO).first()],
        partners=[Territory.objects.get(kind=Territory.Kind.REGION, code="53")],
        status="",
    )
    response = client.get("/cooperations/", {"format": file_format})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = read_spreadsheet(content, file_format)
    cells = {str(cell) for _line, row in sheet.rows for cell in row}
    assert "mai 2012" in cells  # a month date, which the import must read back
    assert any(re.search(r"\(\d{2}\)", cell) for cell in cells)  # « Finistère (29) »
    plan = plan_import(sheet)
    assert plan.row_errors == [] and plan.file_errors == []
    assert len(plan.rows) == len(listed(client, {})) > 0
    assert [row.changes for row in plan.rows if row.action != RowPlan.SKIP] == []


def tricky_cooperations(catalogue) -> list[int]:
    """Records holding what a CSV writer can get wrong: formulas, quotes, separators, line
    breaks, empty and partial values, territories without code, several roles."""
    from cooperations.derived import refresh_derived_text
    from cooperations.models import Cooperation, Participation, Source

    from .conftest import make_territory

    uncoded = make_territory(Territory.Kind.PETR, 'PETR « Pays ; de "Brest" »', code="")
    made = [
        make_cooperation(
            '=HYPERLINK("x";"y")',
            summary="-2+3",
            description='Ligne 1\r\nLigne 2 ; "citée"',
            governance="@SUM(A1)",
            funding="\tTab",
            staffing="\rRetour",
            signed_on=datetime.date(2017, 7, 10),
            signed_on_precision=Cooperation.DatePrecision.MONTH,
            starts_on=datetime.date(2018, 1, 2),
            adds_scale=True,
            adds_pooling=True,
        ),
        make_cooperation(
            "Simple",
            signed_on=datetime.date(2019, 3, 4),
            signed_on_precision=Cooperation.DatePrecision.YEAR,
        ),
        make_cooperation(
            "Datée au jour ; « guillemets »",
            signed_on=datetime.date(2020, 12, 31),
            signed_on_precision=Cooperation.DatePrecision.DAY,
            ends_on=datetime.date(2024, 6, 30),
            last_verified_on=datetime.date(2025, 1, 15),
        ),
    ]
    first = made[0]
    Participation.objects.create(cooperation=first, territory=uncoded, role="partenaire")
    Participation.objects.create(
        cooperation=first, territory=catalogue.brest, role=Participation.Role.ASSOCIATED
    )
    Source.objects.create(cooperation=first, url="https://example.org/b", position=2)
    Source.objects.create(cooperation=first, url="https://example.org/a;x", position=1)
    # What the admin does once it has saved a record and its inlines.
    refresh_derived_text(Cooperation.objects.filter(pk=first.pk))
    others = Cooperation.objects.published().exclude(pk__in=[c.pk for c in made])
    return [c.pk for c in made] + list(others.order_by("-pk").values_list("pk", flat=True))


def test_csv_from_stored_text_is_byte_for_byte_the_python_writers(catalogue):
    from cooperations.publishing.exports import cell_rows, csv_chunks
    from cooperations.publishing.spreadsheets import csv_chunks as write_csv_chunks

    ids = tricky_cooperations(catalogue)
    url = "http://testserver".__add__
    stored = b"".join(csv_chunks(ids, url)).decode()
    assert stored == "".join(write_csv_chunks(HEADERS, cell_rows(ids, url)))
    parsed = list(csv.reader(io.StringIO(stored), delimiter=";"))
    assert len(parsed) == 1 + len(ids)
    first = dict(zip(HEADERS, parsed[1], strict=True))
    assert first["Nom"] == '\'=HYPERLINK("x";"y")'
    assert first["Adresse de la fiche"].startswith("http://testserver/cooperations/")
    assert first["Description"] == 'Ligne 1\r\nLigne 2 ; "citée"'
    assert first["Date de signature"] == "juillet 2017"
    assert first["Sources"] == "https://example.org/a;x ; https://example.org/b"


@pytest.mark.parametrize("host", ["http://testserver", 'http://a;"b"'])
def test_csv_lines_missing_a_stored_part_or_on_an_odd_host_are_the_python_writers(catalogue, host):
    """A record whose first cells were never stored (as after the migration that added them)
    gets its line built on the way; an address that would need quoting in a cell sends every
    line through the csv writer. Either way, the same bytes."""
    from cooperations.models import Cooperation
    from cooperations.publishing.exports import cell_rows, csv_chunks
    from cooperations.publishing.spreadsheets import csv_chunks as write_csv_chunks

    ids = tricky_cooperations(catalogue)
    Cooperation.objects.filter(pk__in=ids[:2]).update(export_head="")
    url = host.__add__
    stored = b"".join(csv_chunks(ids, url)).decode()
    assert stored == "".join(write_csv_chunks(HEADERS, cell_rows(ids, url)))
    first = next(csv.reader(io.StringIO(stored.splitlines()[1]), delimiter=";"))
    assert first[2].startswith(host + "/cooperations/")


def test_spreadsheet_rows_read_back_from_stored_lines_are_the_records_cells(catalogue):
    """XLSX and ODS read the stored CSV lines back: the cells built from the records,
    neutralised as every writer does it, with line breaks, quotes and separators."""
    from cooperations.publishing.exports import cell_rows, rows
    from cooperations.publishing.spreadsheets import neutralise

    ids = tricky_cooperations(catalogue)
    url = "http://testserver".__add__
    stored = list(rows(ids, url))
    assert stored == [
        ["" if cell is None else neutralise(cell) for cell in row] for row in cell_rows(ids, url)
    ]
    first = dict(zip(HEADERS, stored[0], strict=True))
    assert first["Nom"] == '\'=HYPERLINK("x";"y")'
    assert first["Description"] == 'Ligne 1\r\nLigne 2 ; "citée"'
    assert first["Sources"] == "https://example.org/a;x ; https://example.org/b"


def test_any_of_matches_in_on_both_engines(catalogue):
    from cooperations.models import Cooperation, Participation

    ids = list(Cooperation.objects.values_list("pk", flat=True))
    some = set(ids[::2])
    assert set(Cooperation.objects.filter(pk__any_of=some).values_list("pk", flat=True)) == some
    assert not Cooperation.objects.filter(pk__any_of=set()).exists()
    via_foreign_key = Participation.objects.filter(cooperation_id__any_of=some)
    assert set(via_foreign_key.values_list("pk", flat=True)) == set(
        Participation.objects.filter(cooperation_id__in=some).values_list("pk", flat=True)
    )


# --- The « Territoires » and « Facteurs et plus-values » sheets -------------------------------


@pytest.fixture
def illustrated(catalogue):
    """A plus-value illustrated with a formula-like text and a source on the Brest record."""
    CooperationPlusValue.objects.create(
        cooperation=catalogue.reciprocity,
        plus_value=CooperationPlusValue.PlusValue.ECHELLES,
        text="=Un bassin de vie",
        source_url="https://example.org/bassin",
    )
    CooperationFactor.objects.filter(cooperation=catalogue.reciprocity).update(
        source_url="https://example.org/gouvernance"
    )
    return catalogue


def expected_sheets(client, params) -> tuple[dict, int, int]:
    """The JSON of the selection, and the participations and illustrations of its records."""
    data = client.get("/cooperations/", {**params, "format": "json"}).json()
    assert data["count"] == len(data["results"]) > 0
    selected = Cooperation.objects.filter(slug__in=[row["slug"] for row in data["results"]])
    participations = Participation.objects.filter(cooperation__in=selected).count()
    assert participations == sum(len(row["territories"]) for row in data["results"])
    illustrations = (
        CooperationFactor.objects.filter(cooperation__in=selected).count()
        + CooperationPlusValue.objects.filter(cooperation__in=selected).count()
    )
    return data, participations, illustrations


def test_xlsx_has_a_row_per_participation_and_per_illustration(client, illustrated):
    data, participations, illustrations = expected_sheets(client, FILTERED)
    sheets = xlsx_sheets(client.get("/cooperations/", {**FILTERED, "format": "xlsx"}))
    assert list(sheets) == ["Coopérations", "Territoires", "Facteurs et plus-values", "À propos"]
    territories = sheets["Territoires"]
    assert territories[0] == TERRITORY_HEADERS
    assert len(territories) - 1 == participations
    # In the order of the selection, métropoles first.
    assert [row[0] for row in territories[1:3]] == ["brest-iroise", "brest-iroise"]
    assert territories[1][2:] == ["Brest Métropole", "242900314", "Métropole", "Métropole"]
    assert territories[2][2:] == [
        "CC du Pays d'Iroise", "242900074", "Communauté de communes", "Partenaire",
    ]  # fmt: skip
    order = [row["slug"] for row in data["results"]]
    assert sorted(order.index(row[0]) for row in territories[1:]) == [
        order.index(row[0]) for row in territories[1:]
    ]
    factors = sheets["Facteurs et plus-values"]
    assert factors[0] == ILLUSTRATION_HEADERS
    assert len(factors) - 1 == illustrations
    brest = [row for row in factors[1:] if row[0] == "brest-iroise"]
    gouvernance = SuccessFactor.objects.get(slug="gouvernance").label
    assert brest[0][2:4] == ["Facteur de réussite", gouvernance]
    assert brest[0][5] == "https://example.org/gouvernance"
    # Formula-like text neutralised, as in the cooperations' sheet.
    assert brest[-1][2:] == [
        "Plus-value", "Enjeux d'échelles", "'=Un bassin de vie", "https://example.org/bassin",
    ]  # fmt: skip
    about = {row[0]: row[1] for row in sheets["À propos"][1:]}
    assert about["Nombre de lignes"] == data["count"]
    assert about["Lignes de la feuille « Territoires »"] == participations
    assert about["Lignes de la feuille « Facteurs et plus-values »"] == illustrations


def test_ods_has_the_same_territory_and_illustration_sheets(client, illustrated):
    xlsx = xlsx_sheets(client.get("/cooperations/", {**FILTERED, "format": "xlsx"}))
    ods = ods_sheets(client.get("/cooperations/", {**FILTERED, "format": "ods"}))
    assert list(ods) == list(xlsx)
    for title in ("Territoires", "Facteurs et plus-values"):
        assert len(ods[title]) == len(xlsx[title]) > 1
        assert [[cell or "" for cell in row] for row in ods[title]] == [
            [cell or "" for cell in row] for row in xlsx[title]
        ]


def test_list_download_block_says_where_territories_and_illustrations_are(client, catalogue):
    response = client.get("/cooperations/", FILTERED)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Le CSV compte une ligne par coopération" in html
    # French typography: non-breaking spaces inside the quotes.
    assert "«\xa0Territoires\xa0» et «\xa0Facteurs et plus-values\xa0»" in html
    assert 'href="/donnees/"' in html


# --- Opened back by LibreOffice -----------------------------------------------------------------

# LibreOffice's CSV filter: comma, double quote, UTF-8, from line 1, every sheet (the last -1),
# one file per sheet named <file>-<sheet>.csv.
_CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


@pytest.fixture
def soffice():
    path = shutil.which("soffice")
    if path is None:
        message = "LibreOffice (soffice) est absent : apt-get install libreoffice-calc-nogui."
        if os.environ.get("REQUIRE_LIBREOFFICE_TESTS") == "1":
            pytest.fail(message + " REQUIRE_LIBREOFFICE_TESTS=1 exige ces tests.", pytrace=False)
        pytest.skip(message)
    return path


def libreoffice_sheets(soffice, content: bytes, extension: str, folder) -> dict[str, list]:
    """Each sheet of the file as LibreOffice reads it, converted to CSV: {title: rows}."""
    source = folder / f"export.{extension}"
    source.write_bytes(content)
    # A profile of its own: LibreOffice refuses to start twice on the same one.
    profile = (folder / "profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", _CSV_FILTER,
         "--outdir", str(folder / "csv"), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    sheets = {}
    for path in (folder / "csv").glob("export-*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            sheets[path.stem.removeprefix("export-")] = list(csv.reader(handle))
    return sheets


@pytest.mark.parametrize("extension", ["xlsx", "ods"])
def test_libreoffice_reads_the_three_data_sheets_of_a_filtered_selection(
    client, illustrated, soffice, tmp_path, extension
):
    data, participations, illustrations = expected_sheets(client, FILTERED)
    response = client.get("/cooperations/", {**FILTERED, "format": extension})
    assert response.status_code == 200
    sheets = libreoffice_sheets(soffice, response.content, extension, tmp_path)
    assert set(sheets) == {"Coopérations", "Territoires", "Facteurs et plus-values", "À propos"}
    cooperations = sheets["Coopérations"]
    assert cooperations[0] == HEADERS
    assert [row[0] for row in cooperations[1:]] == [row["slug"] for row in data["results"]]
    assert len(cooperations) - 1 == data["count"]
    assert sheets["Territoires"][0] == TERRITORY_HEADERS
    assert len(sheets["Territoires"]) - 1 == participations
    assert sheets["Facteurs et plus-values"][0] == ILLUSTRATION_HEADERS
    assert len(sheets["Facteurs et plus-values"]) - 1 == illustrations
    # Still text for LibreOffice, not a formula it ran.
    assert [
        row[4] for row in sheets["Facteurs et plus-values"][1:] if row[4].endswith("bassin de vie")
    ] == ["'=Un bassin de vie"]


# --- The complete JSON ----------------------------------------------------------------------------


def complete_json(client, params) -> dict:
    import json

    response = client.get("/cooperations/", {**params, "format": "json-complet"})
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


def test_complete_json_is_the_whole_selection_like_the_other_downloads(client, catalogue):
    from .test_views import bulk_catalogue

    bulk_catalogue(45, catalogue)
    params = {"metropole": "242900314", "tri": "nom"}
    data = complete_json(client, params)
    csv_body = b"".join(client.get("/cooperations/", {**params, "format": "csv"}).streaming_content)
    csv_rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig")), delimiter=";"))[1:]
    assert data["count"] == len(data["results"]) == len(csv_rows) == 47
    assert [row["slug"] for row in data["results"]] == [row[0] for row in csv_rows]
    assert data["licence"]["name"] == "etalab-2.0"
    assert data["notices"] == []
    # The same items as the paginated JSON's first page.
    page = client.get("/cooperations/", {**params, "format": "json"}).json()
    assert page["count"] == 47 and len(page["results"]) == 20
    assert data["results"][:20] == page["results"]


def test_complete_json_reads_its_rows_by_chunks(client, catalogue, django_assert_max_num_queries):
    from .test_views import bulk_catalogue

    bulk_catalogue(1100, catalogue)
    client.get("/cooperations/")  # builds the facet index, which the download then reads
    # The catalogue's version, then 3 chunks of 500 ids: their rows and two prefetches each.
    with django_assert_max_num_queries(1 + 3 * 3):
        data = complete_json(client, {})
    assert data["count"] == len(data["results"]) == 1104


def test_complete_json_keeps_the_notices_of_ignored_filters(client, catalogue):
    data = complete_json(client, {"thematique": "inconnue"})
    assert data["count"] == len(data["results"]) == 4
    assert any("inconnue" in notice for notice in data["notices"])


def test_list_json_link_is_the_complete_selection(client, catalogue):
    response = client.get("/cooperations/", {**FILTERED, "page": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="?metropole=242900314&amp;tri=recent&amp;format=json-complet">JSON</a>' in html
