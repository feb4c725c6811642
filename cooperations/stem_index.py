"""The in-process text search of the public lists: the stems of the published cooperations' search
texts, each with the bitmaps of the positions where it occurs (the facet index uses cooperation
ids as positions: they do not move when a write moves records in the name order), so that a list
page's search is a few bisections and bitmap unions instead of a database search reading every
matching row.

Why: the database search (`search.search`) reads each match's id and rank, so its time grows
with the number of matches; the facet index already holds every published cooperation by
position, and a search over the same stems answers from memory in a time that grows with the
number of distinct stems a query's prefixes cover.

What it answers is what both engines answer (`search.search`): a query word matches a text when
one of its alternatives (`search.query_terms`) starts one of the text's stems; a record matches
when every word does. Its rank follows the same rule as the database's: for each word, 2 when it
matched in the name, 1 in the summary, legal form and themes, 0 in the other texts, summed over
the words (higher first, then the page's own order).

An index is never changed once built: `patched` makes a new one for an incremental update while
readers in other threads keep the old one.
"""

import array
import bisect
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from . import search

EMPTY = FrozenBitMap()
# Which bitmap a section of the search text fills, in `search.sections` order.
NAME, MAIN, OTHER = 0, 1, 2
# Points per section where a word matched: the database search's rule.
SECTION_POINTS = (2, 1, 0)
# Stems hold only [0-9a-z]: every stem starting with a prefix sorts before prefix + "{".
_AFTER_STEMS = "{"


def _bitmap(positions: np.ndarray) -> FrozenBitMap:
    """A bitmap of sorted positions, built from their buffer rather than item by item."""
    return FrozenBitMap(array.array("I", positions.astype(np.uint32, copy=False).tobytes()))


def _positions(bitmap) -> np.ndarray:
    return np.frombuffer(bitmap.to_array(), dtype=np.uint32)


def _text_stems(text: str | None) -> tuple[list[str], ...]:
    """The three sections' stems of one search text (nothing for a text not written yet)."""
    return search.sections(text or "")


@dataclass(frozen=True)
class Match:
    # The matching positions, and for each position of the index its rank (0 where it does not
    # match): a page sorted by pertinence reads the ranks of its positions at once.
    positions: BitMap
    ranks: np.ndarray


class StemIndex:
    """Distinct stems in sorted order, three bitmaps of positions per stem (name, main section,
    other texts), and per position the ids of its stems (to patch the index without the old
    texts)."""

    def __init__(self, stems, sorted_stems, sorted_ids, bitmaps, offsets, entries):
        # Stem id → stem, in the order the stems were first met (ids stay when stems are added).
        self.stems: list[str] = stems
        # The stems in sorted order and their ids: what a prefix bisects.
        self.sorted_stems: list[str] = sorted_stems
        self.sorted_ids: np.ndarray = sorted_ids
        # Section (NAME, MAIN, OTHER) → stem id → positions.
        self.bitmaps: tuple[list[FrozenBitMap], ...] = bitmaps
        # Compressed rows: the stem ids of position p are entries[offsets[p]:offsets[p + 1]].
        self.offsets: np.ndarray = offsets
        self.entries: np.ndarray = entries

    @property
    def size(self) -> int:
        """How many positions the index covers (its ranks' length)."""
        return len(self.offsets) - 1

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, pairs: Iterable[tuple[int, str]]) -> "StemIndex":
        """The index of (position, search text) pairs, positions from 0 without gaps expected
        (a missing position simply has no stem)."""
        ids: dict[str, int] = {}
        stems: list[str] = []
        found: tuple[dict, ...] = ({}, {}, {})
        rows: dict[int, list[int]] = {}
        for position, text in pairs:
            row = set()
            for section, words in enumerate(_text_stems(text)):
                places = found[section]
                for word in set(words):
                    stem_id = ids.get(word)
                    if stem_id is None:
                        stem_id = ids[word] = len(stems)
                        stems.append(word)
                    places.setdefault(stem_id, []).append(position)
                    row.add(stem_id)
            rows[position] = sorted(row)
        bitmaps = tuple(
            [
                _bitmap(np.sort(np.asarray(places[i], dtype=np.int64))) if i in places else EMPTY
                for i in range(len(stems))
            ]
            for places in found
        )
        size = max(rows, default=-1) + 1
        lengths = np.zeros(size, dtype=np.int64)
        for position, row in rows.items():
            lengths[position] = len(row)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        entries = np.empty(int(offsets[-1]), dtype=np.int32)
        for position, row in rows.items():
            entries[offsets[position] : offsets[position + 1]] = row
        return cls(stems, *_sorted(stems), bitmaps, offsets, entries)

    # --- matching ---------------------------------------------------------------------------

    def stem_ids(self, prefix: str) -> np.ndarray:
        """Ids of the stems that start with `prefix`."""
        low = bisect.bisect_left(self.sorted_stems, prefix)
        high = bisect.bisect_left(self.sorted_stems, prefix + _AFTER_STEMS, low)
        return self.sorted_ids[low:high]

    def _stem_id(self, stem: str) -> int | None:
        slot = bisect.bisect_left(self.sorted_stems, stem)
        if slot < len(self.sorted_stems) and self.sorted_stems[slot] == stem:
            return int(self.sorted_ids[slot])
        return None

    def match(self, terms: list[list[str]]) -> Match:
        """The positions where every word of `terms` (`search.query_terms`) matches, and their
        ranks; nothing for no word."""
        ranks = np.zeros(self.size, dtype=np.int64)
        if not terms:
            return Match(BitMap(), ranks)
        words = []
        for alternatives in terms:
            ids = np.unique(np.concatenate([self.stem_ids(a) for a in alternatives]))
            sections = [
                BitMap.union(BitMap(), *[bitmaps[i] for i in ids.tolist()])
                for bitmaps in self.bitmaps
            ]
            words.append(sections)
        found = None
        for sections in sorted(words, key=lambda sections: sum(map(len, sections))):
            anywhere = BitMap.union(*sections)
            found = anywhere if found is None else found & anywhere
            if not found:
                return Match(found, ranks)
        for name, main, _other in words:
            in_name = name & found
            ranks[_positions(in_name)] += SECTION_POINTS[NAME]
            ranks[_positions((main - in_name) & found)] += SECTION_POINTS[MAIN]
        return Match(found, ranks)

    # --- incremental updates ----------------------------------------------------------------

    def patched(self, remap: np.ndarray, added: list[tuple[int, str]]) -> "StemIndex":
        """A new index where old position p is now remap[p] (-1: gone) and each (position,
        search text) of `added` is indexed; this index stays as it was.

        When every kept position stays where it was, only the bitmaps of the stems of the
        removed and added rows are remade; otherwise the bitmaps after the first moved position
        are shifted or remapped (kept positions keep their relative order, so remapped bitmaps
        stay sorted)."""
        remap = np.asarray(remap, dtype=np.int64)
        kept = remap >= 0
        old_positions = np.arange(self.size, dtype=np.int64)
        identity = bool(np.array_equal(remap[kept], old_positions[kept]))

        stems = list(self.stems)
        new_ids: dict[str, int] = {}
        added_rows: dict[int, list[tuple[int, int]]] = {}  # position → (stem id, section)
        for position, text in added:
            row = []
            for section, words in enumerate(_text_stems(text)):
                for word in set(words):
                    stem_id = self._stem_id(word)
                    if stem_id is None:
                        stem_id = new_ids.get(word)
                    if stem_id is None:
                        stem_id = new_ids[word] = len(stems)
                        stems.append(word)
                    row.append((stem_id, section))
            added_rows[position] = row
        new_stems = bool(new_ids)

        kept_max = int(remap.max()) if kept.any() else -1
        size = max(kept_max, max(added_rows, default=-1)) + 1
        # The compressed rows of the new positions.
        old_lengths = np.diff(self.offsets)
        lengths = np.zeros(size, dtype=np.int64)
        lengths[remap[kept]] = old_lengths[kept]
        added_ids = {p: sorted({stem_id for stem_id, _ in row}) for p, row in added_rows.items()}
        for position, row in added_ids.items():
            lengths[position] = len(row)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if identity:
            entries = self._rows_in_place(old_positions[~kept], added_ids)
        else:
            entries = np.empty(int(offsets[-1]), dtype=np.int32)
            owner = np.repeat(old_positions, old_lengths)
            moved = kept[owner]
            owner = owner[moved]
            within = np.arange(len(self.entries), dtype=np.int64)[moved] - self.offsets[owner]
            entries[offsets[remap[owner]] + within] = self.entries[moved]
            for position, row in added_ids.items():
                entries[offsets[position] : offsets[position + 1]] = row

        grown = len(stems) - len(self.stems)
        if identity:
            bitmaps = tuple([*section, *[EMPTY] * grown] for section in self.bitmaps)
            removed = old_positions[~kept]
            # Stem id → the positions added to its three bitmaps.
            touched: dict[int, list[list[int]]] = {}
            for p in removed.tolist():
                for stem_id in self.entries[self.offsets[p] : self.offsets[p + 1]].tolist():
                    touched.setdefault(stem_id, [[], [], []])
            gone = _bitmap(removed)
            for position, row in added_rows.items():
                for stem_id, section in row:
                    touched.setdefault(stem_id, [[], [], []])[section].append(position)
            for stem_id, additions in touched.items():
                for section, positions in enumerate(additions):
                    old = bitmaps[section][stem_id]
                    if not positions and not old.intersect(gone):
                        continue
                    changed = BitMap(old)
                    changed -= gone
                    changed.update(positions)
                    bitmaps[section][stem_id] = FrozenBitMap(changed)
        else:
            # Bitmaps wholly before the first moved position stay; those wholly within the last
            # run moved by one offset are shifted; only the others are remapped one by one.
            moved = np.flatnonzero(remap != old_positions)
            first = int(moved[0]) if len(moved) else self.size
            tail = int(remap[-1]) - (self.size - 1) if self.size and remap[-1] >= 0 else None
            if tail is not None:
                off = np.flatnonzero(remap != old_positions + tail)
                tail_start = int(off[-1]) + 1 if len(off) else 0
            bitmaps = tuple([] for _ in self.bitmaps)
            for section, old_bitmaps in enumerate(self.bitmaps):
                for old in old_bitmaps:
                    if not old or old.max() < first:
                        bitmaps[section].append(old)
                    elif tail is not None and old.min() >= tail_start:
                        bitmaps[section].append(old.shift(tail))
                    else:
                        moved_positions = remap[_positions(old)]
                        bitmaps[section].append(_bitmap(moved_positions[moved_positions >= 0]))
                bitmaps[section].extend([EMPTY] * grown)
            additions: dict[tuple[int, int], list[int]] = {}
            for position, row in added_rows.items():
                for stem_id, section in row:
                    additions.setdefault((stem_id, section), []).append(position)
            for (stem_id, section), positions in additions.items():
                changed = BitMap(bitmaps[section][stem_id])
                changed.update(positions)
                bitmaps[section][stem_id] = FrozenBitMap(changed)

        if new_stems:
            sorted_stems, sorted_ids = _sorted(stems)
        else:
            sorted_stems, sorted_ids = self.sorted_stems, self.sorted_ids
        return StemIndex(stems, sorted_stems, sorted_ids, bitmaps, offsets, entries)

    def _rows_in_place(self, removed: np.ndarray, added_ids: dict) -> np.ndarray:
        """The stem ids of the new rows when kept positions stay: the old rows between the
        changed positions copied in runs, the added rows in their places."""
        changed = sorted({*removed.tolist(), *added_ids})
        pieces, start = [], 0
        for position in changed:
            # Positions in [start, position) are kept, or past the old rows (then empty).
            low, high = min(start, self.size), min(position, self.size)
            pieces.append(self.entries[self.offsets[low] : self.offsets[high]])
            pieces.append(np.asarray(added_ids.get(position, []), dtype=np.int32))
            start = position + 1
        pieces.append(self.entries[self.offsets[min(start, self.size)] :])
        return np.concatenate(pieces)

    # --- size -------------------------------------------------------------------------------

    def stats(self) -> dict:
        """How many stems and bytes the index holds (bitmaps, arrays and the stems' strings)."""
        from .facet_index import _bitmap_bytes

        bitmap_bytes = sum(
            _bitmap_bytes(bitmap) for section in self.bitmaps for bitmap in section if bitmap
        )
        # The empty bitmaps are one shared object: only the lists' slots count.
        list_bytes = sum(sys.getsizeof(section) for section in self.bitmaps)
        list_bytes += sys.getsizeof(self.stems) + sys.getsizeof(self.sorted_stems)
        string_bytes = sum(sys.getsizeof(stem) for stem in self.stems)
        array_bytes = self.sorted_ids.nbytes + self.offsets.nbytes + self.entries.nbytes
        return {
            "stems": len(self.stems),
            "entries": len(self.entries),
            "bitmap_bytes": bitmap_bytes,
            "row_bytes": self.offsets.nbytes + self.entries.nbytes,
            "bytes": bitmap_bytes + list_bytes + string_bytes + array_bytes,
        }


def _sorted(stems: list[str]) -> tuple[list[str], np.ndarray]:
    order = sorted(range(len(stems)), key=stems.__getitem__)
    return [stems[i] for i in order], np.asarray(order, dtype=np.int64)
