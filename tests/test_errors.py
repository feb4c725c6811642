"""Error answers (catalogue/errors.py): French pages in the site's layout, JSON for JSON clients,
and 503 with Retry-After, logged once without traceback, while the database is unreachable."""

import logging
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import InterfaceError, OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

from catalogue.errors import server_error

ADD_COOPERATION = reverse("admin:cooperations_cooperation_add")


def assert_french_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert 'class="fr-header"' in html and 'id="pied-de-page"' in html
    assert f"<h1>{title}</h1>" in html
    assert f"Erreur {status}" in html
    return html


def assert_json_error(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["error"]["status"] == status
    assert set(body) == {"error"}
    return body["error"]["message"]


@pytest.fixture
def reader(db):
    # Staff without any permission: the admin answers 403 to what it may not do.
    return User.objects.create_user("lecteur", is_staff=True)


# --- 400, 403, 404, 500: French pages and JSON ----------------------------------------------


def test_bad_host_is_a_french_400(client, db):
    response = client.get("/", headers={"host": "intrus.example"})
    assert_french_page(response, 400, "Requête incorrecte")


def test_too_many_parameters_is_a_french_400(client, db):
    query = "&".join(f"p{n}=1" for n in range(1100))
    response = client.get(f"/cooperations/?{query}")
    assert_french_page(response, 400, "Requête incorrecte")


def test_bad_request_of_a_json_client_is_json(client, db):
    response = client.get("/?format=json", headers={"host": "intrus.example"})
    assert "mal formée" in assert_json_error(response, 400)


def test_forbidden_admin_page_is_a_french_403(client, reader):
    client.force_login(reader)
    assert_french_page(client.get(ADD_COOPERATION), 403, "Accès refusé")


def test_forbidden_for_a_json_client_is_json(client, reader):
    client.force_login(reader)
    response = client.get(ADD_COOPERATION, headers={"accept": "application/json"})
    assert "pas le droit" in assert_json_error(response, 403)


def test_csrf_failure_is_a_french_403_that_says_what_to_do(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    html = assert_french_page(response, 403, "Formulaire expiré")
    assert "rechargez-la" in html and "cookies" in html


def test_unknown_page_is_a_french_404_with_ways_back(client, db):
    html = assert_french_page(client.get("/nulle-part/"), 404, "Page introuvable")
    assert 'href="/"' in html and 'href="/cooperations/"' in html


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/cooperations/inconnue/?format=json", {}),
        ("/thematiques/inconnue/?format=json", {}),
        ("/nulle-part/", {"accept": "application/json"}),
        ("/territoires/999999/", {"accept": "application/json; q=0.9, */*;q=0.1"}),
    ],
)
def test_not_found_for_a_json_client_is_json(client, db, url, headers):
    assert "introuvable" in assert_json_error(client.get(url, headers=headers), 404)


@pytest.mark.parametrize(
    "accept", ["text/html,application/xhtml+xml,*/*;q=0.8", "application/json, text/html", "*/*"]
)
def test_clients_accepting_html_get_the_page(client, db, accept):
    response = client.get("/nulle-part/", headers={"accept": accept})
    assert_french_page(response, 404, "Page introuvable")


@pytest.fixture
def broken_home(client, monkeypatch):
    """A bug in a page: the home's queryset method raises."""
    from cooperations.models import CooperationQuerySet

    def broken(self):
        raise RuntimeError("bogue de démonstration")

    monkeypatch.setattr(CooperationQuerySet, "published", broken)
    client.raise_request_exception = False
    return client


def test_a_bug_is_a_french_500_and_logs_its_traceback(broken_home, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = broken_home.get("/")
    assert_french_page(response, 500, "Erreur inattendue")
    assert "Retry-After" not in response
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info[0] is RuntimeError


def test_a_bug_for_a_json_client_is_json(broken_home):
    assert "problème" in assert_json_error(broken_home.get("/?format=json"), 500)


def test_500_page_renders_without_any_query(db, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert_french_page(response, 500, "Erreur inattendue")


# --- database outage: 503 --------------------------------------------------------------------

CONNECTION_REFUSED = OperationalError(
    'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
)


def database_raises(error):
    """Opening a connection or a cursor raises `error`, as Django does when the server is gone;
    in every thread (the health check has one of its own)."""
    wrapper_class = type(connections[DEFAULT_DB_ALIAS])
    return mock.patch.object(wrapper_class, "ensure_connection", side_effect=error)


@pytest.fixture
def outage(db, client):
    """The database becomes unreachable; `outage.end()` brings it back."""
    client.raise_request_exception = False
    patcher = database_raises(CONNECTION_REFUSED)
    patcher.start()
    stopped = []

    class Outage:
        @staticmethod
        def end():
            if not stopped:
                patcher.stop()
                stopped.append(True)

    yield Outage
    Outage.end()


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.DEBUG, logger="django.request")
    return lambda: [r for r in caplog.records if r.name == "django.request"]


PUBLIC_URLS = [
    "/",
    "/cooperations/",
    "/cooperations/?metropole=242900314&q=mobilite",
    "/cooperations/brest-iroise/",
    "/thematiques/mobilites-transports/",
    "/facteurs/gouvernance/",
    "/territoires/1/",
]


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_outage_gives_browsers_a_french_503_with_retry_after(client, outage, url):
    response = client.get(url)
    html = assert_french_page(response, 503, "Service momentanément indisponible")
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    assert "réessayez dans quelques instants" in html
    assert f'href="{url.replace("&", "&amp;")}"' in html  # « Réessayer »


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/cooperations/?format=json", {}),
        ("/cooperations/brest-iroise/?format=json", {}),
        ("/cooperations/", {"accept": "application/json"}),
    ],
)
def test_outage_gives_json_clients_a_json_503(client, outage, url, headers):
    response = client.get(url, headers=headers)
    assert "base de données" in assert_json_error(response, 503)
    assert response["Retry-After"] == "30"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_export_during_an_outage_is_a_503_not_a_truncated_200(client, outage, fmt):
    response = client.get(f"/cooperations/?format={fmt}")
    assert response.status_code == 503
    assert not response.streaming
    assert response["Retry-After"] == "30"


def test_each_failed_request_logs_one_warning_without_traceback(client, outage, logged):
    for url in ("/", "/cooperations/?format=json", "/cooperations/?format=csv"):
        client.get(url)
    records = logged()
    assert len(records) == 3
    for record in records:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None
        assert record.getMessage().startswith("Database unavailable, answered 503: GET /")
        assert record.status_code == 503


def test_outage_behind_the_page_cache_is_a_503(client, outage, settings):
    settings.PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    assert client.get("/cooperations/").status_code == 503
    cache.clear()


@pytest.mark.parametrize("url", ["/cooperations/", "/cooperations/?format=json", "/sante/"])
def test_a_lost_connection_is_an_outage_too(client, db, url):
    client.raise_request_exception = False
    with database_raises(InterfaceError("connection already closed")):
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


def test_outage_for_logged_in_staff_is_a_503(client, db, logged):
    client.force_login(User.objects.create_superuser("agent"))
    client.raise_request_exception = False
    with database_raises(CONNECTION_REFUSED):
        # The session and the user are read from the database before any admin code runs.
        admin_page = client.get("/admin/")
        public_page = client.get("/cooperations/")
    assert_french_page(admin_page, 503, "Service momentanément indisponible")
    assert public_page.status_code == 503
    assert [r.levelno for r in logged()] == [logging.WARNING, logging.WARNING]


def test_outage_raised_by_a_middleware_is_a_503_too(client, db, logged):
    """The session middleware saves a modified session after the view: an error there arises
    outside any view, and still gets the 503 and its single log line."""
    from django.contrib.sessions.middleware import SessionMiddleware

    client.raise_request_exception = False
    with mock.patch.object(SessionMiddleware, "process_response", side_effect=CONNECTION_REFUSED):
        response = client.get("/cooperations/")
    assert_french_page(response, 503, "Service momentanément indisponible")
    assert [(r.levelno, r.exc_info) for r in logged()] == [(logging.WARNING, None)]


def test_the_next_request_after_the_outage_succeeds(client, outage):
    assert client.get("/cooperations/").status_code == 503
    outage.end()
    assert client.get("/cooperations/").status_code == 200


def test_query_errors_that_are_bugs_stay_500(client, db, monkeypatch, logged):
    from django.db.utils import ProgrammingError

    from cooperations.models import CooperationQuerySet

    def broken(self):
        raise ProgrammingError('relation "cooperations_cooperation" does not exist')

    monkeypatch.setattr(CooperationQuerySet, "published", broken)
    client.raise_request_exception = False
    assert client.get("/").status_code == 500
    assert logged()[0].exc_info[0] is ProgrammingError


# --- health endpoint -------------------------------------------------------------------------


def test_health_is_ok_when_database_and_cache_answer(client, db):
    response = client.get("/sante/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_health_is_503_during_an_outage_then_ok_again(client, outage, logged):
    response = client.get("/sante/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("erreur")
    assert body["checks"]["cache"] == "ok"
    assert response["Retry-After"] == "30"
    assert [(r.levelno, r.exc_info) for r in logged()] == [(logging.WARNING, None)]
    outage.end()
    assert client.get("/sante/").status_code == 200


def test_health_reports_a_broken_cache(client, db):
    with mock.patch.object(cache, "set", side_effect=ConnectionError("Redis injoignable")):
        response = client.get("/sante/")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "erreur : ConnectionError",
    }


def test_health_answers_plain_http_when_https_is_enforced(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/sante/").status_code == 200
    assert client.get("/").status_code == 301


def test_postgres_connections_are_health_checked_and_give_up_connecting_quickly():
    from catalogue.settings import database_config

    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["CONN_HEALTH_CHECKS"] is True
    # The backend's deadline (catalogue/postgresql/base.py); psycopg's stays at its 2 s floor.
    assert config["CONNECT_TIMEOUT"] == 1.0
    assert config["OPTIONS"]["connect_timeout"] == 2
    explicit = database_config("postgres://postgres@127.0.0.1:5432/catalogue?connect_timeout=5")
    assert explicit["OPTIONS"]["connect_timeout"] == 5


def test_a_disallowed_host_is_logged_on_one_line(client, db, caplog):
    caplog.set_level(logging.WARNING, logger="django.security.DisallowedHost")
    response = client.get("/", headers={"host": "intrus.example"})
    assert response.status_code == 400
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(records) == 1
    assert "intrus.example" in records[0].getMessage()
    assert records[0].exc_info is None
    assert "Traceback" not in caplog.text
