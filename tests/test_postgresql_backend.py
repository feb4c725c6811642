"""A database that hangs (catalogue/postgresql/base.py, settings.py): pages and `/sante/` answer
503 instead of waiting for it, and the next request after it answers again is served.

A frozen server is played by a TCP listener that accepts connections and never says a word,
as a PostgreSQL whose processes are stopped does; a server that answers too late by
`pg_sleep`. Transactional tests: the connection the test would hold its transaction on is the
one that is taken away.
"""

import socket
import threading
import time

import pytest
from django.db import connection

from catalogue.postgresql.base import DatabaseNotAnswering, OutageBreaker, breaker
from cooperations import caching
from cooperations.concurrency import without_request_timeouts

from .conftest import make_cooperation, make_metropole

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Les bornes d'attente sont celles du pilote PostgreSQL (psycopg).",
    ),
]


@pytest.fixture(autouse=True)
def closed_breaker():
    """Each test starts, and leaves the process, with the breaker closed: it is the process's."""
    breaker.succeeded()
    yield breaker
    breaker.succeeded()


@pytest.fixture
def no_breaker(monkeypatch):
    """For the tests of each bound alone: every attempt waits its own timeout."""
    monkeypatch.setitem(connection.settings_dict, "OUTAGE_WINDOW", None)


class SilentServer:
    def __init__(self, port, held):
        self.port, self.held = port, held

    def accepted(self) -> int:
        """How many connections it has accepted, once those already made are seen."""
        for _ in range(50):  # the accepting thread may lag on a loaded machine
            if self.held:
                break
            time.sleep(0.1)
        return len(self.held)


@pytest.fixture
def silent_server():
    """A listener that accepts every connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield SilentServer(listener.getsockname()[1], held)
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


@pytest.fixture
def freezable_relay():
    """A relay to the real server that can freeze: it then forwards nothing more, neither on
    the connections it already carries nor on new ones, which it accepts and leaves silent —
    what a client sees of a PostgreSQL stopped by SIGSTOP."""
    listener = socket.create_server(("127.0.0.1", 0))
    upstream = (connection.settings_dict["HOST"] or "127.0.0.1", connection.settings_dict["PORT"])
    frozen, stop, held = threading.Event(), threading.Event(), []

    def pump(source, target):
        source.settimeout(0.1)
        while not stop.is_set():
            if frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            # Read before the freeze, it stays held as the stopped server would hold it.
            while frozen.is_set() and not stop.is_set():
                time.sleep(0.05)
            try:
                target.sendall(data)
            except OSError:
                return

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client_side = listener.accept()[0]
            except TimeoutError:
                continue
            held.append(client_side)
            if frozen.is_set():
                continue
            server_side = socket.create_connection(upstream)
            held.append(server_side)
            for pair in ((client_side, server_side), (server_side, client_side)):
                threading.Thread(target=pump, args=pair, daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], frozen
    connection.close()  # it goes through the relay, which goes now
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


def served(client, url):
    """A request as a server makes it: Django's test client leaves out the check, at the start
    of each request, of the connection the previous one left open."""
    connection.close_if_unusable_or_obsolete()
    return client.get(url)


@pytest.fixture
def catalogue(db):
    make_cooperation("Une coopération", metropoles=[make_metropole()])


def test_a_frozen_database_gives_503_to_pages_and_health_then_recovers(
    client, catalogue, silent_server, monkeypatch
):
    client.raise_request_exception = False
    host, port = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", silent_server.port)
    connection.close()
    started = time.monotonic()
    page = served(client, "/cooperations/")
    health = served(client, "/sante/")
    # Generous: without the bounds the first request never returns at all.
    assert time.monotonic() - started < 15
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert health.status_code == 503
    assert health.json()["checks"]["database"] == "erreur : pas de réponse à temps"

    monkeypatch.setitem(connection.settings_dict, "HOST", host)
    monkeypatch.setitem(connection.settings_dict, "PORT", port)
    assert served(client, "/cooperations/").status_code == 200
    assert served(client, "/sante/").status_code == 200


@pytest.fixture
def slow_version_query(monkeypatch):
    """The first query of every list page takes 5 s on the server."""
    monkeypatch.setattr(caching, "_version_sql", lambda: "SELECT pg_sleep(5)")
    return monkeypatch


def test_a_server_that_answers_too_late_is_given_up_with_its_connection(
    client, catalogue, slow_version_query, caplog, no_breaker
):
    client.raise_request_exception = False
    slow_version_query.setitem(connection.settings_dict, "RESPONSE_TIMEOUT", 0.5)
    connection.close()
    page = served(client, "/cooperations/")
    assert page.status_code == 503
    assert "DatabaseNotAnswering" in caplog.text
    assert connection.connection.closed
    slow_version_query.undo()
    assert served(client, "/cooperations/").status_code == 200


def test_the_import_lifts_the_bounds(catalogue, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "RESPONSE_TIMEOUT", 0.2)
    connection.close()
    with without_request_timeouts(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.5), current_setting('statement_timeout')")
        assert cursor.fetchone()[1] == "0"
    connection.close()


def test_a_new_connection_gives_up_at_its_own_deadline_below_psycopgs_floor(
    client, catalogue, silent_server, monkeypatch, caplog
):
    client.raise_request_exception = False
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", silent_server.port)
    monkeypatch.setitem(connection.settings_dict, "CONNECT_TIMEOUT", 0.5)
    connection.close()
    assert served(client, "/cooperations/").status_code == 503
    # The backend's deadline, not psycopg's "connection timeout expired" after its 2 s.
    assert "did not accept a connection within 0.5 s" in caplog.text
    assert "connection timeout expired" not in caplog.text
    assert connection.connection is None


def test_the_first_query_on_a_kept_connection_is_bounded_by_the_response_timeout(
    client, catalogue, freezable_relay, monkeypatch, caplog, no_breaker
):
    client.raise_request_exception = False
    port, frozen = freezable_relay
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", port)
    monkeypatch.setitem(connection.settings_dict, "RESPONSE_TIMEOUT", 0.5)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    assert served(client, "/cooperations/").status_code == 200
    kept = connection.connection
    assert kept is not None and not kept.closed

    frozen.set()
    # A list page: its first query, the catalogue's version, stands for the health check.
    assert served(client, "/cooperations/").status_code == 503
    assert "did not answer within 0.5 s" in caplog.text
    assert kept.closed
    # Then a new connection, which the frozen relay accepts and never answers.
    assert served(client, "/cooperations/").status_code == 503
    assert "did not accept a connection within 1 s" in caplog.text

    frozen.clear()
    assert served(client, "/cooperations/").status_code == 200
    kept = connection.connection
    frozen.set()
    # Any other page: Django's own health check (`SELECT 1`) is its first query.
    assert served(client, "/territoires/999999/").status_code == 503
    assert kept.closed
    frozen.clear()
    assert served(client, "/territoires/999999/").status_code == 404


# --- Failing fast after the database gave up (OutageBreaker) ---------------------------------


def window_elapsed(window: float) -> None:
    """As if the breaker had opened `window` seconds ago: no test waits for it."""
    breaker.opened_at -= window


@pytest.fixture
def request_bounds(monkeypatch):
    """The bounds of a served request (gunicorn.conf.py), with a window no test run outlasts."""
    monkeypatch.setitem(connection.settings_dict, "RESPONSE_TIMEOUT", 0.5)
    monkeypatch.setitem(connection.settings_dict, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setitem(connection.settings_dict, "OUTAGE_WINDOW", 600)
    yield monkeypatch
    # Before the flush that ends the test, on a connection without the bounds: it may wait
    # for the locks of a statement given up.
    monkeypatch.undo()
    connection.close()


def test_after_a_page_gave_up_the_next_requests_fail_fast_then_recover(
    client, catalogue, silent_server, request_bounds, caplog
):
    client.raise_request_exception = False
    host, port = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    request_bounds.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    request_bounds.setitem(connection.settings_dict, "PORT", silent_server.port)
    connection.close()
    assert served(client, "/cooperations/").status_code == 503
    assert silent_server.accepted() == 1
    assert breaker.opened_at is not None

    caplog.clear()
    page = served(client, "/cooperations/")
    health = served(client, "/sante/")
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert health.status_code == 503
    assert health.json()["checks"]["database"] == "erreur : DatabaseNotAnswering"
    assert "failing fast" in caplog.text
    # Neither tried to connect: the listener saw no new connection.
    assert silent_server.accepted() == 1

    # The database is back, but the window is not over: still 503, without trying it.
    request_bounds.setitem(connection.settings_dict, "HOST", host)
    request_bounds.setitem(connection.settings_dict, "PORT", port)
    assert served(client, "/cooperations/").status_code == 503
    window_elapsed(600)
    assert served(client, "/cooperations/").status_code == 200
    assert breaker.opened_at is None
    assert served(client, "/sante/").status_code == 200


def test_a_query_that_gave_up_opens_the_breaker_too(client, catalogue, request_bounds, caplog):
    client.raise_request_exception = False
    version_sql = caching._version_sql
    request_bounds.setattr(caching, "_version_sql", lambda: "SELECT pg_sleep(2)")
    connection.close()
    assert served(client, "/cooperations/").status_code == 503
    assert "did not answer within 0.5 s" in caplog.text
    request_bounds.setattr(caching, "_version_sql", version_sql)
    caplog.clear()
    assert served(client, "/cooperations/").status_code == 503
    assert "failing fast" in caplog.text
    window_elapsed(600)
    assert served(client, "/cooperations/").status_code == 200


def test_a_kept_connection_fails_fast_and_serves_again_after_the_window(
    client, catalogue, request_bounds
):
    client.raise_request_exception = False
    request_bounds.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    assert served(client, "/cooperations/").status_code == 200
    kept = connection.connection
    breaker.failed()  # another thread of the process gave up
    assert served(client, "/cooperations/").status_code == 503
    # Nothing was sent on it: it is kept, and serves once the window is over.
    assert connection.connection is kept and not kept.closed
    window_elapsed(600)
    assert served(client, "/cooperations/").status_code == 200
    assert connection.connection is kept


def test_after_the_window_one_attempt_is_let_through_while_the_others_fail_fast():
    outage = OutageBreaker()
    outage.failed()
    with pytest.raises(DatabaseNotAnswering, match="failing fast"):
        outage.before_attempt(window=600)
    outage.opened_at -= 600
    assert outage.before_attempt(window=600) is True  # this one tries the database
    with pytest.raises(DatabaseNotAnswering):
        outage.before_attempt(window=600)  # the others still fail fast
    outage.failed()  # it gave up too: a new window
    with pytest.raises(DatabaseNotAnswering):
        outage.before_attempt(window=600)
    outage.opened_at -= 600
    assert outage.before_attempt(window=600) is True
    outage.released()  # refused, say: the next attempt is let through
    assert outage.before_attempt(window=600) is True
    outage.succeeded()
    assert outage.before_attempt(window=600) is False
    assert outage.opened_at is None


def test_the_import_ignores_the_breaker(catalogue, request_bounds):
    connection.close()
    breaker.failed()
    with pytest.raises(DatabaseNotAnswering), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()
    with without_request_timeouts(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    connection.close()
