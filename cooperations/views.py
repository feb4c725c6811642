"""Public pages. Every query is shaped here so that templates never hit the database.

All lists (the catalogue, and the pages of a métropole, theme, success factor or territory) go
through `CatalogueList`: the same FilterSet, facets, sorting, pagination, exports and JSON, on a
base queryset that the page narrows. The whole state lives in the query string.
"""

import datetime
import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from pyroaring import BitMap

from catalogue.accessibility import SAMPLE as ACCESSIBILITY_SAMPLE
from catalogue.accessibility import self_assessment

from . import api, comparison, exports, facet_index, network, result_rows, search
from . import my_territory as my_territory_service
from .caching import published_rows
from .collation import FrenchOrder
from .feeds import feed_query
from .filters import (
    PLUS_VALUES,
    SORTS,
    STATUS_CHOICES,
    YEAR_MAX,
    YEAR_MIN,
    CooperationFilter,
    build_facets,
)
from .list_links import QueryLinks
from .models import (
    KINDS_BY_URL_SEGMENT,
    ROLE_HEADINGS,
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)
from .paths import fixed_path
from .text import fold
from .vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY

# Illustrations shown per factor or plus-value on the overview pages, and at most on the page
# of one factor or plus-value (its list of cooperations below has them all).
OVERVIEW_ILLUSTRATIONS = 3
PAGE_ILLUSTRATIONS = 50

PAGE_SIZE = 20
# The download links of a list, by `format` value.
EXPORT_LINKS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("ods", "ODS")]
ROLE_ORDER = [r.value for r in Participation.Role]
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def shown(raw: str, limit: int) -> str:
    """A visitor's raw value as a notice quotes it: cut short, control characters replaced."""
    return _CONTROL_CHARACTERS.sub("\ufffd", raw[:limit])


def home(request):
    """Counts of the whole catalogue, read from the facet index, with the vocabularies and
    métropoles (four small queries) kept with it: the version's query only once warm."""
    return render(request, "cooperations/home.html", kept_with_index(request, HOME, home_context))


# The home page's key among the record pages kept with the facet index (slugs are strings).
HOME = ("home",)


def home_context(index) -> dict:
    # Sorted in Python: the database's collation would put « Métropole … » after « Metz ».
    metropoles = sorted(Territory.objects.metropoles(), key=lambda m: fold(m.name))
    for metropole in metropoles:
        # Every published cooperation it takes part in, whatever its role, as its page lists.
        metropole.total = len(index.participants(metropole.pk))
    themes = list(Theme.objects.all())
    for theme in themes:
        theme.total = index.totals["thematique"].get(theme.pk, 0)
    legal_forms = list(LegalForm.objects.all())
    for form in legal_forms:
        form.total = index.totals["forme"].get(form.pk, 0)
    return {
        "total": index.size,
        "partner_total": index.partner_count,
        "metropoles": metropoles,
        "active_metropoles": sum(1 for m in metropoles if m.total),
        "themes": themes,
        "factors": factors_with_totals(index),
        "plus_values": plus_values_with_totals(index),
        "legal_forms": legal_forms,
        "nav": "home",
    }


def factors_with_totals(index) -> list[SuccessFactor]:
    """The six factors in the publication's order, each with `total`, its published
    cooperations (from the facet index): one query."""
    factors = list(SuccessFactor.objects.order_by("position"))
    for factor in factors:
        factor.total = index.totals["facteur"].get(factor.pk, 0)
    return factors


def plus_values_with_totals(index) -> list[dict]:
    """The three plus-values in the publication's order with their label, definition, URL and
    `total` of published cooperations (from the facet index): no query."""
    return [
        {
            "code": code,
            "label": label,
            "definition": definition,
            "total": index.totals["plus_value"].get(code, 0),
            "url": fixed_path("cooperations:plus_value", code),
        }
        for code, _field, label, definition in PLUS_VALUE_VOCABULARY
    ]


def published_illustrations(queryset, per_group: int, group_field: str):
    """Illustrations with a text of published cooperations, at most `per_group` for each value
    of `group_field`, ordered by cooperation name: one query whatever the catalogue's size (a
    window function numbers the rows of each group)."""
    ordering = [F("cooperation__name").asc(), F("pk").asc()]
    return (
        queryset.filter(cooperation__is_published=True)
        .exclude(text="")
        .annotate(rank=Window(RowNumber(), partition_by=F(group_field), order_by=ordering))
        .filter(rank__lte=per_group)
        .select_related("cooperation")
        .only("text", "source_url", group_field, "cooperation__name", "cooperation__slug")
        .order_by(group_field, *ordering)
    )


def kept_with_index(request, key: tuple, build):
    """The context of a page that shows the whole catalogue's figures, built once per catalogue
    version and kept with the facet index (as the record pages are): warm, the page sends only
    the version's query, however many cooperations there are."""
    index = facet_index.for_request(request)
    context = index.pages.get(key)
    if context is None:
        context = index.pages[key] = build(index)
    return context


def factors_overview(request):
    """The six factors, what each means, how many cooperations illustrate it and its first
    illustrations: 2 queries when first built for a catalogue version."""

    def build(index):
        factors = factors_with_totals(index)
        by_factor = defaultdict(list)
        for link in published_illustrations(
            CooperationFactor.objects.all(), OVERVIEW_ILLUSTRATIONS + 1, "factor_id"
        ):
            by_factor[link.factor_id].append(link)
        for factor in factors:
            factor.illustrations = by_factor[factor.pk][:OVERVIEW_ILLUSTRATIONS]
        return {"factors": factors, "nav": "factors"}

    context = kept_with_index(request, FACTORS_OVERVIEW, build)
    return render(request, "cooperations/factors.html", context)


def plus_values_overview(request):
    """The three plus-values, like the factors."""

    def build(index):
        plus_values = plus_values_with_totals(index)
        by_code = defaultdict(list)
        for link in published_illustrations(
            CooperationPlusValue.objects.all(), OVERVIEW_ILLUSTRATIONS, "plus_value"
        ):
            by_code[link.plus_value].append(link)
        for plus_value in plus_values:
            plus_value["illustrations"] = by_code[plus_value["code"]]
        return {"plus_values": plus_values, "nav": "plus_values"}

    context = kept_with_index(request, PLUS_VALUES_OVERVIEW, build)
    return render(request, "cooperations/plus_values.html", context)


# Keys of the overview pages among the pages kept with the facet index (slugs are strings).
FACTORS_OVERVIEW = ("factors",)
PLUS_VALUES_OVERVIEW = ("plus_values",)


class IndexedResults:
    """A selection of the facet index in the page's order, read from the database only for the
    slice shown: what the Paginator pages through (it needs `count()` and slicing)."""

    def __init__(self, index, segments, sort, ranks, rows_queryset, rows="records"):
        self.index, self.segments, self.sort, self.ranks = index, segments, sort, ranks
        # Makes the queryset that reads records, only when some must be read: most list pages
        # find all their rows kept.
        self.rows_queryset = rows_queryset
        # What a slice gives: "records" (the cooperations), or the values of their result
        # rows (`result_rows.RowData`), "kept" with the index for a visitor or "fresh" from
        # the records for staff.
        self.rows = rows

    def count(self) -> int:
        return sum(len(segment) for segment in self.segments)

    def __len__(self) -> int:
        return self.count()

    def ids(self, start: int = 0, stop: int | None = None) -> list[int]:
        """The cooperation ids at [start, stop) of the selection in its order (all by default)."""
        stop = self.count() if stop is None else stop
        return facet_index.ordered_page(
            self.index, self.segments, self.sort, self.ranks, start, stop
        )

    def __getitem__(self, key):
        if isinstance(key, int):
            return self[key : key + 1][0]
        start, stop, _step = key.indices(self.count())
        ids = self.ids(start, stop)
        if self.rows != "records":
            kept = self.index.rows if self.rows == "kept" else None
            return result_rows.rows(ids, self.rows_queryset, kept)
        # One query and its prefetches for the 20 rows, put back in the index's order; a row
        # unpublished since the index was built is simply left out.
        records = {record.pk: record for record in self.rows_queryset().filter(pk__in=ids)}
        return [records[pk] for pk in ids if pk in records]

    def __iter__(self):
        return iter(self[:])


@functools.cache
def _published_cooperations():
    # Built once per process and handed out as copies (`.all()`), never evaluated itself:
    # its WHERE clause need not be built again for every list request.
    return Cooperation.objects.published()


class CatalogueList(View):
    """A filtered, faceted, sorted, paginated list; also answers ?format=json|csv|xlsx|ods."""

    template_name = "cooperations/list.html"
    # What the page narrows the catalogue to, named in export file names.
    export_scope = ""
    # The facet that the page already fixes (the theme of a theme page): not offered again.
    fixed_facet = ""

    def get_base_queryset(self):
        return _published_cooperations().all()

    def get_page_context(self) -> dict:
        return {}

    def scope_description(self) -> str:
        """What the page narrows the catalogue to, in plain French, for the export sheet."""
        return ""

    def scope_title(self) -> str:
        """The page's title without its filters, for its feed."""
        return "Toutes les coopérations"

    def role_ordering(self) -> list:
        """The page's own ORDER BY terms, before the sort's: with `_ordering`, the order of
        the plain queryset that the facet index's pages must reproduce (tests/test_facet_index.py
        compares them); no page reads the rows this way any more."""
        return []

    def load_scope(self, **kwargs) -> None:
        """Find what the page narrows the catalogue to from its URL arguments (404 if unknown);
        the Atom feed of the page calls it too."""

    def feed_path(self) -> str:
        """The address of this page's Atom feed, without query string."""
        return fixed_path("cooperations:feed")

    def parse_filters(self, base):
        """The FilterSet of the query string, with a French notice per ignored value."""
        notices = []
        filterset = CooperationFilter(self.request.GET, queryset=base, request=self.request)
        for name in filterset.form.errors:
            label = filterset.filters[name].label if name in filterset.filters else name
            raw = self.request.GET.get(name, "")
            notices.append(
                f"Le filtre « {label} » avec la valeur « {shown(raw, 60)} » n'a pas été compris : "
                "il a été ignoré."
            )
        filterset.valid_data  # noqa: B018 — sets years_swapped
        if filterset.years_swapped:
            notices.append(
                "L'année de début était postérieure à l'année de fin : elles ont été inversées."
            )
        return filterset, notices

    def filtered(self, base):
        """The FilterSet of the query string and `base` narrowed by its valid filters, with a
        French notice per ignored value; the queryset is unordered and not yet evaluated."""
        filterset, notices = self.parse_filters(base)
        return filterset, filterset.qs, notices

    def prepare(self) -> str:
        """Read the query string's filters and sort, with a French notice per ignored value;
        returns the sort."""
        request = self.request
        self.filterset, self.notices = self.parse_filters(self.get_base_queryset())
        valid = self.filterset.valid_data
        self.searching = "q" in valid and bool(search.search_words(valid["q"]))
        if "q" in valid and not self.searching:
            self.notices.append(
                f"La recherche « {shown(valid['q'], 60)} » ne contient aucun mot significatif : "
                "aucune coopération ne peut lui correspondre."
            )
        return self._sort(request.GET.get("tri", ""), self.searching)

    def select(self):
        """The query string's selection in the request's facet index: (index, the page's base
        bitmap, the bitmap each valid filter keeps, the search ranks or None, their
        intersection)."""
        index = self.index = facet_index.for_request(self.request)
        base = self.index_base(index)
        kept, ranks = facet_index.filter_bitmaps(index, self.filterset.valid_data)
        return index, base, kept, ranks, facet_index.intersect(base, kept.values())

    def indexed_page(self, sort: str, rows: str = "records"):
        """The paginator, the page asked for and the facet counts, from the facet index:
        bitmaps instead of grouped counts, and only the rows shown read from the database (as
        `rows` says, see `IndexedResults`; "stored" rows only when not read before for the
        same catalogue version)."""
        index, base, kept, ranks, selection = self.select()
        results = self.results(sort, index, ranks, selection, rows)
        paginator = Paginator(results, PAGE_SIZE)
        page = paginator.page(self._page_number(self.request.GET.get("page"), paginator))

        def counts(name):
            return facet_index.facet_counts(index, base, kept, name)

        return paginator, page, counts

    def results(self, sort, index, ranks, selection, rows="records") -> IndexedResults:
        """The selection in the page's order: its segments (roles first on a territory page),
        each sorted by `sort`."""
        return IndexedResults(
            index,
            self.index_segments(index, selection),
            sort,
            ranks,
            lambda: self.get_base_queryset().for_list(),
            rows,
        )

    def get(self, request, *args, **kwargs):
        sort = self.prepare()
        filterset = self.filterset
        fmt = request.GET.get("format", "html")
        if fmt not in {"html", "json", *exports.FORMATS}:
            self.notices.append(
                f"Le format « {shown(fmt, 20)} » n'existe pas : la page est affichée à la place."
            )
            fmt = "html"
        if fmt in exports.FORMATS:
            index, _base, _kept, ranks, selection = self.select()
            return exports.export_response(
                fmt,
                self.results(sort, index, ranks, selection).ids(),
                request.build_absolute_uri,
                self.export_scope or self._main_filter_name(filterset),
                self.plain_filters(filterset, sort),
                self.permalink(),
            )

        # Staff see rows read from the records, even just after an edit that keeps no history;
        # visitors get the rows kept with the facet index (result_rows.py).
        rows = "records"
        if fmt == "html":
            rows = "fresh" if request.user.is_authenticated else "kept"
        paginator, page, counts = self.indexed_page(sort, rows)
        if fmt == "json":
            return JsonResponse(api.list_payload(request, page, paginator, self.notices))
        searching = self.searching
        links = QueryLinks(request.GET)
        suggested = ""
        if searching and paginator.count == 0:
            words = search.vocabulary(self.index.version)
            suggested = search.suggestion(filterset.valid_data["q"], words)
        context = {
            "suggestion": suggested,
            "suggestion_url": links(q=suggested, page=None) if suggested else "",
            "facets": build_facets(filterset, counts, skip=self.fixed_facet),
            "valid_filters": filterset.valid_data,
            "year_bounds": (YEAR_MIN, YEAR_MAX),
            "active_filters": self.active_filters(filterset, links),
            "notices": self.notices,
            "page_obj": page,
            "links": links,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2),
            "paginator": paginator,
            "cooperations": page.object_list,
            "sort": sort,
            "sorts": [
                (key, label, links(tri=key, page=None))
                for key, label in SORTS.items()
                if key != "pertinence" or searching
            ],
            "query": filterset.valid_data.get("q", ""),
            "export_links": [(label, links(format=fmt, page=None)) for fmt, label in EXPORT_LINKS],
            "json_link": links(format="json"),
            "has_filters": bool(filterset.valid_data),
            "feed_url": self.feed_path() + feed_query(filterset),
            "statistics_url": self.statistics_url(filterset),
        }
        context.update(self.get_page_context())
        self.with_rows(context)
        context.update(self.comparison_context(links, context["cooperations"]))
        context["page_heading"] = self.heading(context, filterset, page.number)
        return render(request, self.template_name, context)

    def comparison_context(self, links: QueryLinks, rows) -> dict:
        """What the comparison form needs: the records chosen so far (`c`, as the comparison
        page sends them back), those of other pages kept as hidden values, and this list's
        address without them for the comparison's way back."""
        chosen = comparison.requested_slugs(self.request)
        shown = {row.slug for row in rows}
        return {
            "chosen": frozenset(chosen),
            "chosen_elsewhere": [slug for slug in chosen if slug not in shown],
            "compare_back": self.request.path + links(c=None).rstrip("?"),
        }

    def with_rows(self, context: dict) -> None:
        """Add what the page's template needs of the rows shown (`context["cooperations"]`)."""

    def index_base(self, index) -> BitMap:
        """The page's own narrowing of the catalogue, as a bitmap of the facet index; the same
        rows as `get_base_queryset()`."""
        return index.published

    def index_segments(self, index, selection: BitMap) -> list[BitMap]:
        """The selection cut into the groups that come first whatever the sort (the roles of a
        territory page); the same order as `role_ordering()`."""
        return [selection]

    # --- helpers ---------------------------------------------------------------------------

    def statistics_scope(self) -> dict | None:
        """The filter giving this page's own narrowing on the statistics page; None when no
        filter can (a commune's page), so that no link shows other figures than the list."""
        return {}

    def statistics_url(self, filterset) -> str:
        scope = self.statistics_scope()
        if scope is None:
            return ""
        chosen = {name: value for name, value in filterset.selected.items() if value} | scope
        path = fixed_path("cooperations:statistics")
        return path + (f"?{urlencode(chosen)}" if chosen else "")

    def heading(self, context, filterset, page_number: int) -> str:
        """The title and h1 state the filters and the page (RGAA 8.6): « Coopérations — Brest
        Métropole, Mobilités et transports — page 2 »."""
        states = [self._state_label(name, value) for name, value in filterset.valid_data.items()]
        name = context.get("filtered_title", context["page_title"]) if states else ""
        parts = [name or context["page_title"]]
        if states:
            parts.append(", ".join(states))
        if page_number > 1:
            parts.append(f"page {page_number}")
        return " — ".join(parts)

    def _state_label(self, name, value) -> str:
        if name == "q":
            return f"recherche « {value} »"
        if name == "annee_min":
            return f"signées à partir de {value}"
        if name == "annee_max":
            return f"signées jusqu'en {value}"
        if name in ("statut", "nature_partenaire"):
            return f"{self.filterset.filters[name].label} : {self._value_label(name, value)}"
        return self._value_label(name, value)

    def _sort(self, raw: str, searching: bool) -> str:
        default = "pertinence" if searching else "nom"
        if not raw:
            return default
        if raw not in SORTS:
            self.notices.append(
                f"Le tri « {shown(raw, 30)} » n'existe pas : tri par défaut appliqué."
            )
            return default
        if raw == "pertinence" and not searching:
            return "nom"
        return raw

    @staticmethod
    def _ordering(sort: str) -> list:
        """The sort's ORDER BY terms (see `role_ordering`)."""
        by_name = [FrenchOrder("name"), "pk"]
        if sort == "pertinence":
            return [F("search_rank").desc(), *by_name]
        if sort == "recent":
            return [F("signed_on").desc(nulls_last=True), *by_name]
        if sort == "ancien":
            return [F("signed_on").asc(nulls_last=True), *by_name]
        return by_name

    def _page_number(self, raw, paginator) -> int:
        if raw in (None, ""):
            return 1
        try:
            number = int(raw)
        except (TypeError, ValueError):
            self.notices.append(f"La page « {shown(str(raw), 20)} » n'existe pas : première page.")
            return 1
        if number < 1:
            self.notices.append(f"La page {number} n'existe pas : première page affichée.")
            return 1
        if number > paginator.num_pages:
            self.notices.append(
                f"La page {number} n'existe pas : dernière page ({paginator.num_pages}) affichée."
            )
            return paginator.num_pages
        return number

    def active_filters(self, filterset, links: QueryLinks | None = None) -> list[dict]:
        """A removable tag per valid filter: its label and the URL without it, from the page's
        `links` if it has them."""
        links = links or QueryLinks(self.request.GET)
        return [
            {
                "label": f"{filterset.filters[name].label} : {self._value_label(name, value)}",
                "remove_url": links(**{name: None, "page": None}) or "?",
            }
            for name, value in filterset.valid_data.items()
        ]

    @staticmethod
    def _value_label(name, value) -> str:
        if name == "q":
            return f"« {value} »"
        if name == "statut":
            return dict(STATUS_CHOICES)[value]
        if name == "plus_value":
            return PLUS_VALUES[value][1]
        if name == "nature_partenaire":
            return Territory.Kind(value).label
        if isinstance(value, Territory):
            return value.name
        return str(value)

    @staticmethod
    def _main_filter_name(filterset) -> str:
        """The first of the métropole, theme, factor, département, région or form filters, to
        name an export of the whole list."""
        for name in ("metropole", "thematique", "facteur", "departement", "region", "forme"):
            value = filterset.valid_data.get(name)
            if value is not None:
                return getattr(value, "slug", "") or getattr(value, "name", "") or str(value)
        return ""

    def filter_labels(self, filterset) -> list[str]:
        """« Label : value » of each valid filter."""
        return [
            f"{filterset.filters[name].label} : {self._value_label(name, value)}"
            for name, value in filterset.valid_data.items()
        ]

    def plain_filters(self, filterset, sort) -> str:
        parts = [self.scope_description()] if self.scope_description() else []
        parts += self.filter_labels(filterset)
        if not parts:
            parts = ["Aucun filtre : toutes les coopérations publiées"]
        return " ; ".join(parts) + f" — tri : {SORTS[sort].lower()}"

    def permalink(self) -> str:
        params = self.request.GET.copy()
        params.pop("format", None)
        params.pop("page", None)
        query = params.urlencode()
        return self.request.build_absolute_uri(self.request.path + (f"?{query}" if query else ""))


class CooperationListView(CatalogueList):
    def get_page_context(self):
        return {
            "page_title": "Toutes les coopérations",
            "filtered_title": "Coopérations",
            "nav": "list",
        }


class ThemeView(CatalogueList):
    template_name = "cooperations/theme.html"
    fixed_facet = "thematique"

    def get(self, request, slug):
        self.load_scope(slug=slug)
        return super().get(request)

    def load_scope(self, slug):
        self.theme = get_object_or_404(Theme, slug=slug)
        self.export_scope = slug

    def feed_path(self):
        return reverse("cooperations:theme_feed", args=[self.theme.slug])

    def get_base_queryset(self):
        return Cooperation.objects.published().filter(themes=self.theme)

    def index_base(self, index):
        return index.value("thematique", self.theme.pk)

    def statistics_scope(self):
        return {"thematique": self.theme.slug}

    def scope_title(self):
        return self.theme.label

    def scope_description(self):
        return f"Thématique de la page : {self.theme.label}"

    def get_page_context(self):
        return {"theme": self.theme, "page_title": self.theme.label, "nav": "themes"}


class FactorView(CatalogueList):
    template_name = "cooperations/factor.html"
    fixed_facet = "facteur"

    def get(self, request, slug):
        self.load_scope(slug=slug)
        return super().get(request)

    def load_scope(self, slug):
        self.factor = get_object_or_404(SuccessFactor, slug=slug)
        self.export_scope = slug

    def feed_path(self):
        return reverse("cooperations:factor_feed", args=[self.factor.slug])

    def get_base_queryset(self):
        return Cooperation.objects.published().filter(
            pk__in=CooperationFactor.objects.filter(factor=self.factor).values("cooperation")
        )

    def index_base(self, index):
        return index.value("facteur", self.factor.pk)

    def statistics_scope(self):
        return {"facteur": self.factor.slug}

    def scope_title(self):
        return self.factor.label

    def scope_description(self):
        return f"Facteur de réussite de la page : {self.factor.label}"

    def get_page_context(self):
        illustrations = list(
            published_illustrations(
                CooperationFactor.objects.filter(factor=self.factor),
                PAGE_ILLUSTRATIONS + 1,
                "factor_id",
            )
        )
        return {
            "factor": self.factor,
            "page_title": self.factor.label,
            "illustrations": illustrations[:PAGE_ILLUSTRATIONS],
            "more_illustrations": len(illustrations) > PAGE_ILLUSTRATIONS,
            "breadcrumb_parents": [("Facteurs de réussite", fixed_path("cooperations:factors"))],
            "nav": "factors",
        }


class PlusValueView(CatalogueList):
    """Cooperations bringing one plus-value, after its illustrations."""

    template_name = "cooperations/plus_value.html"
    fixed_facet = "plus_value"

    def get(self, request, code):
        self.load_scope(code=code)
        return super().get(request)

    def load_scope(self, code):
        found = [row for row in PLUS_VALUE_VOCABULARY if row[0] == code]
        if not found:
            raise Http404("Plus-value inconnue")
        self.code, self.field, self.label, self.definition = found[0]
        self.export_scope = code

    def feed_path(self):
        return reverse("cooperations:plus_value_feed", args=[self.code])

    def get_base_queryset(self):
        return Cooperation.objects.published().filter(**{self.field: True})

    def index_base(self, index):
        return index.value("plus_value", self.code)

    def statistics_scope(self):
        return {"plus_value": self.code}

    def scope_title(self):
        return self.label

    def scope_description(self):
        return f"Plus-value de la page : {self.label}"

    def get_page_context(self):
        illustrations = list(
            published_illustrations(
                CooperationPlusValue.objects.filter(plus_value=self.code),
                PAGE_ILLUSTRATIONS + 1,
                "plus_value",
            )
        )
        return {
            "plus_value": {"code": self.code, "label": self.label, "definition": self.definition},
            "page_title": self.label,
            "illustrations": illustrations[:PAGE_ILLUSTRATIONS],
            "more_illustrations": len(illustrations) > PAGE_ILLUSTRATIONS,
            "breadcrumb_parents": [("Plus-values", fixed_path("cooperations:plus_values"))],
            "nav": "plus_values",
        }


class TerritoryView(CatalogueList):
    """Every published cooperation a territory takes part in, grouped by its role."""

    template_name = "cooperations/territory.html"

    def get(self, request, segment=None, code=None, pk=None):
        self.load_scope(segment=segment, code=code, pk=pk)
        canonical = self.territory.get_absolute_url()
        if request.path != canonical:
            # An address by id of a territory that has a code, or an EPCI's old kind.
            query = request.GET.urlencode()
            return redirect(canonical + (f"?{query}" if query else ""), permanent=True)
        return super().get(request)

    def load_scope(self, segment=None, code=None, pk=None):
        territories = Territory.objects.select_related("departement", "region", "epci")
        if pk is not None:
            self.territory = get_object_or_404(territories, pk=pk)
        else:
            if segment not in KINDS_BY_URL_SEGMENT:
                raise Http404("Nature de territoire inconnue")
            self.territory = (
                territories.with_code(KINDS_BY_URL_SEGMENT[segment], code)
                .order_by("kind", "pk")
                .first()
            )
            if self.territory is None:
                raise Http404("Territoire inconnu")
        self.export_scope = self.territory.name

    def feed_path(self):
        return self.territory.get_absolute_url() + "flux/"

    @property
    def fixed_facet(self) -> str:
        if self.territory.is_metropole:
            return "metropole"
        return {Territory.Kind.DEPARTEMENT: "departement", Territory.Kind.REGION: "region"}.get(
            self.territory.kind, ""
        )

    @property
    def covers_located_participants(self) -> bool:
        """A département or a région page lists the cooperations of the participants located in
        it too, as the département and région filters do."""
        return self.territory.kind in (Territory.Kind.DEPARTEMENT, Territory.Kind.REGION)

    def get_base_queryset(self):
        role = Participation.objects.filter(
            cooperation=OuterRef("pk"), territory=self.territory
        ).values("role")[:1]
        here = Q(territory=self.territory)
        if self.territory.kind == Territory.Kind.DEPARTEMENT:
            here |= Q(territory__departement=self.territory)
        elif self.territory.kind == Territory.Kind.REGION:
            here |= Q(territory__region=self.territory)
        return (
            Cooperation.objects.published()
            .filter(Exists(Participation.objects.filter(here, cooperation=OuterRef("pk"))))
            .annotate(territory_role=Subquery(role))
        )

    def index_base(self, index):
        here = index.participants(self.territory.pk)
        if self.territory.kind == Territory.Kind.DEPARTEMENT:
            here |= index.value("departement", self.territory.pk)
        elif self.territory.kind == Territory.Kind.REGION:
            here |= index.value("region", self.territory.pk)
        return here

    def index_segments(self, index, selection):
        segments = [
            selection & index.participants(self.territory.pk, [role]) for role in ROLE_ORDER
        ]
        return [*segments, selection - BitMap.union(BitMap(), *segments)]

    def statistics_scope(self):
        facet = self.fixed_facet
        return {facet: self.territory.code} if facet else None

    def role_ordering(self):
        # Direct participations by role, then those through a territory located here.
        return [
            Case(
                *[When(territory_role=role, then=i) for i, role in enumerate(ROLE_ORDER)],
                default=len(ROLE_ORDER),
                output_field=IntegerField(),
            )
        ]

    def scope_title(self):
        return self.territory.name

    def scope_description(self):
        return f"Territoire de la page : {self.territory}"

    def get_page_context(self):
        # Its published cooperations by role, from the facet index the page was listed from.
        by_role = {role: self.index.participants(self.territory.pk, [role]) for role in ROLE_ORDER}
        return {
            "territory": self.territory,
            "page_title": self.territory.name,
            "role_counts": [
                (role.label, len(by_role[role.value]))
                for role in Participation.Role
                if by_role[role.value]
            ],
            "covers_located_participants": self.covers_located_participants,
            "nav": "metropoles" if self.territory.is_metropole else "",
            # A métropole's partners as a diagram, a map and their tables.
            "network": self.network() if self.territory.is_metropole else None,
            "by_role": by_role,
        }

    def with_rows(self, context):
        context["role_groups"] = role_groups(
            context["cooperations"], context["by_role"], self.index.position_of
        )

    def network(self):
        """The métropole's network: one grouped query and a few hundred SVG shapes' geometry
        (40 ms at 100,000 cooperations), so kept with the facet index for visitors; staff get
        it as the database holds it."""
        if self.request.user.is_authenticated:
            return network.build_network(self.territory)
        found = self.index.networks.get(self.territory.pk)
        if found is None:
            found = self.index.networks[self.territory.pk] = network.build_network(self.territory)
        return found


def role_groups(rows, by_role: dict, position_of: dict) -> list[tuple[str, list]]:
    """The rows of a territory page cut into its consecutive groups by role (the page lists
    them role by role, `TerritoryView.index_segments`): (role, or "" for a participant located
    in the territory, its rows). `by_role` holds index positions, `position_of` maps ids to
    them."""
    groups: list[tuple[str, list]] = []
    for row in rows:
        position = position_of.get(row.pk)
        role = next((role for role in ROLE_ORDER if position in by_role[role]), "")
        if not groups or groups[-1][0] != role:
            groups.append((role, []))
        groups[-1][1].append(row)
    return groups


def territory_by_old_id(request, pk):
    """The first addresses of territory pages, by id, now move to the stable ones."""
    territory = get_object_or_404(Territory.objects.only("pk", "kind", "code"), pk=pk)
    return redirect(territory.get_absolute_url(), permanent=True)


# Record pages kept in each process per catalogue version, a few kB each.
KEPT_PAGES = 5_000


@dataclass(frozen=True)
class RecordPage:
    """What a record page shows, read once per catalogue version: the cooperation with its
    relations (`for_detail`), its participants by role, its plus-values and its related
    cooperations. Values only: the template makes the page."""

    cooperation: Cooperation
    # (heading, territories) for each role that has some, in the roles' order.
    participants: list
    # (code, label, illustration or None) of each plus-value the cooperation brings.
    plus_values: list
    related: list


def record_page(cooperation, index) -> RecordPage:
    """The page of `cooperation`, read by `for_detail`: one more query, for the names of its
    related cooperations (`facet_index.related`)."""
    participations = cooperation.participations.all()
    metropole = Participation.Role.METROPOLE
    illustrations = {link.plus_value: link for link in cooperation.plus_value_links.all()}
    ids = facet_index.related(
        index,
        cooperation.pk,
        sorted({p.territory_id for p in participations if p.role == metropole}),
        sorted({p.territory_id for p in participations if p.role != metropole}),
        sorted(theme.pk for theme in cooperation.themes.all()),
    )
    names = {pk: (name, slug) for pk, name, slug in published_rows(ids, ("pk", "name", "slug"))}
    return RecordPage(
        cooperation=cooperation,
        participants=[
            (heading, territories)
            for role, heading in ROLE_HEADINGS.items()
            if (territories := [p.territory for p in participations if p.role == role])
        ],
        plus_values=[
            (code, label, illustrations.get(code))
            for code, field, label, _definition in PLUS_VALUE_VOCABULARY
            if getattr(cooperation, field)
        ],
        related=[
            Cooperation(pk=pk, name=names[pk][0], slug=names[pk][1]) for pk in ids if pk in names
        ],
    )


def cooperation_detail(request, slug):
    fmt = request.GET.get("format", "html")
    if fmt == "json":
        cooperation = get_object_or_404(Cooperation.objects.published().for_detail(), slug=slug)
        return JsonResponse(api.record_payload(request, cooperation))
    # Visitors get the page kept for the catalogue's version, if this process read it before:
    # the version's query only. Staff get it read from the records, even just after an edit
    # that keeps no history.
    index = facet_index.for_request(request)
    visitor = not request.user.is_authenticated
    page = index.pages.get(slug) if visitor else None
    if page is None:
        cooperation = get_object_or_404(Cooperation.objects.published().for_detail(), slug=slug)
        page = record_page(cooperation, index)
        if visitor and len(index.pages) < KEPT_PAGES:
            index.pages[slug] = page
    cooperation = page.cooperation
    return render(
        request,
        "cooperations/detail.html",
        {
            "cooperation": cooperation,
            "participants": page.participants,
            "plus_values": page.plus_values,
            "related": page.related,
            "permalink": request.build_absolute_uri(cooperation.get_absolute_url()),
            "today": timezone.localdate(),
        },
    )


# When the accessibility statement was last written: change it with the statement.
ACCESSIBILITY_STATEMENT_DATE = datetime.date(2026, 12, 7)


def state_page(template: str, page_title: str, extra=dict):
    """A page that every State site carries (accessibility, legal notice, personal data): no
    query, the contact address and the host from the settings."""

    def view(request):
        return render(
            request,
            template,
            {
                "page_title": page_title,
                "contact_email": settings.CONTACT_EMAIL,
                "hosting_provider": settings.HOSTING_PROVIDER,
                "statement_date": ACCESSIBILITY_STATEMENT_DATE,
                "nav": "",
                **extra(),
            },
        )

    return view


def accessibility_facts() -> dict:
    return {"sample": ACCESSIBILITY_SAMPLE, "assessment": self_assessment()}


accessibility = state_page(
    "accessibility.html", "Déclaration d'accessibilité", extra=accessibility_facts
)
legal_notice = state_page("legal_notice.html", "Mentions légales")
personal_data = state_page("personal_data.html", "Données personnelles")


def site_map(request):
    """Every kind of page, with the métropoles, themes and factors: 3 queries."""
    metropoles = sorted(
        Territory.objects.metropoles().only("pk", "name", "kind", "code"),
        key=lambda m: fold(m.name),
    )
    return render(
        request,
        "site_map.html",
        {
            "page_title": "Plan du site",
            "metropoles": metropoles,
            "themes": Theme.objects.only("slug", "label"),
            "factors": SuccessFactor.objects.order_by("position").only("slug", "label"),
            "plus_values": plus_values_links(),
            "nav": "",
        },
    )


def plus_values_links() -> list[dict]:
    return [
        {"label": label, "url": reverse("cooperations:plus_value", args=[code])}
        for code, _field, label, _definition in PLUS_VALUE_VOCABULARY
    ]


def my_territory(request):
    """« Ma commune, mon territoire »: `?territoire=commune:29019` answers with the cooperations
    of that territory and of those containing it (3 queries); `?nom=…` lists the territories of
    that name, or goes straight to the only one (1 query)."""
    context = {"nav": "my_territory", "page_title": "Ma commune, mon territoire", "notices": []}
    key = request.GET.get("territoire", "")
    name = request.GET.get("nom", "")
    if key:
        territory = my_territory_service.territory_from_key(key[:40])
        if territory is not None:
            context.update(
                territory=territory,
                groups=my_territory_service.concerned(territory, facet_index.for_request(request)),
                page_title=f"Ma commune, mon territoire : {territory.name}",
                name=territory.name,
            )
            return render(request, "cooperations/my_territory.html", context)
        context["notices"].append(
            f"Le territoire « {shown(key, 40)} » est inconnu : cherchez-le par son nom."
        )
    if name:
        found = my_territory_service.find_territories(name, my_territory_service.CHOICES)
        if len(found) == 1:
            return redirect(
                f"{reverse('cooperations:my_territory')}?"
                + urlencode({"territoire": my_territory_service.territory_key(found[0])})
            )
        context.update(
            name=shown(name, my_territory_service.NAME_MAX_LENGTH),
            choices=[(my_territory_service.territory_key(t), t) for t in found],
            searched=True,
        )
    return render(request, "cooperations/my_territory.html", context)


def territory_suggestions(request):
    """Up to 10 territories whose name matches `?q=`, for the search box's suggestions: one
    query."""
    found = my_territory_service.find_territories(request.GET.get("q", ""))
    return JsonResponse(
        {
            "results": [
                {
                    "name": t.name,
                    "kind": t.get_kind_display(),
                    "code": t.code,
                    "departement": t.departement.name if t.departement else "",
                    "value": my_territory_service.territory_key(t),
                    "url": f"{reverse('cooperations:my_territory')}?"
                    + urlencode({"territoire": my_territory_service.territory_key(t)}),
                }
                for t in found
            ]
        }
    )
