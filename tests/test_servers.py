"""Two application servers, one PostgreSQL database, one Redis (docs/operations.md « Several
servers »).

Two gunicorn processes serve the test database with DEBUG off and the page cache on: what a
staff member saves through one server's admin is what an anonymous visitor gets from the other
at their very next request, although that server had the old page cached.
"""

import os
import subprocess
import sys
import time
import urllib.parse

import pytest
from django.contrib.auth.models import User
from django.db import connection

from benchmarks.http_client import Client
from benchmarks.runner import free_port
from catalogue.settings import BASE_DIR
from cooperations.models import Cooperation

from .conftest import REDIS_TEST_PREFIX, delete_redis_prefix, require_redis

# The servers read what the test writes: the rows must be committed, and restored afterwards
# for the tests that follow (pytest-django runs transactional tests last).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# What the reverse proxy passes on to every server: the public host, the same for all.
PUBLIC_HOST = "catalogue.example.fr"


def _database_url() -> str:
    """The test database pytest-django created, never the one DATABASE_URL names."""
    db = connection.settings_dict
    credentials = urllib.parse.quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + urllib.parse.quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def _wait_until_served(port: int, process, log_path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn s'est arrêté :\n{log_path.read_text()}")
        try:
            if Client(port, timeout=5).get("/admin/login/").status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn ne répond pas sur le port {port} :\n{log_path.read_text()}")


@pytest.fixture
def two_servers(tmp_path):
    """Ports of two gunicorn servers sharing the test database and a Redis key prefix."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "Deux serveurs partagent une base PostgreSQL ; la base de test SQLite vit en "
            "mémoire, invisible d'autres processus (lancez avec DATABASE_URL=postgres://…)."
        )
    redis_url = require_redis()
    prefix = f"{REDIS_TEST_PREFIX}-servers"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=_database_url(),
        SECRET_KEY="two-servers-share-this-key-" + REDIS_TEST_PREFIX,
        DEBUG="0",
        ALLOWED_HOSTS=f"127.0.0.1,{PUBLIC_HOST}",
        SECURE_SSL_REDIRECT="0",
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=prefix,
        PUBLIC_CACHE_SECONDS="60",
        WEB_CONCURRENCY="1",
        LOG_LEVEL="WARNING",
    )
    servers = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log_path = tmp_path / f"gunicorn-{name}.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "catalogue.wsgi"],
                    cwd=BASE_DIR,
                    env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            servers.append((port, process, log_path))
        for port, process, log_path in servers:
            _wait_until_served(port, process, log_path)
        yield servers[0][0], servers[1][0]
    finally:
        for _, process, _ in servers:
            process.terminate()
        for _, process, _ in servers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        delete_redis_prefix(redis_url, prefix)


def test_an_admin_edit_on_one_server_is_served_by_the_other_at_its_next_request(
    cooperation, two_servers
):
    port_a, port_b = two_servers
    url = cooperation.get_absolute_url()
    page = Client(port_b, host=PUBLIC_HOST).get(url)
    assert page.status == 200
    assert cooperation.name in page.text

    # A change that keeps no history leaves the catalogue's version, hence the cache key, as
    # it was: both servers keep serving the page B cached, A without ever rendering it.
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Nom changé sans historique")
    for port in (port_b, port_a):
        page = Client(port, host=PUBLIC_HOST).get(url)
        assert page.status == 200
        assert cooperation.name in page.text
        assert "Nom changé sans historique" not in page.text

    User.objects.create_superuser("agente", password="mot-de-passe-des-deux-serveurs")
    staff = Client(port_a, host=PUBLIC_HOST)
    assert staff.login("agente", "mot-de-passe-des-deux-serveurs") == 302
    saved = staff.submit(
        f"/admin/cooperations/cooperation/{cooperation.pk}/change/",
        "cooperation_form",
        {"name": "Nom enregistré sur le serveur A"},
    )
    assert saved.status == 302, saved.text[:2000]

    page = Client(port_b, host=PUBLIC_HOST).get(url)
    assert page.status == 200
    assert "Nom enregistré sur le serveur A" in page.text
    assert cooperation.name not in page.text


def test_each_server_has_its_own_control_socket_or_none(monkeypatch):
    import runpy

    # Restored afterwards (setenv records what to restore, delenv of a missing name does not):
    # the file sets the request timeouts in the environment; empty counts as unset.
    for name in (
        "GUNICORN_CONTROL_SOCKET",
        "DATABASE_STATEMENT_TIMEOUT",
        "DATABASE_RESPONSE_TIMEOUT",
    ):
        monkeypatch.setenv(name, "")
    config = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    assert config["control_socket_disable"] is True
    # The request timeouts go to gunicorn's own processes, not to whoever reads the file.
    assert "DATABASE_STATEMENT_TIMEOUT=1.2" in config["raw_env"]
    assert "DATABASE_RESPONSE_TIMEOUT=1.4" in config["raw_env"]
    assert os.environ["DATABASE_STATEMENT_TIMEOUT"] == ""
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/catalogue-a/gunicorn.ctl")
    config = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    assert config["control_socket_disable"] is False
    assert config["control_socket"] == "/run/catalogue-a/gunicorn.ctl"
