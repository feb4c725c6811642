"""The one spreadsheet writer module: formulas escaped, headers bold, frozen and filtered,
widths fitted, numbers and dates typed, and files that other readers open."""

import datetime
import io
import re
import zipfile

import openpyxl
import pytest
import tablib

from cooperations.spreadsheets import (
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
