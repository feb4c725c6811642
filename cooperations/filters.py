"""The one FilterSet of the public lists, and the facet counts computed from it.

Every filter is an `Exists`/column condition through a `method`, so that combining filters never
duplicates rows and the same FilterSet can be re-applied without one of its filters to count a
facet. URL parameter names are French because visitors see, bookmark and share them.
"""

import copy
import datetime
import time
from collections import defaultdict
from dataclasses import dataclass

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.functional import cached_property

from . import search
from .models import (
    Cooperation,
    CooperationFactor,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    TerritoryKind,
    Theme,
)
from .text import fold
from .vocabularies import PLUS_VALUE_FIELDS

# URL value → (model field, label), in the order of the vocabulary.
PLUS_VALUES = dict(zip(["echelles", "filieres", "mutualisation"], PLUS_VALUE_FIELDS, strict=True))

# Kinds a partner can have: everything but the métropoles themselves.
PARTNER_KINDS = [
    (value, label) for value, label in TerritoryKind.choices if value not in ("METRO", "MET69")
]

_NON_METROPOLE_ROLES = [Participation.Role.PARTNER, Participation.Role.ASSOCIATED]

SORTS = {
    "pertinence": "Pertinence",
    "nom": "Nom (A → Z)",
    "recent": "Signature la plus récente",
    "ancien": "Signature la plus ancienne",
}

YEAR_MIN, YEAR_MAX = 1950, 2100

# Most records have no known status (a blank field): the status facet offers them as a value of
# their own, so that its counts add up to the list's.
UNKNOWN_STATUS = "inconnu"
STATUS_CHOICES = [*Cooperation.Status.choices, (UNKNOWN_STATUS, "Non renseigné")]

# The empty choice of each facet's select, which keeps every value.
EMPTY_LABELS = {
    "metropole": "Toutes les métropoles",
    "thematique": "Toutes les thématiques",
    "facteur": "Tous les facteurs",
    "forme": "Toutes les formes",
    "statut": "Tous les statuts",
    "nature_partenaire": "Toutes les natures de partenaires",
    "departement": "Tous les départements",
    "region": "Toutes les régions",
    "plus_value": "Toutes les plus-values",
}

# Longer searches are refused like any bad value (ignored, with a notice): nobody types them,
# and each word adds a condition (on SQLite a nested expression that Python cannot compile
# past a few hundred words).
SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 20


def validate_search_words(value: str) -> None:
    if len(search.search_words(value)) > SEARCH_MAX_WORDS:
        raise ValidationError(f"Au plus {SEARCH_MAX_WORDS} mots.", code="too_many_words")


class YearFilter(django_filters.Filter):
    field_class = forms.IntegerField


class KnownChoiceField(django_filters.fields.ModelChoiceField):
    """A model choice read from this process's copy of the choices rather than by one query
    per chosen value: the choices (métropoles, vocabularies, départements, régions) are a few
    hundred rows that change as rarely as the facet labels, and are forgotten with them.
    `known_as` names the copy: the filter's name."""

    def __init__(self, *args, known_as: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_as = known_as

    def to_python(self, value):
        if value in self.empty_values:
            return None
        choice = known_choices(self.known_as, self.queryset, self.to_field_name).get(str(value))
        if choice is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return choice


class KnownChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = KnownChoiceField


def _participates(**territory_lookup) -> Exists:
    return Exists(Participation.objects.filter(cooperation=OuterRef("pk"), **territory_lookup))


class _SharedFields(dict):
    """Form fields that every instance of the filters' form shares. Django deep-copies a form's
    fields for each instance, so that one form can change its own; this form is only validated,
    never rendered nor changed (the list writes its own controls), and validating changes no
    field, so copying nine fields with their querysets and choices on every request would be
    work for nothing."""

    def __deepcopy__(self, memo):
        return dict(self)


class CooperationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Rechercher",
        method="filter_search",
        max_length=SEARCH_MAX_LENGTH,
        validators=[validate_search_words],
    )
    metropole = KnownChoiceFilter(
        known_as="metropole",
        label="Métropole",
        queryset=Territory.objects.metropoles(),
        to_field_name="code",
        method="filter_metropole",
    )
    thematique = KnownChoiceFilter(
        known_as="thematique",
        label="Thématique",
        queryset=Theme.objects.all(),
        to_field_name="slug",
        method="filter_theme",
    )
    facteur = KnownChoiceFilter(
        known_as="facteur",
        label="Facteur de réussite",
        queryset=SuccessFactor.objects.all(),
        to_field_name="slug",
        method="filter_factor",
    )
    forme = KnownChoiceFilter(
        known_as="forme",
        label="Forme de coopération",
        queryset=LegalForm.objects.all(),
        to_field_name="slug",
        field_name="legal_form",
        lookup_expr="exact",
    )
    statut = django_filters.ChoiceFilter(
        label="Statut", choices=STATUS_CHOICES, method="filter_status"
    )
    nature_partenaire = django_filters.ChoiceFilter(
        label="Nature des partenaires", choices=PARTNER_KINDS, method="filter_partner_kind"
    )
    departement = KnownChoiceFilter(
        known_as="departement",
        label="Département des participants",
        queryset=Territory.objects.filter(kind=TerritoryKind.DEPARTEMENT),
        to_field_name="code",
        method="filter_departement",
    )
    region = KnownChoiceFilter(
        known_as="region",
        label="Région des participants",
        queryset=Territory.objects.filter(kind=TerritoryKind.REGION),
        to_field_name="code",
        method="filter_region",
    )
    annee_min = YearFilter(
        label="Signée à partir de",
        method="filter_year_min",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
    )
    annee_max = YearFilter(
        label="Signée jusqu'en",
        method="filter_year_max",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
    )
    plus_value = django_filters.ChoiceFilter(
        label="Plus-value",
        choices=[(key, label) for key, (_, label) in PLUS_VALUES.items()],
        method="filter_plus_value",
    )

    class Meta:
        model = Cooperation
        fields = [
            "q",
            "metropole",
            "thematique",
            "facteur",
            "forme",
            "statut",
            "nature_partenaire",
            "departement",
            "region",
            "annee_min",
            "annee_max",
            "plus_value",
        ]

    # Set by valid_data: "from 2020 to 2015" was read as 2015–2020.
    years_swapped = False
    # Built once per process: get_form_class().
    _form_class = None

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # django-filter deep-copies every declared filter for each instance, querysets and
        # choices included, on every list request. These filters keep no state of their own
        # but their parent and their form field, so shallow copies do.
        declared = self.base_filters
        self.base_filters = {}
        super().__init__(data, queryset, request=request, prefix=prefix)
        del self.base_filters
        self.filters = {
            name: copy.copy(declared_filter) for name, declared_filter in declared.items()
        }
        for declared_filter in self.filters.values():
            declared_filter.model = self.queryset.model
            declared_filter.parent = self
            # A filter `method` is bound to its filter object: bind it to the copy.
            declared_filter.method = declared_filter.method

    def get_form_class(self):
        # The same fields for every request (no choice depends on it), and Django's forms copy
        # their fields for each instance: the class is built once instead of per request.
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class

    def filter_search(self, queryset, name, value):
        return search.search(queryset, value)

    def filter_metropole(self, queryset, name, value):
        return queryset.filter(_participates(territory=value, role=Participation.Role.METROPOLE))

    def filter_theme(self, queryset, name, value):
        through = Cooperation.themes.through
        return queryset.filter(
            Exists(through.objects.filter(cooperation_id=OuterRef("pk"), theme=value))
        )

    def filter_factor(self, queryset, name, value):
        return queryset.filter(
            Exists(CooperationFactor.objects.filter(cooperation=OuterRef("pk"), factor=value))
        )

    def filter_partner_kind(self, queryset, name, value):
        return queryset.filter(_participates(territory__kind=value, role__in=_NON_METROPOLE_ROLES))

    def filter_departement(self, queryset, name, value):
        return queryset.filter(
            Exists(
                Participation.objects.filter(cooperation=OuterRef("pk")).filter(
                    Q(territory=value) | Q(territory__departement=value)
                )
            )
        )

    def filter_region(self, queryset, name, value):
        return queryset.filter(
            Exists(
                Participation.objects.filter(cooperation=OuterRef("pk")).filter(
                    Q(territory=value) | Q(territory__region=value)
                )
            )
        )

    def filter_year_min(self, queryset, name, value):
        return queryset.filter(signed_on__gte=datetime.date(value, 1, 1))

    def filter_year_max(self, queryset, name, value):
        return queryset.filter(signed_on__lte=datetime.date(value, 12, 31))

    def filter_status(self, queryset, name, value):
        return queryset.filter(status="" if value == UNKNOWN_STATUS else value)

    def filter_plus_value(self, queryset, name, value):
        return queryset.filter(**{PLUS_VALUES[value][0]: True})

    # --- used by the views -------------------------------------------------------------------

    @cached_property
    def valid_data(self) -> dict:
        """Cleaned values of the valid, non-empty filters; invalid ones are ignored."""
        self.form.is_valid()
        data = {
            name: value
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", [])
        }
        low, high = data.get("annee_min"), data.get("annee_max")
        # "From 2020 to 2015" is read as the range it obviously means.
        self.years_swapped = low is not None and high is not None and low > high
        if self.years_swapped:
            data["annee_min"], data["annee_max"] = high, low
        return data

    @cached_property
    def selected(self) -> dict[str, str]:
        """The URL value of each valid filter, "" for the others: what the facets mark as chosen.

        Built from the cleaned values only, so that raw input (NUL, invalid codes) never
        reaches a query.
        """
        selected = dict.fromkeys(self.filters, "")
        for name, value in self.valid_data.items():
            to_field = self.filters[name].extra.get("to_field_name")
            selected[name] = str(getattr(value, to_field) if to_field else value)
        return selected

    @property
    def chosen(self) -> dict[str, str]:
        """The URL value of each valid filter only: the query string that gives the same
        selection elsewhere (a feed, the statistics, the list of a statistic)."""
        return {name: value for name, value in self.selected.items() if value}

    def filter_queryset_except(self, queryset: QuerySet, excluded: str | None) -> QuerySet:
        """Apply every valid filter but `excluded`: what a facet's counts are computed on."""
        for name, value in self.valid_data.items():
            if name != excluded:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_queryset(self, queryset):
        return self.filter_queryset_except(queryset, None)


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    """A facet of the list: its values with their counts, the other filters applied.

    Kept as the values, their counts and the chosen value; `options` makes one object per
    value for the JSON list and the tests, while the page's template reads `shown()`'s tuples:
    the 250 objects of a page were a twentieth of its time."""

    name: str
    label: str
    # (count key, URL value, label) of every value, in display order.
    values: list[tuple]
    counts: dict
    # The URL value chosen, "" if none.
    chosen: str = ""
    # Long lists (départements, régions) hide values with no result instead of disabling them.
    hide_empty: bool = False

    @property
    def empty_label(self) -> str:
        """The select's empty choice says what it keeps: « Toutes les métropoles »."""
        return EMPTY_LABELS[self.name]

    def fragment_key(self) -> tuple:
        """Everything the facet's markup shows, for the fragment cache of its template."""
        return (self.name, self.label, self.empty_label, tuple(self.shown()))

    def shown(self, visible: bool = True):
        """(URL value, label, count, selected) of each value; with `visible`, without the
        empty ones that a long list hides."""
        counts, chosen, hiding = self.counts, self.chosen, visible and self.hide_empty
        for key, value, text in self.values:
            count, selected = counts.get(key, 0), value == chosen
            if count or selected or not hiding:
                yield value, text, count, selected

    @cached_property
    def options(self) -> list[FacetOption]:
        return [FacetOption(*shown) for shown in self.shown(visible=False)]

    @property
    def visible_options(self) -> list[FacetOption]:
        return [FacetOption(*shown) for shown in self.shown(visible=True)]


# --- Facets: one small function per kind of facet ---------------------------------------------
#
# Each takes the labels of its values (one query for all facets, `facet_labels`) and a function
# giving, for a facet name, the count of each of its value keys with the other filters applied
# (the facet index, cooperations/facet_index.py).

VOCABULARY_FACETS = (
    ("metropole", "Métropole"),
    ("thematique", "Thématique"),
    ("facteur", "Facteur de réussite"),
    ("forme", "Forme de coopération"),
)
AREA_FACETS = (
    ("departement", "Département des participants", TerritoryKind.DEPARTEMENT),
    ("region", "Région des participants", TerritoryKind.REGION),
)


# The labels change only when staff rename a theme or a territory: each process keeps them
# this many seconds (a query and 2 ms saved per list page), and forgets them at once when this
# process saves one of those models.
LABELS_MAX_AGE = 60
# What each process keeps of those models, by name: (when read, what was read).
_kept: dict[str, tuple[float, object]] = {}


@receiver([post_save, post_delete], sender=Theme)
@receiver([post_save, post_delete], sender=LegalForm)
@receiver([post_save, post_delete], sender=SuccessFactor)
@receiver([post_save, post_delete], sender=Territory)
def forget_facet_labels(**kwargs) -> None:
    _kept.clear()


def _kept_or_read(name: str, read):
    """What `read()` returns, read at most every LABELS_MAX_AGE seconds by each process."""
    kept = _kept.get(name)
    if kept is None or time.monotonic() - kept[0] > LABELS_MAX_AGE:
        kept = _kept[name] = (time.monotonic(), read())
    return kept[1]


def known_choices(key: str, queryset: QuerySet, field: str) -> dict:
    """The rows of `queryset` by the text of `field`, kept under `key`. The instances are
    shared by the requests: read only."""
    # A fresh copy of `queryset`: the form fields, and their querysets, are shared by every
    # request (`_SharedFields`), and iterating a queryset keeps its rows on it.
    return _kept_or_read(
        f"choices:{key}", lambda: {str(getattr(row, field)): row for row in queryset.all()}
    )


def facet_labels() -> dict[str, list[tuple]]:
    """(key, URL value, label) of every value of the métropole, theme, factor, form,
    département and région facets, in display order: one query at most every LABELS_MAX_AGE
    seconds."""
    return _kept_or_read("facets", _read_facets)[0]


def facet_values() -> dict[str, list[tuple]]:
    """The values of the same facets as the select shows them (a département as
    « 29 – Finistère »), read with their labels."""
    return _kept_or_read("facets", _read_facets)[1]


def _read_facets() -> tuple[dict, dict]:
    labels = _read_facet_labels()
    values = dict(labels)
    for name, _label, _kind in AREA_FACETS:
        values[name] = [(pk, code, f"{code} – {text}") for pk, code, text in labels.get(name, [])]
    return labels, values


def _read_facet_labels() -> dict[str, list[tuple]]:

    def rows(queryset, name, value, label, position):
        return queryset.order_by().values_list(Value(name), "pk", value, label, position)

    listed = rows(Territory.objects.metropoles(), "metropole", "code", "name", Value(0)).union(
        rows(Theme.objects.all(), "thematique", "slug", "label", "position"),
        rows(SuccessFactor.objects.all(), "facteur", "slug", "label", "position"),
        rows(LegalForm.objects.all(), "forme", "slug", "label", "position"),
        *[
            rows(Territory.objects.filter(kind=kind), name, "code", "name", Value(0))
            for name, _label, kind in AREA_FACETS
        ],
        all=True,
    )
    grouped = defaultdict(list)
    for name, pk, value, label, position in listed:
        grouped[name].append((position, label, pk, value))
    order = {
        # Métropoles sorted in Python: the database's collation would put « Métropole … »
        # after « Metz »; vocabularies in their display order; areas by official code.
        "metropole": lambda row: fold(row[1]),
        "departement": lambda row: row[3],
        "region": lambda row: row[3],
    }
    return {
        name: [
            (pk, value, label)
            for _p, label, pk, value in sorted(found, key=order.get(name, lambda row: row[:2]))
        ]
        for name, found in grouped.items()
    }


def vocabulary_facet(name, label, values, counts, selected) -> Facet:
    return Facet(name, label, values.get(name, EMPTY_VALUES), counts(name), selected[name])


def choices_facet(name, label, values, counts, selected, hide_empty=False) -> Facet:
    """A facet over fixed choices (statuses, kinds of partner, plus-values)."""
    return Facet(name, label, values, counts(name), selected[name], hide_empty=hide_empty)


def area_facet(name, label, values, counts, selected) -> Facet:
    values = values.get(name, EMPTY_VALUES)
    return Facet(name, label, values, counts(name), selected[name], hide_empty=True)


def _choice_values(choices) -> list[tuple]:
    return [(value, value, text) for value, text in choices]


EMPTY_VALUES: list[tuple] = []
STATUS_VALUES = _choice_values(STATUS_CHOICES)
PARTNER_KIND_VALUES = _choice_values(PARTNER_KINDS)
PLUS_VALUE_VALUES = _choice_values((key, label) for key, (_field, label) in PLUS_VALUES.items())


def build_facets(filterset: CooperationFilter, counts, skip: str = "") -> list[Facet]:
    """Every facet but `skip` (the one a page fixes), in the order of the filter form.

    `counts(name)` gives {value key: count} for a facet name, the other active filters applied.
    """
    selected = filterset.selected
    values = facet_values()
    facets = [
        vocabulary_facet(name, label, values, counts, selected)
        for name, label in VOCABULARY_FACETS
        if name != skip
    ]
    if skip != "statut":
        facets.append(choices_facet("statut", "Statut", STATUS_VALUES, counts, selected))
    if skip != "nature_partenaire":
        facets.append(
            choices_facet(
                "nature_partenaire",
                "Nature des partenaires",
                PARTNER_KIND_VALUES,
                counts,
                selected,
                hide_empty=True,
            )
        )
    facets += [
        area_facet(name, label, values, counts, selected)
        for name, label, _kind in AREA_FACETS
        if name != skip
    ]
    if skip != "plus_value":
        facets.append(
            choices_facet("plus_value", "Plus-value", PLUS_VALUE_VALUES, counts, selected)
        )
    return facets
