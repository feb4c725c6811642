"""Each filter alone and combined, and facet counts against hand counts, through the list URL."""

import pytest

from .catalogue_data import build_catalogue
from .conftest import make_cooperation


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def slugs(client, **params) -> set[str]:
    response = client.get("/cooperations/", {**params, "format": "json"})
    assert response.status_code == 200
    return {row["slug"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"metropole": "242900314"}, {"brest-iroise", "pole-loire-bretagne"}),
        ({"metropole": "200023414"}, {"covoiturage-rouennais"}),
        ({"thematique": "mobilites-transports"}, {"brest-iroise", "covoiturage-rouennais"}),
        ({"facteur": "gouvernance"}, {"brest-iroise", "entente-estuaire"}),
        ({"forme": "entente"}, {"entente-estuaire"}),
        ({"statut": "active"}, {"brest-iroise", "pole-loire-bretagne"}),
        ({"statut": "en-projet"}, {"covoiturage-rouennais"}),
        ({"nature_partenaire": "PETR"}, {"pole-loire-bretagne"}),
        ({"nature_partenaire": "CC"}, {"brest-iroise"}),
        ({"departement": "29"}, {"brest-iroise", "pole-loire-bretagne"}),
        ({"departement": "44"}, {"pole-loire-bretagne", "entente-estuaire"}),
        ({"region": "53"}, {"brest-iroise", "pole-loire-bretagne"}),
        ({"annee_min": "2013"}, {"brest-iroise", "entente-estuaire"}),
        ({"annee_max": "2016"}, {"brest-iroise", "pole-loire-bretagne"}),
        ({"plus_value": "echelles"}, {"brest-iroise"}),
        ({"plus_value": "mutualisation"}, {"entente-estuaire"}),
        ({"plus_value": "filieres"}, set()),
        ({"q": "mobilite"}, {"brest-iroise", "covoiturage-rouennais"}),
    ],
)
def test_each_filter_alone(client, catalogue, params, expected):
    assert slugs(client, **params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"metropole": "242900314", "thematique": "mobilites-transports"}, {"brest-iroise"}),
        ({"metropole": "244400404", "facteur": "gouvernance"}, {"entente-estuaire"}),
        ({"departement": "44", "statut": "active"}, {"pole-loire-bretagne"}),
        ({"annee_min": "2013", "annee_max": "2016"}, {"brest-iroise"}),
        ({"q": "brest", "forme": "pole-metropolitain"}, {"pole-loire-bretagne"}),
        ({"metropole": "200023414", "statut": "active"}, set()),
    ],
)
def test_filters_combine_with_and(client, catalogue, params, expected):
    assert slugs(client, **params) == expected


def test_filter_by_metropole_keeps_multi_metropole_cooperations_once(client, catalogue):
    response = client.get("/cooperations/", {"metropole": "244400404", "format": "json"})
    assert [row["slug"] for row in response.json()["results"]] == [
        "entente-estuaire",
        "pole-loire-bretagne",
    ]


def facet_counts(response, name) -> dict[str, int]:
    facet = next(f for f in response.context["facets"] if f.name == name)
    return {option.value: option.count for option in facet.options if option.count}


def test_facet_counts_match_a_hand_count_without_filters(client, catalogue):
    response = client.get("/cooperations/")
    assert facet_counts(response, "metropole") == {"242900314": 2, "244400404": 2, "200023414": 1}
    assert facet_counts(response, "thematique") == {
        "mobilites-transports": 2,
        "attractivite-rayonnement": 1,
        "tourisme-loisirs": 1,
    }
    assert facet_counts(response, "facteur") == {"gouvernance": 2, "vision": 1, "financements": 1}
    assert facet_counts(response, "statut") == {"active": 2, "terminee": 1, "en-projet": 1}
    assert facet_counts(response, "nature_partenaire") == {"CC": 1, "CA": 1, "PETR": 1}
    assert facet_counts(response, "departement") == {"29": 2, "44": 2, "76": 1}
    assert facet_counts(response, "region") == {"53": 2, "52": 2, "28": 1}
    assert facet_counts(response, "plus_value") == {"echelles": 1, "mutualisation": 1}


def test_facet_counts_respect_the_other_filters_but_not_their_own(client, catalogue):
    response = client.get("/cooperations/", {"metropole": "242900314"})
    # Its own facet ignores the métropole filter, so that another métropole can be chosen.
    assert facet_counts(response, "metropole") == {"242900314": 2, "244400404": 2, "200023414": 1}
    # Other facets count only Brest's two cooperations.
    assert facet_counts(response, "thematique") == {
        "mobilites-transports": 1,
        "attractivite-rayonnement": 1,
    }
    assert facet_counts(response, "statut") == {"active": 2}
    assert facet_counts(response, "forme") == {"contrat-de-reciprocite": 1, "pole-metropolitain": 1}


def test_zero_count_values_are_disabled_and_long_lists_hide_them(client, catalogue):
    response = client.get("/cooperations/", {"metropole": "200023414"})
    html = response.content.decode()
    assert '<option value="tourisme-loisirs" disabled>' in html
    facet = next(f for f in response.context["facets"] if f.name == "departement")
    assert [o.value for o in facet.visible_options] == ["76"]


def test_unknown_status_is_a_value_of_the_status_filter(client, catalogue):
    make_cooperation("Coopération au statut inconnu", metropoles=[catalogue.brest])
    known = slugs(client, statut="active") | slugs(client, statut="en-projet")
    known |= slugs(client, statut="terminee") | slugs(client, statut="abandonnee")
    unknown = slugs(client, statut="inconnu")
    assert unknown and not unknown & known
    assert unknown | known == slugs(client)
    response = client.get("/cooperations/", {"statut": "inconnu"})
    assert response.status_code == 200
    assert facet_counts(response, "statut")["inconnu"] == len(unknown)
    assert '<option value="inconnu" selected>Non renseigné (' in response.content.decode()
