"""Spreadsheet exports of a list view: every page, same filters, same order.

One row per cooperation with readable labels. XLSX and ODS carry a second sheet « À propos »
(filters in plain French, permalink, extraction date, row count, licence); CSV is streamed in
UTF-8 with a BOM and `;` separators so that French Excel opens it as it is.
"""

import csv
import datetime
import io
import itertools
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from .filters import PLUS_VALUES
from .models import Cooperation, CooperationFactor, Participation, Source, format_partial_date

_PLUS_VALUES = list(PLUS_VALUES.values())

LICENCE = (
    "Licence Ouverte / Open Licence 2.0 (Etalab) — "
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
)
PRODUCER = "Catalogue des coopérations interterritoriales (ANCT)"
CHUNK = 2000

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def neutralise(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with an apostrophe."""
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _date(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


HEADERS = [
    "Identifiant",
    "Nom",
    "Adresse de la fiche",
    "Résumé",
    "Description",
    "Métropoles",
    "Partenaires",
    "Associés",
    "Thématiques",
    "Facteurs de réussite",
    "Forme de coopération",
    "Statut",
    "Date de signature",
    "Début",
    "Fin",
    "Plus-value",
    "Gouvernance",
    "Financements",
    "Moyens humains",
    "Sources",
    "Provenance",
    "Dernière vérification",
]

_FIELDS = [
    "pk",
    "slug",
    "name",
    "summary",
    "description",
    "legal_form__label",
    "status",
    "signed_on",
    "signed_on_precision",
    "starts_on",
    "ends_on",
    "adds_scale",
    "adds_value_chain",
    "adds_pooling",
    "governance",
    "funding",
    "staffing",
    "provenance",
    "last_verified_on",
]
_STATUS = dict(Cooperation.Status.choices)
_PROVENANCE = dict(Cooperation.Provenance.choices)
_ROLES = Participation.Role


def _by_cooperation(pairs) -> defaultdict:
    """(cooperation id, value) pairs grouped as {cooperation id: [values in order]}."""
    grouped = defaultdict(list)
    for cooperation_id, value in pairs:
        grouped[cooperation_id].append(value)
    return grouped


def _relations(ids: list[int]) -> tuple[dict, dict, dict, dict]:
    """Labels of the territories, themes, factors and sources of some cooperations: 4 queries,
    plain tuples rather than model instances, which is what keeps a 10,000-row export fast.
    """
    territories = defaultdict(lambda: defaultdict(list))
    for cooperation_id, role, name, code in (
        Participation.objects.filter(cooperation_id__in=ids)
        .order_by("territory__name", "pk")
        .values_list("cooperation_id", "role", "territory__name", "territory__code")
    ):
        territories[cooperation_id][role].append(f"{name} ({code})" if code else name)
    themes = _by_cooperation(
        Cooperation.themes.through.objects.filter(cooperation_id__in=ids)
        .order_by("theme__position", "theme__label")
        .values_list("cooperation_id", "theme__label")
    )
    factors = _by_cooperation(
        CooperationFactor.objects.filter(cooperation_id__in=ids)
        .order_by("factor__position", "factor__label")
        .values_list("cooperation_id", "factor__label")
    )
    sources = _by_cooperation(
        Source.objects.filter(cooperation_id__in=ids)
        .order_by("position", "pk")
        .values_list("cooperation_id", "url")
    )
    return territories, themes, factors, sources


def _batch(records: list[dict], url_template: str) -> Iterator[list[str]]:
    territories, themes, factors, sources = _relations([r["pk"] for r in records])
    for r in records:
        pk = r["pk"]
        cells = [
            r["slug"],
            r["name"],
            url_template.replace("__slug__", r["slug"]),
            r["summary"],
            r["description"],
            " ; ".join(territories[pk][_ROLES.METROPOLE]),
            " ; ".join(territories[pk][_ROLES.PARTNER]),
            " ; ".join(territories[pk][_ROLES.ASSOCIATED]),
            " ; ".join(themes[pk]),
            " ; ".join(factors[pk]),
            r["legal_form__label"] or "",
            _STATUS.get(r["status"], "Non renseigné"),
            format_partial_date(r["signed_on"], r["signed_on_precision"]),
            _date(r["starts_on"]),
            _date(r["ends_on"]),
            " ; ".join(label for field, label in _PLUS_VALUES if r[field]),
            r["governance"],
            r["funding"],
            r["staffing"],
            " ; ".join(sources[pk]),
            _PROVENANCE.get(r["provenance"], ""),
            _date(r["last_verified_on"]),
        ]
        yield [neutralise(cell or "") for cell in cells]


def rows(queryset: QuerySet, absolute_url) -> Iterator[list[str]]:
    """Neutralised cells of each cooperation in the queryset's order, read in chunks so that
    memory stays flat: 1 query per chunk of rows plus 4 for their relations.
    """
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    records = []
    for record in queryset.values(*_FIELDS).iterator(chunk_size=CHUNK):
        records.append(record)
        if len(records) == CHUNK:
            yield from _batch(records, url_template)
            records = []
    if records:
        yield from _batch(records, url_template)


def about_rows(filters: str, permalink: str, count: int) -> list[list[str]]:
    return [
        ["Source", PRODUCER],
        ["Filtres", neutralise(filters)],
        ["Lien permanent", permalink],
        ["Date d'extraction", timezone.localtime().strftime("%d/%m/%Y %H:%M")],
        ["Nombre de lignes", str(count)],
        ["Licence", LICENCE],
    ]


class _Echo:
    def write(self, value):
        return value


def _csv_lines(data: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(HEADERS)
    for row in data:
        yield writer.writerow(row)


def _filename(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.localdate():%Y%m%d}.{extension}"


def csv_response(queryset, absolute_url, stem) -> StreamingHttpResponse:
    data = rows(queryset, absolute_url)
    # The first chunk is read before any byte is sent: if the database is unreachable, the
    # client gets an error status (503), not a 200 cut short after the header line.
    data = itertools.chain(list(itertools.islice(data, 1)), data)
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _csv_lines(data)),
        content_type=FORMATS["csv"],
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "csv")}"'
    return response


def xlsx_response(queryset, absolute_url, stem, filters, permalink) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Coopérations")
    sheet.append(HEADERS)
    count = 0
    for row in rows(queryset, absolute_url):
        sheet.append(row)
        count += 1
    about = workbook.create_sheet("À propos")
    about.append(["Rubrique", "Valeur"])
    for row in about_rows(filters, permalink, count):
        about.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=FORMATS["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "xlsx")}"'
    return response


_ODS_MIME = FORMATS["ods"]
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    f'manifest:media-type="{_ODS_MIME}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>"
)
_ODS_TAIL = "</office:spreadsheet></office:body></office:document-content>"
# Characters XML 1.0 forbids; a pasted control character must not break the whole file.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _ods_row(cells: list[str]) -> str:
    parts = ["<table:table-row>"]
    for value in cells:
        lines = _XML_INVALID.sub("", value).split("\n")
        paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in lines)
        parts.append(
            f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'
        )
    parts.append("</table:table-row>")
    return "".join(parts)


def ods_response(queryset, absolute_url, stem, filters, permalink) -> HttpResponse:
    """ODS written directly as XML, streamed into the archive: through a DOM library (odfpy)
    10,000 rows took about 18 s, this way a few seconds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # The mimetype entry must come first and uncompressed (ODF packaging rule).
        archive.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIME, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        with archive.open("content.xml", "w") as content:
            content.write(_ODS_HEAD.encode())
            content.write('<table:table table:name="Coopérations">'.encode())
            content.write(_ods_row(HEADERS).encode())
            count = 0
            for row in rows(queryset, absolute_url):
                content.write(_ods_row(row).encode())
                count += 1
            content.write('</table:table><table:table table:name="À propos">'.encode())
            content.write(_ods_row(["Rubrique", "Valeur"]).encode())
            for row in about_rows(filters, permalink, count):
                content.write(_ods_row(row).encode())
            content.write(b"</table:table>" + _ODS_TAIL.encode())
    response = HttpResponse(buffer.getvalue(), content_type=_ODS_MIME)
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "ods")}"'
    return response


def export_response(fmt, queryset, absolute_url, stem, filters, permalink):
    if fmt == "csv":
        return csv_response(queryset, absolute_url, stem)
    if fmt == "xlsx":
        return xlsx_response(queryset, absolute_url, stem, filters, permalink)
    return ods_response(queryset, absolute_url, stem, filters, permalink)
