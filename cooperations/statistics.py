"""The statistics page: the published cooperations of a selection counted by year, legal form,
theme, métropole, kind of partner, status, success factor and plus-value.

The selection is the list's: the same query string, read by `listing.select` as for the list
itself, and the same facet index, so the figures always describe what
`/cooperations/` shows. Each table counts the selection's bitmap against each value's (no query
but the labels), whatever the number of rows, and is drawn server-side as an SVG bar chart (no
script: the Content-Security-Policy forbids inline scripts and styles), its data table folded
under it. Every chart is on the page's one scale (they all count cooperations of the same
selection), values the largest first, the records without a value as a last « Non renseigné »
bar, and the years without a gap.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from pyroaring import BitMap

from . import listing
from .filters import UNKNOWN_STATUS, facet_labels
from .list_links import QueryLinks
from .models import Cooperation, TerritoryKind
from .publishing import exports, spreadsheets
from .text import fold, shown
from .vocabularies import PLUS_VALUES

# Chart geometry, in pixels: the SVG is drawn at its own size (width and height attributes)
# and only shrinks, never grows, so that a chart is as tall on a wide screen as on a phone.
# 360 px fit a phone's width; the label sits above its bar so that long labels need no column
# of their own, and labels longer than LABEL_LENGTH are cut, the table under the chart giving
# them in full. Every chart shares one scale: BAR_LENGTH is the largest count of the page.
CHART_WIDTH = 360
BAR_LENGTH = 290
BAR_HEIGHT = 12
ROW_HEIGHT = 34
LABEL_LENGTH = 56
# The years chart: one short row per year, the year left of its bar.
YEAR_ROW_HEIGHT = 18
YEAR_LABEL_WIDTH = 40


@dataclass
class Table:
    """One statistic: its rows are (label, count), in the order they are shown; `unknown`
    counts the selection's records that give no value, shown as its own last row."""

    key: str
    title: str
    column: str
    rows: list[tuple[str, int]]
    note: str = ""
    unknown: tuple[str, int] | None = None
    # Rows drawn with their label left of the bar (the years), not above it.
    inline_labels: bool = False
    bars: list[dict] = field(default_factory=list)
    height: int = 0
    csv_url: str = ""

    @property
    def lines(self) -> list[tuple[str, int]]:
        """Every row of the table, the unknown one last."""
        return [*self.rows, *([self.unknown] if self.unknown else [])]

    @property
    def largest(self) -> int:
        return max((count for _, count in self.lines), default=0)

    def draw(self, largest: int) -> None:
        """Bar geometry on the page's one scale: `largest` is drawn BAR_LENGTH long."""
        largest = largest or 1
        self.bars = []
        y = 0
        lines = self.lines
        for position, (label, count) in enumerate(lines):
            unknown = self.unknown is not None and position == len(lines) - 1
            inline = self.inline_labels and not unknown
            length = round(BAR_LENGTH * count / largest)
            bar_x = YEAR_LABEL_WIDTH if inline else 0
            bar_y = y + 3 if inline else y + 18
            if len(label) > LABEL_LENGTH:
                label = label[: LABEL_LENGTH - 1] + "…"
            self.bars.append(
                {
                    "label": label,
                    "count": count,
                    "unknown": unknown,
                    "label_y": bar_y + 11 if inline else y + 13,
                    "bar_x": bar_x,
                    "bar_y": bar_y,
                    # A count of one stays visible however large the scale.
                    "width": max(1, length) if count else 0,
                    "count_x": bar_x + length + 5,
                    "count_y": bar_y + 11,
                }
            )
            y += YEAR_ROW_HEIGHT if inline else ROW_HEIGHT
        self.height = y + 2


def _union(bitmaps) -> BitMap:
    return BitMap.union(BitMap(), *bitmaps)


def _unknown(label: str, selection, bitmaps) -> tuple[str, int] | None:
    """The row of the selection's records found in none of `bitmaps`, None when there is none."""
    count = len(selection - _union(bitmaps))
    return (label, count) if count else None


def _by_count(rows) -> list[tuple[str, int]]:
    """The rows that count something, the largest first, then by name in French order."""
    return sorted((row for row in rows if row[1]), key=lambda row: (-row[1], fold(row[0])))


def _years(index, selection, labels) -> Table:
    counts = {
        year: selection.intersection_cardinality(found) for year, found in index.by_year.items()
    }
    dated = [year for year, count in counts.items() if count]
    # Every year from the first to the last, those without a signature included: the gaps are
    # part of the story a timeline tells.
    years = range(min(dated), max(dated) + 1) if dated else []
    return Table(
        "annees",
        "Par année de signature",
        "Année de signature",
        [(str(year), counts.get(year, 0)) for year in years],
        unknown=_unknown("Date non renseignée", selection, index.by_year.values()),
        inline_labels=True,
    )


def _vocabulary_rows(index, selection, labels, facet: str) -> list[tuple[str, int]]:
    """(label, cooperations) of each value of a facet that the selection holds, the largest
    first."""
    return _by_count(
        (label, selection.intersection_cardinality(index.value(facet, pk)))
        for pk, _value, label in labels.get(facet, [])
    )


def _legal_forms(index, selection, labels) -> Table:
    return Table(
        "formes",
        "Par forme de coopération",
        "Forme de coopération",
        _vocabulary_rows(index, selection, labels, "forme"),
        unknown=_unknown("Non renseignée", selection, index.values["forme"].values()),
    )


def _themes(index, selection, labels) -> Table:
    return Table(
        "thematiques",
        "Par thématique",
        "Thématique",
        _vocabulary_rows(index, selection, labels, "thematique"),
        "Une coopération peut porter sur plusieurs thématiques.",
        _unknown("Non renseignée", selection, index.values["thematique"].values()),
    )


def _metropoles(index, selection, labels) -> Table:
    # A métropole counts in every role, a partner of another's cooperation included.
    rows = [
        (name, selection.intersection_cardinality(index.participants(pk)))
        for pk, _code, name in labels.get("metropole", [])
    ]
    return Table(
        "metropoles",
        "Par métropole",
        "Métropole",
        _by_count(rows),
        "Une coopération peut réunir plusieurs métropoles.",
        _unknown("Non renseignée", selection, index.values["metropole"].values()),
    )


def _partner_kinds(index, selection, labels) -> Table:
    names = dict(TerritoryKind.choices)
    kinds = index.values["nature_partenaire"]
    return Table(
        "natures",
        "Par nature des partenaires",
        "Nature des partenaires et participants associés",
        _by_count(
            (names.get(kind, kind), selection.intersection_cardinality(found))
            for kind, found in kinds.items()
        ),
        "Coopérations comptant au moins un partenaire ou participant associé de chaque nature.",
        _unknown("Aucun partenaire renseigné", selection, kinds.values()),
    )


def _statuses(index, selection, labels) -> Table:
    unknown = selection.intersection_cardinality(index.value("statut", UNKNOWN_STATUS))
    return Table(
        "statuts",
        "Par statut",
        "Statut",
        _by_count(
            (name, selection.intersection_cardinality(index.value("statut", value)))
            for value, name in Cooperation.Status.choices
        ),
        unknown=("Non renseigné", unknown) if unknown else None,
    )


def _factors(index, selection, labels) -> Table:
    return Table(
        "facteurs",
        "Par facteur de réussite",
        "Facteur de réussite",
        _vocabulary_rows(index, selection, labels, "facteur"),
        "Une coopération peut illustrer plusieurs facteurs de réussite.",
        _unknown("Non renseigné", selection, index.values["facteur"].values()),
    )


def _plus_values(index, selection, labels) -> Table:
    return Table(
        "plus_values",
        "Par plus-value",
        "Plus-value",
        _by_count(
            (label, selection.intersection_cardinality(index.value("plus_value", code)))
            for code, _field, label, _definition in PLUS_VALUES
        ),
        "Une coopération peut apporter plusieurs plus-values.",
        _unknown("Non renseignée", selection, index.values["plus_value"].values()),
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
                [table.column, "Nombre de coopérations"], [list(row) for row in table.lines]
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
        # Every chart counts cooperations of the same selection: one scale for all, so that a
        # bar's length means the same number everywhere on the page.
        largest = max((table.largest for table in tables), default=0)
        for table in tables:
            table.draw(largest)
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
            "largest": largest,
            "bar_height": BAR_HEIGHT,
            "list_url": reverse("cooperations:list") + (f"?{urlencode(query)}" if query else ""),
            "nav": "statistics",
        }
        context["page_heading"] = chosen.heading(context["page_title"])
        return render(request, self.template_name, context)
