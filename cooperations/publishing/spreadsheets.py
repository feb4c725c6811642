"""Spreadsheet writing for the public exports and the admin: formula escaping, then XLSX, ODS and
CSV writers that all take the same input, a sequence of `Sheet`.

Every writer is built for 10,000 rows: XLSX and ODS XML written straight into the archive (for
10,000 rows, openpyxl's write-only mode took about 1.8 s, odfpy about 18 s), CSV streamed line
by line. Every sheet but a plain CSV gets a bold header row, frozen, with column widths fitted
to the first rows and, when asked, an autofilter. Text cells go through `neutralise`, the one
place formulas are escaped.
"""

import csv
import datetime
import io
import itertools
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
    if value and value.startswith(FORMULA_STARTS):
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
        value if value.__class__ is str and not value.startswith(FORMULA_STARTS) else _text(value)
        for value in row
    ]


class _Echo:
    """A file whose write() hands back what it is given: the csv writer then returns each line."""

    def write(self, value: str) -> str:
        return value


def csv_line_writer(delimiter: str = ";"):
    """A function giving one row's CSV line (cells neutralised, ended by CRLF), the same as
    `csv_chunks` writes it. Make one per use: a csv writer is not to be shared by threads."""
    writer = csv.writer(_Echo(), delimiter=delimiter, lineterminator="\r\n")
    return lambda row: writer.writerow(_csv_row(row))


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

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# Indexes into cellXfs below: 1 the header, 2 multi-line text, 3 dates. The fonts name Calibri 11
# outright: a bare bold font shows in a serif, and there is no theme part to inherit it from.
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_HEADER_STYLE, _WRAP_STYLE, _DATE_STYLE = ' s="1"', ' s="2"', ' s="3"'
# Excel's day 0, as an ordinal: serial numbers count from it.
_EXCEL_EPOCH = datetime.date(1899, 12, 30).toordinal()
# Excel drops leading and trailing XML white space from a text unless told to keep it.
_XML_SPACE = " \t\r\n"
# Characters that Excel refuses in a sheet name.
_TITLE_INVALID = re.compile(r"[\\*?:/\[\]]")
# Rows are joined by this many before being written: fewer calls into the compressor, and a
# batch of 2 KB rows stays around 1 MB whatever the number of rows.
_BATCH_ROWS = 500
# Measured on 10,000 rows of 2 KB of French text: level 1 writes the file in 0.39 s (8.3 MB),
# the default level 6 in 0.75 s (6.0 MB). Level 1: a 10,000-row export has 1 s in all, and
# reading its rows from the database already takes most of it; the file is 40 % bigger.
_COMPRESSION_LEVEL = 1


def _xlsx_text(reference: str, value: str, style: str = "") -> str:
    # Every character _XML_INVALID matches is unprintable: most cells skip the slower regex.
    text = value if value.isprintable() else _XML_INVALID.sub("", value)
    if not text:
        # Written empty rather than left out: openpyxl's read-only reader, the import's, sizes
        # each row by its last cell; an exported row ending with empty texts keeps its width.
        return f'<c r="{reference}"/>'
    text = neutralise(text)
    if not style and "\n" in text:
        # Only multi-line cells pay for a style: line breaks show, other rows stay small.
        style = _WRAP_STYLE
    space = ' xml:space="preserve"' if text[0] in _XML_SPACE or text[-1] in _XML_SPACE else ""
    return f'<c r="{reference}"{style} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _xlsx_cell(reference: str, value: Cell) -> str:
    if isinstance(value, str):
        return _xlsx_text(reference, value)
    if value is None:
        return ""
    # Before int, which bool subclasses: TRUE or FALSE rather than 1 or 0.
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{value:d}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    if isinstance(value, datetime.date):
        return f'<c r="{reference}"{_DATE_STYLE}><v>{value.toordinal() - _EXCEL_EPOCH}</v></c>'
    return _xlsx_text(reference, str(value))


def _xlsx_row(number: int, letters: list[str], values: Sequence[Cell]) -> str:
    if len(values) > len(letters):
        # Cells past the headers get their letters as they come.
        letters.extend(get_column_letter(i) for i in range(len(letters) + 1, len(values) + 1))
    n = str(number)
    # A row shorter than the headers stops where it ends.
    cells = [_xlsx_cell(letter + n, value) for letter, value in zip(letters, values, strict=False)]
    return f'<row r="{n}">{"".join(cells)}</row>'


def _xlsx_sheet_title(title: str) -> str:
    title = title[:31]
    if not title or _TITLE_INVALID.search(title):
        raise ValueError(f"Invalid sheet title for Excel: {title!r}")
    return title


def _xlsx_worksheet(archive: zipfile.ZipFile, number: int, sheet: Sheet) -> tuple[str, int] | None:
    """Writes the sheet's part, its rows in batches as they are read; returns the last cell of
    its autofilter (column letter, row number), or None without one."""
    widths, rows = _fitted(sheet)
    letters = [get_column_letter(i) for i in range(1, len(sheet.headers) + 1)]
    columns = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
        for i, width in enumerate(widths, start=1)
    )
    header = "".join(
        _xlsx_text(f"{letter}1", title, _HEADER_STYLE)
        for letter, title in zip(letters, sheet.headers, strict=True)
    )
    batch = [
        f'{_XML_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><sheetViews>'
        '<sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f"{f'<cols>{columns}</cols>' if columns else ''}"
        f'<sheetData><row r="1">{header}</row>'
    ]
    # Taken before the rows: a row longer than the headers adds letters, not filtered columns.
    filtered = letters[-1] if sheet.autofilter and letters else ""
    count = 0
    with archive.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
        for count, row in enumerate(rows, start=1):
            batch.append(_xlsx_row(count + 1, letters, row))
            if len(batch) >= _BATCH_ROWS:
                part.write("".join(batch).encode())
                batch = []
        batch.append("</sheetData>")
        last = (filtered, count + 1) if filtered else None
        if last:
            batch.append(f'<autoFilter ref="A1:{last[0]}{last[1]}"/>')
        batch.append("</worksheet>")
        part.write("".join(batch).encode())
    return last


def _xlsx_workbook(titles: list[str], filters: list[tuple[str, int] | None]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>'
        for i, title in enumerate(titles, start=1)
    )
    # The hidden name Excel gives each autofilter's range in the files it saves.
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted_title(title))}!$A$1:${last[0]}${last[1]}</definedName>"
        for i, (title, last) in enumerate(zip(titles, filters, strict=True))
        if last
    )
    return (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
        f"{f'<definedNames>{names}</definedNames>' if names else ''}</workbook>"
    )


def _quoted_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _xlsx_package(count: int) -> dict[str, str]:
    """The parts that name the others: relationships and content types."""
    worksheets = range(1, count + 1)
    relationships = "".join(
        f'<Relationship Id="rId{i}" Type="{_RELATIONSHIPS}/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>'
        for i in worksheets
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="{_CONTENT_TYPE}.worksheet+xml"/>'
        for i in worksheets
    )
    return {
        "_rels/.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{relationships}'
            f'<Relationship Id="rId{count + 1}" Type="{_RELATIONSHIPS}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "[Content_Types].xml": (
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CONTENT_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CONTENT_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
    }


def write_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """XLSX written directly as XML into the archive, each sheet's rows as they are read, so that
    memory stays flat whatever their number. Texts are inline strings: a shared-string table
    would have to be complete before the first sheet is written.

    Each sheet is asked for once the previous one is written; the parts that list the sheets
    therefore come last in the archive, which Excel, LibreOffice and openpyxl accept (openpyxl's
    own files put them last too).
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION_LEVEL
    ) as archive:
        archive.writestr("xl/styles.xml", _STYLES)
        titles, filters = [], []
        for number, sheet in enumerate(sheets, start=1):
            titles.append(_xlsx_sheet_title(sheet.title))
            filters.append(_xlsx_worksheet(archive, number, sheet))
        archive.writestr("xl/workbook.xml", _xlsx_workbook(titles, filters))
        for name, text in _xlsx_package(len(titles)).items():
            archive.writestr(name, text)
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
