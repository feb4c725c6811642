"""The scope of each list page kind: which cooperations it narrows the catalogue to.

Each scope gives its cooperations twice, in the two forms their readers need, side by side so
that they stay the same rows: `bitmap(index)` for the facet index (every count, selection and
page order) and `queryset()` for reading rows and for the tests that check the index against
plain SQL (tests/test_facet_index.py).
"""

import functools

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Subquery, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from pyroaring import BitMap

from ..models import (
    KINDS_BY_URL_SEGMENT,
    Cooperation,
    CooperationFactor,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)
from ..paths import fixed_path
from ..vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY

ROLE_ORDER = [r.value for r in Participation.Role]


@functools.cache
def _published_cooperations():
    # Built once per process and handed out as copies (`.all()`), never evaluated itself:
    # its WHERE clause need not be built again for every list request.
    return Cooperation.objects.published()


class Scope:
    """The whole catalogue: every published cooperation."""

    # The facet that the scope already fixes (the theme of a theme page): not offered again.
    fixed_facet = ""
    # What the page narrows the catalogue to, named in export file names.
    export_name = ""
    # The page's title without its filters, for its feed.
    title = "Toutes les coopérations"
    # What the page narrows the catalogue to, in plain French, for the export sheet.
    description = ""

    @classmethod
    def from_url(cls, **kwargs) -> "Scope":
        """The scope named by a page's URL arguments (404 if unknown)."""
        return cls()

    def queryset(self):
        return _published_cooperations().all()

    def bitmap(self, index) -> BitMap:
        return index.published

    def segments(self, index, selection: BitMap) -> list[BitMap]:
        """The selection cut into the groups that come first whatever the sort (the roles of a
        territory page); the same order as `ordering()`."""
        return [selection]

    def ordering(self) -> list:
        """The scope's own ORDER BY terms, before the sort's: the order of the plain queryset
        that the facet index's pages must reproduce (tests/test_facet_index.py compares them);
        no page reads the rows this way."""
        return []

    def statistics_filter(self) -> dict | None:
        """The filter giving this scope on the statistics page; None when no filter can (a
        commune's page), so that no link shows other figures than the list."""
        return {}

    def feed_path(self) -> str:
        """The address of the scope's Atom feed, without query string."""
        return fixed_path("cooperations:feed")


class ThemeScope(Scope):
    fixed_facet = "thematique"

    def __init__(self, theme: Theme):
        self.theme = theme
        self.export_name = theme.slug
        self.title = theme.label
        self.description = f"Thématique de la page : {theme.label}"

    @classmethod
    def from_url(cls, slug):
        return cls(get_object_or_404(Theme, slug=slug))

    def queryset(self):
        return Cooperation.objects.published().filter(themes=self.theme)

    def bitmap(self, index):
        return index.value("thematique", self.theme.pk)

    def statistics_filter(self):
        return {"thematique": self.theme.slug}

    def feed_path(self):
        return reverse("cooperations:theme_feed", args=[self.theme.slug])


class FactorScope(Scope):
    fixed_facet = "facteur"

    def __init__(self, factor: SuccessFactor):
        self.factor = factor
        self.export_name = factor.slug
        self.title = factor.label
        self.description = f"Facteur de réussite de la page : {factor.label}"

    @classmethod
    def from_url(cls, slug):
        return cls(get_object_or_404(SuccessFactor, slug=slug))

    def queryset(self):
        return Cooperation.objects.published().filter(
            pk__in=CooperationFactor.objects.filter(factor=self.factor).values("cooperation")
        )

    def bitmap(self, index):
        return index.value("facteur", self.factor.pk)

    def statistics_filter(self):
        return {"facteur": self.factor.slug}

    def feed_path(self):
        return reverse("cooperations:factor_feed", args=[self.factor.slug])


class PlusValueScope(Scope):
    fixed_facet = "plus_value"

    def __init__(self, code: str, field: str, label: str, definition: str):
        self.code, self.field, self.label, self.definition = code, field, label, definition
        self.export_name = code
        self.title = label
        self.description = f"Plus-value de la page : {label}"

    @classmethod
    def from_url(cls, code):
        found = [row for row in PLUS_VALUE_VOCABULARY if row[0] == code]
        if not found:
            raise Http404("Plus-value inconnue")
        return cls(*found[0])

    def queryset(self):
        return Cooperation.objects.published().filter(**{self.field: True})

    def bitmap(self, index):
        return index.value("plus_value", self.code)

    def statistics_filter(self):
        return {"plus_value": self.code}

    def feed_path(self):
        return reverse("cooperations:plus_value_feed", args=[self.code])


class TerritoryScope(Scope):
    """Every published cooperation a territory takes part in, by role; a département's or a
    région's also those of the participants located in it, as their filters do."""

    def __init__(self, territory: Territory):
        self.territory = territory
        self.export_name = territory.name
        self.title = territory.name
        self.description = f"Territoire de la page : {territory}"
        if territory.is_metropole:
            self.fixed_facet = "metropole"
        else:
            self.fixed_facet = {
                Territory.Kind.DEPARTEMENT: "departement",
                Territory.Kind.REGION: "region",
            }.get(territory.kind, "")

    @classmethod
    def from_url(cls, segment=None, code=None, pk=None):
        territories = Territory.objects.select_related("departement", "region", "epci")
        if pk is not None:
            return cls(get_object_or_404(territories, pk=pk))
        if segment not in KINDS_BY_URL_SEGMENT:
            raise Http404("Nature de territoire inconnue")
        territory = (
            territories.with_code(KINDS_BY_URL_SEGMENT[segment], code)
            .order_by("kind", "pk")
            .first()
        )
        if territory is None:
            raise Http404("Territoire inconnu")
        return cls(territory)

    @property
    def covers_located_participants(self) -> bool:
        return self.territory.kind in (Territory.Kind.DEPARTEMENT, Territory.Kind.REGION)

    def queryset(self):
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

    def bitmap(self, index):
        here = index.participants(self.territory.pk)
        if self.territory.kind == Territory.Kind.DEPARTEMENT:
            here |= index.value("departement", self.territory.pk)
        elif self.territory.kind == Territory.Kind.REGION:
            here |= index.value("region", self.territory.pk)
        return here

    def segments(self, index, selection):
        segments = [
            selection & index.participants(self.territory.pk, [role]) for role in ROLE_ORDER
        ]
        return [*segments, selection - BitMap.union(BitMap(), *segments)]

    def ordering(self):
        # Direct participations by role, then those through a territory located here.
        return [
            Case(
                *[When(territory_role=role, then=i) for i, role in enumerate(ROLE_ORDER)],
                default=len(ROLE_ORDER),
                output_field=IntegerField(),
            )
        ]

    def statistics_filter(self):
        facet = self.fixed_facet
        return {facet: self.territory.code} if facet else None

    def feed_path(self):
        return self.territory.get_absolute_url() + "flux/"
