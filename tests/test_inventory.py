"""Unit tests of the pure parsing functions of the inventory format: no database."""

import datetime
import io
import tracemalloc
import zipfile

import pytest

from cooperations import inventory
from cooperations.inventory import ParseError, TerritoryRef, VocabularyMatcher
from cooperations.publishing.spreadsheets import neutralise

from .conftest import make_sparse_xlsx


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Nom", "name"),
        ("  NOM  ", "name"),
        ("Métropole", "metropoles"),
        ("Metropoles", "metropoles"),
        ("MÉTROPOLE(S)", "metropoles"),
        ("Territoire(s) partenaire(s)", "partners"),
        ("territoires   partenaires", "partners"),
        ("Thèmes", "themes"),
        ("thematique", "themes"),
        ("Forme", "legal_form"),
        ("Date de signature", "signed_on"),
        ("signée le", "signed_on"),
        ("Facteur gouvernance (comment)", "factor_text:gouvernance"),
        ("Plus-values", "plus_value"),
        ("slug", "slug"),
    ],
)
def test_headers_match_whatever_case_accents_spacing_and_plural(header, key):
    mapping = inventory.map_headers([header, *(["Nom"] if key != "name" else []), "Métropoles"])
    assert mapping.positions[key] == 0


def test_unknown_headers_are_listed_as_ignored():
    mapping = inventory.map_headers(["Nom", "Métropoles", "Commentaire interne", None, "", "ID"])
    assert mapping.ignored == ["Commentaire interne", "ID"]
    assert mapping.errors == []


def test_missing_required_column_is_a_file_error():
    mapping = inventory.map_headers(["Nom", "Partenaires"])
    assert mapping.errors == ["Colonne obligatoire absente : « Métropoles »."]


def test_two_headers_for_one_column_is_a_file_error():
    mapping = inventory.map_headers(["Nom", "Métropole", "Metropoles"])
    assert mapping.errors == [
        "Les colonnes « Métropole » et « Metropoles » désignent toutes deux « Métropoles » : "
        "gardez-en une seule."
    ]


@pytest.mark.parametrize(
    ("cell", "values"),
    [
        ("A; B;C", ["A", "B", "C"]),
        ("A\nB\r\nC", ["A", "B", "C"]),
        ("A, B", ["A", "B"]),
        ("A, B; C", ["A, B", "C"]),
        ("  A  ", ["A"]),
        ("", []),
        (None, []),
        ("A;;B;", ["A", "B"]),
    ],
)
def test_multi_value_cells_split_on_semicolon_comma_or_line_break(cell, values):
    assert inventory.split_values(cell) == values


def test_urls_are_found_whatever_the_separator():
    cell = "https://a.fr/x?p=1;q=2 ; http://b.fr\nhttps://c.fr/, https://a.fr/x?p=1;q=2"
    assert inventory.split_urls(cell) == ["https://a.fr/x?p=1;q=2", "http://b.fr", "https://c.fr/"]


def test_text_among_urls_is_an_error():
    with pytest.raises(ParseError, match="« voir le site » n'est pas une adresse http"):
        inventory.split_urls("https://a.fr voir le site")


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("oui", True),
        ("OUI", True),
        ("x", True),
        (1, True),
        (True, True),
        ("Vrai", True),
        ("non", False),
        ("", False),
        (None, False),
        ("0", False),
        (False, False),
    ],
)
def test_booleans_accept_french_and_english_spellings(cell, value):
    assert inventory.parse_bool(cell) is value


def test_unreadable_boolean_is_an_error():
    with pytest.raises(ParseError, match="« peut-être » : répondez « oui » ou « non »"):
        inventory.parse_bool("peut-être")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2017", (datetime.date(2017, 1, 1), "year")),
        (2017, (datetime.date(2017, 1, 1), "year")),
        (2017.0, (datetime.date(2017, 1, 1), "year")),
        ("07/2017", (datetime.date(2017, 7, 1), "month")),
        ("7/2017", (datetime.date(2017, 7, 1), "month")),
        ("2017-07", (datetime.date(2017, 7, 1), "month")),
        ("10/07/2017", (datetime.date(2017, 7, 10), "day")),
        ("10.07.2017", (datetime.date(2017, 7, 10), "day")),
        ("2017-07-10", (datetime.date(2017, 7, 10), "day")),
        ("2017-07-10 00:00:00", (datetime.date(2017, 7, 10), "day")),
        (42926, (datetime.date(2017, 7, 10), "day")),
        (42926.5, (datetime.date(2017, 7, 10), "day")),
        (datetime.datetime(2017, 7, 10), (datetime.date(2017, 7, 10), "day")),
        (datetime.date(2017, 7, 10), (datetime.date(2017, 7, 10), "day")),
        (" 2017 ", (datetime.date(2017, 1, 1), "year")),
    ],
)
def test_dates_keep_their_precision(cell, expected):
    assert inventory.parse_partial_date(cell) == expected


@pytest.mark.parametrize("cell", ["", None, "  "])
def test_empty_date_is_none(cell):
    assert inventory.parse_partial_date(cell) is None


def test_impossible_date_is_an_error():
    with pytest.raises(ParseError, match="« 31/02/2017 » n'est pas une date qui existe"):
        inventory.parse_partial_date("31/02/2017")


@pytest.mark.parametrize("cell", ["été 2017", "17", "2017/07/10/1", "123"])
def test_unreadable_date_is_an_error_listing_formats(cell):
    with pytest.raises(ParseError, match="formats acceptés : 2017, 07/2017, 10/07/2017"):
        inventory.parse_partial_date(cell)


@pytest.mark.parametrize(
    ("value", "precision", "text"),
    [
        (datetime.date(2017, 1, 1), "year", "2017"),
        (datetime.date(2017, 7, 1), "month", "07/2017"),
        (datetime.date(2017, 7, 10), "day", "10/07/2017"),
        (None, "", ""),
    ],
)
def test_format_date_is_read_back_to_the_same_value(value, precision, text):
    assert inventory.format_date(value, precision) == text
    if value:
        assert inventory.parse_partial_date(text) == (value, precision)


@pytest.fixture
def themes():
    return VocabularyMatcher(
        [
            (1, "Mobilités et transports", ["mobilites-transports"]),
            (2, "Culture, patrimoine et sport", []),
            (3, "Eau, déchets et biodiversité", []),
        ],
        "Thématique",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Mobilités et transports",
        "mobilite et transport",
        "MOBILITÉS ET TRANSPORTS",
        "Mobilités  et transports ",
        "mobilites-transports",
    ],
)
def test_vocabulary_ignores_case_accents_and_plural(themes, text):
    assert themes.match(text) == 1


def test_unknown_vocabulary_value_names_it_and_the_closest_labels(themes):
    with pytest.raises(ParseError) as error:
        themes.match("Mobilité douce")
    assert str(error.value) == (
        "Thématique inconnue : « Mobilité douce ». Valeurs proches : « Mobilités et "
        "transports » ; « Culture, patrimoine et sport » ; « Eau, déchets et biodiversité »."
    )


def test_labels_with_commas_survive_comma_separated_cells(themes):
    assert themes.match_many("Culture, patrimoine et sport, Mobilité et transport") == [2, 1]
    assert themes.match_many("eau, dechets et biodiversite\nculture, patrimoine et sport") == [3, 2]


def test_unknown_value_among_several_is_reported_alone(themes):
    with pytest.raises(ParseError, match="« Sport »"):
        themes.match_many("Mobilités et transports; Sport")


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("Brest Métropole", TerritoryRef("Brest Métropole", name="Brest Métropole")),
        (
            "Brest Métropole [242900314]",
            TerritoryRef("Brest Métropole [242900314]", name="Brest Métropole", code="242900314"),
        ),
        (
            "Brest Métropole (242900314)",
            TerritoryRef("Brest Métropole (242900314)", name="Brest Métropole", code="242900314"),
        ),
        ("242900314", TerritoryRef("242900314", code="242900314")),
        ("242 900 314", TerritoryRef("242 900 314", code="242900314")),
        ("[DEP:35]", TerritoryRef("[DEP:35]", kind="DEP", code="35")),
        (
            "Ille-et-Vilaine [dep : 35]",
            TerritoryRef(
                "Ille-et-Vilaine [dep : 35]", name="Ille-et-Vilaine", kind="DEP", code="35"
            ),
        ),
        ("[COM:2A004]", TerritoryRef("[COM:2A004]", kind="COM", code="2A004")),
        (
            "Pays de Retz [PETR]",
            TerritoryRef("Pays de Retz [PETR]", name="Pays de Retz", kind="PETR"),
        ),
        (
            "CA de l'Albigeois (C2A)",
            TerritoryRef("CA de l'Albigeois (C2A)", name="CA de l'Albigeois (C2A)"),
        ),
        ("29019", TerritoryRef("29019", code="29019")),
        ("2A", TerritoryRef("2A", code="2A")),
    ],
)
def test_territory_references(text, ref):
    assert inventory.parse_territory_ref(text) == ref


def test_unknown_kind_in_brackets_is_an_error():
    with pytest.raises(ParseError, match="entre crochets, indiquez un SIREN, une nature"):
        inventory.parse_territory_ref("Pays de Retz [XYZ]")


@pytest.mark.parametrize(
    ("folded", "kinds", "core"),
    [
        ("cc du pays d iroise", ("CC",), "pays d iroise"),
        ("communaute de communes du pays d iroise", ("CC",), "pays d iroise"),
        ("communaute d agglomeration de la region nazairienne", ("CA",), "region nazairienne"),
        ("cu de dunkerque", ("CU",), "dunkerque"),
        ("brest metropole", (), "brest metropole"),
        ("petr du pays de retz", ("PETR",), "pays de retz"),
        ("pole metropolitain de l artois", ("POLE",), "artois"),
        ("syndicat mixte du scot", ("SM",), "scot"),
        ("parc naturel regional des vosges du nord", ("PNR",), "vosges du nord"),
        ("gip territoires", ("AUTRE",), "territoires"),
        ("association des maires", ("AUTRE",), "maires"),
        ("agglo du pays de dreux", ("CA", "CU"), "pays de dreux"),
        ("metropole de lyon", ("METRO", "MET69"), "lyon"),
        ("pays d iroise", (), "pays d iroise"),
    ],
)
def test_kind_prefixes_are_understood(folded, kinds, core):
    assert inventory.split_kind_prefix(folded) == (kinds, core)


def test_export_notation_of_territories():
    assert inventory.format_territory_ref("Brest Métropole", "METRO", "242900314") == (
        "Brest Métropole [242900314]"
    )
    assert inventory.format_territory_ref("Finistère", "DEP", "29") == "Finistère [DEP:29]"
    assert inventory.format_territory_ref("Pays COB", "PETR", "") == "Pays COB [PETR]"


@pytest.mark.parametrize("text", ["=1+1", "+33 1", "-x", "@SUM(A1)", "\tx"])
def test_formulas_are_neutralised_and_read_back(text):
    neutral = neutralise(text)
    assert neutral == "'" + text
    assert inventory.clean_text(neutral) == text.strip()


def test_plain_text_is_not_touched_by_neutralisation():
    assert neutralise("Contrat") == "Contrat"
    assert inventory.clean_text("'quoted'") == "'quoted'"


CSV_TEXT = "Nom;Métropoles\r\n\r\nContrat été;Brest\r\n;\r\nAutre;Nantes\r\n"


@pytest.mark.parametrize(
    "data",
    [
        CSV_TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"),
        CSV_TEXT.encode("cp1252"),
        CSV_TEXT.replace(";", ",").encode("utf-8"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "comma"],
)
def test_csv_encodings_and_separators(data):
    sheet = inventory.read_spreadsheet(data, "csv")
    assert sheet.header == ["Nom", "Métropoles"]
    assert sheet.rows == [(3, ["Contrat été", "Brest"]), (5, ["Autre", "Nantes"])]


def test_leading_blank_lines_are_skipped_and_line_numbers_kept():
    sheet = inventory.read_spreadsheet(b"\n;;\nNom;Metropoles\nA;B\n", "csv")
    assert sheet.header_line == 3
    assert sheet.rows == [(4, ["A", "B"])]


def _xlsx(rows):
    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_cells_keep_their_types_and_line_numbers():
    data = _xlsx(
        [["Nom", "Date"], [None, None], ["A", datetime.datetime(2017, 7, 10)], ["B", 2017]]
    )
    sheet = inventory.read_spreadsheet(data, "xlsx")
    assert sheet.rows == [(3, ["A", datetime.datetime(2017, 7, 10)]), (4, ["B", 2017])]


def test_ods_multi_line_cells_and_repeated_cells():
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Feuille")
    for values in (["Nom", "Partenaires"], [], ["A", "X\nY"]):
        row = TableRow()
        for value in values:
            cell = TableCell(valuetype="string")
            for line in value.split("\n"):
                cell.addElement(P(text=line))
            row.addElement(cell)
        row.addElement(TableCell(numbercolumnsrepeated=1000))
        table.addElement(row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    sheet = inventory.read_spreadsheet(buffer.getvalue(), "ods")
    assert sheet.header == ["Nom", "Partenaires"]
    assert sheet.rows == [(3, ["A", "X\nY"])]


def test_ods_row_repeated_past_the_bound_is_refused_before_repeating_it():
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Feuille")
    for repeated in (1, 1048575):
        row = TableRow(numberrowsrepeated=repeated)
        cell = TableCell(valuetype="string")
        cell.addElement(P(text="Nom"))
        row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    with pytest.raises(ParseError, match="a une ligne au-delà de ces bornes"):
        inventory.read_spreadsheet(buffer.getvalue(), "ods")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"   \n  ", "Le fichier est vide."),
        (
            b"%PDF-1.4 blah",
            "Ce fichier n'est pas un tableur : envoyez un fichier XLSX, ODS ou CSV.",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "Ce fichier n'est pas un tableur"),
        (b"PK\x03\x04garbage", "Ce fichier n'est pas un classeur Excel (.xlsx) lisible."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "Les classeurs Excel 97-2003 (.xls)"),
    ],
)
def test_files_that_are_not_spreadsheets_get_a_clear_message(data, message):
    with pytest.raises(ParseError) as error:
        inventory.read_spreadsheet(data)
    assert str(error.value).startswith(message)


# --- Values read exactly or refused --------------------------------------------------------------


def test_a_number_in_text_is_a_year_or_an_error_never_a_serial():
    with pytest.raises(ParseError) as error:
        inventory.parse_partial_date("20189")
    assert str(error.value).startswith(
        "« 20189 » : un nombre écrit comme texte n'est lu que comme une année"
    )


def test_a_numeric_cell_of_a_workbook_is_an_excel_serial():
    assert inventory.parse_partial_date(20189) == (datetime.date(1955, 4, 10), "day")


@pytest.mark.parametrize("cell", ["1949", "12/2101", "31/12/1949", "2101-01-01", 1800, 3000])
def test_dates_outside_1950_2100_are_refused(cell):
    with pytest.raises(ParseError, match="une date doit tomber entre 1950 et 2100"):
        inventory.parse_partial_date(cell)


@pytest.mark.parametrize("cell", [float("inf"), float("nan"), -5])
def test_absurd_numeric_cells_are_refused(cell):
    with pytest.raises(ParseError):
        inventory.parse_partial_date(cell)


def test_values_quoted_in_messages_are_cut_to_80_characters():
    assert inventory.shorten("x" * 20_000) == "x" * 79 + "…"
    assert inventory.shorten("court") == "court"
    with pytest.raises(ParseError) as error:
        inventory.parse_bool("oui" * 10_000)
    assert len(str(error.value)) < 150


def test_long_lists_are_summarised_after_ten():
    assert inventory.summarise(["a", "b"]) == "« a », « b »"
    summary = inventory.summarise([f"col{n}" for n in range(5000)])
    assert summary.endswith("« col9 » et 4990 autres")
    assert summary.count("«") == 10


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_excel_unicode_text_is_read(encoding):
    text = "Nom\tMétropoles\r\nCoopération d'Été\tBrest Métropole\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Python writes the BOM only for plain « utf-16 »
    sheet = inventory.read_spreadsheet(data, ".txt")
    assert sheet.header == ["Nom", "Métropoles"]
    assert sheet.rows == [(2, ["Coopération d'Été", "Brest Métropole"])]


def zip_bytes(members: dict[str, bytes], level=9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    # 20 MB of zeros compress about 1,000 times: the shape of every zip bomb.
    bomb = zip_bytes({"[Content_Types].xml": b"<x/>", "xl/worksheets/sheet1.xml": bytes(20 << 20)})
    assert len(bomb) < 100_000
    with pytest.raises(ParseError, match="anormalement compressé"):
        inventory.read_spreadsheet(bomb, ".xlsx")


def test_an_archive_inflating_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(inventory, "ARCHIVE_MAX_INFLATED", 1 << 20)
    rows = b"".join(b"<row r='%d'><c t='s'><v>%d</v></c></row>" % (n, n) for n in range(60_000))
    with pytest.raises(ParseError, match=r"se décompresse en 2 Mo \(au plus 1 Mo\)"):
        inventory.read_spreadsheet(zip_bytes({"xl/worksheets/sheet1.xml": rows}), ".xlsx")


def test_an_archive_with_too_many_entries_is_refused():
    data = zip_bytes({f"xl/media/{n}.xml": b"<x/>" for n in range(201)})
    with pytest.raises(ParseError, match="contient 201 éléments"):
        inventory.read_spreadsheet(data, ".xlsx")


def test_a_real_workbook_passes_the_archive_checks():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Nom", "Métropoles", "Date de signature"])
    workbook.active.append(["X", "Brest Métropole", 42926])
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = inventory.read_spreadsheet(buffer.getvalue(), ".xlsx")
    assert sheet.rows == [(2, ["X", "Brest Métropole", 42926])]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("avril 2019", datetime.date(2019, 4, 1)),
        ("Août 2017", datetime.date(2017, 8, 1)),
        ("févr. 2020", datetime.date(2020, 2, 1)),
    ],
)
def test_month_names_as_the_public_pages_write_them(cell, expected):
    assert inventory.parse_partial_date(cell) == (expected, "month")


def test_unknown_month_name_is_an_error():
    with pytest.raises(ParseError, match="n'est pas une date lisible"):
        inventory.parse_partial_date("brumaire 2019")


@pytest.mark.parametrize(
    ("cell", "name", "code"),
    [
        ("Brest Métropole (242900314)", "Brest Métropole", "242900314"),
        ("Paris (75056)", "Paris", "75056"),
        ("Finistère (29)", "Finistère", "29"),
        ("Haute-Corse (2B)", "Haute-Corse", "2B"),
    ],
)
def test_name_with_its_code_in_parentheses(cell, name, code):
    ref = inventory.parse_territory_ref(cell)
    assert (ref.name, ref.code) == (name, code)


# --- Sparse sheets that declare or reach far more than they hold ---------------------------------


@pytest.mark.parametrize(
    ("dimension", "far_cell", "message"),
    [
        # The file of the drill: 1.9 kB, declared A1:XFD1048576, one row numbered 1,048,576.
        ("A1:XFD1048576", "A1048576", "s'étend sur 1\u202f048\u202f576 lignes et 16\u202f384"),
        # 100 declared columns: a worker grew by 824 MB and kept it.
        ("A1:CV1048576", "CV1048576", "s'étend sur 1\u202f048\u202f576 lignes et 100 colonnes"),
        # No dimension, or one that lies: the row numbers and widths are checked as they come.
        (None, "A1048576", "a une ligne au-delà de ces bornes"),
        ("A1:B2", "C1048576", "a une ligne au-delà de ces bornes"),
        ("A1:B2", "XFD3", "a une ligne au-delà de ces bornes"),
    ],
)
def test_a_sparse_workbook_past_the_bounds_is_refused_without_filling_it_in(
    dimension, far_cell, message
):
    data = make_sparse_xlsx(dimension, far_cell)
    assert len(data) < 2500
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match=message) as refused:
            inventory.read_spreadsheet(data, "xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "au plus 250\u202f000 lignes et 200 colonnes" in str(refused.value)
    assert peak < 50 * 1024 * 1024


def test_a_sparse_workbook_within_the_bounds_reads_its_rows():
    sheet = inventory.read_spreadsheet(make_sparse_xlsx("A1:B40000", "B40000"), "xlsx")
    assert sheet.header == ["Nom", "Métropoles"]
    assert sheet.rows == [(40000, [None, "x"])]


def test_a_csv_past_the_row_bound_is_refused(monkeypatch):
    monkeypatch.setattr(inventory, "SHEET_MAX_ROWS", 100)
    lines = ["Nom;Métropoles"] + [f"C{n};Brest" for n in range(100)]
    with pytest.raises(ParseError, match="a une ligne au-delà de ces bornes"):
        inventory.read_spreadsheet("\r\n".join(lines).encode(), "csv")
    assert len(inventory.read_spreadsheet("\r\n".join(lines[:100]).encode(), "csv").rows) == 99
