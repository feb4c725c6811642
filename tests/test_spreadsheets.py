"""The one spreadsheet writer module: formulas escaped, headers bold, frozen and filtered,
widths fitted, numbers and dates typed, and files that other readers open."""

import datetime
import io
import re
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest
import tablib

from cooperations.publishing.spreadsheets import (
    MAX_WIDTH,
    MIN_WIDTH,
    Sheet,
    neutralise,
    write_csv,
    write_ods,
    write_xlsx,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 1 23", "'+33 1 23"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Brest = Iroise", "Brest = Iroise"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_formula_starts(value, expected):
    assert neutralise(value) == expected


def sample_sheets():
    return [
        Sheet(
            "Coopérations",
            ["Nom", "Résumé", "Signée le", "Partenaires"],
            [
                ["=1+1", "x" * 300, datetime.date(2019, 7, 10), 3],
                ["Brest <&> Iroise\x0b", "ligne 1\nligne 2", None, ""],
            ],
        ),
        Sheet("À propos", ["Rubrique", "Valeur"], [["Nombre de lignes", 2]], autofilter=False),
    ]


def test_xlsx_header_is_bold_frozen_and_filtered_with_bounded_widths():
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(sample_sheets())))
    sheet = book["Coopérations"]
    assert [cell.value for cell in sheet[1]] == ["Nom", "Résumé", "Signée le", "Partenaires"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D3"
    widths = [sheet.column_dimensions[letter].width for letter in "ABCD"]
    assert widths[1] == MAX_WIDTH
    assert all(MIN_WIDTH <= width <= MAX_WIDTH for width in widths)
    assert book["À propos"].auto_filter.ref is None


def test_xlsx_cells_keep_their_type_and_never_run():
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(sample_sheets())))["Coopérations"]
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s"
    assert sheet["C2"].value == datetime.datetime(2019, 7, 10)
    assert sheet["D2"].value == 3
    assert sheet["A3"].value == "Brest <&> Iroise"
    assert sheet["B3"].alignment.wrap_text


def xlsx_parts(data: bytes) -> dict[str, ElementTree.Element]:
    """Every part of the package, parsed: a badly escaped character fails here."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # The writer's own output, not untrusted input.
        parse = ElementTree.fromstring  # noqa: S314
        return {name: parse(archive.read(name)) for name in archive.namelist()}


def test_xlsx_xml_special_characters_are_escaped():
    text = "a < b && c > d \"q\" 's' ]]> fin"
    data = write_xlsx([Sheet("S", [text], [[text]])])
    xlsx_parts(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["S"]
    assert sheet["A1"].value == sheet["A2"].value == text


def test_xlsx_control_characters_are_removed_and_empty_cells_keep_the_row_width():
    data = write_xlsx(
        [Sheet("S", ["A", "B", "C"], [["x\x00y\x1fz\ufffe", "\x0b\x0c", ""], ["1", None]])]
    )
    xlsx_parts(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["S"]
    # The import reads XLSX this way: a row ending with empty cells keeps one value per header.
    assert [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ["xyz", None, None],
        ["1"],
    ]


@pytest.mark.parametrize("text", ["  deux espaces  ", " ", "fin\t", "après\n", "\nligne\n"])
def test_xlsx_leading_and_trailing_white_space_is_kept(text):
    data = write_xlsx([Sheet("S", ["A"], [[text]])])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["S"]
    assert sheet["A2"].value == text
    # openpyxl keeps the spaces either way; Excel drops them unless the text says to keep them.
    cell = xlsx_parts(data)["xl/worksheets/sheet1.xml"].find(".//{*}c[@r='A2']/{*}is/{*}t")
    assert cell.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"


def test_xlsx_numbers_are_numbers_and_dates_are_dates_shown_day_first():
    day = datetime.date(2024, 2, 29)
    data = write_xlsx([Sheet("S", ["N", "X", "D", "T"], [[42, 2.5, day, "42"]])])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["S"]
    number, decimal, date, text = sheet[2]
    assert (number.value, number.data_type) == (42, "n")
    assert (decimal.value, decimal.data_type) == (2.5, "n")
    assert date.is_date and date.value == datetime.datetime(2024, 2, 29)
    assert date.number_format == "dd/mm/yyyy"
    assert (text.value, text.data_type) == ("42", "s")


def test_xlsx_autofilter_has_excels_hidden_name_and_covers_only_the_headers():
    data = write_xlsx(
        [
            Sheet("Sans filtre", ["A"], [["x"]], autofilter=False),
            Sheet("L'été & co", ["A", "B"], [["x", "y", "au-delà des en-têtes"], ["z"]]),
        ]
    )
    names = xlsx_parts(data)["xl/workbook.xml"].findall(".//{*}definedName")
    assert [(n.get("name"), n.get("localSheetId"), n.get("hidden"), n.text) for n in names] == [
        ("_xlnm._FilterDatabase", "1", "1", "'L''été & co'!$A$1:$B$3")
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(data))["L'été & co"]
    assert sheet.auto_filter.ref == "A1:B3"
    assert sheet["C2"].value == "au-delà des en-têtes"


def test_xlsx_sheet_titles_keep_apostrophes_and_ampersands_cut_at_31_characters():
    long_title = "Coopérations & partenaires d'avenir"
    data = write_xlsx([Sheet("Q&R l'été", ["A"], [["x"]]), Sheet(long_title, ["A"], [])])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Q&R l'été", long_title[:31]]
    assert book["Q&R l'été"]["A2"].value == "x"


@pytest.mark.parametrize("title", ["Avant/après", "[brouillon]", ""])
def test_xlsx_refuses_a_sheet_title_that_excel_would_not_open(title):
    with pytest.raises(ValueError, match="sheet title"):
        write_xlsx([Sheet(title, ["A"], [])])


def test_xlsx_asks_for_the_next_sheet_once_the_rows_of_the_previous_one_are_read():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [n]

    def sheets():
        yield Sheet("Lignes", ["N"], rows())
        # The exports count the rows here, for the « À propos » sheet.
        yield Sheet("À propos", ["Lues"], [[len(read)]])

    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(sheets())))
    assert book["À propos"]["A2"].value == 3


def ods_xml(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()[0] == "mimetype"
        return archive.read(name).decode()


def test_ods_header_is_bold_frozen_and_filtered_with_column_widths():
    data = write_ods(sample_sheets())
    content = ods_xml(data, "content.xml")
    assert '<style:text-properties fo:font-weight="bold"/>' in content
    assert content.count('table:style-name="header"') == 4 + 2
    assert "table:target-range-address=\"'Coopérations'.A1:'Coopérations'.D3\"" in content
    assert content.count("<table:database-range ") == 1
    widths = re.findall(r'style:column-width="([0-9.]+)cm"', content)
    assert f"{MAX_WIDTH * 0.2:.2f}" in widths
    settings = ods_xml(data, "settings.xml")
    assert 'config:name="VerticalSplitPosition" config:type="int">1<' in settings
    assert 'config:name="Coopérations"' in settings


def test_ods_is_read_back_with_typed_cells():
    book = tablib.Databook()
    book.load(write_ods(sample_sheets()), format="ods")
    rows, about = book.sheets()
    assert rows.headers == ["Nom", "Résumé", "Signée le", "Partenaires"]
    assert rows[0][0] == "'=1+1"
    assert rows[0][3] == 3
    assert rows[1][0] == "Brest <&> Iroise"
    assert about[0][1] == 2
    content = ods_xml(write_ods(sample_sheets()), "content.xml")
    assert 'office:date-value="2019-07-10"' in content


def test_csv_escapes_formulas_and_writes_dates_and_numbers_as_text():
    data = write_csv(["Nom", "Date", "N"], [["=1+1", datetime.date(2019, 7, 10), 3]])
    assert data == "\ufeffNom;Date;N\r\n'=1+1;10/07/2019;3\r\n".encode()
    assert write_csv(["é"], [], encoding="cp1252", delimiter=",") == "é\r\n".encode("cp1252")
