"""Spreadsheet exports of a list view: every page, same filters, same order.

One row per cooperation with readable labels, unknown values left empty. XLSX and ODS carry
three more sheets: « Territoires » (one row per participation, with official code, kind and
role), « Facteurs et plus-values » (one row per illustration, with its text and source) and
« À propos » (filters in plain French, permalink, extraction date, row counts, licence). CSV
is streamed in UTF-8 with a BOM and `;` separators so that French Excel opens it as it is.
The writing itself, formula escaping included, is spreadsheets.py's, shared with the admin.
"""

import csv
import datetime
import functools
import io
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from ..caching import prepared_rows, published_rows
from ..filters import PLUS_VALUES
from ..lookups import any_of_parameter, any_of_sql
from ..models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
    Source,
    Territory,
    format_partial_date,
)
from ..text import fold
from . import spreadsheets
from .spreadsheets import FORMATS, Sheet

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
    """Labels of the related rows of a batch of cooperations, joined into one cell each: by
    (cooperation id, role) for territories, by cooperation id for the others."""

    territories: dict
    themes: dict
    factors: dict
    sources: dict


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

# Read with values_list, in the order `_cells` unpacks them.
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
    *[field for field, _label in _PLUS_VALUES],
    "governance",
    "funding",
    "staffing",
    "provenance",
    "last_verified_on",
]


def _cells(record: tuple, rel: _Relations, url_template: str) -> list[str]:
    """One row of the export, in the order of HEADERS. Written out as one list rather than one
    function per column: a 10,000-row export calls this 10,000 times, and most cells take less
    work to build than a call of their own would add."""
    (
        pk,
        slug,
        name,
        summary,
        description,
        legal_form,
        status,
        signed_on,
        signed_on_precision,
        starts_on,
        ends_on,
        *plus_values,
        governance,
        funding,
        staffing,
        provenance,
        last_verified_on,
    ) = record
    places = rel.territories
    return [
        slug,
        name,
        url_template.replace("__slug__", slug),
        summary,
        description,
        places.get((pk, _ROLES.METROPOLE), ""),
        places.get((pk, _ROLES.PARTNER), ""),
        places.get((pk, _ROLES.ASSOCIATED), ""),
        rel.themes.get(pk, ""),
        rel.factors.get(pk, ""),
        legal_form or "",
        _STATUS.get(status, ""),
        format_partial_date(signed_on, signed_on_precision),
        _date(starts_on),
        _date(ends_on),
        " ; ".join(
            [label for (_field, label), on in zip(_PLUS_VALUES, plus_values, strict=True) if on]
        ),
        governance,
        funding,
        staffing,
        rel.sources.get(pk, ""),
        _PROVENANCE.get(provenance, ""),
        _date(last_verified_on),
    ]


def _joined(pairs) -> dict:
    """(key, label) pairs, in order, as {key: "label ; label"}."""
    grouped = defaultdict(list)
    for key, label in pairs:
        grouped[key].append(label)
    return {key: " ; ".join(labels) for key, labels in grouped.items()}


def _relations(ids: list[int]) -> _Relations:
    """Labels of the territories, themes, factors and sources of some cooperations: 4 queries,
    plain tuples rather than model instances, which is what keeps a 10,000-row export fast.
    """
    # A set: Django walks a list parameter element by element, a cost `any_of` is there to avoid.
    wanted = set(ids)
    territories = _joined(
        ((cooperation_id, role), f"{name} ({code})" if code else name)
        for cooperation_id, role, name, code in Participation.objects.filter(
            cooperation_id__any_of=wanted
        )
        .order_by("territory__name", "pk")
        .values_list("cooperation_id", "role", "territory__name", "territory__code")
    )
    themes = _joined(
        Cooperation.themes.through.objects.filter(cooperation_id__any_of=wanted)
        .order_by("theme__position", "theme__label")
        .values_list("cooperation_id", "theme__label")
    )
    factors = _joined(
        CooperationFactor.objects.filter(cooperation_id__any_of=wanted)
        .order_by("factor__position", "factor__label")
        .values_list("cooperation_id", "factor__label")
    )
    sources = _joined(
        Source.objects.filter(cooperation_id__any_of=wanted)
        .order_by("position", "pk")
        .values_list("cooperation_id", "url")
    )
    return _Relations(territories, themes, factors, sources)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _chunk_cells(queryset, chunk: list[int], url_template: str) -> dict[int, list[str]]:
    """The cells of the cooperations of `queryset` among `chunk`: 1 query for the rows and 4
    for their relations."""
    records = queryset.filter(pk__any_of=set(chunk)).values_list(*_FIELDS)
    relations = _relations(chunk)
    return {record[0]: _cells(record, relations, url_template) for record in records}


def rows(ids: list[int], absolute_url) -> Iterator[list[str]]:
    """Cells of the published cooperations among `ids`, in that order, for the XLSX and ODS
    writers: the first three, then the stored CSV line read back (`stored_lines`), one query per
    chunk of ids instead of five, and no cell built. The cells come out neutralised, as the CSV
    writes them, which the spreadsheet writers leave as they are (`spreadsheets.neutralise`
    twice changes nothing)."""
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    for lines in stored_lines(ids):
        joined = io.StringIO("".join(text for _slug, _name, text in lines), newline="")
        tails = csv.reader(joined, delimiter=";")
        for (slug, name, _text), tail in zip(lines, tails, strict=True):
            head = [slug, name, url_template.replace("__slug__", slug)]
            yield [*map(spreadsheets.neutralise, head), *tail]


def cell_rows(ids: list[int], absolute_url) -> Iterator[list[str]]:
    """The same cells as `rows`, built from the records and their relations (5 queries per
    chunk of ids): what the stored lines hold, and what tests compare them with."""
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    published = Cooperation.objects.published()
    for chunk in _chunks(ids):
        cells = _chunk_cells(published, chunk, url_template)
        yield from (cells[pk] for pk in chunk if pk in cells)


# --- CSV from the stored export text -------------------------------------------------------------
#
# Building 10,000 rows' cells took about half a second whichever way (Python: 5 queries per
# chunk and 22 cells per row; PostgreSQL itself: grouped joins, 0.25 s). Each cooperation keeps
# instead its line of the CSV in two parts (`Cooperation.export_head`, the slug and name cells,
# and `export_text`, the cells from the summary on), rebuilt with its search text by every
# writer (cooperations/derived.py). A CSV export asks the database for each line with the
# record's address on the host asked put between the two.

# Cells before the stored text: Identifiant, Nom, Adresse de la fiche.
HEAD_CELLS = 3


def _export_parts(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """The slug, export head and export text (above) of each cooperation among `ids`, published
    or not: 5 queries per CHUNK of ids."""
    line = spreadsheets.csv_line_writer()
    parts = {}
    for chunk in _chunks(ids):
        for pk, cells in _chunk_cells(Cooperation.objects.all(), chunk, "").items():
            # Each cell's quoting depends on that cell only: two lines cut and put together
            # are the line of all the cells.
            head = line(cells[: HEAD_CELLS - 1])[:-2] + ";"
            parts[pk] = (cells[0], head, line(cells[HEAD_CELLS:]))
    return parts


def export_texts(ids: list[int]) -> dict[int, tuple[str, str]]:
    """The export head and text of each cooperation among `ids`, published or not."""
    return {pk: (head, text) for pk, (_slug, head, text) in _export_parts(ids).items()}


def stored_lines(ids: list[int]) -> Iterator[list[tuple[str, str, str]]]:
    """(slug, name, stored text) of the published cooperations among `ids`, in that order,
    one list per CHUNK of ids: one query each (the same SQL for every chunk, prepared on
    PostgreSQL, its rows read as plain tuples), plus one per chunk holding a record whose text
    was never built (then built on the way, not stored)."""
    for chunk in _chunks(ids):
        found = {
            pk: (slug, name, text)
            for pk, slug, name, text in published_rows(chunk, ("pk", "slug", "name", "export_text"))
        }
        missing = [pk for pk, (_slug, _name, text) in found.items() if not text]
        for pk, (_slug, _head, text) in _export_parts(missing).items():
            found[pk] = (*found[pk][:2], text)
        yield [found[pk] for pk in chunk if pk in found]


@functools.cache
def _lines_sql(vendor: str) -> str:
    """Each published cooperation among some ids: its id, whether its stored parts are missing,
    and its whole CSV line as UTF-8 bytes, the address of the record made of the two first
    parameters around its slug. Bytes are what the response sends: on PostgreSQL (`convert_to`,
    read in binary) Python has nothing to decode and encode again, some 7 MB for 10,000 rows;
    SQLite keeps its text in UTF-8 and hands a BLOB over as bytes."""
    table = connection.ops.quote_name(Cooperation._meta.db_table)
    line = "export_head || %s || slug || %s || export_text"
    line = f"convert_to({line}, 'UTF8')" if vendor == "postgresql" else f"CAST({line} AS BLOB)"
    # Only names from the model, the values stay parameters.
    return (
        f"SELECT id, export_head = '' OR export_text = '', {line} "  # noqa: S608
        f"FROM {table} WHERE is_published AND {any_of_sql('id', vendor)}"
    )


def _csv_lines(chunk: list[int], before: str, after: str) -> bytes:
    """The CSV lines of the published cooperations among `chunk`, in that order, the address
    of each being `before` + its slug + `after`: one query (prepared on PostgreSQL), plus five
    if some record's stored parts are missing (then built on the way, not stored)."""
    vendor = connection.vendor
    found = prepared_rows(
        _lines_sql(vendor), [before, after, any_of_parameter(chunk, vendor)], binary=True
    )
    lines = {pk: line for pk, _missing, line in found}
    if missing := [pk for pk, missing, _line in found if missing]:
        for pk, (slug, head, text) in _export_parts(missing).items():
            lines[pk] = f"{head}{before}{slug}{after}{text}".encode()
    return b"".join([lines[pk] for pk in chunk if pk in lines])


def csv_chunks(ids: list[int], absolute_url) -> Iterator[bytes]:
    """The CSV's header then its lines for the published cooperations among `ids`, in UTF-8,
    one chunk per CHUNK of them (`_csv_lines`).

    The record's address needs no quoting in a CSV cell: its slug is made of letters, digits,
    hyphens and underscores (a slug field, and the only ones the record's URL accepts), and its
    start is the scheme. Only a host or path prefix holding `;` or quotes could change that:
    the lines then go through the csv writer, cell by cell."""
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    if _QUOTED.search(url_template):
        for text in spreadsheets.csv_chunks(HEADERS, rows(ids, absolute_url)):
            yield text.encode()
        return
    yield spreadsheets.csv_line_writer()(HEADERS).encode()
    before, after = url_template.split("__slug__")
    for chunk in _chunks(ids):
        yield _csv_lines(chunk, before, after + ";")


# What makes a cell more than its text in a CSV line: the separator, quotes, line breaks.
_QUOTED = re.compile('[;"\r\n]')


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


# --- The sheets beside the cooperations' --------------------------------------------------------
#
# A cell per cooperation cannot say which territory has which code and role, nor which text
# and source illustrate which factor: the XLSX and ODS carry them as sheets of their own, one
# row per participation and one per illustration, in the order of the selection. The CSV stays
# one row per cooperation (one file, one table); the list's download block says where the rest
# is. The same rows as the open-data package's participations and illustrations files, with
# labels instead of codes.

TERRITORY_HEADERS = [
    "Identifiant de la coopération", "Coopération", "Territoire", "Code officiel",
    "Nature", "Rôle",
]  # fmt: skip
ILLUSTRATION_HEADERS = [
    "Identifiant de la coopération", "Coopération", "Type", "Facteur ou plus-value",
    "Comment la coopération l'illustre", "Source",
]  # fmt: skip
_KINDS = dict(Territory.Kind.choices)
_ROLE_LABELS = dict(Participation.Role.choices)
_PLUS_VALUE_LABELS = dict(CooperationPlusValue.PlusValue.choices)


def _in_selection_order(chunk: list[int], found) -> Iterator[list]:
    """Rows whose first value is a cooperation id, in the order of `chunk` (a cooperation's
    rows in the order found), without that id."""
    grouped = defaultdict(list)
    for pk, *row in found:
        grouped[pk].append(row)
    for pk in chunk:
        yield from grouped.get(pk, ())


def territory_rows(ids: list[int]) -> Iterator[list]:
    """One row per participation of the published cooperations among `ids`, in that order,
    métropoles first, then partners and associates, each by name: 1 query per CHUNK of ids."""
    roles = Case(
        *(When(role=role, then=Value(rank)) for rank, role in enumerate(_ROLES.values)),
        output_field=IntegerField(),
    )
    for chunk in _chunks(ids):
        found = (
            Participation.objects.filter(
                cooperation_id__any_of=set(chunk), cooperation__is_published=True
            )
            .order_by(roles, "territory__name", "pk")
            .values_list(
                "cooperation_id", "cooperation__slug", "cooperation__name", "territory__name",
                "territory__code", "territory__kind", "role",
            )
        )  # fmt: skip
        for slug, name, territory, code, kind, role in _in_selection_order(chunk, found):
            yield [slug, name, territory, code, _KINDS.get(kind, kind), _ROLE_LABELS[role]]


def illustration_rows(ids: list[int]) -> Iterator[list]:
    """One row per factor or plus-value illustration of the published cooperations among
    `ids`, in that order, factors first (in the order of the six), each with its text and
    source: 2 queries per CHUNK of ids."""
    for chunk in _chunks(ids):
        wanted = set(chunk)
        factors = (
            CooperationFactor.objects.filter(
                cooperation_id__any_of=wanted, cooperation__is_published=True
            )
            .order_by("factor__position", "pk")
            .values_list(
                "cooperation_id", "cooperation__slug", "cooperation__name", "factor__label",
                "text", "source_url",
            )
        )  # fmt: skip
        plus_values = (
            CooperationPlusValue.objects.filter(
                cooperation_id__any_of=wanted, cooperation__is_published=True
            )
            .order_by("plus_value", "pk")
            .values_list(
                "cooperation_id", "cooperation__slug", "cooperation__name", "plus_value",
                "text", "source_url",
            )
        )  # fmt: skip
        grouped = defaultdict(list)
        for pk, slug, name, label, text, source in factors:
            grouped[pk].append([slug, name, "Facteur de réussite", label, text, source])
        for pk, slug, name, code, text, source in plus_values:
            label = _PLUS_VALUE_LABELS.get(code, code)
            grouped[pk].append([slug, name, "Plus-value", label, text, source])
        for pk in chunk:
            yield from grouped.get(pk, ())


def _sheets(ids: list[int], absolute_url, filters: str, permalink: str) -> Iterator[Sheet]:
    # A generator on purpose: the writer asks for the « À propos » sheet only once it has
    # written every row of the others, when the counts are known.
    cooperations = _Counted(rows(ids, absolute_url))
    territories = _Counted(territory_rows(ids))
    illustrations = _Counted(illustration_rows(ids))
    yield Sheet("Coopérations", HEADERS, cooperations)
    yield Sheet("Territoires", TERRITORY_HEADERS, territories)
    yield Sheet("Facteurs et plus-values", ILLUSTRATION_HEADERS, illustrations)
    about = about_rows(filters, permalink, cooperations.count)
    about[-1:-1] = [
        ["Lignes de la feuille « Territoires »", territories.count],
        ["Lignes de la feuille « Facteurs et plus-values »", illustrations.count],
    ]
    yield Sheet("À propos", ["Rubrique", "Valeur"], about, False)


def filename(scope: str, extension: str) -> str:
    """`cooperations-<scope>-YYYY-MM-DD.<ext>`, or without scope for the whole list; ASCII
    letters, digits and hyphens only, so the Content-Disposition header needs no encoding."""
    slug = fold(scope).replace(" ", "-")[:60].strip("-")
    stem = f"cooperations-{slug}" if slug else "cooperations"
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _attachment(response, scope: str, extension: str):
    response["Content-Disposition"] = f'attachment; filename="{filename(scope, extension)}"'
    return response


def csv_response(chunks: Iterator[bytes], scope: str) -> StreamingHttpResponse:
    # The header and the first rows are read before the response exists, so that the queries
    # run (and may fail with a proper error page) before any byte is sent.
    chunks = iter(chunks)
    first = list(itertools.islice(chunks, 2))
    body = itertools.chain(["\ufeff".encode()], first, chunks)
    response = StreamingHttpResponse(body, content_type=FORMATS["csv"])
    return _attachment(response, scope, "csv")


def export_response(fmt, ids, absolute_url, scope, filters, permalink):
    """The export of the cooperations `ids`, in that order, in `fmt` (a key of FORMATS);
    `scope` names the file."""
    if fmt == "csv":
        return csv_response(csv_chunks(ids, absolute_url), scope)
    write = spreadsheets.write_xlsx if fmt == "xlsx" else spreadsheets.write_ods
    sheets = _sheets(ids, absolute_url, filters, permalink)
    response = HttpResponse(write(sheets), content_type=FORMATS[fmt])
    return _attachment(response, scope, fmt)
