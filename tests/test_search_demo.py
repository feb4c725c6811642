"""The public search judged on the demo data, on whichever engine the suite runs: the same
committed result sets on SQLite and PostgreSQL, and recall and precision against judgements
written from the records' visible text (tests/search_judgements.py)."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from cooperations.models import Cooperation
from cooperations.search import search, search_words
from cooperations.text import fold

from .search_judgements import JUDGEMENTS

RESULTS_PATH = Path(__file__).parent / "data" / "search_results.json"


def visible_texts() -> dict[str, str]:
    """Slug → the folded text a visitor reads on the record page."""
    texts = {}
    cooperations = (
        Cooperation.objects.published()
        .with_relations()
        .prefetch_related("participations__territory__aliases")
    )
    for cooperation in cooperations:
        parts = [
            cooperation.name,
            cooperation.summary,
            cooperation.description,
            cooperation.governance,
            cooperation.funding,
            cooperation.staffing,
            cooperation.legal_form.label if cooperation.legal_form else "",
        ]
        parts += [theme.label for theme in cooperation.themes.all()]
        for link in cooperation.factor_links.all():
            parts += [link.factor.label, link.text]
        for link in cooperation.plus_value_links.all():
            parts += [link.get_plus_value_display(), link.text]
        for source in cooperation.sources.all():
            parts += [source.title, source.publisher]
        for participation in cooperation.participations.all():
            territory = participation.territory
            parts += [territory.name, territory.code]
            parts += [alias.alias for alias in territory.aliases.all()]
        texts[cooperation.slug] = fold(" ".join(part for part in parts if part))
    return texts


def judged(texts: dict[str, str], patterns: list[str]) -> set[str]:
    compiled = [re.compile(rf"\b(?:{pattern})\b") for pattern in patterns]
    return {slug for slug, text in texts.items() if all(p.search(text) for p in compiled)}


@pytest.fixture
def demo(official_territories, db):
    call_command("load_demo", stdout=io.StringIO())


def found(query: str) -> set[str]:
    return set(search(Cooperation.objects.published(), query).values_list("slug", flat=True))


def test_judged_queries_reach_recall_and_precision_with_the_same_results_on_both_engines(demo):
    assert len(JUDGEMENTS) >= 40
    texts = visible_texts()
    assert len(texts) >= 100
    committed = json.loads(RESULTS_PATH.read_text(encoding="utf-8"))
    relevant_found = found_total = relevant_total = 0
    for query, patterns in JUDGEMENTS:
        results = found(query)
        # Committed from one engine, compared on each: both engines return the same records.
        assert sorted(results) == committed[query], query
        expected = judged(texts, patterns)
        assert expected, f"judgement of {query!r} keeps no record"
        relevant_found += len(results & expected)
        found_total += len(results)
        relevant_total += len(expected)
    assert relevant_found / relevant_total >= 0.95
    assert relevant_found / found_total >= 0.90


def test_every_word_of_the_illustrations_finds_its_record(demo):
    records = Cooperation.objects.published().prefetch_related("factor_links", "plus_value_links")
    checked = 0
    for cooperation in records:
        links = [*cooperation.factor_links.all(), *cooperation.plus_value_links.all()]
        words = {word for link in links for word in re.findall(r"\w+", link.text)}
        for word in words:
            if search_words(word):
                assert cooperation.slug in found(word), (cooperation.slug, word)
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("mobilte", "mobilité"),
        ("agriculure", "agriculture"),
        ("alimentation cantnes", "alimentation cantines"),
    ],
)
def test_a_typo_gets_a_suggestion_link_that_finds_records(demo, client, typed, suggested):
    response = client.get("/cooperations/", {"q": typed})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Aucune coopération ne correspond" in page
    # The templates' French typography: no-break spaces inside « » and before ?.
    assert "Vouliez-vous dire «\u00a0<a href=" in page
    assert f">{suggested}</a>\u00a0»\u00a0?" in page
    assert found(suggested)


def test_a_query_of_punctuation_finds_nothing_and_says_why(demo, client):
    response = client.get("/cooperations/", {"q": "'\"<>"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "ne contient aucun mot significatif" in page
    assert "Aucune coopération ne correspond" in page
    assert "&lt;&gt;" in page and "'\"<>" not in page


@pytest.mark.parametrize("query", ["alimentaire", "sanitaire", "volet alimentaire", "'\"<>"])
def test_the_api_and_the_feed_search_like_the_list(demo, client, query):
    committed = json.loads(RESULTS_PATH.read_text(encoding="utf-8")).get(query, [])
    response = client.get("/api/v1/cooperations", {"q": query})
    assert response.status_code == 200
    assert response.json()["count"] == len(committed)
    feed = client.get("/cooperations/flux/", {"q": query})
    assert feed.status_code == 200
    assert feed.content.decode().count("<entry>") == min(len(committed), 50)
