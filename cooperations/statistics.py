"""The statistics page: the published cooperations of a selection counted by year, legal form,
theme, métropole, kind of partner, status, success factor and plus-value.

The selection is the list's: the same query string, read by the list's own FilterSet through
`CatalogueList.filtered`, so the figures always describe what `/cooperations/` shows. Each table
is one grouped query over the selection's ids (a subquery), whatever the number of rows, and is
drawn server-side as an SVG bar chart (no script: the Content-Security-Policy forbids inline
scripts and styles) followed by its data table, its text alternative.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from . import exports, spreadsheets
from .filters import PARTNER_KINDS
from .models import Cooperation, CooperationFactor, Participation, Territory, TerritoryKind
from .views import CatalogueList, shown
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


def _years(ids) -> Table:
    rows = (
        Cooperation.objects.filter(pk__in=ids)
        .annotate(year=ExtractYear("signed_on"))
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by("year")
    )
    counts = dict(rows)
    undated = counts.pop(None, 0)
    note = (
        f"{undated} coopération{'s' if undated > 1 else ''} sans date de signature connue "
        "(non comptée{} ci-dessus).".format("s" if undated > 1 else "")
        if undated
        else "Toutes les coopérations de la sélection ont une date de signature."
    )
    return Table(
        "annees",
        "Par année de signature",
        "Année de signature",
        [(str(year), n) for year, n in counts.items()],
        note,
    )


def _legal_forms(ids) -> Table:
    rows = (
        Cooperation.objects.filter(pk__in=ids)
        .values_list("legal_form__label", "legal_form__position")
        .annotate(n=Count("pk"))
        .order_by("legal_form__position", "legal_form__label")
    )
    # The records without a legal form come last, whatever the engine's place for NULL.
    ordered = sorted(rows, key=lambda row: row[0] is None)
    return Table(
        "formes",
        "Par forme de coopération",
        "Forme de coopération",
        [(label or "Forme non renseignée", n) for label, _, n in ordered],
    )


def _counts_by_vocabulary(links, vocabulary: str, ids) -> list[tuple[str, int]]:
    """(label, cooperations) of a vocabulary reached through a link table, in its display order:
    one grouped query."""
    rows = (
        links.objects.filter(cooperation__in=ids)
        .values_list(f"{vocabulary}__label", f"{vocabulary}__position")
        .annotate(n=Count("cooperation", distinct=True))
        .order_by(f"{vocabulary}__position", f"{vocabulary}__label")
    )
    return [(label, n) for label, _, n in rows]


def _themes(ids) -> Table:
    return Table(
        "thematiques",
        "Par thématique",
        "Thématique",
        _counts_by_vocabulary(Cooperation.themes.through, "theme", ids),
        "Une coopération peut porter sur plusieurs thématiques.",
    )


def _metropoles(ids) -> Table:
    rows = (
        Participation.objects.filter(
            cooperation__in=ids, territory__kind__in=Territory.METROPOLE_KINDS
        )
        .values_list("territory__name")
        .annotate(n=Count("cooperation", distinct=True))
        .order_by("-n", "territory__name")
    )
    return Table(
        "metropoles",
        "Par métropole",
        "Métropole",
        list(rows),
        "Une coopération peut réunir plusieurs métropoles.",
    )


def _partner_kinds(ids) -> Table:
    counts = dict(
        Participation.objects.filter(
            cooperation__in=ids,
            role__in=[Participation.Role.PARTNER, Participation.Role.ASSOCIATED],
        )
        .values_list("territory__kind")
        .annotate(n=Count("cooperation", distinct=True))
        .order_by()
    )
    labels = dict(TerritoryKind.choices)
    ordered = [value for value, _ in PARTNER_KINDS] + sorted(set(counts) - set(dict(PARTNER_KINDS)))
    return Table(
        "natures",
        "Par nature des partenaires",
        "Nature des partenaires et participants associés",
        [(labels.get(kind, kind), counts[kind]) for kind in ordered if counts.get(kind)],
        "Coopérations comptant au moins un partenaire ou participant associé de chaque nature.",
    )


def _statuses(ids) -> Table:
    counts = dict(
        Cooperation.objects.filter(pk__in=ids)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    unknown = counts.pop("", 0)
    rows = [(name, counts[value]) for value, name in Cooperation.Status.choices if value in counts]
    note = (
        f"Statut inconnu : {unknown} coopération{'s' if unknown > 1 else ''}."
        if unknown
        else "Le statut de toutes les coopérations de la sélection est connu."
    )
    return Table("statuts", "Par statut", "Statut", rows, note)


def _factors(ids) -> Table:
    return Table(
        "facteurs",
        "Par facteur de réussite",
        "Facteur de réussite",
        _counts_by_vocabulary(CooperationFactor, "factor", ids),
        "Une coopération peut illustrer plusieurs facteurs de réussite.",
    )


def _plus_values(ids) -> Table:
    counts = Cooperation.objects.filter(pk__in=ids).aggregate(
        **{code: Count("pk", filter=Q(**{fld: True})) for code, fld, _, _ in PLUS_VALUES}
    )
    return Table(
        "plus_values",
        "Par plus-value",
        "Plus-value",
        [(label, counts[code]) for code, _, label, _ in PLUS_VALUES if counts[code]],
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


def statistics_tables(queryset) -> list[Table]:
    """Every table of a selection: one grouped query each (eight), whatever its size."""
    ids = queryset.order_by().values("pk")
    return [build(ids) for build in TABLES.values()]


class StatisticsView(CatalogueList):
    """The statistics of the list's selection; ?tableau=<key>&format=csv downloads one table."""

    template_name = "cooperations/statistics.html"

    def get(self, request, *args, **kwargs):
        filterset, queryset, notices = self.filtered(self.get_base_queryset())
        self.filterset = filterset
        key = request.GET.get("tableau", "")
        fmt = request.GET.get("format", "")
        if fmt == "csv" and key in TABLES:
            table = TABLES[key](queryset.order_by().values("pk"))
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
        total = queryset.count()
        tables = statistics_tables(queryset)
        for table in tables:
            table.draw()
        query = {name: value for name, value in filterset.selected.items() if value}
        for table in tables:
            table.csv_url = "?" + urlencode({**query, "tableau": table.key, "format": "csv"})
        context = {
            "page_title": "Statistiques",
            "filterset": filterset,
            "active_filters": self.active_filters(filterset),
            "notices": notices,
            "total": total,
            "tables": tables,
            "chart_width": CHART_WIDTH,
            "list_url": reverse("cooperations:list") + (f"?{urlencode(query)}" if query else ""),
            "nav": "statistics",
        }
        context["page_heading"] = self.heading(context, filterset, 1)
        return render(request, self.template_name, context)
