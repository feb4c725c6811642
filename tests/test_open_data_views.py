"""The « Données » page, the served files and the DCAT description."""

import io
import zipfile

import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF

from cooperations.publishing import open_data


@pytest.fixture(autouse=True)
def open_data_root(settings, tmp_path):
    settings.OPEN_DATA_ROOT = tmp_path / "open-data"


def test_page_documents_every_column_of_every_file(
    client, cooperation, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = client.get("/donnees/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Licence Ouverte / Open Licence version 2.0" in html
    for resource in open_data.RESOURCES:
        assert f'href="/donnees/fichiers/{resource.path}"' in html
        for column in resource.columns:
            assert f"<code>{column.name}</code>" in html
    assert "/donnees/fichiers/catalogue-cooperations-interterritoriales.zip" in html


def test_site_map_links_to_the_data_page(client, db):
    assert 'href="/donnees/"' in client.get("/plan-du-site/").content.decode()


def test_zip_is_served_with_every_file(client, cooperation):
    response = client.get(f"/donnees/fichiers/{open_data.ZIP_NAME}")
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        csv_text = archive.read("cooperations.csv").decode("utf-8")
    assert cooperation.slug in csv_text
    assert "http://testserver/cooperations/" in csv_text


def test_single_csv_and_unknown_file(client, cooperation):
    response = client.get("/donnees/fichiers/participations.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).startswith(b"cooperation,territoire,role")
    assert client.get("/donnees/fichiers/..%2Fsettings.py").status_code == 404
    assert client.get("/donnees/fichiers/autre.csv").status_code == 404


def test_table_schema_is_served_with_data_gouv_metadata(client, db):
    schema = client.get("/donnees/schemas/participations.json").json()
    assert schema["version"] == open_data.SCHEMA_VERSION
    assert schema["primaryKey"] == ["cooperation", "territoire"]
    assert {"name", "title", "licenses", "fields", "$schema"} <= set(schema)
    assert client.get("/donnees/schemas/inconnu.json").status_code == 404


# Committed data, as in production: on PostgreSQL, the files' streamed answers inside the test's
# own transaction left it unusable for the next request (not understood yet; see the stop note).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("extension", "syntax"), [("jsonld", "json-ld"), ("ttl", "turtle")])
def test_dcat_has_the_dcat_ap_mandatory_properties_and_resolving_links(
    client, cooperation, extension, syntax
):
    response = client.get(f"/donnees/catalogue.{extension}")
    assert response.status_code == 200
    graph = Graph().parse(data=response.content.decode(), format=syntax)
    [catalogue] = graph.subjects(RDF.type, DCAT.Catalog)
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.dataset):
        assert graph.value(catalogue, prop) is not None, prop
    [dataset] = graph.subjects(RDF.type, DCAT.Dataset)
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.identifier, DCTERMS.publisher,
                 DCAT.contactPoint, DCTERMS.modified, DCTERMS.license):  # fmt: skip
        assert graph.value(dataset, prop) is not None, prop
    distributions = list(graph.objects(dataset, DCAT.distribution))
    assert len(distributions) == len(open_data.RESOURCES) + 2
    for distribution in distributions:
        for prop in (DCAT.accessURL, DCAT.downloadURL, DCAT.mediaType, DCTERMS.license,
                     DCTERMS.conformsTo):  # fmt: skip
            assert graph.value(distribution, prop) is not None, (distribution, prop)
        url = str(graph.value(distribution, DCAT.downloadURL))
        assert url.startswith("http://testserver/")
        served = client.get(url.removeprefix("http://testserver"))
        assert served.status_code == 200, url
        served.close()
        schema = str(graph.value(distribution, DCTERMS.conformsTo))
        if schema.startswith("http://testserver/"):
            served = client.get(schema.removeprefix("http://testserver"))
            assert served.status_code == 200, schema
            served.close()
