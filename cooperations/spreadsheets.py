"""Spreadsheet writing for the public exports and the admin: formula escaping, then XLSX, ODS and
CSV writers that all take the same input, a sequence of `Sheet`.

Every writer is built for 10,000 rows: write-only openpyxl, ODS XML written straight into the
archive (through odfpy, 10,000 rows took about 18 s), CSV streamed line by line. Every sheet but
a plain CSV gets a bold header row, frozen, with column widths fitted to the first rows and, when
asked, an autofilter. Text cells go through `neutralise`, the one place formulas are escaped.
"""

import csv
import datetime
import io
import itertools
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 forbids (both XLSX and ODS are XML): a pasted control character must not
# break the whole file.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Column widths, in characters: fitted to the header and the first rows, within bounds so that a
# long description wraps instead of making a column several screens wide.
MIN_WIDTH, MAX_WIDTH = 8, 60
WIDTH_SAMPLE = 200


def neutralise(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with an apostrophe. The import's
    `inventory.clean_text` removes it again, so export then import gives back the same text;
    applying it twice changes nothing."""
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


Cell = str | int | float | datetime.date | None


@dataclass
class Sheet:
    """One sheet: its rows may be a generator, read once, in order, by the writer."""

    title: str
    headers: list[str]
    rows: Iterable[list[Cell]]
    autofilter: bool = True


def _text(value: Cell) -> str:
    """A cell as the text a CSV holds."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _width(value: Cell) -> int:
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    return len(_text(value))


def _fitted(sheet: Sheet) -> tuple[list[int], Iterator[list[Cell]]]:
    """Column widths from the header and the first rows, and every row still to write."""
    rows = iter(sheet.rows)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE))
    # Two more characters on the header leave room for the autofilter button.
    widths = [len(header) + 2 for header in sheet.headers]
    for row in sample:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _width(value))
    bounded = [min(MAX_WIDTH, max(MIN_WIDTH, width + 1)) for width in widths]
    return bounded, itertools.chain(sample, rows)


# --- CSV -----------------------------------------------------------------------------------------


# Rows a CSV chunk holds: large enough that a 10,000-row export is a few dozen writes rather
# than 10,000, small enough that the first bytes leave at once.
CSV_CHUNK_ROWS = 500


def _csv_row(row: list[Cell]) -> list[str]:
    # The common case, text that no spreadsheet would run, skips `_text`'s type checks: most
    # of a large export's cells.
    return [
        value if value.__class__ is str and not value.startswith(_FORMULA_STARTS) else _text(value)
        for value in row
    ]


def csv_chunks(
    headers: list[str], rows: Iterable[list[Cell]], delimiter: str = ";"
) -> Iterator[str]:
    """The header line then the rows, a few hundred lines per chunk, each chunk produced only
    when asked for."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    rows = iter(rows)
    while batch := list(itertools.islice(rows, CSV_CHUNK_ROWS)):
        writer.writerows([_csv_row(row) for row in batch])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def write_csv(
    headers: list[str],
    rows: Iterable[list[Cell]],
    encoding: str = "utf-8-sig",
    delimiter: str = ";",
) -> bytes:
    """The whole file at once; UTF-8 with a BOM and semicolons by default, which French Excel
    opens as it is."""
    return "".join(csv_chunks(headers, rows, delimiter)).encode(encoding)


# --- XLSX ----------------------------------------------------------------------------------------

# The name and size of openpyxl's default font: a bare Font(bold=True) shows in a serif.
_BOLD = Font(name="Calibri", size=11, bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _xlsx_cell(worksheet, value: Cell):
    if isinstance(value, str):
        value = neutralise(_XML_INVALID.sub("", value))
        if "\n" in value:
            # Only multi-line cells pay for a styled cell: line breaks show, rows stay cheap.
            cell = WriteOnlyCell(worksheet, value)
            cell.alignment = _WRAP
            return cell
    return value


def write_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """Write-only openpyxl: memory stays flat whatever the number of rows."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.title[:31])
        widths, rows = _fitted(sheet)
        # Widths and the frozen pane belong to the sheet's head, written with the first row.
        for index, width in enumerate(widths, start=1):
            worksheet.column_dimensions[get_column_letter(index)].width = width
        worksheet.freeze_panes = "A2"
        header = []
        for title in sheet.headers:
            cell = WriteOnlyCell(worksheet, neutralise(title))
            cell.font = _BOLD
            header.append(cell)
        worksheet.append(header)
        count = 0
        for row in rows:
            worksheet.append([_xlsx_cell(worksheet, value) for value in row])
            count += 1
        if sheet.autofilter and sheet.headers:
            worksheet.auto_filter.ref = f"A1:{get_column_letter(len(sheet.headers))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- ODS -----------------------------------------------------------------------------------------

_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    f'manifest:media-type="{FORMATS["ods"]}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
_ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" office:version="1.2"'
)
# A character of the default 10 pt font is about 0.2 cm wide.
_CM_PER_CHARACTER = 0.2
_SPOOL_BYTES = 8 * 1024 * 1024


def _ods_styles(widths: set[int]) -> str:
    columns = "".join(
        f'<style:style style:name="co{width}" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{width * _CM_PER_CHARACTER:.2f}cm"/>'
        "</style:style>"
        for width in sorted(widths)
    )
    return (
        "<office:automatic-styles>"
        f"{columns}"
        '<style:style style:name="header" style:family="table-cell">'
        '<style:text-properties fo:font-weight="bold"/></style:style>'
        '<style:style style:name="wrap" style:family="table-cell">'
        '<style:table-cell-properties fo:wrap-option="wrap" style:vertical-align="top"/>'
        "</style:style>"
        "</office:automatic-styles>"
    )


def _ods_cell(value: Cell, style: str = "") -> str:
    style_attribute = f' table:style-name="{style}"' if style else ""
    if value is None or value == "":
        return f"<table:table-cell{style_attribute}/>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell{style_attribute} office:value-type="float" '
            f'office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        )
    if isinstance(value, datetime.date):
        return (
            f'<table:table-cell{style_attribute} office:value-type="date" '
            f'office:date-value="{value.isoformat()}">'
            f"<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>"
        )
    lines = neutralise(_XML_INVALID.sub("", str(value))).split("\n")
    if len(lines) > 1 and not style:
        style_attribute = ' table:style-name="wrap"'
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in lines)
    return (
        f'<table:table-cell{style_attribute} office:value-type="string">{paragraphs}'
        "</table:table-cell>"
    )


def _ods_row(values: Iterable[Cell], style: str = "") -> str:
    cells = "".join(_ods_cell(value, style) for value in values)
    return f"<table:table-row>{cells}</table:table-row>"


def _ods_range(title: str, columns: int, rows: int) -> str:
    quoted = "'" + title.replace("'", "''") + "'"
    last = f"{get_column_letter(max(columns, 1))}{rows}"
    return f"{quoted}.A1:{quoted}.{last}"


def _ods_settings(titles: list[str]) -> str:
    """Freezes the first row of each sheet: LibreOffice keeps this in the view settings."""
    items = {
        "VerticalSplitMode": ("short", 2),
        "VerticalSplitPosition": ("int", 1),
        "ActiveSplitRange": ("short", 2),
        "PositionBottom": ("int", 1),
    }
    entry = "".join(
        f'<config:config-item config:name="{name}" config:type="{kind}">{value}'
        "</config:config-item>"
        for name, (kind, value) in items.items()
    )
    tables = "".join(
        f"<config:config-item-map-entry config:name={quoteattr(title)}>{entry}"
        "</config:config-item-map-entry>"
        for title in titles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<office:document-settings {_ODS_NAMESPACES}><office:settings>"
        '<config:config-item-set config:name="ooo:view-settings">'
        '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
        '<config:config-item config:name="ViewId" config:type="string">view1</config:config-item>'
        f'<config:config-item-map-named config:name="Tables">{tables}'
        "</config:config-item-map-named>"
        "</config:config-item-map-entry></config:config-item-map-indexed>"
        "</config:config-item-set></office:settings></office:document-settings>"
    )


def write_ods(sheets: Iterable[Sheet]) -> bytes:
    """ODS written directly as XML into the archive, rows streamed as they come.

    Column styles sit in content.xml before the tables, but each table's widths are only known
    once its first rows are read; the tables are therefore written to a temporary file first
    (in memory while small) and copied after the styles.
    """
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
        titles, widths_used, filters = _ods_tables(sheets, body)
        body.seek(0)
        return _ods_archive(titles, widths_used, filters, body)


def _ods_tables(sheets: Iterable[Sheet], body) -> tuple[list[str], set[int], list[str]]:
    """Writes each sheet's table into `body`; returns the titles, the column widths used and
    the autofilter ranges."""
    titles, widths_used, filters = [], set(), []
    for index, sheet in enumerate(sheets):
        widths, rows = _fitted(sheet)
        widths_used.update(widths)
        titles.append(sheet.title)
        columns = "".join(f'<table:table-column table:style-name="co{width}"/>' for width in widths)
        body.write(f"<table:table table:name={quoteattr(sheet.title)}>{columns}".encode())
        body.write(_ods_row(sheet.headers, style="header").encode())
        count = 0
        for row in rows:
            body.write(_ods_row(row).encode())
            count += 1
        body.write(b"</table:table>")
        if sheet.autofilter and sheet.headers:
            address = _ods_range(sheet.title, len(sheet.headers), count + 1)
            filters.append(
                f'<table:database-range table:name="__Anonymous_Sheet_DB__{index}" '
                f"table:target-range-address={quoteattr(address)} "
                'table:display-filter-buttons="true"/>'
            )
    return titles, widths_used, filters


def _ods_archive(titles, widths_used, filters, body) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # The mimetype entry must come first and uncompressed (ODF packaging rule).
        archive.writestr(
            zipfile.ZipInfo("mimetype"), FORMATS["ods"], compress_type=zipfile.ZIP_STORED
        )
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        archive.writestr("settings.xml", _ods_settings(titles))
        with archive.open("content.xml", "w") as content:
            content.write(
                (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<office:document-content {_ODS_NAMESPACES}>{_ods_styles(widths_used)}"
                    "<office:body><office:spreadsheet>"
                ).encode()
            )
            shutil.copyfileobj(body, content)
            if filters:
                content.write(
                    f"<table:database-ranges>{''.join(filters)}</table:database-ranges>".encode()
                )
            content.write(b"</office:spreadsheet></office:body></office:document-content>")
    return buffer.getvalue()
