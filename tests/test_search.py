"""French-aware search: the same examples must pass on SQLite and on PostgreSQL."""

import pytest

from cooperations import search as search_module
from cooperations.derived import refresh_derived_text
from cooperations.models import Cooperation
from cooperations.search import document_for, search, search_words

from .catalogue_data import build_catalogue
from .conftest import make_cooperation


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def found(query: str) -> set[str]:
    return set(search(Cooperation.objects.published(), query).values_list("slug", flat=True))


def test_search_words_drop_accents_case_and_stop_words():
    assert search_words("  Contrats DE Réciprocité ") == ["contrats", "reciprocite"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mobilite", {"brest-iroise", "covoiturage-rouennais"}),
        ("Mobilités", {"brest-iroise", "covoiturage-rouennais"}),
        ("contrats de reciprocite", {"brest-iroise"}),
        ("Contrat de réciprocité", {"brest-iroise"}),
        ("brest", {"brest-iroise", "pole-loire-bretagne"}),
        ("BREST", {"brest-iroise", "pole-loire-bretagne"}),
        ("brest nantes", {"pole-loire-bretagne"}),
        ("242900074", {"brest-iroise"}),
        ("pays d'iroise", {"brest-iroise"}),
        ("estuaires", {"entente-estuaire"}),
        ("tourisme et loisirs", {"entente-estuaire"}),
        ("pole metropolitain", {"pole-loire-bretagne"}),
        ("mobil", {"brest-iroise", "covoiturage-rouennais"}),
        ("24290", {"brest-iroise", "pole-loire-bretagne"}),
    ],
)
def test_search_finds_french_variants(catalogue, query, expected):
    assert found(query) == expected


@pytest.mark.parametrize(
    "query",
    ["velo", "reciprocite nantes", "brest tourisme", "lyon", "contrats de cooperation rouen"],
)
def test_search_does_not_match_unrelated_records(catalogue, query):
    assert found(query) == set()


def test_search_never_returns_unpublished_records(catalogue):
    # The draft matches every word; only the published base keeps it out.
    assert "brouillon" not in found("brouillon mobilite brest reciprocite")
    assert found("brouillon") == set()


@pytest.mark.parametrize("query", ["de la", "'\"<>", "  -- "])
def test_search_without_a_significant_word_finds_nothing(catalogue, query):
    assert found(query) == set()


def test_search_ranks_name_matches_first(catalogue):
    ranked = list(
        search(Cooperation.objects.published(), "covoiturage")
        .order_by("-search_rank", "name")
        .values_list("slug", flat=True)
    )
    assert ranked == ["covoiturage-rouennais", "brest-iroise"]


def test_document_holds_folded_territories_codes_themes_and_form(catalogue):
    cooperation = Cooperation.objects.get(slug="brest-iroise")
    text = document_for(cooperation)
    assert " brest metropol " in text
    assert "242900074" in text
    assert "mobil transport" in text
    assert "contrat reciproc" in text
    assert text == text.lower()


def test_refresh_follows_a_renamed_territory(catalogue):
    catalogue.iroise.name = "CC Iroise Océan"
    catalogue.iroise.save()
    assert found("ocean") == set()
    refresh_derived_text()
    assert found("ocean") == {"brest-iroise"}


def test_search_ranks_accented_name_matches_first(catalogue):
    make_cooperation("Contrat de partenariat Rouen", summary="Inspiré des contrats de réciprocité.")
    make_cooperation("Contrats de réciprocité de l'estuaire")
    ranked = list(
        search(Cooperation.objects.published(), "contrats de reciprocite")
        .order_by("-search_rank", "name")
        .values_list("name", flat=True)
    )
    assert ranked[:2] == [
        "Contrat de réciprocité Brest – Iroise",
        "Contrats de réciprocité de l'estuaire",
    ]
    assert ranked[2] == "Contrat de partenariat Rouen"


def test_a_new_format_version_rewrites_every_stored_text_after_migrate(catalogue):
    from cooperations.derived import fill_missing_derived_text
    from cooperations.models import DerivedFormat

    Cooperation.objects.update(search_text=" old format ")
    DerivedFormat.objects.update_or_create(name="search_text", defaults={"version": 1})
    assert found("mobilite") == set()
    fill_missing_derived_text()
    assert found("mobilite") == {"brest-iroise", "covoiturage-rouennais"}
    assert DerivedFormat.objects.get(name="search_text").version == search_module.FORMAT_VERSION
    # Once up to date, nothing is rewritten.
    Cooperation.objects.filter(slug="brest-iroise").update(search_text=" hand written ")
    fill_missing_derived_text()
    assert Cooperation.objects.get(slug="brest-iroise").search_text == " hand written "


def test_word_families_of_a_theme_find_each_other(catalogue):
    from cooperations.search import word_families

    families = word_families(["alimentation alimentaire\nagricole agriculture"])
    terms = search_module.query_terms("Alimentaires agricoles", families)
    assert terms == [["alimentair", "aliment"], ["agricol", "agricultur"]]


def test_an_admin_edit_of_a_themes_word_families_reaches_the_next_search(
    client, admin_user, catalogue
):
    """The list's searches read the word families once per catalogue version: the admin's
    edit of a theme's families moves the version, so the next search uses them."""
    from django.urls import reverse

    from cooperations.models import Theme

    from .test_admin import change_form_data

    client.force_login(admin_user)
    assert client.get("/cooperations/", {"q": "trottinette"}).context["paginator"].count == 0
    theme = Theme.objects.get(slug="mobilites-transports")
    url = reverse("admin:cooperations_theme_change", args=[theme.pk])
    data = change_form_data(client.get(url))
    data["word_families"] = "trottinette covoiturage"
    assert client.post(url, data).status_code == 302
    response = client.get("/cooperations/", {"q": "trottinette"})
    assert {row.slug for row in response.context["cooperations"]} == found("covoiturage")
    assert response.context["paginator"].count > 0
