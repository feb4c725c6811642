"""The in-process search of the lists answers what the database's search answers: the same
records and the same ranks, on whichever engine the suite runs, and a patched index the same as
one built afresh."""

import io
import random

import numpy as np
import pytest
from django.core.management import call_command

from cooperations import facet_index, search
from cooperations.models import Cooperation
from cooperations.stem_index import StemIndex

from .search_judgements import JUDGEMENTS


def text(name: str, main: str = "", other: str = "") -> str:
    """A search text as `search.document_for` writes it, from plain words."""
    return (
        f" {search.stems(name)} {search.NAME_END} {search.stems(main)} "
        f"{search.MAIN_END} {search.stems(other)} "
    )


TEXTS = [
    text("Transport scolaire du Léon", "Mobilités", "cars et bus"),
    text("Alimentation locale", "Agriculture", "cantines des collèges"),
    text("Plan de mobilité", "Transports", "projet alimentaire territorial"),
    text("Office de tourisme", "", "transport à la demande"),
    "",  # a row whose text is not written yet
]


def positions(index: StemIndex, query: str, families=None) -> list[int]:
    return list(index.match(search.query_terms(query, families or {})).positions)


def test_a_word_matches_the_stems_it_starts_and_every_word_must_match():
    index = StemIndex.build(enumerate(TEXTS))
    assert positions(index, "transports") == [0, 2, 3]
    assert positions(index, "transp") == [0, 2, 3]
    assert positions(index, "transport scolaire") == [0]
    assert positions(index, "transport cantine") == []
    assert positions(index, "ransport") == []
    assert positions(index, "de la") == []


def test_a_word_matches_any_stem_of_its_family():
    index = StemIndex.build(enumerate(TEXTS))
    families = search.word_families(["alimentaire alimentation"])
    assert positions(index, "alimentaire", families) == [1, 2]
    assert positions(index, "alimentaire") == [2]


def test_ranks_count_the_section_where_each_word_matched():
    index = StemIndex.build(enumerate(TEXTS))
    found = index.match(search.query_terms("transport", {}))
    # The name, the themes, the other texts.
    assert found.ranks[[0, 2, 3]].tolist() == [2, 1, 0]
    found = index.match(search.query_terms("transport mobilite", {}))
    assert list(found.positions) == [0, 2]
    assert found.ranks[[0, 2]].tolist() == [3, 3]
    assert found.ranks[[1, 3, 4]].tolist() == [0, 0, 0]


def same(left: StemIndex, right: StemIndex, queries) -> None:
    assert left.size == right.size
    for query in queries:
        terms = search.query_terms(query, {})
        a, b = left.match(terms), right.match(terms)
        assert list(a.positions) == list(b.positions), query
        assert a.ranks.tolist() == b.ranks.tolist(), query
    for p in range(left.size):
        row = left.entries[left.offsets[p] : left.offsets[p + 1]]
        other = right.entries[right.offsets[p] : right.offsets[p + 1]]
        assert sorted(left.stems[i] for i in row) == sorted(right.stems[i] for i in other)


QUERIES = ["transport", "mobilite", "alimentation", "cantine", "tourisme", "velo", "t", "c"]


def test_a_patch_in_place_equals_a_fresh_build_and_leaves_the_old_index_alone():
    index = StemIndex.build(enumerate(TEXTS))
    before = positions(index, "transport")
    new = text("Vélos partagés", "Mobilités", "transport")
    # Position 1 changed, position 3 unpublished, a new row at the end.
    remap = np.array([0, -1, 2, -1, 4], dtype=np.int64)
    patched = index.patched(remap, [(1, new), (5, text("Cantine centrale"))])
    expected = StemIndex.build(
        enumerate([TEXTS[0], new, TEXTS[2], "", TEXTS[4], text("Cantine centrale")])
    )
    same(patched, expected, QUERIES)
    assert positions(index, "transport") == before
    assert positions(index, "velo") == []


def test_a_row_inserted_in_the_middle_shifts_the_rows_after_it():
    index = StemIndex.build(enumerate(TEXTS))
    new = text("Mobilité partagée", "Vélos")
    remap = np.array([0, 1, 3, 4, 5], dtype=np.int64)
    patched = index.patched(remap, [(2, new)])
    same(patched, StemIndex.build(enumerate([*TEXTS[:2], new, *TEXTS[2:]])), QUERIES)


def test_a_patch_that_moves_positions_equals_a_fresh_build():
    rng = random.Random(4)
    words = [
        "transport",
        "mobilite",
        "velo",
        "cantine",
        "alimentation",
        "tourisme",
        "culture",
        "eau",
        "foret",
    ]

    def random_text():
        return text(*(" ".join(rng.sample(words, k=rng.randint(0, 3))) for _ in range(3)))

    texts = [random_text() for _ in range(200)]
    index = StemIndex.build(enumerate(texts))
    # Drop every seventh row, change every fifth, insert a new one before every eleventh.
    rows = []
    remap = np.full(len(texts), -1, dtype=np.int64)
    added = []
    for old, old_text in enumerate(texts):
        if old % 11 == 0:
            new_text = random_text() + " zebre"
            added.append((len(rows), new_text))
            rows.append(new_text)
        if old % 7 == 0:
            continue
        if old % 5 == 0:
            new_text = random_text()
            added.append((len(rows), new_text))
            rows.append(new_text)
            continue
        remap[old] = len(rows)
        rows.append(old_text)
    patched = index.patched(remap, added)
    same(patched, StemIndex.build(enumerate(rows)), [*QUERIES, "zebre"])
    assert positions(index, "zebre") == []


@pytest.fixture
def demo(official_territories, db):
    call_command("load_demo", stdout=io.StringIO())


def test_the_index_finds_and_ranks_what_the_database_finds_on_the_demo_data(demo):
    index = facet_index.build("essai")
    families = search.families_for("essai")
    published = Cooperation.objects.published()
    for query, _patterns in JUDGEMENTS:
        expected = dict(search.search(published, query, families).values_list("pk", "search_rank"))
        assert expected, query
        # The facet index keys its stem index by cooperation id.
        found = index.stems.match(search.query_terms(query, families))
        pks = list(found.positions)
        assert sorted(pks) == sorted(expected), query
        ranks = {pk: int(found.ranks[pk]) for pk in pks}
        assert ranks == expected, query
        # And a list page's search, by position, finds the same.
        kept, by_position = facet_index.filter_bitmaps(index, {"q": query})
        assert sorted(index.ids[list(kept["q"])].tolist()) == sorted(expected), query
        assert {int(index.ids[p]): int(by_position[p]) for p in kept["q"]} == expected, query
