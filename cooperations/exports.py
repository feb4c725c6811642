"""Spreadsheet exports of a list view: every page, same filters, same order.

One row per cooperation with readable labels, unknown values left empty. XLSX and ODS carry a
second sheet « À propos » (filters in plain French, permalink, extraction date, row count,
licence); CSV is streamed in UTF-8 with a BOM and `;` separators so that French Excel opens it as
it is. The writing itself, formula escaping included, is spreadsheets.py's, shared with the admin.
"""

import datetime
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from . import spreadsheets
from .filters import PLUS_VALUES
from .models import Cooperation, CooperationFactor, Participation, Source, format_partial_date
from .spreadsheets import FORMATS, Sheet
from .text import fold

_PLUS_VALUES = list(PLUS_VALUES.values())

LICENCE = (
    "Licence Ouverte / Open Licence 2.0 (Etalab) — "
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
)
PRODUCER = "Catalogue des coopérations interterritoriales (ANCT)"
CHUNK = 2000


def _date(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


_STATUS = dict(Cooperation.Status.choices)
_PROVENANCE = dict(Cooperation.Provenance.choices)
_ROLES = Participation.Role


@dataclass
class _Relations:
    """Labels of the related rows of a batch of cooperations, keyed by cooperation id."""

    territories: dict
    themes: dict
    factors: dict
    sources: dict


def _joined(values: list[str]) -> str:
    return " ; ".join(values)


# The export's columns, in order: header and how to read the cell from a `values()` record and
# the relations of its batch. A new column is one line here (plus its field in _FIELDS or a
# query in _relations when it needs one).
COLUMNS: list[tuple[str, Callable[[dict, _Relations], str]]] = [
    ("Identifiant", lambda r, rel: r["slug"]),
    ("Nom", lambda r, rel: r["name"]),
    ("Adresse de la fiche", lambda r, rel: r["url"]),
    ("Résumé", lambda r, rel: r["summary"]),
    ("Description", lambda r, rel: r["description"]),
    ("Métropoles", lambda r, rel: _joined(rel.territories[r["pk"]][_ROLES.METROPOLE])),
    ("Partenaires", lambda r, rel: _joined(rel.territories[r["pk"]][_ROLES.PARTNER])),
    ("Associés", lambda r, rel: _joined(rel.territories[r["pk"]][_ROLES.ASSOCIATED])),
    ("Thématiques", lambda r, rel: _joined(rel.themes[r["pk"]])),
    ("Facteurs de réussite", lambda r, rel: _joined(rel.factors[r["pk"]])),
    ("Forme de coopération", lambda r, rel: r["legal_form__label"] or ""),
    ("Statut", lambda r, rel: _STATUS.get(r["status"], "")),
    (
        "Date de signature",
        lambda r, rel: format_partial_date(r["signed_on"], r["signed_on_precision"]),
    ),
    ("Début", lambda r, rel: _date(r["starts_on"])),
    ("Fin", lambda r, rel: _date(r["ends_on"])),
    ("Plus-value", lambda r, rel: _joined([label for f, label in _PLUS_VALUES if r[f]])),
    ("Gouvernance", lambda r, rel: r["governance"]),
    ("Financements", lambda r, rel: r["funding"]),
    ("Moyens humains", lambda r, rel: r["staffing"]),
    ("Sources", lambda r, rel: _joined(rel.sources[r["pk"]])),
    ("Provenance", lambda r, rel: _PROVENANCE.get(r["provenance"], "")),
    ("Dernière vérification", lambda r, rel: _date(r["last_verified_on"])),
]
HEADERS = [header for header, _cell in COLUMNS]

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


def _by_cooperation(pairs) -> defaultdict:
    """(cooperation id, value) pairs grouped as {cooperation id: [values in order]}."""
    grouped = defaultdict(list)
    for cooperation_id, value in pairs:
        grouped[cooperation_id].append(value)
    return grouped


def _relations(ids: list[int]) -> _Relations:
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
    return _Relations(territories, themes, factors, sources)


def _batch(records: list[dict], url_template: str) -> Iterator[list[str]]:
    relations = _relations([r["pk"] for r in records])
    for record in records:
        record["url"] = url_template.replace("__slug__", record["slug"])
        yield [cell(record, relations) or "" for _header, cell in COLUMNS]


def rows(queryset: QuerySet, absolute_url) -> Iterator[list[str]]:
    """Cells of each cooperation in the queryset's order, read in chunks so that memory stays
    flat: 1 query per chunk of rows plus 4 for their relations.
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


def about_rows(filters: str, permalink: str, count: int) -> list[list]:
    return [
        ["Source", PRODUCER],
        ["Filtres", filters],
        ["Lien permanent", permalink],
        ["Date d'extraction", timezone.localtime().strftime("%d/%m/%Y %H:%M")],
        ["Nombre de lignes", count],
        ["Licence", LICENCE],
    ]


class _Counted:
    """Rows passed through, counted on the way."""

    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def _sheets(data: Iterator[list[str]], filters: str, permalink: str) -> Iterator[Sheet]:
    # A generator on purpose: the writer asks for the « À propos » sheet only once it has
    # written every row of the first one, when the count is known.
    counted = _Counted(data)
    yield Sheet("Coopérations", HEADERS, counted)
    yield Sheet(
        "À propos", ["Rubrique", "Valeur"], about_rows(filters, permalink, counted.count), False
    )


def filename(scope: str, extension: str) -> str:
    """`cooperations-<scope>-YYYY-MM-DD.<ext>`, or without scope for the whole list; ASCII
    letters, digits and hyphens only, so the Content-Disposition header needs no encoding."""
    slug = fold(scope).replace(" ", "-")[:60].strip("-")
    stem = f"cooperations-{slug}" if slug else "cooperations"
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _attachment(response, scope: str, extension: str):
    response["Content-Disposition"] = f'attachment; filename="{filename(scope, extension)}"'
    return response


def csv_response(data: Iterator[list[str]], scope: str) -> StreamingHttpResponse:
    # The first row is read before the response exists, so that the queries run (and may fail
    # with a proper error page) before any byte is sent.
    data = iter(data)
    first = list(itertools.islice(data, 1))
    lines = spreadsheets.csv_lines(HEADERS, itertools.chain(first, data))
    body = itertools.chain(["\ufeff"], lines)
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in body), content_type=FORMATS["csv"]
    )
    return _attachment(response, scope, "csv")


def export_response(fmt, queryset, absolute_url, scope, filters, permalink):
    """The export of a list in `fmt` (a key of FORMATS); `scope` names the file."""
    data = rows(queryset, absolute_url)
    if fmt == "csv":
        return csv_response(data, scope)
    write = spreadsheets.write_xlsx if fmt == "xlsx" else spreadsheets.write_ods
    response = HttpResponse(write(_sheets(data, filters, permalink)), content_type=FORMATS[fmt])
    return _attachment(response, scope, fmt)
