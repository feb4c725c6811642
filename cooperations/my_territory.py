"""« Ma commune, mon territoire »: find a commune, intercommunalité, département or région by
name, then the published cooperations it takes part in, and those of every territory containing
it (its EPCI, département and région, as the official register links them).
"""

import bisect
import heapq
import itertools
from dataclasses import dataclass

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from pyroaring import BitMap

from .caching import catalogue_version, reference_mark
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


def find_territories(name: str, limit: int = SUGGESTIONS, version: str = "") -> list[Territory]:
    """Searchable territories whose folded name has a word starting with the folded `name`:
    the exact name first, then names starting with it, then by population, then in French
    name order. The names are matched in this process's copy of the searchable names (read
    once per catalogue `version`, the current one by default), then one query reads the
    territories found."""
    folded = fold(name[:NAME_MAX_LENGTH])
    if len(folded.replace(" ", "")) < MIN_LETTERS:
        return []
    found = searchable_names(version or catalogue_version()).matching(folded, limit)
    if not found:
        return []
    territories = Territory.objects.select_related("departement").in_bulk(found)
    return [territories[pk] for pk in found if pk in territories]


@dataclass(frozen=True)
class SearchableNames:
    """The folded names of the searchable territories, and each word start of them, sorted so
    that the names with a word starting with a given text are one slice, found by bisection (a
    LIKE over every name costs the database a scan and a sort of thousands of matches at each
    keystroke)."""

    # The reference edits' part of the catalogue version it was read for.
    version: str
    # Territory ids, by population (most first, unknown last), then in French name order and
    # by id: the order of matches of the same kind, so a match is known by its number here.
    pks: list[int]
    # Each name, and each rest of a name after one of its spaces, sorted, with the number of
    # the territory it belongs to.
    names: list[str]
    name_owners: list[int]
    inner: list[str]
    inner_owners: list[int]

    @classmethod
    def read(cls, version: str) -> "SearchableNames":
        rows = list(
            Territory.objects.filter(kind__in=SEARCHABLE_KINDS)
            .exclude(code="")
            .order_by(F("population").desc(nulls_last=True), FrenchOrder("name"), "pk")
            .values_list("pk", "search_name")
        )
        names = sorted((name, number) for number, (_pk, name) in enumerate(rows))
        inner = sorted(
            (name[at + 1 :], number)
            for number, (_pk, name) in enumerate(rows)
            for at in _spaces(name)
        )
        return cls(
            version,
            [pk for pk, _name in rows],
            [name for name, _number in names],
            [number for _name, number in names],
            [rest for rest, _number in inner],
            [number for _rest, number in inner],
        )

    def matching(self, folded: str, limit: int) -> list[int]:
        """Ids of the first `limit` territories with a word of their name starting with
        `folded`: the exact name first, then the names starting with it, then the others."""
        # Folded text is lower-case letters, digits and spaces, all before this character.
        end = folded + "\x7f"
        low = bisect.bisect_left(self.names, folded)
        exact = bisect.bisect_right(self.names, folded, low)
        high = bisect.bisect_left(self.names, end, exact)
        starting = self.name_owners[low:high]
        inner = set(self.inner_owners[
            bisect.bisect_left(self.inner, folded) : bisect.bisect_left(self.inner, end)
        ]).difference(starting)  # fmt: skip
        found = sorted(self.name_owners[low:exact])[:limit]
        found += heapq.nsmallest(limit - len(found), self.name_owners[exact:high])
        found += heapq.nsmallest(limit - len(found), inner)
        return [self.pks[number] for number in found]


def _spaces(name: str):
    at = name.find(" ")
    while at != -1:
        yield at
        at = name.find(" ", at + 1)


_kept_names: SearchableNames | None = None


@receiver([post_save, post_delete], sender=Territory)
def forget_names(**kwargs) -> None:
    """Forget the names kept: a territory saved outside the admin does not move the version,
    nor do tests whose rolled-back data repeat one."""
    global _kept_names
    _kept_names = None


def searchable_names(version: str) -> SearchableNames:
    """The searchable names of the catalogue `version`, read on first use in each process and
    read again when a `ReferenceEdit` moves it (territories added, renamed or loaded), not at
    each write of a cooperation."""
    global _kept_names
    mark = reference_mark(version)
    kept = _kept_names
    if kept is None or kept.version != mark:
        kept = _kept_names = SearchableNames.read(mark)
    return kept


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
