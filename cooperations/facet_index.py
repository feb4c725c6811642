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

Freshness: the index belongs to one catalogue version — the history-based version that the
page cache uses, one indexed query per request — so any write through the admin or the import
shows at the next request, on every application server (each reads the shared database); edits
of territories and vocabularies move that version too (`ReferenceEdit`). After a write, each
process updates its index with the cooperations whose history moved (`update`: their rows read
again, the others' bitmaps kept, or moved when records were inserted or removed before them),
in a thread of its own while the previous index keeps answering visitors (`current`). A build
of everything (five queries) happens only at a process's first request, after a reference edit
or a large import; `stats()` gives its time and size.

Text search is answered by the index too (`stem_index.StemIndex`, built from the same rows'
search texts, keyed by cooperation id so that an update touches only the changed records'
stems): the database's search (`search.search`) matches and ranks the same records, but reads
every match, which grows with the catalogue.
"""

import array
import bisect
import datetime
import logging
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q
from pyroaring import BitMap, FrozenBitMap

from . import search
from .caching import catalogue_version, changed_cooperations
from .collation import POSTGRESQL_COLLATION, SQLITE_COLLATION, FrenchOrder
from .filters import PLUS_VALUES, UNKNOWN_STATUS, forget_facet_labels
from .models import Cooperation, CooperationFactor, Participation, TerritoryKind
from .stem_index import StemIndex

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
    # What those keys are made of, kept for the next version's update: the signature's day
    # ordinal (_NO_DATE when undated) and the last change in microseconds, by position.
    signed_ordinal: np.ndarray | None = None
    changed_at: np.ndarray | None = None
    build_seconds: float = 0.0
    # How this index was made from the database: "build" (everything read) or "update" (the
    # previous version's index with the changed cooperations read again).
    made_by: str = "build"
    # Métropole id → its network (`network.Network`): the network counts every published
    # cooperation whatever the filters, so it changes only with the catalogue.
    networks: dict = field(default_factory=dict)
    # Cooperation id → the values of its result row (`result_rows.RowData`), as read for a
    # page of this version: later pages showing it need not read it again.
    rows: dict = field(default_factory=dict)
    # Cooperation slug → what its record page shows (`views.RecordPage`), likewise.
    pages: dict = field(default_factory=dict)
    # The stems of the published cooperations' search texts, by cooperation id: the text search.
    stems: StemIndex | None = None
    # Cooperation id → what its entry in the Atom feeds shows (`publishing.feeds.Entry`),
    # likewise.
    feed_entries: dict = field(default_factory=dict)
    # Script prefix → cooperation id → its item in the API's list (`publishing.api`), likewise.
    api_items: dict = field(default_factory=dict)
    # Facet name → value key → count over the whole catalogue: the counts of a facet when no
    # other filter applies, derived from `values` once per index.
    totals: dict = field(init=False)

    # How many territories other than métropoles take part in a published cooperation.
    partner_count: int = field(init=False)
    # Cooperation id → position (-1: not published), for what is found by id (the search).
    position_by_id: np.ndarray = field(init=False)

    def __post_init__(self):
        self.position_by_id = np.full(int(self.ids.max()) + 1 if len(self.ids) else 0, -1)
        self.position_by_id[self.ids] = np.arange(len(self.ids))
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
        arrays = (self.ids, self.recent_key, self.oldest_key, self.position_by_id)
        array_bytes = sum(a.nbytes for a in arrays)
        # A dict entry costs about 100 bytes with its two ints.
        stem_bytes = self.stems.stats()["bytes"] if self.stems is not None else 0
        return {
            "cooperations": self.size,
            "bitmaps": len(bitmaps),
            "bytes": bitmap_bytes + array_bytes + 100 * len(self.position_of) + stem_bytes,
            "stem_bytes": stem_bytes,
            "build_seconds": self.build_seconds,
        }


def _bitmap_bytes(bitmap) -> int:
    stats = bitmap.get_statistics()
    containers = ("n_bytes_array_containers", "n_bytes_bitset_containers", "n_bytes_run_containers")
    return sys.getsizeof(bitmap) + sum(stats[name] for name in containers)


_ROW_FIELDS = (
    "pk",
    "signed_on",
    "status",
    "legal_form_id",
    "updated_at",
    *PLUS_VALUE_KEYS.values(),
)
_PARTICIPATION_FIELDS = (
    "cooperation_id",
    "territory_id",
    "role",
    "territory__kind",
    "territory__departement_id",
    "territory__region_id",
)
_FACETS = (
    "thematique",
    "facteur",
    "forme",
    "statut",
    "nature_partenaire",
    "departement",
    "region",
    "plus_value",
)


class _Groups:
    """Positions by facet value as they are read, before they become bitmaps: what a build
    reads of every published cooperation, and an update of the changed ones."""

    def __init__(self, size: int):
        self.values = {facet: defaultdict(list) for facet in _FACETS}
        self.roles = defaultdict(list)
        self.years = defaultdict(list)
        self.signed_ordinal = np.full(size, _NO_DATE, dtype=np.int64)
        # In whole microseconds: a float timestamp would round away the last digits that can
        # tell two changes apart.
        self.changed_at = np.zeros(size, dtype=np.int64)

    def add_row(self, position: int, row: tuple) -> None:
        _pk, signed_on, state, legal_form, updated_at, *plus_flags = row
        self.changed_at[position] = (updated_at - _EPOCH) // _MICROSECOND
        if signed_on is not None:
            self.signed_ordinal[position] = signed_on.toordinal()
            self.years[signed_on.year].append(position)
        self.values["statut"][state or UNKNOWN_STATUS].append(position)
        if legal_form is not None:
            self.values["forme"][legal_form].append(position)
        for key, flag in zip(PLUS_VALUE_KEYS, plus_flags, strict=True):
            if flag:
                self.values["plus_value"][key].append(position)

    def add_participation(self, position, territory, role, kind, departement, region) -> None:
        # A position may be added twice to one value (two partners in one département): a
        # bitmap keeps it once.
        self.roles[(territory, role)].append(position)
        if role != METROPOLE:
            self.values["nature_partenaire"][kind].append(position)
        # As the filters read it: the territory itself, or the one it lies in.
        if kind == TerritoryKind.DEPARTEMENT:
            self.values["departement"][territory].append(position)
        if departement is not None:
            self.values["departement"][departement].append(position)
        if kind == TerritoryKind.REGION:
            self.values["region"][territory].append(position)
        if region is not None:
            self.values["region"][region].append(position)

    def read_relations(self, position_of: dict, cooperations: Q) -> None:
        """Participations, themes and factors of the cooperations `cooperations` selects
        (a condition on the relation's `cooperation`), at their positions."""
        participations = Participation.objects.filter(cooperations).order_by()
        for cooperation, *participation in participations.values_list(
            *_PARTICIPATION_FIELDS
        ).iterator(chunk_size=10_000):
            self.add_participation(position_of[cooperation], *participation)
        through = Cooperation.themes.through
        for facet, model, column in (
            ("thematique", through, "theme_id"),
            ("facteur", CooperationFactor, "factor_id"),
        ):
            groups = self.values[facet]
            for cooperation, key in (
                model.objects.filter(cooperations)
                .order_by()
                .values_list("cooperation_id", column)
                .iterator(chunk_size=10_000)
            ):
                groups[key].append(position_of[cooperation])


def _sort_keys(ids: np.ndarray, signed_ordinal: np.ndarray, changed_at: np.ndarray) -> dict:
    """The rank of each position in the date orders and in the feeds' order."""
    positions = np.arange(len(ids), dtype=np.int64)
    undated = signed_ordinal == _NO_DATE
    recent = np.lexsort((positions, -np.where(undated, 0, signed_ordinal), undated))
    oldest = np.lexsort((positions, signed_ordinal))
    last_changed = np.lexsort((-ids, -changed_at))
    return {
        "recent_key": _rank(recent),
        "oldest_key": _rank(oldest),
        "changed_key": _rank(last_changed),
        "signed_ordinal": signed_ordinal,
        "changed_at": changed_at,
    }


def _facet_values(values: dict, roles: dict) -> dict:
    # The métropole facet has the same bitmaps as the métropoles' own role.
    metropoles = {
        territory: found for (territory, role), found in roles.items() if role == METROPOLE
    }
    return {"metropole": metropoles, **values}


def build(version: str) -> FacetIndex:
    """Read the published cooperations and their relations (5 queries) into a new index."""
    started = time.perf_counter()
    rows = list(
        Cooperation.objects.published()
        .order_by(FrenchOrder("name"), "pk")
        .values_list(*_ROW_FIELDS, "search_text")
    )
    stems = StemIndex.build((row[0], row[-1]) for row in rows)
    rows = [row[:-1] for row in rows]
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    position_of = {pk: position for position, pk in enumerate(ids.tolist())}
    groups = _Groups(len(rows))
    for position, row in enumerate(rows):
        groups.add_row(position, row)
    groups.read_relations(position_of, Q(cooperation__is_published=True))
    roles = _freeze(groups.roles)
    index = FacetIndex(
        version=version,
        built_at=time.monotonic(),
        ids=ids,
        position_of=position_of,
        published=FrozenBitMap(range(len(rows))),
        values=_facet_values(
            {facet: _freeze(found) for facet, found in groups.values.items()}, roles
        ),
        roles=roles,
        by_year=_freeze(groups.years),
        **_sort_keys(ids, groups.signed_ordinal, groups.changed_at),
        stems=stems,
    )
    index.build_seconds = time.perf_counter() - started
    return index


def _predecessors(rows: list[tuple], changed: list[int]) -> list[int | None]:
    """For each (pk, name) of `rows`, the published cooperation that comes just before it in
    the name order, the changed ones left out (None when it comes first): one step back along
    the index of that order (migration 0007) per row."""
    connection = connections[DEFAULT_DB_ALIAS]
    name = POSTGRESQL_COLLATION if connection.vendor == "postgresql" else SQLITE_COLLATION
    collation = connection.ops.quote_name(name)
    table = connection.ops.quote_name(Cooperation._meta.db_table)
    left_out = ", ".join(["%s"] * len(changed))
    sql = (
        f'SELECT "id" FROM {table} WHERE "is_published" '  # noqa: S608 - names, not values
        f'AND ("name" COLLATE {collation}, "id") < (%s COLLATE {collation}, %s) '
        f'AND "id" NOT IN ({left_out}) '
        f'ORDER BY "name" COLLATE {collation} DESC, "id" DESC LIMIT 1'
    )
    found = []
    with connection.cursor() as cursor:
        for pk, text in rows:
            cursor.execute(sql, [text, pk, *changed])
            before = cursor.fetchone()
            found.append(before[0] if before else None)
    return found


def _places(index: FacetIndex, rows: list[tuple], changed: list[int], gone: list[int]):
    """Where the changed published `rows` (in the name order) go among the others, which keep
    their order: their positions in the new index, or None when the database's order and the
    index's disagree (a write that kept no history)."""
    places = {}
    for offset, ((pk, _name), before) in enumerate(
        zip(rows, _predecessors(rows, changed), strict=True)
    ):
        if before is None:
            kept_before = 0
        elif before in index.position_of:
            position = index.position_of[before]
            kept_before = position + 1 - bisect.bisect_right(gone, position)
        else:
            return None
        places[pk] = kept_before + offset
    if list(places.values()) != sorted(places.values()):
        return None
    return places


# An update places the changed cooperations one query each; past this many, a build of
# everything costs less.
UPDATE_LIMIT = 200


def _moved(bitmap: FrozenBitMap, remap: np.ndarray) -> FrozenBitMap:
    positions = remap[np.frombuffer(bitmap.to_array(), dtype=np.uint32)]
    positions = positions[positions >= 0].astype(np.uint32)
    # The positions stay increasing (survivors keep their order): a bitmap reads them at once.
    return FrozenBitMap(array.array("I", positions.tobytes()))


def update(index: FacetIndex, version: str, changed: set[int]) -> FacetIndex | None:
    """A new index for `version` made from `index` and the cooperations `changed` since its
    version, read again (4 queries, and one per published one for its place in the name order):
    the others keep their bitmaps, moved to their new positions when records were inserted or
    removed before them. None when what was read does not agree with the index (a write that
    kept no history): the caller then builds everything."""
    started = time.perf_counter()
    pks = sorted(pk for pk in changed if pk is not None)
    found = list(
        Cooperation.objects.published()
        .filter(pk__in=pks)
        .order_by(FrenchOrder("name"), "pk")
        .values_list(*_ROW_FIELDS, "search_text", "name")
    )
    rows = [row[:-2] for row in found]
    gone = sorted(index.position_of[pk] for pk in pks if pk in index.position_of)
    places = _places(index, [(row[0], row[-1]) for row in found], pks, gone)
    if places is None:
        return None
    size = index.size - len(gone) + len(rows)

    # Survivors keep their order; the changed published rows take their places among them.
    kept = np.ones(index.size, dtype=bool)
    kept[gone] = False
    survivors = np.flatnonzero(kept)
    taken = np.zeros(size, dtype=bool)
    taken[list(places.values())] = True
    survivor_slots = np.flatnonzero(~taken)
    remap = np.full(index.size, -1, dtype=np.int64)
    remap[survivors] = survivor_slots
    in_place = size == index.size and np.array_equal(survivor_slots, survivors)
    # Below the first position that changes, a bitmap is the same.
    first_moved = min([*gone, *places.values(), size])

    ids = np.empty(size, dtype=np.int64)
    ids[survivor_slots] = index.ids[survivors]
    groups = _Groups(size)
    groups.signed_ordinal[survivor_slots] = index.signed_ordinal[survivors]
    groups.changed_at[survivor_slots] = index.changed_at[survivors]
    for row in rows:
        ids[places[row[0]]] = row[0]
        groups.add_row(places[row[0]], row)
    groups.read_relations(places, Q(cooperation__in=list(places)))
    removed = FrozenBitMap(gone)
    stems = None
    if index.stems is not None:
        # By id, nothing moves: the changed records' stems are taken out, the published ones'
        # put back.
        same_ids = np.arange(index.stems.size, dtype=np.int64)
        same_ids[[pk for pk in pks if pk < index.stems.size]] = -1
        stems = index.stems.patched(same_ids, [(row[0], row[-2]) for row in found])

    def patched(old: dict, added: dict) -> dict:
        result = {}
        for key, bitmap in old.items():
            if in_place:
                bitmap = bitmap - removed if bitmap.intersect(removed) else bitmap
            elif bitmap.max() >= first_moved:
                bitmap = _moved(bitmap, remap)
            if key in added:
                bitmap = bitmap | FrozenBitMap(added[key])
            if bitmap:
                result[key] = bitmap
        for key, positions in added.items():
            if key not in old:
                result[key] = FrozenBitMap(positions)
        return result

    roles = patched(index.roles, groups.roles)
    values = {facet: patched(index.values[facet], groups.values[facet]) for facet in _FACETS}
    if in_place:
        position_of = dict(index.position_of)
        for pk in pks:
            position_of.pop(pk, None)
        position_of.update(places)
    else:
        position_of = {pk: position for position, pk in enumerate(ids.tolist())}
    updated = FacetIndex(
        version=version,
        ids=ids,
        position_of=position_of,
        published=FrozenBitMap(range(size)),
        values=_facet_values(values, roles),
        roles=roles,
        by_year=patched(index.by_year, groups.years),
        **_sort_keys(ids, groups.signed_ordinal, groups.changed_at),
        made_by="update",
        stems=stems,
        # The age of the data read in full, which FACET_INDEX_MAX_AGE bounds.
        built_at=index.built_at,
        # A row shows only its own record's values (and names that a ReferenceEdit, which
        # builds everything, changes): the others' rows still hold. Record pages and networks
        # show other records (related ones, counts): they are read again.
        rows={pk: row for pk, row in index.rows.items() if pk not in changed},
    )
    updated.build_seconds = time.perf_counter() - started
    return updated


@contextmanager
def _snapshot():
    """One consistent view of the database for all the reads of a build or an update: a write
    committed between two of them would otherwise be half seen (a participation of a
    cooperation the index does not hold). Inside a transaction already (tests, a request's
    own), that transaction's view."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # SQLite (WAL): a read transaction sees the database as of its first read.
        yield


def refreshed(held: FacetIndex | None) -> FacetIndex:
    """The index of the database's current version: `held` itself when still current, `held`
    updated with the cooperations changed since its version, or a new build."""
    with _snapshot():
        version = catalogue_version()
        if held is not None and held.version == version and not _too_old(held):
            return held
        index = None
        if held is not None and not _too_old(held):
            changed = changed_cooperations(held.version, version)
            if changed is not None and len(changed) <= UPDATE_LIMIT:
                index = update(held, version, changed)
        if index is None:
            index = build(version)
    return index


_lock = threading.Lock()
_current: FacetIndex | None = None
_builder: threading.Thread | None = None
_builder_lock = threading.Lock()


def current(version: str | None = None, *, wait: bool = True) -> FacetIndex:
    """The index of the catalogue's current version, made on first use after a change.

    After a write, the index of the previous version is updated with the cooperations the write
    changed (`update`), which takes milliseconds where a build of everything takes a second at
    100,000 cooperations; a build happens at the first request of a process, after an edit of
    reference data (`ReferenceEdit`) or a large import. One at a time per process: concurrent
    requests of a threaded worker wait for it rather than make the same index twice. With
    `wait=False` (a visitor's page) and an older index at hand, that index answers at once and
    the new one is made in a thread of its own (FACET_INDEX_BACKGROUND): readers never queue
    behind it.
    """
    version = version or catalogue_version()
    index = _current
    if index is not None and _fresh(index, version):
        return index
    if index is not None and not wait and settings.FACET_INDEX_BACKGROUND:
        _refresh_in_background()
        return index
    with _lock:
        index = _current
        if index is None or not _fresh(index, version):
            index = _replace(index)
    return index


def _replace(held: FacetIndex | None) -> FacetIndex:
    global _current
    index = refreshed(held)
    if index is not held:
        _current = index
        logger.info(
            "Index des facettes %s : %s coopérations en %.0f ms.",
            "mis à jour" if index.made_by == "update" else "construit",
            index.size,
            index.build_seconds * 1000,
        )
    return index


def _refresh_in_background() -> None:
    global _builder
    with _builder_lock:
        if _builder is not None and _builder.is_alive():
            return
        _builder = threading.Thread(target=_background_refresh, name="index-facettes", daemon=True)
        _builder.start()


def _background_refresh() -> None:
    try:
        with _lock:
            # `refreshed` reads the version itself, in the same view of the database as the
            # rows: a write after it only makes the next request update once more.
            _replace(_current)
    except Exception:
        # The old index keeps serving; the next visitor's request tries again.
        logger.exception("Mise à jour de l'index des facettes en arrière-plan impossible.")
    finally:
        connections.close_all()


def wait_for_background_build(timeout: float = 60) -> None:
    """Until the update or build in progress, if any, ends (tests, the benchmark)."""
    builder = _builder
    if builder is not None:
        builder.join(timeout)


def for_request(request) -> FacetIndex:
    """The index for a request, reusing the version the page cache read for it, if it did.

    A visitor (no session cookie) may get the previous index while the new one is made; the
    request then says so (`request.index_behind`), and the page cache does not keep its page
    under the new version. Staff wait for the new index: they see their own write at once."""
    version = getattr(request, "catalogue_version", None) or catalogue_version()
    visitor = settings.SESSION_COOKIE_NAME not in request.COOKIES
    index = current(version, wait=not visitor)
    if index.version != version:
        request.index_behind = True
    return index


def _too_old(index: FacetIndex) -> bool:
    # Edits behind the version's back (raw SQL) show once the last build of everything is
    # FACET_INDEX_MAX_AGE seconds old, when that is set; 0, the default, never builds again an
    # index whose version still holds.
    max_age = settings.FACET_INDEX_MAX_AGE
    return bool(max_age) and time.monotonic() - index.built_at >= max_age


def _fresh(index: FacetIndex, version: str) -> bool:
    return index.version == version and not _too_old(index)


def reset() -> None:
    """Forget the index (tests that rewrite the database behind the version's back)."""
    global _current
    _current = None
    forget_facet_labels()
    search.forget_families()


# --- Selections ---------------------------------------------------------------------------------


def filter_bitmaps(index: FacetIndex, valid_data: dict) -> tuple[dict, np.ndarray | None]:
    """The positions each valid filter keeps, by filter name (the two years as one), and the
    search ranks by position when there is a text search (None otherwise)."""
    kept, ranks = {}, None
    for name, value in valid_data.items():
        if name == "q":
            kept[name], ranks = _searched(index, value)
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


def _searched(index: FacetIndex, query: str) -> tuple[BitMap, np.ndarray]:
    """The positions the text search finds, and the search rank of every position."""
    found = index.stems.match(search.query_terms(query, search.families_for(index.version)))
    ids = np.frombuffer(found.positions.to_array(), dtype=np.uint32).astype(np.int64)
    ids = ids[ids < len(index.position_by_id)]
    positions = index.position_by_id[ids]
    published = positions >= 0
    ranks = np.zeros(index.size, dtype=np.int64)
    ranks[positions[published]] = found.ranks[ids[published]]
    positions = np.sort(positions[published]).astype(np.uint32)
    return BitMap(array.array("I", positions.tobytes())), ranks


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
        order = np.lexsort((positions, -ranks[positions]))
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
