"""« Ma commune, mon territoire »: find a commune, intercommunalité, département or région by
name, then the published cooperations it takes part in, and those of every territory containing
it (its EPCI, département and région, as the official register links them).
"""

import itertools
from dataclasses import dataclass

from django.db.models import Case, F, IntegerField, Q, Value, When
from pyroaring import BitMap

from .collation import FrenchOrder
from .models import URL_SEGMENT_BY_KIND, Cooperation, Participation, Territory
from .text import fold

SEARCHABLE_KINDS = (
    Territory.Kind.COMMUNE,
    *Territory.EPCI_KINDS,
    Territory.Kind.DEPARTEMENT,
    Territory.Kind.REGION,
)
SUGGESTIONS = 10
# Territories listed by the form without JavaScript, best first.
CHOICES = 30
MIN_LETTERS = 2
NAME_MAX_LENGTH = 100
# Cooperations listed per group; the territory's own page lists them all, with filters.
PER_GROUP = 50


def territory_key(territory: Territory) -> str:
    """The bookmarkable value of `?territoire=`: `commune:29019`, `epci:242900314`."""
    return f"{URL_SEGMENT_BY_KIND[territory.kind]}:{territory.code}"


def find_territories(name: str, limit: int = SUGGESTIONS) -> list[Territory]:
    """Searchable territories whose folded name has a word starting with the folded `name`:
    the exact name first, then names starting with it, then by population. One query (a
    LIKE over the indexed folded names of about 36,000 territories)."""
    folded = fold(name[:NAME_MAX_LENGTH])
    if len(folded.replace(" ", "")) < MIN_LETTERS:
        return []
    rank = Case(
        When(search_name=folded, then=Value(0)),
        When(search_name__startswith=folded, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(
        Territory.objects.filter(kind__in=SEARCHABLE_KINDS)
        .exclude(code="")
        .filter(Q(search_name__startswith=folded) | Q(search_name__contains=f" {folded}"))
        .annotate(rank=rank)
        .select_related("departement")
        .order_by("rank", F("population").desc(nulls_last=True), FrenchOrder("name"), "pk")[:limit]
    )


def territory_from_key(key: str) -> Territory | None:
    """The searchable territory of a `?territoire=` value, with what contains it; None if the
    value names none. One query."""
    segment, _, code = key.partition(":")
    kinds = [kind for kind, seg in URL_SEGMENT_BY_KIND.items() if seg == segment]
    kinds = [kind for kind in kinds if kind in SEARCHABLE_KINDS]
    # Official codes are short and alphanumeric: anything else (NUL included) reaches no query.
    if not kinds or not (code.isascii() and code.isalnum() and len(code) <= 9):
        return None
    return (
        Territory.objects.with_code(kinds, code)
        .select_related("epci", "departement", "region")
        .order_by("kind", "pk")
        .first()
    )


@dataclass
class Group:
    """The cooperations one territory (the visitor's, or one containing it) takes part in."""

    heading: str
    territory: Territory
    participations: list
    total: int


def _heading(territory: Territory) -> str:
    if territory.kind == Territory.Kind.COMMUNE:
        what = "Votre commune"
    elif territory.kind in Territory.EPCI_KINDS:
        what = "Votre intercommunalité"
    elif territory.kind == Territory.Kind.DEPARTEMENT:
        what = "Votre département"
    else:
        what = "Votre région"
    return f"{what}, {territory.name}"


def concerned(territory: Territory, index) -> list[Group]:
    """One group per territory in the chain (the territory itself, its EPCI, département and
    région, each when known), with its first `PER_GROUP` published participations by
    cooperation name and its total, read from the facet index `index` (its positions are in
    that order, its role bitmaps give totals and roles): one query for the names shown,
    whatever the catalogue's size."""
    chain = [territory]
    for parent in (territory.epci, territory.departement, territory.region):
        if parent is not None and parent not in chain:
            chain.append(parent)
    roles = [role.value for role in Participation.Role]
    picked, totals = {}, {}
    for member in chain:
        by_role = [(role, index.roles.get((member.pk, role))) for role in roles]
        every = BitMap.union(BitMap(), *[found for _role, found in by_role if found])
        totals[member.pk] = len(every)
        picked[member.pk] = [
            (
                int(index.ids[position]),
                next(r for r, found in by_role if found and position in found),
            )
            for position in itertools.islice(every, PER_GROUP)
        ]
    shown = {pk for rows in picked.values() for pk, _role in rows}
    cooperations = Cooperation.objects.published().only("name", "slug", "summary").in_bulk(shown)
    return [
        Group(
            _heading(member),
            member,
            [
                Participation(cooperation=cooperations[pk], territory=member, role=role)
                for pk, role in picked[member.pk]
                if pk in cooperations
            ],
            totals[member.pk],
        )
        for member in chain
    ]
