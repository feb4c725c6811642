"""Duplicates: a new row of the file that is in fact a cooperation already in the catalogue.

Office files rarely carry the catalogue's identifier, and the identifier derived from a name
changes with its spelling (« Cœur » gives « cur », « Coeur » gives « coeur »). So a new row is
compared by its folded name (case, accents, ligatures and punctuation ignored,
`cooperations.text.fold`) and its métropoles with every record:

- same folded name and same métropoles: the same cooperation. The row updates that record
  when its identifier was derived from its name; a row that gives its own identifier is
  refused, since the file asks for a second record under another key.
- a close name among records with the same métropoles, or a shared source address: shown as
  « ressemble à » with a link, never decided by the import.
"""

from collections import defaultdict
from dataclasses import dataclass

from ..models import Cooperation, Participation, Source
from ..text import fold

# rapidfuzz's ratio (0–100) from which two folded names of the same métropoles look alike.
CLOSE_NAME_SCORE = 90


@dataclass(frozen=True)
class Lookalike:
    """A record of the catalogue that a row of the file resembles, and why."""

    pk: int
    slug: str
    name: str
    reason: str


class CatalogueNames:
    """Every cooperation's folded name and métropoles in memory: two queries, whatever the
    file's length."""

    def __init__(self, records, metropoles):
        self.by_pk: dict[int, tuple[str, str]] = {}
        self.metropoles: dict[int, frozenset[int]] = defaultdict(frozenset)
        for cooperation_id, territory_id in metropoles:
            self.metropoles[cooperation_id] |= {territory_id}
        self.by_key: dict[tuple[str, frozenset], list[int]] = defaultdict(list)
        self.by_metropoles: dict[frozenset, list[tuple[str, int]]] = defaultdict(list)
        self.all_names: list[tuple[str, int]] = []
        for pk, slug, name in records:
            self.by_pk[pk] = (slug, name)
            folded = fold(name)
            self.all_names.append((folded, pk))
            self.by_key[(folded, self.metropoles[pk])].append(pk)
            self.by_metropoles[self.metropoles[pk]].append((folded, pk))

    @classmethod
    def load(cls) -> "CatalogueNames":
        records = Cooperation.objects.values_list("pk", "slug", "name")
        metropoles = Participation.objects.filter(role=Participation.Role.METROPOLE).values_list(
            "cooperation_id", "territory_id"
        )
        return cls(records.iterator(chunk_size=5000), metropoles.iterator(chunk_size=5000))

    def _lookalike(self, pk: int, reason: str) -> Lookalike:
        slug, name = self.by_pk[pk]
        return Lookalike(pk, slug, name, reason)

    def same(self, folded: str, metropoles: frozenset[int]) -> list[Lookalike]:
        """Records with this folded name and exactly these métropoles."""
        return [
            self._lookalike(pk, "même nom (casse, accents et ponctuation ignorés) et mêmes "
                            "métropoles")
            for pk in self.by_key.get((folded, metropoles), [])
        ]  # fmt: skip

    def close(self, folded: str, metropoles: frozenset[int] | None, limit=3) -> list[Lookalike]:
        """Up to `limit` records with a close but different folded name, among those with the
        same métropoles (all records when the row gives none)."""
        from rapidfuzz import fuzz, process

        if not self.by_pk:
            return []
        if metropoles is None:
            candidates = self.all_names
        else:
            candidates = self.by_metropoles.get(metropoles, [])
        found = process.extract(
            folded,
            [text for text, _pk in candidates],
            scorer=fuzz.ratio,
            score_cutoff=CLOSE_NAME_SCORE if metropoles is not None else 100,
            limit=limit + 1,
        )
        reason = "nom proche, mêmes métropoles" if metropoles is not None else "même nom"
        return [
            self._lookalike(candidates[position][1], reason)
            for text, _score, position in found
            if text != folded or metropoles is None
        ][:limit]


def sharing_sources(urls: list[str]) -> dict[str, list[Lookalike]]:
    """Records citing each of these source addresses: one query per 2,000 addresses."""
    found: dict[str, list[Lookalike]] = defaultdict(list)
    unique = sorted(set(urls))
    for start in range(0, len(unique), 2000):
        rows = Source.objects.filter(url__in=unique[start : start + 2000]).values_list(
            "url", "cooperation_id", "cooperation__slug", "cooperation__name"
        )
        for url, pk, slug, name in rows:
            found[url].append(Lookalike(pk, slug, name, f"même source ({url})"))
    return found


@dataclass(frozen=True)
class LikelyDuplicate:
    """Two records of the catalogue that may be one cooperation, and why."""

    first: Lookalike
    second: Lookalike
    reason: str


# Records sharing one set of métropoles compared two by two: a larger group (synthetic data) is
# compared on exact folded names only.
MAX_COMPARED_GROUP = 3000


def catalogue_duplicates() -> list[LikelyDuplicate]:
    """Pairs of records with the same or a close folded name and the same métropoles, or citing
    the same source: three queries, then in memory."""
    from rapidfuzz import fuzz, process

    names = CatalogueNames.load()
    pairs: dict[tuple[int, int], str] = {}

    def note(a: int, b: int, reason: str):
        key = (min(a, b), max(a, b))
        pairs.setdefault(key, reason)

    for (_folded, _metropoles), pks in names.by_key.items():
        for other in pks[1:]:
            note(pks[0], other, "même nom (casse, accents et ponctuation ignorés) et mêmes "
                                "métropoles")  # fmt: skip
    for group in names.by_metropoles.values():
        if len(group) < 2 or len(group) > MAX_COMPARED_GROUP:
            continue
        texts = [text for text, _pk in group]
        scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=CLOSE_NAME_SCORE)
        for i, j in zip(*scores.nonzero(), strict=True):
            if i < j and texts[i] != texts[j]:
                note(group[i][1], group[j][1], "nom proche, mêmes métropoles")
    by_url: dict[str, set[int]] = defaultdict(set)
    for url, pk in Source.objects.values_list("url", "cooperation_id").iterator(chunk_size=5000):
        by_url[url].add(pk)
    for url, pks in by_url.items():
        ordered = sorted(pks)
        for other in ordered[1:]:
            note(ordered[0], other, f"même source ({url})")

    def record(pk):
        slug, name = names.by_pk[pk]
        return Lookalike(pk, slug, name, "")

    return sorted(
        (LikelyDuplicate(record(a), record(b), reason) for (a, b), reason in pairs.items()),
        key=lambda pair: (pair.first.name, pair.second.name),
    )
