"""JSON of the list (same filters, paginated) and of each record."""

import pytest

from .catalogue_data import build_catalogue
from .conftest import make_cooperation


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def test_list_json_has_count_pages_and_summaries(client, catalogue):
    data = client.get("/cooperations/", {"format": "json", "thematique": "mobilites-transports"})
    data = data.json()
    assert data["count"] == 2
    assert data["page"] == 1 and data["num_pages"] == 1
    assert data["next"] is None and data["previous"] is None
    first = data["results"][0]
    assert first["slug"] == "brest-iroise"
    assert first["url"] == "http://testserver/cooperations/brest-iroise/"
    assert first["signed_on"] == "2016-01-01"
    assert first["signed_on_precision"] == "year"
    assert first["signature_display"] == "2016"
    assert first["themes"] == [{"slug": "mobilites-transports", "label": "Mobilités et transports"}]
    assert {t["code"]: t["role"] for t in first["territories"]} == {
        "242900314": "metropole",
        "242900074": "partenaire",
    }


def test_list_json_pages_keep_the_filters(client, catalogue):
    for n in range(25):
        make_cooperation(f"Action {n:02d}", metropoles=[catalogue.brest])
    data = client.get("/cooperations/", {"format": "json", "metropole": "242900314"}).json()
    assert data["count"] == 27 and data["num_pages"] == 2
    assert "metropole=242900314" in data["next"] and "page=2" in data["next"]
    second = client.get(data["next"]).json()
    assert len(second["results"]) == 7
    assert "page=1" in second["previous"]


def test_record_json_has_every_public_field(client, catalogue):
    data = client.get("/cooperations/entente-estuaire/", {"format": "json"}).json()
    assert data["name"] == "Entente touristique de l'estuaire"
    assert data["legal_form"]["slug"] == "entente"
    assert data["status"] == "terminee" and data["status_label"] == "Terminée"
    assert [f["slug"] for f in data["success_factors"]] == ["gouvernance", "financements"]
    assert data["success_factors"][0]["text"] == "Illustration de gouvernance"
    assert data["signature_display"] == "10/07/2019"
    assert data["plus_values"] == ["Mutualisation"]
    for key in (
        "description",
        "governance",
        "funding",
        "staffing",
        "sources",
        "provenance",
        "last_verified_on",
        "starts_on",
        "ends_on",
        "updated_at",
    ):
        assert key in data


def test_record_json_of_unpublished_record_is_404(client, catalogue):
    assert client.get("/cooperations/brouillon/", {"format": "json"}).status_code == 404


def test_list_json_never_includes_unpublished(client, catalogue):
    data = client.get("/cooperations/", {"format": "json", "q": "brouillon"}).json()
    assert data["count"] == 0 and data["results"] == []
