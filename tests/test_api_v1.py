"""The versioned API at /api/v1/: same answers as the pages' JSON and facets, French errors,
CORS on /api/ only, and its French reference page."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError

from cooperations.models import Cooperation, Territory
from cooperations.publishing.api_v1 import CooperationList

from .catalogue_data import build_catalogue
from .conftest import make_cooperation, make_territory


@pytest.fixture
def catalogue(db):
    return build_catalogue()


FILTER_COMBINATIONS = [
    {},
    {"thematique": "mobilites-transports"},
    {"metropole": "242900314", "tri": "recent"},
    {"q": "brest", "statut": "active"},
    {"departement": "44", "annee_min": "2010", "annee_max": "2020"},
    {"region": "53", "plus_value": "echelles"},
    {"nature_partenaire": "PETR"},
    {"forme": "entente", "facteur": "gouvernance"},
    # Values naming nothing: ignored, with the same notices.
    {"thematique": "inconnue", "metropole": "000000000"},
    {"page": "9"},
]


@pytest.mark.parametrize("params", FILTER_COMBINATIONS)
def test_list_gives_the_records_counts_and_notices_of_the_list_json(client, catalogue, params):
    page = client.get("/cooperations/", {**params, "format": "json"}).json()
    response = client.get("/api/v1/cooperations", params)
    assert response.status_code == 200
    data = response.json()
    for key in ("count", "page", "num_pages", "page_size", "notices", "results"):
        assert data[key] == page[key], key
    # The list is rendered without ninja's validation: what it sends is what its published
    # schema gives back, no field missing, extra or of another type.
    assert CooperationList.model_validate(data).model_dump(mode="json") == data


def test_list_pages_link_to_the_api_with_their_filters(client, catalogue):
    for n in range(25):
        make_cooperation(f"Action {n:02d}", metropoles=[catalogue.brest])
    data = client.get("/api/v1/cooperations", {"metropole": "242900314"}).json()
    assert data["count"] == 27 and data["num_pages"] == 2
    assert data["next"].startswith("http://testserver/api/v1/cooperations?")
    assert "metropole=242900314" in data["next"] and "page=2" in data["next"]
    second = client.get(data["next"]).json()
    assert len(second["results"]) == 7 and "page=1" in second["previous"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"thematique": "mobilites-transports", "metropole": "242900314"},
        {"q": "estuaire", "departement": "44"},
        {"nature_partenaire": "CC", "plus_value": "echelles"},
    ],
)
def test_facets_are_the_counts_the_list_page_shows(client, catalogue, params):
    data = client.get("/api/v1/cooperations", params).json()
    html = client.get("/cooperations/", params).context["facets"]
    expected = {f.name: {o.value: (o.count, o.selected) for o in f.options} for f in html}
    got = {
        f["name"]: {o["value"]: (o["count"], o["selected"]) for o in f["options"]}
        for f in data["facets"]
    }
    assert got == expected
    assert [f["name"] for f in data["facets"]] == [f.name for f in html]


def test_facets_count_what_each_value_would_give(client, catalogue):
    data = client.get("/api/v1/cooperations", {"thematique": "mobilites-transports"}).json()
    facets = {f["name"]: f for f in data["facets"]}
    metropoles = {o["value"]: o["count"] for o in facets["metropole"]["options"]}
    assert metropoles["242900314"] == 1 and metropoles["244400404"] == 0
    themes = {o["value"]: o for o in facets["thematique"]["options"]}
    # The theme facet ignores its own filter: every theme counts among all published records.
    assert themes["mobilites-transports"]["count"] == 2
    assert themes["mobilites-transports"]["selected"] is True
    assert themes["tourisme-loisirs"]["count"] == 1


def test_record_is_the_record_json_of_the_page(client, catalogue):
    page = client.get("/cooperations/entente-estuaire/", {"format": "json"}).json()
    data = client.get("/api/v1/cooperations/entente-estuaire").json()
    assert data == page


@pytest.mark.parametrize("slug", ["brouillon", "nexiste-pas"])
def test_unknown_or_unpublished_record_is_a_french_json_404(client, catalogue, slug):
    response = client.get(f"/api/v1/cooperations/{slug}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "error": {
            "status": 404,
            "message": f"Aucune coopération publiée n'a l'identifiant « {slug} ».",
        }
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "paramètre « page » : un nombre entier est attendu"),
        ({"page": "0"}, "paramètre « page » : la valeur doit être au moins 1"),
        ({"annee_min": "1800"}, "paramètre « annee_min » : la valeur doit être au moins 1950"),
        ({"tri": "hasard"}, "paramètre « tri » : valeurs possibles : 'pertinence', 'nom'"),
        ({"statut": "inconnu"}, "paramètre « statut » : valeurs possibles : 'en-projet'"),
        ({"q": "x" * 201}, "paramètre « q » : au plus 200 caractères"),
    ],
)
def test_bad_parameters_are_a_french_json_400(client, catalogue, params, message):
    response = client.get("/api/v1/cooperations", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["message"].startswith("Requête incorrecte : ")
    assert message in error["message"]


def test_unknown_api_address_is_a_json_404(client, db):
    for url in ("/api/v1/nulle-part", "/api/v2/cooperations", "/api/inconnue/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["status"] == 404


def test_territories_search_by_name_and_kind(client, catalogue):
    # With the kind: the official list, which an earlier test may have loaded, has a commune
    # Brest and more.
    data = client.get("/api/v1/territoires", {"q": "brest", "nature": "METRO"}).json()
    assert [t["name"] for t in data["results"]] == ["Brest Métropole"]
    brest = data["results"][0]
    assert brest["kind"] == "METRO" and brest["code"] == "242900314"
    assert brest["url"] == "http://testserver/territoires/epci/242900314/"
    assert brest["api_url"] == "http://testserver/api/v1/territoires/epci/242900314"
    for name in ("Finistère", "Loire-Atlantique", "Seine-Maritime"):
        # By name too: the 101 official départements would fill more than the first page.
        data = client.get("/api/v1/territoires", {"nature": "DEP", "q": name}).json()
        assert name in [t["name"] for t in data["results"]]
        assert all(t["kind"] == "DEP" for t in data["results"])
    # Accents and case do not matter; any word of the name may start the match.
    data = client.get("/api/v1/territoires", {"q": "IROISE"}).json()
    assert [t["code"] for t in data["results"]] == ["242900074"]


def test_territories_are_paginated_with_a_notice_past_the_end(client, catalogue):
    for n in range(55):
        make_territory(Territory.Kind.AUTRE, f"Agence numéro {n:02d}")
    data = client.get("/api/v1/territoires", {"nature": "AUTRE", "page": "7"}).json()
    assert data["count"] == 55 and data["num_pages"] == 2 and data["page"] == 2
    assert len(data["results"]) == 5
    assert data["notices"] == ["La page 7 n'existe pas : dernière page (2) affichée."]
    assert "nature=AUTRE" in data["previous"]


def test_territory_has_its_counts_and_links(client, catalogue):
    data = client.get("/api/v1/territoires/epci/242900314").json()
    assert data["name"] == "Brest Métropole"
    # Two published cooperations as métropole; the draft does not count.
    assert data["cooperation_count"] == 2
    assert data["roles"] == [{"role": "metropole", "label": "Métropole", "count": 2}]
    assert data["departement"] == {"code": "29", "name": "Finistère"}
    assert data["region"] == {"code": "53", "name": "Bretagne"}
    listed = client.get(data["cooperations_api_url"]).json()
    assert listed["count"] == 2
    departement = client.get("/api/v1/territoires/departement/29").json()
    assert departement["cooperations_api_url"].endswith("/api/v1/cooperations?departement=29")
    assert departement["cooperation_count"] == 0


def test_territory_without_code_is_found_by_id(client, catalogue):
    data = client.get(f"/api/v1/territoires/autre/{catalogue.petr.pk}").json()
    assert data["name"] == "PETR du Pays de Retz" and data["code"] is None
    assert data["cooperations_api_url"] is None
    assert data["roles"] == [{"role": "partenaire", "label": "Partenaire", "count": 1}]
    assert data["api_url"].endswith(f"/api/v1/territoires/autre/{catalogue.petr.pk}")


def test_unknown_territory_is_a_french_404_and_an_unknown_kind_a_400(client, catalogue):
    response = client.get("/api/v1/territoires/epci/000000000")
    assert response.status_code == 404
    assert "Aucun territoire « epci/000000000 »" in response.json()["error"]["message"]
    assert client.get("/api/v1/territoires/autre/abc").status_code == 404
    response = client.get("/api/v1/territoires/planete/1")
    assert response.status_code == 400
    assert "paramètre « segment »" in response.json()["error"]["message"]


def test_vocabularies_list_every_controlled_value(client, catalogue):
    data = client.get("/api/v1/vocabulaires").json()
    assert [f["slug"] for f in data["success_factors"]] == [
        "connaissance", "vision", "gouvernance", "competences", "financements", "cadre-juridique"
    ]  # fmt: skip
    assert data["success_factors"][0]["label"] == (
        "La connaissance des dynamiques interterritoriales"
    )
    assert [p["slug"] for p in data["plus_values"]] == ["echelles", "filieres", "mutualisation"]
    assert {"value": "terminee", "label": "Terminée"} in data["statuses"]
    kinds = {k["value"]: k for k in data["territory_kinds"]}
    assert kinds["METRO"]["url_segment"] == "epci" and kinds["DEP"]["url_segment"] == "departement"
    themes = {t["slug"]: t for t in data["themes"]}
    assert themes["mobilites-transports"]["url"].endswith("/thematiques/mobilites-transports/")
    assert all(f["definition"] for f in data["legal_forms"])


def test_openapi_document_describes_every_endpoint(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["version"] == "1"
    assert set(schema["paths"]) == {
        "/api/v1/cooperations",
        "/api/v1/cooperations/{slug}",
        "/api/v1/territoires",
        "/api/v1/territoires/{segment}/{code}",
        "/api/v1/vocabulaires",
    }
    record = schema["components"]["schemas"]["CooperationSummary"]["properties"]
    assert {"enum": ["en-projet", "active", "terminee", "abandonnee"], "type": "string"} in (
        record["status"]["anyOf"]
    )
    assert {"type": "null"} in record["status"]["anyOf"]
    listing = schema["paths"]["/api/v1/cooperations"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "q", "metropole", "thematique", "facteur", "forme", "statut", "nature_partenaire",
        "departement", "region", "annee_min", "annee_max", "plus_value", "tri", "page",
        "page_size",
    }  # fmt: skip
    assert set(listing["responses"]) == {"200", "400"}


def test_cors_is_open_for_reading_on_the_api_only(client, catalogue):
    origin = {"HTTP_ORIGIN": "https://carte.example.org"}
    for url in ("/api/v1/cooperations", "/api/v1/vocabulaires", "/api/v1/openapi.json", "/api/"):
        response = client.get(url, **origin)
        assert response["Access-Control-Allow-Origin"] == "*", url
        assert "Access-Control-Allow-Credentials" not in response
    # Errors too, so that a script on another site can read the message.
    response = client.get("/api/v1/cooperations/brouillon", **origin)
    assert response["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/v1/cooperations",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        **origin,
    )
    assert preflight.status_code == 200
    assert set(preflight["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    for url in ("/cooperations/?format=json", "/cooperations/brest-iroise/?format=json", "/"):
        assert "Access-Control-Allow-Origin" not in client.get(url, **origin), url


def test_api_only_reads(client, catalogue):
    for method, url in (("post", "/api/v1/cooperations"), ("delete", "/api/v1/vocabulaires")):
        response = getattr(client, method)(url)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response.json()["error"]["message"] == (
            f"L'API se consulte seulement (GET ou HEAD) : la méthode {method.upper()} n'est "
            "pas permise."
        )
    options = client.options("/api/v1/cooperations")
    assert options.status_code == 200 and options["Allow"] == "GET, HEAD, OPTIONS"


def test_head_gives_the_headers_of_get_without_the_body(client, catalogue):
    get = client.get("/api/v1/cooperations/brest-iroise")
    head = client.head("/api/v1/cooperations/brest-iroise")
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == str(len(get.content))
    assert head["Content-Type"] == get["Content-Type"] == "application/json; charset=utf-8"
    assert client.head("/api/v1/cooperations/brouillon").status_code == 404


def test_old_json_urls_are_unchanged(client, catalogue):
    data = client.get("/cooperations/", {"format": "json"}).json()
    assert set(data) == {
        "count", "page", "num_pages", "page_size", "next", "previous", "notices", "results"
    }  # fmt: skip
    assert data["next"] is None
    record = client.get("/cooperations/brest-iroise/", {"format": "json"}).json()
    assert record["url"] == "http://testserver/cooperations/brest-iroise/"
    assert "Access-Control-Allow-Origin" not in client.get("/cooperations/?format=json")


@pytest.fixture
def page_cache(settings):
    settings.PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_api_answers_are_cached_for_anonymous_visitors(client, catalogue, page_cache):
    first = client.get("/api/v1/territoires", {"q": "brest"}).json()
    # A territory rename keeps no history, so the cached answer stays (within the delay).
    Territory.objects.filter(pk=catalogue.brest.pk).update(name="Brest renommée")
    assert client.get("/api/v1/territoires", {"q": "brest"}).json() == first
    # A change of a cooperation is recorded and shows at once.
    cooperation = Cooperation.objects.get(slug="brest-iroise")
    cooperation.name = "Nouveau nom"
    cooperation.save()
    data = client.get("/api/v1/cooperations/brest-iroise").json()
    assert data["name"] == "Nouveau nom"


def test_reference_page_describes_the_api_in_french(client, catalogue):
    response = client.get("/api/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>API de données</h1>" in html
    assert 'href="/api/v1/openapi.json"' in html
    assert "GET /api/v1/cooperations/{slug}" in html
    assert "une valeur parmi : en-projet, active, terminee, abandonnee" in html
    assert 'id="schema-CooperationRecord"' in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_site_map_links_to_the_api(client, db):
    assert 'href="/api/"' in client.get("/plan-du-site/").content.decode()


def test_no_third_party_documentation_page_is_served(client, db):
    # The French reference page is the documentation (see cooperations/publishing/api_v1.py).
    response = client.get("/api/v1/docs")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


@pytest.fixture
def outage(db, client):
    client.raise_request_exception = False
    refused = OperationalError("connection to server failed: Connection refused")
    with mock.patch.object(connections[DEFAULT_DB_ALIAS], "ensure_connection", side_effect=refused):
        yield


@pytest.mark.parametrize("cache_seconds", [0, 60])
@pytest.mark.parametrize("url", ["/api/v1/cooperations", "/api/v1/vocabulaires"])
def test_database_outage_is_a_json_503_even_for_a_browser(
    client, outage, settings, url, cache_seconds
):
    # With the page cache on, the outage is met first by its version query.
    settings.PUBLIC_CACHE_SECONDS = cache_seconds
    response = client.get(url, headers={"accept": "text/html,*/*"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "base de données" in response.json()["error"]["message"]


def test_too_many_parameters_is_a_json_400(client, db):
    query = "&".join(f"p{n}=1" for n in range(1100))
    response = client.get(f"/api/v1/cooperations?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400


# --- page_size, unknown parameters, licence and contact --------------------------------------


@pytest.fixture
def catalogue_of_130(catalogue):
    from .test_views import bulk_catalogue

    bulk_catalogue(126, catalogue)
    assert Cooperation.objects.published().count() == 130
    return catalogue


@pytest.mark.parametrize("size", [100, 7, 1])
def test_page_size_gives_1_to_100_rows_a_page(client, catalogue_of_130, size):
    response = client.get("/api/v1/cooperations", {"page_size": size})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 130
    assert data["page_size"] == size == len(data["results"])
    assert data["num_pages"] == -(-130 // size)
    assert data["notices"] == []
    assert f"page_size={size}" in data["next"]


@pytest.mark.parametrize(("size", "said"), [("101", "au plus 100"), ("0", "au moins 1")])
def test_page_size_out_of_its_bounds_is_a_french_400(client, catalogue, size, said):
    response = client.get("/api/v1/cooperations", {"page_size": size})
    assert response.status_code == 400
    assert (
        f"paramètre « page_size » : la valeur doit être {said}"
        in (response.json()["error"]["message"])
    )


def test_next_pages_keep_page_size_and_cover_the_selection_once(client, catalogue_of_130):
    seen, url = [], "/api/v1/cooperations?page_size=60"
    while url:
        data = client.get(url).json()
        seen += [row["slug"] for row in data["results"]]
        url = data["next"]
    assert len(seen) == len(set(seen)) == 130


@pytest.mark.parametrize(
    ("params", "said"),
    [({"limit": "100"}, "« limit » n'existe pas dans cette API : il a été ignoré (voir « page_"),
     ({"couleur": "bleu"}, "« couleur » n'existe pas dans cette API : il a été ignoré.")],
)  # fmt: skip
def test_unknown_parameters_are_ignored_with_a_notice(client, catalogue, params, said):
    data = client.get("/api/v1/cooperations", params).json()
    assert data["page_size"] == 20
    assert [notice for notice in data["notices"] if said in notice]
    territories = client.get("/api/v1/territoires", params).json()
    assert [notice for notice in territories["notices"] if said in notice]


def test_openapi_documents_page_size_licence_and_contact(client, db, settings):
    document = client.get("/api/v1/openapi.json").json()
    info = document["info"]
    assert info["license"]["url"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
    assert "Licence Ouverte" in info["license"]["name"] and "etalab-2.0" in info["license"]["name"]
    assert info["contact"]["email"] == settings.CONTACT_EMAIL
    [parameter] = [
        p for p in document["paths"]["/api/v1/cooperations"]["get"]["parameters"]
        if p["name"] == "page_size"
    ]  # fmt: skip
    schema = parameter["schema"]
    [bounded] = [option for option in schema["anyOf"] if option.get("type") == "integer"]
    assert (bounded["minimum"], bounded["maximum"], schema["default"]) == (1, 100, 20)
    assert "de 1 à 100" in parameter["description"]


def test_a_visitors_list_reads_no_record_when_kept_and_shows_a_write_at_once(
    client, catalogue, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = client.get("/api/v1/cooperations").json()["results"]
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/cooperations").json()["results"]
    assert again == first
    # The catalogue's version only: the items are kept with the facet index.
    assert len(queries.captured_queries) == 1
    cooperation = Cooperation.objects.get(slug=first[0]["slug"])
    cooperation.summary = "Un résumé tout neuf"
    cooperation.save()
    shown = client.get("/api/v1/cooperations").json()["results"]
    assert shown[0]["summary"] == "Un résumé tout neuf"
    # Addresses are made for the request's host, whatever host the kept items were read for.
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    other = client.get("/api/v1/cooperations", HTTP_HOST="127.0.0.1").json()["results"]
    assert other[0]["url"].startswith("http://127.0.0.1/cooperations/")
    assert shown[0]["url"].startswith("http://testserver/cooperations/")
