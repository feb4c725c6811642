"""Public pages. Every query is shaped here so that templates never hit the database.

All lists (the catalogue, and the pages of a métropole, theme, success factor or territory) go
through `CatalogueList`, which takes its selection from the `listing` package within the page's
scope and renders it: the same facets, sorting, pagination, exports and JSON everywhere. The
whole state lives in the query string.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    F,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from catalogue.accessibility import SAMPLE as ACCESSIBILITY_SAMPLE
from catalogue.accessibility import self_assessment

from . import comparison, facet_index, listing, matches, network, search
from . import my_territory as my_territory_service
from .caching import published_rows
from .filters import (
    SORTS,
    YEAR_MAX,
    YEAR_MIN,
    build_facets,
)
from .list_links import QueryLinks
from .listing import ROLE_ORDER
from .models import (
    ROLE_HEADINGS,
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    CooperationSlugAlias,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)
from .paths import fixed_path
from .publishing import api, exports
from .publishing.feeds import feed_query
from .text import fold, shown
from .vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY

# Illustrations shown per factor or plus-value on the overview pages, and at most on the page
# of one factor or plus-value (its list of cooperations below has them all).
OVERVIEW_ILLUSTRATIONS = 3
PAGE_ILLUSTRATIONS = 50

# The download links of a list, by `format` value.
EXPORT_LINKS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("ods", "ODS")]
# The whole selection as one JSON document, like the files above; `format=json` stays one page
# of the list (20 rows), as the API's pages are.
COMPLETE_JSON = "json-complet"


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


class CatalogueList(View):
    """A list page: its scope's selection (the `listing` package) filtered, faceted, sorted
    and paginated; also answers ?format=json|json-complet|csv|xlsx|ods."""

    template_name = "cooperations/list.html"
    scope_class = listing.Scope

    def get_page_context(self) -> dict:
        return {}

    def get(self, request, **kwargs):
        self.scope = self.scope_class.from_url(**kwargs)
        elsewhere = self.redirect_elsewhere(request)
        if elsewhere is not None:
            return elsewhere
        chosen = listing.select(request, self.scope)
        fmt = request.GET.get("format", "html")
        if fmt not in {"html", "json", COMPLETE_JSON, *exports.FORMATS}:
            chosen = chosen.noting(
                f"Le format « {shown(fmt, 20)} » n'existe pas : la page est affichée à la place."
            )
            fmt = "html"
        if fmt == COMPLETE_JSON:
            return api.complete_list_response(
                request, chosen.ids(), self.scope.queryset(), list(chosen.notices)
            )
        if fmt in exports.FORMATS:
            return exports.export_response(
                fmt,
                chosen.ids(),
                request.build_absolute_uri,
                chosen.export_name(),
                chosen.plain_filters(),
                self.permalink(),
            )

        # Staff see rows read from the records, even just after an edit that keeps no history;
        # visitors get the rows kept with the facet index (result_rows.py).
        rows = "records"
        if fmt == "html":
            rows = "fresh" if request.user.is_authenticated else "kept"
        self.selection = chosen
        shown_page = chosen.page(request.GET.get("page"), rows)
        paginator, page = shown_page.paginator, shown_page.page
        if fmt == "json":
            return JsonResponse(
                api.list_payload(request, page, paginator, list(shown_page.notices))
            )
        filterset = chosen.filterset
        links = QueryLinks(request.GET)
        suggested = ""
        if chosen.searching and paginator.count == 0:
            words = search.vocabulary(chosen.index.version)
            suggested = search.suggestion(filterset.valid_data["q"], words)
        context = {
            "suggestion": suggested,
            "suggestion_url": links(q=suggested, page=None) if suggested else "",
            "facets": build_facets(filterset, chosen.counts, skip=self.scope.fixed_facet),
            "valid_filters": filterset.valid_data,
            "year_bounds": (YEAR_MIN, YEAR_MAX),
            "active_filters": chosen.active_filters(links),
            "notices": list(shown_page.notices),
            "page_obj": page,
            "links": links,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2),
            "paginator": paginator,
            "cooperations": page.object_list,
            # Where the search matched on each row shown (three queries, only when searching),
            # with the word families the search itself used.
            "matches": (
                matches.page_matches(
                    page.object_list,
                    filterset.valid_data["q"],
                    search.families_for(chosen.index.version),
                )
                if chosen.searching
                else {}
            ),
            "sort": chosen.sort,
            "sorts": [
                (key, label, links(tri=key, page=None))
                for key, label in SORTS.items()
                if key != "pertinence" or chosen.searching
            ],
            "query": filterset.valid_data.get("q", ""),
            "export_links": [(label, links(format=fmt, page=None)) for fmt, label in EXPORT_LINKS],
            "json_link": links(format=COMPLETE_JSON, page=None),
            "has_filters": bool(filterset.valid_data),
            "feed_url": self.scope.feed_path() + feed_query(filterset),
            "statistics_url": statistics_url(self.scope, filterset),
        }
        context.update(self.get_page_context())
        self.with_rows(context)
        context.update(self.comparison_context(links, context["cooperations"]))
        context["page_heading"] = chosen.heading(
            context["page_title"], context.get("filtered_title"), page.number
        )
        return render(request, self.template_name, context)

    def comparison_context(self, links: QueryLinks, rows) -> dict:
        """What the comparison form needs: the records chosen so far (`c`, as the comparison
        page sends them back), those of other pages kept as hidden values, and this list's
        address without them for the comparison's way back."""
        chosen = comparison.requested_slugs(self.request)
        on_page = {row.slug for row in rows}
        return {
            "chosen": frozenset(chosen),
            "chosen_elsewhere": [slug for slug in chosen if slug not in on_page],
            "compare_back": self.request.path + links(c=None).rstrip("?"),
        }

    def with_rows(self, context: dict) -> None:
        """Add what the page's template needs of the rows shown (`context["cooperations"]`)."""

    def redirect_elsewhere(self, request):
        """A redirect when the page's address is not the scope's own, else None."""
        return None

    def permalink(self) -> str:
        params = self.request.GET.copy()
        params.pop("format", None)
        params.pop("page", None)
        query = params.urlencode()
        return self.request.build_absolute_uri(self.request.path + (f"?{query}" if query else ""))


def statistics_url(scope: listing.Scope, filterset) -> str:
    """The statistics page of a list's selection, or "" when no filter gives its scope."""
    scope_filter = scope.statistics_filter()
    if scope_filter is None:
        return ""
    chosen = filterset.chosen | scope_filter
    path = fixed_path("cooperations:statistics")
    return path + (f"?{urlencode(chosen)}" if chosen else "")


class CooperationListView(CatalogueList):
    def get_page_context(self):
        return {
            "page_title": "Toutes les coopérations",
            "filtered_title": "Coopérations",
            "nav": "list",
        }


class ThemeView(CatalogueList):
    template_name = "cooperations/theme.html"
    scope_class = listing.ThemeScope

    def get_page_context(self):
        theme = self.scope.theme
        return {"theme": theme, "page_title": theme.label, "nav": "themes"}


class FactorView(CatalogueList):
    template_name = "cooperations/factor.html"
    scope_class = listing.FactorScope

    def get_page_context(self):
        factor = self.scope.factor
        illustrations = list(
            published_illustrations(
                CooperationFactor.objects.filter(factor=factor),
                PAGE_ILLUSTRATIONS + 1,
                "factor_id",
            )
        )
        return {
            "factor": factor,
            "page_title": factor.label,
            "illustrations": illustrations[:PAGE_ILLUSTRATIONS],
            "more_illustrations": len(illustrations) > PAGE_ILLUSTRATIONS,
            "breadcrumb_parents": [("Facteurs de réussite", fixed_path("cooperations:factors"))],
            "nav": "factors",
        }


class PlusValueView(CatalogueList):
    """Cooperations bringing one plus-value, after its illustrations."""

    template_name = "cooperations/plus_value.html"
    scope_class = listing.PlusValueScope

    def get_page_context(self):
        scope = self.scope
        illustrations = list(
            published_illustrations(
                CooperationPlusValue.objects.filter(plus_value=scope.code),
                PAGE_ILLUSTRATIONS + 1,
                "plus_value",
            )
        )
        return {
            "plus_value": {
                "code": scope.code,
                "label": scope.label,
                "definition": scope.definition,
            },
            "page_title": scope.label,
            "illustrations": illustrations[:PAGE_ILLUSTRATIONS],
            "more_illustrations": len(illustrations) > PAGE_ILLUSTRATIONS,
            "breadcrumb_parents": [("Plus-values", fixed_path("cooperations:plus_values"))],
            "nav": "plus_values",
        }


class TerritoryView(CatalogueList):
    """Every published cooperation a territory takes part in, grouped by its role."""

    template_name = "cooperations/territory.html"
    scope_class = listing.TerritoryScope

    def redirect_elsewhere(self, request):
        canonical = self.scope.territory.get_absolute_url()
        if request.path == canonical:
            return None
        # An address by id of a territory that has a code, or an EPCI's old kind.
        query = request.GET.urlencode()
        return redirect(canonical + (f"?{query}" if query else ""), permanent=True)

    def get_page_context(self):
        territory = self.scope.territory
        index = self.selection.index
        # Its published cooperations by role, from the facet index the page was listed from.
        by_role = {role: index.participants(territory.pk, [role]) for role in ROLE_ORDER}
        return {
            "territory": territory,
            "page_title": territory.name,
            "role_counts": [
                (role.label, len(by_role[role.value]))
                for role in Participation.Role
                if by_role[role.value]
            ],
            "covers_located_participants": self.scope.covers_located_participants,
            "nav": "metropoles" if territory.is_metropole else "",
            # A métropole's partners as ranked bars, a map and their tables.
            "network": self.network() if territory.is_metropole else None,
            "by_role": by_role,
        }

    def with_rows(self, context):
        context["role_groups"] = role_groups(
            context["cooperations"], context["by_role"], self.selection.index.position_of
        )

    def network(self):
        """The métropole's network: one grouped query, its ranking and the map's fills, kept
        with the facet index for visitors; staff get it as the database holds it."""
        territory = self.scope.territory
        if self.request.user.is_authenticated:
            return network.build_network(territory)
        networks = self.selection.index.networks
        found = networks.get(territory.pk)
        if found is None:
            found = networks[territory.pk] = network.build_network(territory)
        return found


def role_groups(rows, by_role: dict, position_of: dict) -> list[tuple[str, list]]:
    """The rows of a territory page cut into its consecutive groups by role (the page lists
    them role by role, `TerritoryScope.segments`): (role, or "" for a participant located
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
    try:
        return record_response(request, slug)
    except Http404:
        # Read only for an address no record has: the record's former slug (migration 0023).
        moved = (
            CooperationSlugAlias.objects.filter(slug=slug, cooperation__is_published=True)
            .values_list("cooperation__slug", flat=True)
            .first()
        )
        if moved is None:
            raise
        query = request.GET.urlencode()
        target = fixed_path("cooperations:detail", moved)
        return redirect(target + (f"?{query}" if query else ""), permanent=True)


def record_response(request, slug):
    """The record page of `slug` (or its JSON); Http404 when no published record has it."""
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
    that name, or goes straight to the only one (2 queries: the version and the territories)."""
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
        found = my_territory_service.find_territories(
            name,
            my_territory_service.CHOICES,
            version=getattr(request, "catalogue_version", ""),
        )
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
    """Up to 10 territories whose name matches `?q=`, for the search box's suggestions: the
    catalogue's version and the territories found (2 queries)."""
    found = my_territory_service.find_territories(
        request.GET.get("q", ""), version=getattr(request, "catalogue_version", "")
    )
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
