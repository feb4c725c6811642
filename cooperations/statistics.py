"""The statistics page: the published cooperations of a selection counted by year, legal form,
theme, métropole, kind of partner, status, success factor and plus-value.

The selection is the list's: the same query string, read by `listing.select` as for the list
itself, and the same facet index, so the figures always describe what
`/cooperations/` shows. Each table counts the selection's bitmap against each value's (no query
but the labels), whatever the number of rows, and is drawn server-side as an SVG bar chart (no
script: the Content-Security-Policy forbids inline scripts and styles) followed by its data
table, its text alternative.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from pyroaring import BitMap

from . import exports, listing, spreadsheets
from .filters import PARTNER_KINDS, UNKNOWN_STATUS, facet_labels
from .list_links import QueryLinks
from .models import Cooperation, TerritoryKind
from .text import fold, shown
from .vocabularies import PLUS_VALUES

# Chart geometry, in SVG user units: the SVG scales to its container through its viewBox. A
# narrow chart keeps its 13-unit text readable (about 11 px) once shrunk to a phone's width;
# longer labels are cut, the table right after the chart giving them in full.
CHART_WIDTH = 420
ROW_HEIGHT = 40
LABEL_LENGTH = 58


@dataclass
class Table:
    """One statistic: its rows are (label, count), in the order they are shown."""

    key: str
    title: str
    column: str
    rows: list[tuple[str, int]]
    note: str = ""
    bars: list[dict] = field(default_factory=list)
    csv_url: str = ""

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.rows) + 4

    def draw(self) -> None:
        """Bar geometry: the label above its bar, the longest bar the chart's width."""
        largest = max((count for _, count in self.rows), default=0) or 1
        self.bars = [
            {
                "label": label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…",
                "count": count,
                "text_y": ROW_HEIGHT * i + 14,
                "bar_y": ROW_HEIGHT * i + 20,
                "width": max(1, round((CHART_WIDTH - 50) * count / largest)) if count else 0,
                "count_x": round((CHART_WIDTH - 50) * count / largest) + 5,
            }
            for i, (label, count) in enumerate(self.rows)
        ]


def _union(bitmaps) -> BitMap:
    return BitMap.union(BitMap(), *bitmaps)


def _undated_note(undated: int) -> str:
    if not undated:
        return "Toutes les coopérations de la sélection ont une date de signature."
    plural = "s" if undated > 1 else ""
    return (
        f"{undated} coopération{plural} sans date de signature connue "
        f"(non comptée{plural} ci-dessus)."
    )


def _years(index, selection, labels) -> Table:
    years = sorted(index.by_year)
    rows = [(str(year), selection.intersection_cardinality(index.by_year[year])) for year in years]
    undated = len(selection - _union(index.by_year.values()))
    return Table(
        "annees",
        "Par année de signature",
        "Année de signature",
        [row for row in rows if row[1]],
        _undated_note(undated),
    )


def _vocabulary_rows(index, selection, labels, facet: str) -> list[tuple[str, int]]:
    """(label, cooperations) of each value of a facet that the selection holds, in the facet's
    display order."""
    rows = [
        (label, selection.intersection_cardinality(index.value(facet, pk)))
        for pk, _value, label in labels.get(facet, [])
    ]
    return [row for row in rows if row[1]]


def _legal_forms(index, selection, labels) -> Table:
    rows = _vocabulary_rows(index, selection, labels, "forme")
    # The records without a legal form come last.
    unknown = len(selection - _union(index.values["forme"].values()))
    if unknown:
        rows.append(("Forme non renseignée", unknown))
    return Table("formes", "Par forme de coopération", "Forme de coopération", rows)


def _themes(index, selection, labels) -> Table:
    return Table(
        "thematiques",
        "Par thématique",
        "Thématique",
        _vocabulary_rows(index, selection, labels, "thematique"),
        "Une coopération peut porter sur plusieurs thématiques.",
    )


def _metropoles(index, selection, labels) -> Table:
    # A métropole counts in every role, a partner of another's cooperation included.
    rows = [
        (name, selection.intersection_cardinality(index.participants(pk)))
        for pk, _code, name in labels.get("metropole", [])
    ]
    rows = sorted((row for row in rows if row[1]), key=lambda row: (-row[1], fold(row[0])))
    return Table(
        "metropoles",
        "Par métropole",
        "Métropole",
        rows,
        "Une coopération peut réunir plusieurs métropoles.",
    )


def _partner_kinds(index, selection, labels) -> Table:
    counts = {
        kind: selection.intersection_cardinality(found)
        for kind, found in index.values["nature_partenaire"].items()
    }
    names = dict(TerritoryKind.choices)
    ordered = [value for value, _ in PARTNER_KINDS] + sorted(set(counts) - set(dict(PARTNER_KINDS)))
    return Table(
        "natures",
        "Par nature des partenaires",
        "Nature des partenaires et participants associés",
        [(names.get(kind, kind), counts[kind]) for kind in ordered if counts.get(kind)],
        "Coopérations comptant au moins un partenaire ou participant associé de chaque nature.",
    )


def _statuses(index, selection, labels) -> Table:
    counts = {
        value: selection.intersection_cardinality(index.value("statut", value))
        for value, _name in Cooperation.Status.choices
    }
    unknown = selection.intersection_cardinality(index.value("statut", UNKNOWN_STATUS))
    rows = [(name, counts[value]) for value, name in Cooperation.Status.choices if counts[value]]
    note = (
        f"Statut inconnu : {unknown} coopération{'s' if unknown > 1 else ''}."
        if unknown
        else "Le statut de toutes les coopérations de la sélection est connu."
    )
    return Table("statuts", "Par statut", "Statut", rows, note)


def _factors(index, selection, labels) -> Table:
    return Table(
        "facteurs",
        "Par facteur de réussite",
        "Facteur de réussite",
        _vocabulary_rows(index, selection, labels, "facteur"),
        "Une coopération peut illustrer plusieurs facteurs de réussite.",
    )


def _plus_values(index, selection, labels) -> Table:
    rows = [
        (label, selection.intersection_cardinality(index.value("plus_value", code)))
        for code, _field, label, _definition in PLUS_VALUES
    ]
    return Table(
        "plus_values",
        "Par plus-value",
        "Plus-value",
        [row for row in rows if row[1]],
        "Une coopération peut apporter plusieurs plus-values.",
    )


TABLES = {
    "annees": _years,
    "formes": _legal_forms,
    "thematiques": _themes,
    "metropoles": _metropoles,
    "natures": _partner_kinds,
    "statuts": _statuses,
    "facteurs": _factors,
    "plus_values": _plus_values,
}


def statistics_tables(index, selection) -> list[Table]:
    """Every table of a selection, counted over the facet index's bitmaps (no query but the
    facets' labels, kept a minute per process)."""
    labels = facet_labels()
    return [build(index, selection, labels) for build in TABLES.values()]


class StatisticsView(View):
    """The statistics of the list's selection; ?tableau=<key>&format=csv downloads one table."""

    template_name = "cooperations/statistics.html"

    def get(self, request, *args, **kwargs):
        # The list's selection, from the same facet index as the list itself.
        chosen = listing.select(request, listing.Scope(), sorting=False)
        filterset, notices = chosen.filterset, list(chosen.notices)
        index, selection = chosen.index, chosen.bitmap
        key = request.GET.get("tableau", "")
        fmt = request.GET.get("format", "")
        if fmt == "csv" and key in TABLES:
            table = TABLES[key](index, selection, facet_labels())
            body = spreadsheets.write_csv(
                [table.column, "Nombre de coopérations"], [list(row) for row in table.rows]
            )
            response = HttpResponse(body, content_type=spreadsheets.FORMATS["csv"])
            name = exports.filename(f"statistiques {key}", "csv")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        if fmt == "csv" and not key:
            notices.append("Le téléchargement CSV porte sur un tableau : choisissez-le ci-dessous.")
        elif fmt not in ("", "html", "csv"):
            notices.append(
                f"Le format « {shown(fmt, 20)} » n'existe pas ici : "
                "la page est affichée à la place."
            )
        if key and key not in TABLES:
            notices.append(
                f"Le tableau « {shown(key, 30)} » n'existe pas : tous les tableaux sont affichés."
            )
        total = len(selection)
        tables = statistics_tables(index, selection)
        for table in tables:
            table.draw()
        query = filterset.chosen
        for table in tables:
            table.csv_url = "?" + urlencode({**query, "tableau": table.key, "format": "csv"})
        context = {
            "page_title": "Statistiques",
            "filterset": filterset,
            "active_filters": chosen.active_filters(QueryLinks(request.GET)),
            "notices": notices,
            "total": total,
            "tables": tables,
            "chart_width": CHART_WIDTH,
            "list_url": reverse("cooperations:list") + (f"?{urlencode(query)}" if query else ""),
            "nav": "statistics",
        }
        context["page_heading"] = chosen.heading(context["page_title"])
        return render(request, self.template_name, context)
