"""Public pages. Every query is shaped here so that templates never hit the database.

All lists (the catalogue, and the pages of a métropole, theme, success factor or territory) go
through `CatalogueList`: the same FilterSet, facets, sorting, pagination, exports and JSON, on a
base queryset that the page narrows. The whole state lives in the query string.
"""

import re

from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, OuterRef, Prefetch, Q, Subquery, When
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views import View

from . import api, exports, search
from .collation import FrenchOrder
from .filters import PLUS_VALUES, SORTS, CooperationFilter, compute_facets
from .models import (
    Cooperation,
    CooperationFactor,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)
from .text import fold

PAGE_SIZE = 20
ROLE_ORDER = [r.value for r in Participation.Role]
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def shown(raw: str, limit: int) -> str:
    """A visitor's raw value as a notice quotes it: cut short, control characters replaced."""
    return _CONTROL_CHARACTERS.sub("\ufffd", raw[:limit])


def home(request):
    published = Q(cooperations__is_published=True)
    metropoles = (
        Territory.objects.metropoles()
        .annotate(total=Count("cooperations", filter=published, distinct=True))
        .order_by("name")
    )
    themes = Theme.objects.annotate(total=Count("cooperations", filter=published))
    factors = SuccessFactor.objects.annotate(
        total=Count(
            "cooperation_links", filter=Q(cooperation_links__cooperation__is_published=True)
        )
    )
    legal_forms = LegalForm.objects.annotate(total=Count("cooperations", filter=published))
    counts = Cooperation.objects.published().aggregate(
        total=Count("pk", distinct=True),
    )
    participants = (
        Participation.objects.filter(cooperation__is_published=True)
        .exclude(role=Participation.Role.METROPOLE)
        .values("territory")
        .distinct()
        .count()
    )
    # Sorted in Python: the database's collation would put « Métropole … » after « Metz ».
    metropoles = sorted(metropoles, key=lambda m: fold(m.name))
    return render(
        request,
        "cooperations/home.html",
        {
            "total": counts["total"],
            "partner_total": participants,
            "metropoles": metropoles,
            "active_metropoles": sum(1 for m in metropoles if m.total),
            "themes": themes,
            "factors": factors,
            "legal_forms": legal_forms,
            "nav": "home",
        },
    )


class CatalogueList(View):
    """A filtered, faceted, sorted, paginated list; also answers ?format=json|csv|xlsx|ods."""

    template_name = "cooperations/list.html"
    # What the page narrows the catalogue to, named in export file names.
    export_scope = ""

    def get_base_queryset(self):
        return Cooperation.objects.published()

    def get_page_context(self) -> dict:
        return {}

    def scope_description(self) -> str:
        """What the page narrows the catalogue to, in plain French, for the export sheet."""
        return ""

    def role_ordering(self) -> list:
        return []

    def get(self, request, *args, **kwargs):
        self.notices: list[str] = []
        base = self.get_base_queryset()
        filterset = CooperationFilter(request.GET, queryset=base, request=request)
        self.filterset = filterset
        for name in filterset.form.errors:
            label = filterset.filters[name].label if name in filterset.filters else name
            raw = request.GET.get(name, "")
            self.notices.append(
                f"Le filtre « {label} » avec la valeur « {shown(raw, 60)} » n'a pas été compris : "
                "il a été ignoré."
            )
        queryset = filterset.qs
        if filterset.years_swapped:
            self.notices.append(
                "L'année de début était postérieure à l'année de fin : elles ont été inversées."
            )
        searching = "q" in filterset.valid_data and bool(
            search.search_words(filterset.valid_data["q"])
        )
        sort = self._sort(request.GET.get("tri", ""), searching)
        queryset = queryset.order_by(*self.role_ordering(), *self._ordering(sort))

        fmt = request.GET.get("format", "html")
        if fmt not in {"html", "json", *exports.FORMATS}:
            self.notices.append(
                f"Le format « {shown(fmt, 20)} » n'existe pas : la page est affichée à la place."
            )
            fmt = "html"
        if fmt in exports.FORMATS:
            return exports.export_response(
                fmt,
                queryset,
                request.build_absolute_uri,
                self.export_scope or self._main_filter_name(filterset),
                self.plain_filters(filterset, sort),
                self.permalink(),
            )

        paginator = Paginator(
            queryset.select_related("legal_form").prefetch_related(
                "themes",
                Prefetch(
                    "participations", queryset=Participation.objects.select_related("territory")
                ),
            ),
            PAGE_SIZE,
        )
        page = paginator.page(self._page_number(request.GET.get("page"), paginator))
        if fmt == "json":
            return JsonResponse(api.list_payload(request, page, paginator, self.notices))

        context = {
            "filterset": filterset,
            "facets": compute_facets(filterset, base),
            "active_filters": self.active_filters(filterset),
            "notices": self.notices,
            "page_obj": page,
            "page_range": list(paginator.get_elided_page_range(page.number, on_each_side=2)),
            "paginator": paginator,
            "cooperations": page.object_list,
            "sort": sort,
            "sorts": [(k, v) for k, v in SORTS.items() if k != "pertinence" or searching],
            "query": filterset.valid_data.get("q", ""),
            "export_formats": [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("ods", "ODS")],
            "has_filters": bool(filterset.valid_data),
        }
        context.update(self.get_page_context())
        return render(request, self.template_name, context)

    # --- helpers ---------------------------------------------------------------------------

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

    def active_filters(self, filterset) -> list[dict]:
        """A removable tag per valid filter: its label and the URL without it."""
        tags = []
        for name, value in filterset.valid_data.items():
            remaining = self.request.GET.copy()
            remaining.pop(name, None)
            remaining.pop("page", None)
            tags.append(
                {
                    "label": f"{filterset.filters[name].label} : {self._value_label(name, value)}",
                    "remove_url": "?" + remaining.urlencode(),
                }
            )
        return tags

    @staticmethod
    def _value_label(name, value) -> str:
        if name == "q":
            return f"« {value} »"
        if name == "statut":
            return Cooperation.Status(value).label
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

    def plain_filters(self, filterset, sort) -> str:
        parts = [self.scope_description()] if self.scope_description() else []
        parts += [
            f"{filterset.filters[name].label} : {self._value_label(name, value)}"
            for name, value in filterset.valid_data.items()
        ]
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
        return {"page_title": "Toutes les coopérations", "nav": "list"}


class ThemeView(CatalogueList):
    template_name = "cooperations/theme.html"

    def get(self, request, slug):
        self.theme = get_object_or_404(Theme, slug=slug)
        self.export_scope = slug
        return super().get(request)

    def get_base_queryset(self):
        return Cooperation.objects.published().filter(themes=self.theme)

    def scope_description(self):
        return f"Thématique de la page : {self.theme.label}"

    def get_page_context(self):
        return {"theme": self.theme, "page_title": self.theme.label, "nav": "themes"}


class FactorView(CatalogueList):
    template_name = "cooperations/factor.html"

    def get(self, request, slug):
        self.factor = get_object_or_404(SuccessFactor, slug=slug)
        self.export_scope = slug
        return super().get(request)

    def get_base_queryset(self):
        return Cooperation.objects.published().filter(
            pk__in=CooperationFactor.objects.filter(factor=self.factor).values("cooperation")
        )

    def scope_description(self):
        return f"Facteur de réussite de la page : {self.factor.label}"

    def get_page_context(self):
        return {"factor": self.factor, "page_title": self.factor.label, "nav": "factors"}


class TerritoryView(CatalogueList):
    """Every published cooperation a territory takes part in, grouped by its role."""

    template_name = "cooperations/territory.html"

    def get(self, request, pk):
        self.territory = get_object_or_404(
            Territory.objects.select_related("departement", "region", "epci"), pk=pk
        )
        self.export_scope = self.territory.name
        return super().get(request)

    def get_base_queryset(self):
        role = Participation.objects.filter(
            cooperation=OuterRef("pk"), territory=self.territory
        ).values("role")[:1]
        return (
            Cooperation.objects.published()
            .filter(participations__territory=self.territory)
            .annotate(territory_role=Subquery(role))
        )

    def role_ordering(self):
        return [
            Case(
                *[When(territory_role=role, then=i) for i, role in enumerate(ROLE_ORDER)],
                output_field=IntegerField(),
            )
        ]

    def scope_description(self):
        return f"Territoire de la page : {self.territory}"

    def get_page_context(self):
        role_counts = dict(
            Participation.objects.filter(territory=self.territory, cooperation__is_published=True)
            .order_by()
            .values_list("role")
            .annotate(n=Count("pk"))
        )
        return {
            "territory": self.territory,
            "page_title": self.territory.name,
            "role_counts": [
                (role.label, role_counts.get(role.value, 0))
                for role in Participation.Role
                if role_counts.get(role.value)
            ],
            "nav": "metropoles" if self.territory.is_metropole else "",
        }


def cooperation_detail(request, slug):
    cooperation = get_object_or_404(
        Cooperation.objects.published()
        .select_related("legal_form")
        .prefetch_related(
            "themes",
            "sources",
            Prefetch("participations", queryset=Participation.objects.select_related("territory")),
            Prefetch("factor_links", queryset=CooperationFactor.objects.select_related("factor")),
        ),
        slug=slug,
    )
    fmt = request.GET.get("format", "html")
    if fmt == "json":
        return JsonResponse(api.record_payload(request, cooperation))
    metropole_ids = [
        p.territory_id
        for p in cooperation.participations.all()
        if p.role == Participation.Role.METROPOLE
    ]
    theme_ids = [t.pk for t in cooperation.themes.all()]
    related = Cooperation.objects.related_to(cooperation.pk, metropole_ids, theme_ids)
    return render(
        request,
        "cooperations/detail.html",
        {
            "cooperation": cooperation,
            "related": related,
            "permalink": request.build_absolute_uri(cooperation.get_absolute_url()),
            "role_headings": [
                (Participation.Role.METROPOLE, "Métropoles"),
                (Participation.Role.PARTNER, "Partenaires"),
                (Participation.Role.ASSOCIATED, "Associés"),
            ],
            "today": timezone.localdate(),
        },
    )


def accessibility(request):
    return render(request, "accessibility.html", {"nav": ""})
