"""Spreadsheet exports of a list view: every page, same filters, same order.

One row per cooperation with readable labels, unknown values left empty. XLSX and ODS carry a
second sheet « À propos » (filters in plain French, permalink, extraction date, row count,
licence); CSV is streamed in UTF-8 with a BOM and `;` separators so that French Excel opens it as
it is. The writing itself, formula escaping included, is spreadsheets.py's, shared with the admin.
"""

import datetime
import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from . import spreadsheets
from .filters import PLUS_VALUES
from .models import (
    MONTHS_FR,
    Cooperation,
    CooperationFactor,
    Participation,
    Source,
    format_partial_date,
)
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
    function per column: a 10,000-row export calls this 10,000 times, and 22 calls per row were
    a third of its time."""
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


def rows(ids: list[int], absolute_url) -> Iterator[list[str]]:
    """Cells of the published cooperations among `ids`, in that order, read in chunks so that
    memory stays flat: 1 query per chunk of rows plus 4 for their relations."""
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    published = Cooperation.objects.published()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        records = {
            record[0]: record
            for record in published.filter(pk__any_of=set(chunk)).values_list(*_FIELDS)
        }
        relations = _relations(chunk)
        for pk in chunk:
            if pk in records:
                yield _cells(records[pk], relations, url_template)


# --- CSV written by PostgreSQL -------------------------------------------------------------------
#
# On PostgreSQL the CSV lines themselves come out of one query: labels joined, dates formatted,
# formulas neutralised and fields quoted by the database, so that Python only passes text on.
# The result is byte for byte what `rows` + `spreadsheets.csv_chunks` write (a test compares
# them); SQLite keeps using those.

# The related labels are aggregated per cooperation in one pass each (grouped joins rather than
# one subquery per row and column: 160 ms instead of 270 for 10,000 rows).
_SQL_PLACE = "CASE WHEN t.code <> '' THEN t.name || ' (' || t.code || ')' ELSE t.name END"
_SQL_RELATIONS = """
o AS MATERIALIZED (SELECT id, n FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS o(id, n)),
places AS (
  SELECT p.cooperation_id AS id, {places}
  FROM o JOIN cooperations_participation p ON p.cooperation_id = o.id
  JOIN cooperations_territory t ON t.id = p.territory_id
  GROUP BY p.cooperation_id),
themes AS (
  SELECT j.cooperation_id AS id, string_agg(v.label, ' ; ' ORDER BY v.position, v.label) AS l
  FROM o JOIN cooperations_cooperation_themes j ON j.cooperation_id = o.id
  JOIN cooperations_theme v ON v.id = j.theme_id
  GROUP BY j.cooperation_id),
factors AS (
  SELECT j.cooperation_id AS id, string_agg(v.label, ' ; ' ORDER BY v.position, v.label) AS l
  FROM o JOIN cooperations_cooperationfactor j ON j.cooperation_id = o.id
  JOIN cooperations_successfactor v ON v.id = j.factor_id
  GROUP BY j.cooperation_id),
sources AS (
  SELECT s.cooperation_id AS id, string_agg(s.url, ' ; ' ORDER BY s.position, s.id) AS l
  FROM o JOIN cooperations_source s ON s.cooperation_id = o.id
  GROUP BY s.cooperation_id)""".format(  # noqa: S608 — constants only; values are parameters
    places=", ".join(
        f"string_agg({_SQL_PLACE}, ' ; ' ORDER BY t.name, p.id) "
        f"FILTER (WHERE p.role = %(role_{role})s) AS {role}"
        for role in _ROLES.values
    )
)
_SQL_DATE = "to_char({0}, 'DD/MM/YYYY')"
_SQL_CELLS = [
    "c.slug",
    "c.name",
    "%(url_start)s || c.slug || %(url_end)s",
    "c.summary",
    "c.description",
    "places.metropole",
    "places.partenaire",
    "places.associe",
    "themes.l",
    "factors.l",
    "lf.label",
    "%(statuses)s::jsonb ->> c.status",
    """CASE c.signed_on_precision
  WHEN 'year' THEN extract(year FROM c.signed_on)::int::text
  WHEN 'month' THEN (%(months)s::text[])[extract(month FROM c.signed_on)::int]
    || ' ' || extract(year FROM c.signed_on)::int::text
  ELSE to_char(c.signed_on, 'DD/MM/YYYY') END""",
    _SQL_DATE.format("c.starts_on"),
    _SQL_DATE.format("c.ends_on"),
    "concat_ws(' ; ', {})".format(
        ", ".join(f"CASE WHEN c.{field} THEN %(plus_{field})s END" for field, _ in _PLUS_VALUES)
    ),
    "c.governance",
    "c.funding",
    "c.staffing",
    "sources.l",
    "%(provenances)s::jsonb ->> c.provenance",
    _SQL_DATE.format("c.last_verified_on"),
]
# What `spreadsheets.neutralise` then the csv module do to one text cell: an apostrophe before a
# formula, then quotes around a field holding the separator, a quote or a line break. Each cell
# is named several times there: the `OFFSET 0` keep PostgreSQL from computing it once per
# mention.
_SQL_NEUTRALISED = (
    "CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
    "THEN '''' || {0} ELSE coalesce({0}, '') END"
)
_SQL_QUOTED = (
    "CASE WHEN {0} ~ '[;\"\\r\\n]' THEN '\"' || replace({0}, '\"', '\"\"') || '\"' ELSE {0} END"
)
_SQL_CSV = """WITH {relations}
SELECT concat_ws(';', {fields}) || E'\\r\\n' FROM (
  SELECT n, {neutralised} FROM (
    SELECT {cells}
    FROM o JOIN cooperations_cooperation c ON c.id = o.id
    LEFT JOIN cooperations_legalform lf ON lf.id = c.legal_form_id
    LEFT JOIN places ON places.id = o.id
    LEFT JOIN themes ON themes.id = o.id
    LEFT JOIN factors ON factors.id = o.id
    LEFT JOIN sources ON sources.id = o.id
    WHERE c.is_published
    OFFSET 0
  ) cells
  OFFSET 0
) lines ORDER BY n""".format(  # noqa: S608 — constants only
    relations=_SQL_RELATIONS,
    fields=", ".join(_SQL_QUOTED.format(f"c{i}") for i in range(len(_SQL_CELLS))),
    neutralised=", ".join(
        _SQL_NEUTRALISED.format(f"c{i}") + f" AS c{i}" for i in range(len(_SQL_CELLS))
    ),
    cells=", ".join(["o.n", *(f"{cell} AS c{i}" for i, cell in enumerate(_SQL_CELLS))]),
)


def _sql_csv_parameters(ids: list[int], url_template: str) -> dict:
    url_start, url_end = url_template.split("__slug__")
    return {
        "ids": list(ids),
        "url_start": url_start,
        "url_end": url_end,
        "statuses": json.dumps(_STATUS),
        "provenances": json.dumps(_PROVENANCE),
        "months": MONTHS_FR,
        **{f"role_{role}": role for role in _ROLES.values},
        **{f"plus_{field}": label for field, label in _PLUS_VALUES},
    }


def sql_csv_chunks(ids: list[int], absolute_url) -> Iterator[str]:
    """The CSV's header then its lines for `ids`, from PostgreSQL, one query and one chunk per
    CHUNK ids, so that memory stays flat (a plain cursor, not a server-side one: a download cut
    short would leave it open)."""
    url_template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    yield from spreadsheets.csv_chunks(HEADERS, [])
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            cursor.execute(_SQL_CSV, _sql_csv_parameters(ids[start : start + CHUNK], url_template))
            yield "".join([line for (line,) in cursor.fetchall()])


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


def csv_response(chunks: Iterator[str], scope: str) -> StreamingHttpResponse:
    # The header and the first rows are read before the response exists, so that the queries
    # run (and may fail with a proper error page) before any byte is sent.
    chunks = iter(chunks)
    first = list(itertools.islice(chunks, 2))
    body = itertools.chain(["\ufeff"], first, chunks)
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in body), content_type=FORMATS["csv"]
    )
    return _attachment(response, scope, "csv")


def export_response(fmt, ids, absolute_url, scope, filters, permalink):
    """The export of the cooperations `ids`, in that order, in `fmt` (a key of FORMATS);
    `scope` names the file."""
    if fmt == "csv":
        if connection.vendor == "postgresql":
            return csv_response(sql_csv_chunks(ids, absolute_url), scope)
        return csv_response(spreadsheets.csv_chunks(HEADERS, rows(ids, absolute_url)), scope)
    data = rows(ids, absolute_url)
    write = spreadsheets.write_xlsx if fmt == "xlsx" else spreadsheets.write_ods
    response = HttpResponse(write(_sheets(data, filters, permalink)), content_type=FORMATS[fmt])
    return _attachment(response, scope, fmt)
