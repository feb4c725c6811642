"""« Ma commune, mon territoire »: search by name, then the cooperations of the territory and of
those containing it."""

import re

import markupsafe
import pytest

from cooperations.models import Participation, Territory
from cooperations.my_territory import find_territories
from cooperations.text import fold

from .conftest import make_cooperation, make_metropole, make_territory


@pytest.fixture
def area(db):
    """Plouzané in Brest Métropole (Finistère, Bretagne), its neighbours: the CC du Pays
    d'Iroise (same département) and Saint-Brieuc (another département), with cooperations."""
    bretagne = make_territory(Territory.Kind.REGION, "Bretagne", code="53")
    finistere = make_territory(Territory.Kind.DEPARTEMENT, "Finistère", code="29", region=bretagne)
    cotes = make_territory(Territory.Kind.DEPARTEMENT, "Côtes-d'Armor", code="22", region=bretagne)
    brest = make_metropole(
        "Brest Métropole", code="242900314", departement=finistere, region=bretagne
    )
    nantes = make_metropole("Nantes Métropole", code="244400404")
    iroise = make_territory(
        Territory.Kind.CC, "CC du Pays d'Iroise", code="242900074", departement=finistere,
        region=bretagne,
    )  # fmt: skip
    plouzane = make_territory(
        Territory.Kind.COMMUNE, "Plouzané", code="29212", epci=brest, departement=finistere,
        region=bretagne,
    )  # fmt: skip
    make_territory(Territory.Kind.COMMUNE, "Brest", code="29019", epci=brest,
                   departement=finistere, region=bretagne)  # fmt: skip
    saint_brieuc = make_territory(
        Territory.Kind.COMMUNE, "Saint-Brieuc", code="22278", departement=cotes, region=bretagne
    )
    return {
        "plouzane": make_cooperation("Port de Plouzané", metropoles=[brest], partners=[plouzane]),
        "brest": make_cooperation("Réseau de la métropole brestoise", metropoles=[brest]),
        "finistere": make_cooperation(
            "Schéma finistérien", metropoles=[nantes], partners=[finistere]
        ),
        "bretagne": make_cooperation("Accord breton", metropoles=[nantes], partners=[bretagne]),
        "iroise": make_cooperation("Iroise seule", metropoles=[nantes], partners=[iroise]),
        "cotes": make_cooperation("Côtes seules", metropoles=[nantes], partners=[cotes]),
        "saint_brieuc": make_cooperation(
            "Baie de Saint-Brieuc", metropoles=[nantes], partners=[saint_brieuc]
        ),
        "draft": make_cooperation(
            "Brouillon de Plouzané", metropoles=[brest], partners=[plouzane], is_published=False
        ),
    }


def test_commune_finds_its_epci_departement_and_region_cooperations_not_its_neighbours(
    client, area
):
    response = client.get("/mon-territoire/", {"territoire": "commune:29212"})
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [g.heading for g in groups] == [
        "Votre commune, Plouzané",
        "Votre intercommunalité, Brest Métropole",
        "Votre département, Finistère",
        "Votre région, Bretagne",
    ]
    found = [[p.cooperation.name for p in g.participations] for g in groups]
    assert found == [
        ["Port de Plouzané"],
        ["Port de Plouzané", "Réseau de la métropole brestoise"],
        ["Schéma finistérien"],
        ["Accord breton"],
    ]
    assert [p.role for p in groups[0].participations] == [Participation.Role.PARTNER]
    html = response.content.decode()
    assert "Comme partenaire" in html and "Comme métropole" in html
    for elsewhere in ("Iroise seule", "Côtes seules", "Baie de Saint-Brieuc", "Brouillon"):
        assert elsewhere not in html


def test_region_and_epci_list_their_own_chain(client, area):
    response = client.get("/mon-territoire/", {"territoire": "region:53"})
    assert response.status_code == 200
    assert [g.heading for g in response.context["groups"]] == ["Votre région, Bretagne"]
    response = client.get("/mon-territoire/", {"territoire": "epci:242900074"})
    assert response.status_code == 200
    assert [g.heading for g in response.context["groups"]][:2] == [
        "Votre intercommunalité, CC du Pays d'Iroise",
        "Votre département, Finistère",
    ]


@pytest.mark.parametrize("typed", ["plouzane", "PLOUZANÉ", "Plouza", " plouzané "])
def test_name_search_ignores_accents_case_and_takes_a_beginning(area, typed):
    found = find_territories(typed)
    # Plouzané first; with the official list loaded by an earlier test, Locmaria-Plouzané too.
    assert [t.code for t in found][:1] == ["29212"]
    assert all("plouza" in fold(t.name) for t in found)


def test_name_search_finds_a_word_inside_the_name_and_kinds_beyond_communes(area):
    assert {t.code for t in find_territories("cotes d'armor")} == {"22"}
    assert {t.code for t in find_territories("iroise")} == {"242900074"}
    # The exact name first.
    assert [t.code for t in find_territories("brest")][:2] == ["29019", "242900314"]


@pytest.mark.parametrize("typed", ["", "b", " - ", "x" * 500])
def test_too_short_or_odd_names_find_nothing_without_error(client, area, typed):
    assert len(find_territories(typed)) == 0
    response = client.get("/mon-territoire/", {"nom": typed})
    assert response.status_code == 200


def test_form_without_javascript_goes_straight_to_the_only_match(client, area):
    # A name no official commune bears (99 is no département), so that it stays the only match
    # whether or not an earlier test loaded the official list.
    brest = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    make_territory(Territory.Kind.COMMUNE, "Kerfictif-sur-Essai", code="99001", epci=brest)
    response = client.get("/mon-territoire/", {"nom": "Kerfictif sur essai"})
    assert response.status_code == 302
    assert response["Location"] == "/mon-territoire/?territoire=commune%3A99001"
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert "Réseau de la métropole brestoise" in response.content.decode()


def test_form_without_javascript_lists_several_matches_to_choose_from(client, area):
    response = client.get("/mon-territoire/", {"nom": "brest"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Territoires dont le nom correspond à «\u00a0brest\u00a0»" in html
    assert 'href="?territoire=commune%3A29019"' in html
    assert 'href="?territoire=epci%3A242900314"' in html


def test_unknown_name_or_territory_says_so(client, area):
    response = client.get("/mon-territoire/", {"nom": "Zzyzx"})
    assert response.status_code == 200
    assert "Aucun territoire ne porte ce nom" in response.content.decode()
    for key in ("commune:00000", "pays:29", "commune", "\x00:29", "commune:29\x00", "region:5 3"):
        response = client.get("/mon-territoire/", {"territoire": key})
        assert response.status_code == 200
        assert "est inconnu : cherchez-le par son nom" in response.content.decode()


def test_suggestions_answer_name_kind_code_and_departement(client, area):
    response = client.get("/mon-territoire/suggestions/", {"q": "plouz"})
    assert response.status_code == 200
    assert response.json()["results"][:1] == [
        {
            "name": "Plouzané",
            "kind": "Commune",
            "code": "29212",
            "departement": "Finistère",
            "value": "commune:29212",
            "url": "/mon-territoire/?territoire=commune%3A29212",
        }
    ]
    assert client.get("/mon-territoire/suggestions/", {"q": "p"}).json() == {"results": []}


def test_suggestions_stop_at_ten(client, db):
    for n in range(12):
        make_territory(Territory.Kind.COMMUNE, f"Lanvéoc {n}", code=f"9Z{n:03d}")
    response = client.get("/mon-territoire/suggestions/", {"q": "lanveoc"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 10


def test_home_has_the_territory_search_form(client, db):
    html = client.get("/").content.decode()
    assert 'action="/mon-territoire/"' in html
    assert 'role="combobox"' in html and 'aria-controls="accueil-territoire-suggestions"' in html
    assert "js/territory-search.js" in html


def test_list_page_has_the_territory_search_form_with_its_own_ids(client, cooperation):
    response = client.get("/cooperations/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/mon-territoire/"' in html
    assert 'id="liste-territoire-nom" name="nom"' in html
    assert 'aria-controls="liste-territoire-suggestions"' in html
    assert "js/territory-search.js" in html
    # The filters' own search stays: two forms, two distinct fields.
    assert 'id="filtre-q"' in html
    assert cooperation.name in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_each_group_shows_its_first_names_in_french_order_and_counts_them_all(
    client, area, monkeypatch
):
    monkeypatch.setattr("cooperations.my_territory.PER_GROUP", 2)
    brest = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    for name in ("Écoles du Ponant", "Zones d'activité", "entente des îles"):
        make_cooperation(name, metropoles=[brest])
    response = client.get("/mon-territoire/", {"territoire": "commune:29212"})
    epci = response.context["groups"][1]
    expected = sorted(
        ["Port de Plouzané", "Réseau de la métropole brestoise", "Écoles du Ponant",
         "Zones d'activité", "entente des îles"],
        key=fold,
    )  # fmt: skip
    assert [p.cooperation.name for p in epci.participations] == expected[:2]
    assert {p.role for p in epci.participations} == {Participation.Role.METROPOLE}
    assert epci.total == 5  # the draft is not counted
    assert "Voir les 5 coopérations de Brest Métropole" in response.content.decode()


def test_the_typed_name_comes_back_escaped_in_the_form(client, area):
    typed = 'Brest"><script>x</script>'
    html = client.get("/mon-territoire/", {"nom": typed}).content.decode()
    assert "<script>x</script>" not in html
    assert f'name="nom" value="{markupsafe.escape(typed)}"' in html


def database_matches(typed: str, limit: int) -> list[str]:
    """The rule of the name search as one plain ORM query: a word of the folded name starts
    with the folded text; the exact name, then names starting with it, then by population,
    then in French name order."""
    from django.db.models import Case, F, IntegerField, Q, Value, When

    from cooperations.collation import FrenchOrder
    from cooperations.my_territory import SEARCHABLE_KINDS

    folded = fold(typed)
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
        .order_by("rank", F("population").desc(nulls_last=True), FrenchOrder("name"), "pk")
        .values_list("code", flat=True)[:limit]
    )


@pytest.mark.parametrize(
    "typed", ["saint", "Saint-É", "brest", "sur mer", "val", "ile", "pays d", "bretagne", "zz"]
)
def test_name_search_finds_what_the_database_query_finds(official_territories, db, typed):
    for limit in (10, 30, 5000):
        assert [t.code for t in find_territories(typed, limit)] == database_matches(typed, limit)


def test_name_search_sees_a_territory_added_or_renamed(official_territories, db):
    assert find_territories("kerfictif") == []
    added = make_territory(Territory.Kind.COMMUNE, "Kerfictif", code="99002")
    assert [t.code for t in find_territories("kerfictif")] == ["99002"]
    # A rename written behind the models' back shows once the catalogue's version moves.
    Territory.objects.filter(pk=added.pk).update(search_name="kerautre")
    from cooperations.models import ReferenceEdit

    ReferenceEdit.record("Territoire renommé")
    assert find_territories("kerfictif") == []
    assert [t.code for t in find_territories("kerautre")] == ["99002"]


def test_names_are_not_read_again_after_a_cooperation_is_written(official_territories, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    brest = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    find_territories("brest")
    make_cooperation("Écrite après la recherche", metropoles=[brest])
    with CaptureQueriesContext(connection) as queries:
        assert [t.code for t in find_territories("brest")][:1] == ["29019"]
    # The version, then the territories found: the names are the same.
    assert len(queries.captured_queries) == 2
