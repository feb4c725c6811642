"""Spreadsheet exports of a list view: every page, same filters, same order.

One row per cooperation with readable labels. XLSX and ODS carry a second sheet « À propos »
(filters in plain French, permalink, extraction date, row count, licence); CSV is streamed in
UTF-8 with a BOM and `;` separators so that French Excel opens it as it is.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Iterator

import tablib
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from .models import CooperationFactor, Participation

LICENCE = (
    "Licence Ouverte / Open Licence 2.0 (Etalab) — "
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
)
PRODUCER = "Catalogue des coopérations interterritoriales (ANCT)"
CHUNK = 500

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


def _territories(cooperation, role) -> str:
    return " ; ".join(str(p.territory) for p in cooperation.participations.all() if p.role == role)


COLUMNS = [
    ("Identifiant", lambda c, url: c.slug),
    ("Nom", lambda c, url: c.name),
    ("Adresse de la fiche", lambda c, url: url(c.get_absolute_url())),
    ("Résumé", lambda c, url: c.summary),
    ("Description", lambda c, url: c.description),
    ("Métropoles", lambda c, url: _territories(c, Participation.Role.METROPOLE)),
    ("Partenaires", lambda c, url: _territories(c, Participation.Role.PARTNER)),
    ("Associés", lambda c, url: _territories(c, Participation.Role.ASSOCIATED)),
    ("Thématiques", lambda c, url: " ; ".join(t.label for t in c.themes.all())),
    (
        "Facteurs de réussite",
        lambda c, url: " ; ".join(link.factor.label for link in c.factor_links.all()),
    ),
    ("Forme de coopération", lambda c, url: c.legal_form.label if c.legal_form else ""),
    ("Statut", lambda c, url: c.get_status_display() if c.status else "Non renseigné"),
    ("Date de signature", lambda c, url: c.signature_display),
    ("Début", lambda c, url: _date(c.starts_on)),
    ("Fin", lambda c, url: _date(c.ends_on)),
    ("Plus-value", lambda c, url: " ; ".join(c.plus_values)),
    ("Gouvernance", lambda c, url: c.governance),
    ("Financements", lambda c, url: c.funding),
    ("Moyens humains", lambda c, url: c.staffing),
    ("Sources", lambda c, url: " ; ".join(s.url for s in c.sources.all())),
    ("Provenance", lambda c, url: c.get_provenance_display()),
    ("Dernière vérification", lambda c, url: _date(c.last_verified_on)),
]
HEADERS = [header for header, _ in COLUMNS]


def for_export(queryset: QuerySet) -> QuerySet:
    """The rows of an export with everything a row shows; 6 queries per chunk of 500 rows."""
    return queryset.select_related("legal_form").prefetch_related(
        "themes",
        "sources",
        Prefetch("participations", queryset=Participation.objects.select_related("territory")),
        Prefetch("factor_links", queryset=CooperationFactor.objects.select_related("factor")),
    )


def rows(queryset: QuerySet, absolute_url) -> Iterator[list[str]]:
    """Neutralised cells of each cooperation, read in chunks so memory stays flat."""
    for cooperation in for_export(queryset).iterator(chunk_size=CHUNK):
        yield [neutralise(str(cell(cooperation, absolute_url) or "")) for _, cell in COLUMNS]


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
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _csv_lines(rows(queryset, absolute_url))),
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


def ods_response(queryset, absolute_url, stem, filters, permalink) -> HttpResponse:
    data = tablib.Dataset(*rows(queryset, absolute_url), headers=HEADERS, title="Coopérations")
    about = tablib.Dataset(
        *about_rows(filters, permalink, data.height), headers=["Rubrique", "Valeur"]
    )
    about.title = "À propos"
    book = tablib.Databook([data, about])
    response = HttpResponse(book.export("ods"), content_type=FORMATS["ods"])
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "ods")}"'
    return response


def export_response(fmt, queryset, absolute_url, stem, filters, permalink):
    if fmt == "csv":
        return csv_response(queryset, absolute_url, stem)
    if fmt == "xlsx":
        return xlsx_response(queryset, absolute_url, stem, filters, permalink)
    return ods_response(queryset, absolute_url, stem, filters, permalink)
