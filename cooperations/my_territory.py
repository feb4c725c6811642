"""« Ma commune, mon territoire »: find a commune, intercommunalité, département or région by
name, then the published cooperations it takes part in, and those of every territory containing
it (its EPCI, département and région, as the official register links them).
"""

from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, Q, Value, When, Window
from django.db.models.functions import RowNumber

from .collation import FrenchOrder
from .models import URL_SEGMENT_BY_KIND, Participation, Territory
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
        Territory.objects.filter(kind__in=kinds, code=code)
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


def concerned(territory: Territory) -> list[Group]:
    """One group per territory in the chain (the territory itself, its EPCI, département and
    région, each when known), with its first `PER_GROUP` published participations by
    cooperation name and its total: 2 queries whatever the catalogue's size."""
    chain = [territory]
    for parent in (territory.epci, territory.departement, territory.region):
        if parent is not None and parent not in chain:
            chain.append(parent)
    ids = [t.pk for t in chain]
    published = Participation.objects.filter(territory_id__in=ids, cooperation__is_published=True)
    order = [FrenchOrder("cooperation__name"), F("cooperation_id").asc()]
    rows = (
        published.annotate(
            rank=Window(RowNumber(), partition_by=F("territory_id"), order_by=order)
        )
        .filter(rank__lte=PER_GROUP)
        .select_related("cooperation")
        .only("role", "territory_id", "cooperation__name", "cooperation__slug",
              "cooperation__summary")
        .order_by("territory_id", *order)
    )  # fmt: skip
    totals = dict(
        published.order_by().values_list("territory_id").annotate(n=Count("cooperation_id"))
    )
    by_territory = {pk: [] for pk in ids}
    for row in rows:
        by_territory[row.territory_id].append(row)
    return [Group(_heading(t), t, by_territory[t.pk], totals.get(t.pk, 0)) for t in chain]
