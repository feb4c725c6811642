"""The in-memory facet index of the public lists: filters are bitmap intersections, facet counts
are bitmap cardinalities, sorted pages come from precomputed sort keys.

Why: counted by the database, each of a list page's nine facets is a grouped count over every
filtered row, and that cost grows with the catalogue. Search engines count facets over bitsets
instead; the same idea here costs a few microseconds per facet value whatever the catalogue's
size.

What is indexed: each published cooperation gets a *position*, its rank in the French name order
(the list's default order), and every filter value maps to the compressed bitmap (pyroaring) of
the positions it keeps. A bitmap of positions is therefore already sorted by name; the other
orders are one precomputed key per position. Only the rows of the page shown are then read from
the database.

Freshness: the index is built once per catalogue version — the history-based version that the
page cache uses, one indexed query per request — so any write through the admin or the import
shows at the next request, on every application server (each rebuilds from the shared
database); edits of territories and vocabularies move that version too (`ReferenceEdit`). A
visitor's page never waits for a build when an older index is at hand (`current`). The build
reads the published cooperations and their relations in five queries; `stats()` gives its time
and size.

Text search stays in the database (PostgreSQL full text, or the SQLite fallback): its matching
ids and ranks are read once and intersected with the bitmaps.
"""

import datetime
import logging
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import Q
from pyroaring import BitMap, FrozenBitMap

from . import search
from .caching import catalogue_version
from .collation import FrenchOrder
from .filters import PLUS_VALUES, UNKNOWN_STATUS, forget_facet_labels
from .models import Cooperation, CooperationFactor, Participation, TerritoryKind

logger = logging.getLogger(__name__)

EMPTY = FrozenBitMap()
# Plus-value URL values and their boolean fields, in the vocabulary's order.
PLUS_VALUE_KEYS = {key: field for key, (field, _label) in PLUS_VALUES.items()}
METROPOLE = Participation.Role.METROPOLE
NON_METROPOLE_ROLES = (Participation.Role.PARTNER, Participation.Role.ASSOCIATED)
# Where a list sorts rows without a signature date: after every dated one, in both date orders.
_NO_DATE = np.iinfo(np.int64).max


def _freeze(groups: dict) -> dict:
    return {key: FrozenBitMap(positions) for key, positions in groups.items()}


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _rank(order: np.ndarray) -> np.ndarray:
    """The inverse permutation: rank[position] = where the position comes in `order`."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


@dataclass
class FacetIndex:
    version: str
    built_at: float
    # position → cooperation id, and the reverse.
    ids: np.ndarray
    position_of: dict[int, int]
    # Every position: the whole published catalogue.
    published: FrozenBitMap = EMPTY
    # Facet name → value key (a primary key, a status, a kind…) → positions.
    values: dict[str, dict] = field(default_factory=dict)
    # (territory id, role) → positions: territory pages and related cooperations.
    roles: dict[tuple[int, str], FrozenBitMap] = field(default_factory=dict)
    # Signature year → positions signed that year.
    by_year: dict[int, FrozenBitMap] = field(default_factory=dict)
    # Sort keys by position for the date orders (smaller first).
    recent_key: np.ndarray | None = None
    oldest_key: np.ndarray | None = None
    # The feeds' order: the last changed first (then the greater id, as the feeds always did).
    changed_key: np.ndarray | None = None
    build_seconds: float = 0.0
    # Métropole id → its network (`network.Network`): the network counts every published
    # cooperation whatever the filters, so it changes only with the catalogue.
    networks: dict = field(default_factory=dict)
    # Cooperation id → the values of its result row (`result_rows.RowData`), as read for a
    # page of this version: later pages showing it need not read it again.
    rows: dict = field(default_factory=dict)
    # Cooperation slug → what its record page shows (`views.RecordPage`), likewise.
    pages: dict = field(default_factory=dict)
    # Facet name → value key → count over the whole catalogue: the counts of a facet when no
    # other filter applies, derived from `values` once per index.
    totals: dict = field(init=False)

    # How many territories other than métropoles take part in a published cooperation.
    partner_count: int = field(init=False)

    def __post_init__(self):
        self.totals = {
            facet: {key: len(bitmap) for key, bitmap in bitmaps.items()}
            for facet, bitmaps in self.values.items()
        }
        self.partner_count = len(
            {
                territory
                for (territory, role), found in self.roles.items()
                if role != METROPOLE and found
            }
        )

    @property
    def size(self) -> int:
        return len(self.ids)

    def value(self, facet: str, key) -> FrozenBitMap:
        return self.values[facet].get(key, EMPTY)

    def participants(self, territory_id: int, roles=None) -> BitMap:
        """Positions where the territory takes part (in one of `roles`, all when None)."""
        roles = roles or [r.value for r in Participation.Role]
        return BitMap.union(EMPTY, *[self.roles.get((territory_id, r), EMPTY) for r in roles])

    def years_between(self, low: int | None, high: int | None) -> BitMap:
        """Positions signed from `low` to `high` (either open): a union of one bitmap per
        year, a few dozen at most."""
        return BitMap.union(
            BitMap(),
            *[
                found
                for year, found in self.by_year.items()
                if (low is None or year >= low) and (high is None or year <= high)
            ],
        )

    def positions(self, cooperation_ids) -> BitMap:
        """Positions of the published cooperations among `cooperation_ids`."""
        found = (self.position_of.get(pk) for pk in cooperation_ids)
        return BitMap(p for p in found if p is not None)

    def stats(self) -> dict:
        """Size of the index in memory and the time its build took."""
        groups = [*self.values.values(), self.roles, self.by_year]
        # The métropole facet shares the bitmaps of the métropoles' role: count each once.
        bitmaps = list({id(bm): bm for group in groups for bm in group.values()}.values())
        bitmap_bytes = sum(_bitmap_bytes(bm) for bm in bitmaps)
        arrays = (self.ids, self.recent_key, self.oldest_key)
        array_bytes = sum(a.nbytes for a in arrays)
        # A dict entry costs about 100 bytes with its two ints.
        return {
            "cooperations": self.size,
            "bitmaps": len(bitmaps),
            "bytes": bitmap_bytes + array_bytes + 100 * len(self.position_of),
            "build_seconds": self.build_seconds,
        }


def _bitmap_bytes(bitmap) -> int:
    stats = bitmap.get_statistics()
    containers = ("n_bytes_array_containers", "n_bytes_bitset_containers", "n_bytes_run_containers")
    return sys.getsizeof(bitmap) + sum(stats[name] for name in containers)


def build(version: str) -> FacetIndex:
    """Read the published cooperations and their relations (5 queries) into a new index."""
    started = time.perf_counter()
    rows = list(
        Cooperation.objects.published()
        .order_by(FrenchOrder("name"), "pk")
        .values_list(
            "pk", "signed_on", "status", "legal_form_id", "updated_at", *PLUS_VALUE_KEYS.values()
        )
    )
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    position_of = {pk: position for position, pk in enumerate(ids.tolist())}

    status, form = defaultdict(list), defaultdict(list)
    plus = defaultdict(list)
    ordinals = np.full(len(rows), _NO_DATE, dtype=np.int64)
    # In whole microseconds: a float timestamp would round away the last digits that can tell
    # two changes apart.
    changed = np.zeros(len(rows), dtype=np.int64)
    years = defaultdict(list)
    for position, (_pk, signed_on, state, legal_form, updated_at, *plus_flags) in enumerate(rows):
        changed[position] = (updated_at - _EPOCH) // _MICROSECOND
        if signed_on is not None:
            ordinals[position] = signed_on.toordinal()
            years[signed_on.year].append(position)
        status[state or UNKNOWN_STATUS].append(position)
        if legal_form is not None:
            form[legal_form].append(position)
        for key, flag in zip(PLUS_VALUE_KEYS, plus_flags, strict=True):
            if flag:
                plus[key].append(position)

    roles, kinds = defaultdict(list), defaultdict(set)
    departements, regions = defaultdict(set), defaultdict(set)
    participations = (
        Participation.objects.filter(cooperation__is_published=True)
        .order_by()
        .values_list(
            "cooperation_id",
            "territory_id",
            "role",
            "territory__kind",
            "territory__departement_id",
            "territory__region_id",
        )
    )
    for cooperation, territory, role, kind, departement, region in participations.iterator(
        chunk_size=10_000
    ):
        position = position_of[cooperation]
        roles[(territory, role)].append(position)
        if role != METROPOLE:
            kinds[kind].add(position)
        # As the filters read it: the territory itself, or the one it lies in.
        if kind == TerritoryKind.DEPARTEMENT:
            departements[territory].add(position)
        if departement is not None:
            departements[departement].add(position)
        if kind == TerritoryKind.REGION:
            regions[territory].add(position)
        if region is not None:
            regions[region].add(position)

    def grouped(queryset, column) -> dict:
        groups = defaultdict(list)
        for cooperation, key in (
            queryset.order_by().values_list("cooperation_id", column).iterator(chunk_size=10_000)
        ):
            groups[key].append(position_of[cooperation])
        return _freeze(groups)

    published = Q(cooperation__is_published=True)
    through = Cooperation.themes.through
    themes = grouped(through.objects.filter(published), "theme_id")
    factors = grouped(CooperationFactor.objects.filter(published), "factor_id")

    roles = _freeze(roles)
    positions = np.arange(len(rows), dtype=np.int64)
    undated = ordinals == _NO_DATE
    recent = np.lexsort((positions, -np.where(undated, 0, ordinals), undated))
    oldest = np.lexsort((positions, ordinals))
    last_changed = np.lexsort((-ids, -changed))
    index = FacetIndex(
        version=version,
        built_at=time.monotonic(),
        ids=ids,
        position_of=position_of,
        published=FrozenBitMap(range(len(rows))),
        values={
            # The same bitmaps as the métropoles' own role.
            "metropole": {
                territory: found for (territory, role), found in roles.items() if role == METROPOLE
            },
            "thematique": themes,
            "facteur": factors,
            "forme": _freeze(form),
            "statut": _freeze(status),
            "nature_partenaire": _freeze(kinds),
            "departement": _freeze(departements),
            "region": _freeze(regions),
            "plus_value": _freeze(plus),
        },
        roles=roles,
        by_year=_freeze(years),
        recent_key=_rank(recent),
        oldest_key=_rank(oldest),
        changed_key=_rank(last_changed),
    )
    index.build_seconds = time.perf_counter() - started
    return index


_lock = threading.Lock()
_current: FacetIndex | None = None
_builder: threading.Thread | None = None
_builder_lock = threading.Lock()


def current(version: str | None = None, *, wait: bool = True) -> FacetIndex:
    """The index of the catalogue's current version, built on first use after a change.

    One build at a time per process: concurrent requests of a threaded worker wait for it
    rather than build the same index twice. With `wait=False` (a visitor's page) and an older
    index at hand, that index answers at once and the new one is built in a thread of its own
    (FACET_INDEX_BACKGROUND): a write then never makes readers queue behind a build that takes
    a second at 100,000 cooperations.
    """
    version = version or catalogue_version()
    index = _current
    if index is not None and _fresh(index, version):
        return index
    if index is not None and not wait and settings.FACET_INDEX_BACKGROUND:
        _build_in_background()
        return index
    with _lock:
        index = _current
        if index is None or not _fresh(index, version):
            index = _replace(version)
    return index


def _replace(version: str) -> FacetIndex:
    global _current
    index = build(version)
    _current = index
    logger.info(
        "Index des facettes construit : %s coopérations en %.0f ms.",
        index.size,
        index.build_seconds * 1000,
    )
    return index


def _build_in_background() -> None:
    global _builder
    with _builder_lock:
        if _builder is not None and _builder.is_alive():
            return
        _builder = threading.Thread(target=_background_build, name="index-facettes", daemon=True)
        _builder.start()


def _background_build() -> None:
    try:
        with _lock:
            # The version read here, before the build reads the rows: a write in between only
            # makes the next request build once more.
            version = catalogue_version()
            index = _current
            if index is None or not _fresh(index, version):
                _replace(version)
    except Exception:
        # The old index keeps serving; the next visitor's request tries again.
        logger.exception("Construction de l'index des facettes en arrière-plan impossible.")
    finally:
        connections.close_all()


def wait_for_background_build(timeout: float = 60) -> None:
    """Until the build in progress, if any, ends (tests, the benchmark)."""
    builder = _builder
    if builder is not None:
        builder.join(timeout)


def for_request(request) -> FacetIndex:
    """The index for a request, reusing the version the page cache read for it, if it did.

    A visitor (no session cookie) may get the previous index while the new one is built; the
    request then says so (`request.index_behind`), and the page cache does not keep its page
    under the new version. Staff wait for the new index: they see their own write at once."""
    version = getattr(request, "catalogue_version", None) or catalogue_version()
    visitor = settings.SESSION_COOKIE_NAME not in request.COOKIES
    index = current(version, wait=not visitor)
    if index.version != version:
        request.index_behind = True
    return index


def _fresh(index: FacetIndex, version: str) -> bool:
    if index.version != version:
        return False
    # Edits behind the version's back (raw SQL) show after FACET_INDEX_MAX_AGE seconds, when
    # set; 0, the default, never rebuilds an index whose version still holds.
    max_age = settings.FACET_INDEX_MAX_AGE
    return not max_age or time.monotonic() - index.built_at < max_age


def reset() -> None:
    """Forget the index (tests that rewrite the database behind the version's back)."""
    global _current
    _current = None
    forget_facet_labels()
    search.forget_families()


# --- Selections ---------------------------------------------------------------------------------


def filter_bitmaps(index: FacetIndex, valid_data: dict) -> tuple[dict, dict | None]:
    """The positions each valid filter keeps, by filter name (the two years as one), and the
    search ranks by position when there is a text search (None otherwise)."""
    kept, ranks = {}, None
    for name, value in valid_data.items():
        if name == "q":
            ranks = _search_ranks(index, value)
            kept[name] = BitMap(ranks)
        elif name in ("annee_min", "annee_max"):
            if "annees" in kept:
                continue  # both years make one condition
            kept["annees"] = index.years_between(
                valid_data.get("annee_min"), valid_data.get("annee_max")
            )
        elif name in ("statut", "nature_partenaire", "plus_value"):
            kept[name] = index.value(name, value)
        else:
            kept[name] = index.value(name, value.pk)
    return kept, ranks


def _search_ranks(index: FacetIndex, query: str) -> dict[int, float]:
    matches = search.search(
        Cooperation.objects.published(), query, search.families_for(index.version)
    ).order_by()
    with search.through_the_search_index(matches.db):
        found = list(matches.values_list("pk", "search_rank"))
    ranks = {}
    for pk, rank in found:
        position = index.position_of.get(pk)
        if position is not None:
            ranks[position] = float(rank)
    return ranks


def intersect(base: BitMap, bitmaps) -> BitMap:
    result = BitMap(base)
    for bitmap in sorted(bitmaps, key=len):
        result &= bitmap
        if not result:
            break
    return result


def facet_counts(index: FacetIndex, base: BitMap, kept: dict, facet: str) -> dict:
    """For each value of `facet`, how many positions the other filters keep with it chosen."""
    filters = [bm for name, bm in kept.items() if name != facet]
    if not filters and base is index.published:
        return index.totals[facet]
    others = intersect(base, filters)
    return {key: others.intersection_cardinality(bm) for key, bm in index.values[facet].items()}


def ordered_page(
    index: FacetIndex,
    segments: list[BitMap],
    sort: str,
    ranks: dict | None,
    start: int,
    stop: int,
) -> list[int]:
    """The cooperation ids at [start, stop) of the concatenated segments, each sorted by
    `sort`: a slice of the bitmap for the name order, a partial sort of keys otherwise."""
    found = []
    for segment in segments:
        size = len(segment)
        if start < size and stop > 0:
            found.extend(_sorted_slice(index, segment, sort, ranks, max(start, 0), min(stop, size)))
        start -= size
        stop -= size
        if stop <= 0:
            break
    return index.ids[np.asarray(found, dtype=np.int64)].tolist()


def _sorted_slice(index, segment, sort, ranks, start, stop) -> list[int]:
    if sort == "nom" or (sort == "pertinence" and ranks is None):
        return list(segment[start:stop])
    positions = np.frombuffer(segment.to_array(), dtype=np.uint32).astype(np.int64)
    if sort == "pertinence":
        # Best rank first, then the name order, which the positions already follow.
        scores = np.fromiter((ranks[p] for p in positions.tolist()), np.float64, len(positions))
        order = np.lexsort((positions, -scores))
        return positions[order[start:stop]].tolist()
    keys = {"recent": index.recent_key, "ancien": index.oldest_key, "modifiee": index.changed_key}
    keys = keys[sort][positions]
    if stop < len(keys):
        # Only the first `stop` need sorting.
        nearest = np.argpartition(keys, stop - 1)[:stop]
        chosen = nearest[np.argsort(keys[nearest], kind="stable")]
    else:
        chosen = np.argsort(keys, kind="stable")
    return positions[chosen[start:stop]].tolist()


def related(
    index: FacetIndex,
    pk: int,
    metropole_ids: list[int],
    partner_ids: list[int],
    theme_ids: list[int],
    limit: int = 6,
) -> list[int]:
    """Ids of the published cooperations sharing most métropoles with `pk`, then most partners,
    then most themes, then by name: the rule of `CooperationQuerySet.related_to`, counted over
    the bitmaps of the record's own territories and themes."""
    scores = np.zeros((3, index.size), dtype=np.int64)
    for row, bitmaps in enumerate(
        (
            [index.roles.get((t, METROPOLE), EMPTY) for t in metropole_ids],
            [index.participants(t, NON_METROPOLE_ROLES) for t in partner_ids],
            [index.value("thematique", t) for t in theme_ids],
        )
    ):
        for bitmap in bitmaps:
            if bitmap:
                scores[row, np.frombuffer(bitmap.to_array(), dtype=np.uint32)] += 1
    own = index.position_of.get(pk)
    if own is not None:
        scores[:, own] = 0
    candidates = np.flatnonzero(scores.any(axis=0))
    order = np.lexsort(
        (candidates, -scores[2, candidates], -scores[1, candidates], -scores[0, candidates])
    )
    return index.ids[candidates[order[:limit]]].tolist()
