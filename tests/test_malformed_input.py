"""The gate in front of every view (catalogue/malformed_input.py): a NUL byte never reaches a
query, whatever part of the request carries it, on either engine."""

import pytest

from .catalogue_data import build_catalogue


@pytest.fixture
def catalogue(db):
    return build_catalogue()


# Each was a 500 on PostgreSQL, which refuses NUL in text.
@pytest.mark.parametrize(
    "url",
    [
        "/territoires/epci/%00/",
        "/territoires/departement/2%009/flux/",
        "/cooperations/a%00b/",
        "/thematiques/%00/",
        "/admin/cooperations/cooperation/%00/change/",
    ],
)
def test_a_path_holding_nul_is_a_french_404_before_any_query(
    client, catalogue, url, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 404
    assert "La page que vous cherchez est introuvable" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/cooperations/%00", "/api/v1/territoires/departement/%00"])
def test_an_api_path_holding_nul_is_a_json_404(client, catalogue, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    # As the API's own answers: its French message is UTF-8, and says so.
    assert response["Content-Type"] == "application/json; charset=utf-8"


def test_nul_in_the_query_reaches_the_views_as_the_replacement_character(client, catalogue):
    response = client.get("/cooperations/?departement=%00&region=5%003")
    assert response.status_code == 200
    page = response.content.decode()
    assert "« Département des participants » avec la valeur « \ufffd »" in page
    assert "« Région des participants » avec la valeur « 5\ufffd3 »" in page


def test_comparing_a_nul_slug_is_refused_without_error(client, catalogue):
    response = client.get("/comparer/?c=brest-iroise&c=%00")
    assert response.status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        "/admin/cooperations/cooperation/?status__exact=%00",
        "/admin/cooperations/cooperation/?q=%00",
        "/admin/cooperations/territory/?kind__exact=%00",
        "/admin/cooperations/territory/?q=a%00b",
    ],
)
def test_admin_change_lists_take_nul_as_a_value_that_matches_nothing(admin_client, catalogue, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_a_header_holding_nul_is_a_bad_request(client, catalogue):
    response = client.get("/cooperations/", headers={"cookie": "sessionid=abcdefgh\x00ijkl"})
    assert response.status_code == 400
    assert "La demande reçue par le catalogue est mal formée" in response.content.decode()
