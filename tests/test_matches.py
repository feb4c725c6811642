"""Where a search matched: the extract of each result row, its field and its marked words."""

import re

import pytest

from cooperations.derived import refresh_derived_text
from cooperations.matches import best_match, extract
from cooperations.models import Cooperation, CooperationFactor, CooperationPlusValue
from cooperations.search import query_terms, word_families

from .conftest import make_cooperation


def terms(query: str) -> list[list[str]]:
    return query_terms(query, word_families(["alimentaire alimentation"]))


def marked(pieces) -> list[str]:
    return [text for text, is_marked in pieces if is_marked]


def test_extract_marks_every_form_the_search_matches():
    text = "Les cantines servent une alimentation locale."
    count, pieces = extract(text, terms("cantine"))
    assert count == 1
    assert marked(pieces) == ["cantines"]
    assert "".join(piece for piece, _marked in pieces) == text


def test_extract_marks_the_word_family_of_a_query_word():
    _count, pieces = extract("Un projet d'alimentation durable.", terms("alimentaire"))
    assert marked(pieces) == ["alimentation"]


def test_extract_is_cut_around_the_first_match_with_ellipses():
    text = " ".join(f"mot{i}" for i in range(60)) + " covoiturage " + "fin " * 30
    _count, pieces = extract(text, terms("covoiturage"))
    shown = "".join(text for text, _marked in pieces)
    assert shown.startswith("… mot54 ")
    assert shown.endswith(" …")
    assert len(re.findall(r"\w+", shown)) == 20


def test_no_match_gives_no_extract():
    assert extract("Un texte sans rapport.", terms("cantine")) == (0, ())


def test_the_field_holding_most_query_words_is_chosen_first_on_a_tie():
    fields = [
        ("Résumé", "Un projet sur les cantines."),
        ("Description", "Les cantines et la restauration collective."),
        ("Gouvernance", "La restauration des cantines."),
    ]
    match = best_match("Pacte", "", fields, terms("cantines restauration"))
    assert match.field == "Description"
    assert match.name is None


def test_a_name_match_is_marked_in_the_name():
    match = best_match("Pacte des cantines", "", [], terms("cantine"))
    assert marked(match.name) == ["cantines"]
    assert match.extract == ()


def test_the_summary_shown_is_marked_and_not_repeated_as_an_extract():
    summary = "Les cantines de Brest…"
    fields = [("Résumé", "Les cantines de Brest et de Morlaix."), ("Description", "Les cantines.")]
    match = best_match("Pacte", summary, fields, terms("cantine"))
    assert marked(match.summary) == ["cantines"]
    assert match.extract == ()
    # A field holding more of the query's words than the summary shown still gets its extract.
    match = best_match("Pacte", summary, fields[1:], terms("cantine Morlaix"))
    assert match.extract == ()
    fields.append(("Gouvernance", "Les cantines de Morlaix."))
    match = best_match("Pacte", summary, fields, terms("cantine Morlaix"))
    assert match.field == "Résumé"
    assert marked(match.extract) == ["cantines", "Morlaix"]


@pytest.fixture
def school_meals(db, factor):
    cooperation = make_cooperation(
        "Pacte de Brest", slug="pacte-brest", summary="Un pacte pour les cantines."
    )
    CooperationFactor.objects.create(
        cooperation=cooperation,
        factor=factor,
        text="Volet <script>alert(1)</script> : des cantines approvisionnées localement.",
    )
    CooperationPlusValue.objects.create(
        cooperation=cooperation, plus_value="filieres", text="Une restauration collective locale."
    )
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    return cooperation


def result_row(content: str, slug: str) -> str:
    start = content.index(f'href="/cooperations/{slug}/"')
    return content[start : content.index("</li>", start)]


def test_a_result_row_shows_the_extract_with_its_field_and_marked_word(client, school_meals):
    # The factor text holds both words, the summary one.
    response = client.get("/cooperations/", {"q": "cantine locale"})
    assert response.status_code == 200
    row = result_row(response.content.decode(), "pacte-brest")
    assert "dans\u00a0: Facteur «\u00a0La mise en place d&#39;espaces de gouvernance" in row
    assert "<mark>cantines</mark> approvisionnées" in row
    # The summary the row shows has its own marks, and is not repeated as the extract.
    assert "Un pacte pour les <mark>cantines</mark>." in row
    assert row.count("dans\u00a0:") == 1


def test_html_in_a_record_text_stays_escaped_in_the_extract(client, school_meals):
    content = client.get("/cooperations/", {"q": "cantine locale"}).content.decode()
    row = result_row(content, "pacte-brest")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row
    assert "<script>alert" not in content


def test_each_query_shows_its_own_extract_of_the_same_row(client, school_meals):
    """The extract is part of the row's fragment key: a row kept for one query is not served
    for another."""
    first = result_row(
        client.get("/cooperations/?q=cantine+locale").content.decode(), "pacte-brest"
    )
    second = result_row(
        client.get("/cooperations/?q=restauration+collective").content.decode(), "pacte-brest"
    )
    assert "<mark>cantines</mark> approvisionnées <mark>localement</mark>" in first
    assert "dans\u00a0: Plus-value «\u00a0Filières\u00a0»" in second
    assert "<mark>restauration</mark>" in second
    assert "approvisionnées" not in second


def test_a_list_without_search_shows_no_extract(client, school_meals):
    response = client.get("/cooperations/")
    assert response.status_code == 200
    assert "cat-match" not in result_row(response.content.decode(), "pacte-brest")
