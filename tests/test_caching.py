"""The public page cache: anonymous visitors share a page until the catalogue changes.

Every behaviour is checked with both backends: local memory (one process) and Redis (shared by
several servers, REDIS_URL).
"""

import itertools
import json
import logging
import os
import subprocess
import sys

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from catalogue.settings import BASE_DIR, cache_config
from cooperations import caching, facet_index
from cooperations.derived import refresh_derived_text
from cooperations.models import Cooperation

from .conftest import (
    REDIS_TEST_PREFIX,
    delete_redis_prefix,
    make_cooperation,
    make_metropole,
    require_redis,
)

_test_number = itertools.count(1)


@pytest.fixture(params=["locmem", "redis"])
def page_cache(request, settings, monkeypatch):
    """The page cache on, with a key prefix of its own: SQLite reuses the history ids of
    rolled-back tests, so pages cached by an earlier test must never be found."""
    settings.PUBLIC_CACHE_SECONDS = 60
    monkeypatch.setattr(caching, "_cache_down_until", 0.0)
    prefix = f"{REDIS_TEST_PREFIX}-{next(_test_number)}"
    url = require_redis() if request.param == "redis" else None
    settings.CACHES = {"default": cache_config(url, prefix)}
    yield
    if url:
        delete_redis_prefix(url, prefix)
    else:
        cache.clear()


def test_anonymous_visitors_get_the_cached_page_without_its_queries(
    client, page_cache, cooperation, django_assert_max_num_queries
):
    first = client.get("/cooperations/")
    with django_assert_max_num_queries(1):  # the catalogue version only
        second = client.get("/cooperations/")
    assert second.content == first.content


def test_a_write_with_history_shows_at_the_next_request(client, page_cache, cooperation):
    assert cooperation.name in client.get("/cooperations/").content.decode()
    cooperation.name = "Coopération renommée"
    cooperation.save()
    page = client.get("/cooperations/").content.decode()
    assert "Coopération renommée" in page


def test_a_new_cooperation_shows_at_the_next_request(client, page_cache, cooperation):
    client.get("/cooperations/")
    make_cooperation("Nouvelle coopération du littoral", metropoles=[])
    assert "Nouvelle coopération du littoral" in client.get("/cooperations/").content.decode()


def test_staff_and_exports_are_never_served_from_the_cache(
    client, page_cache, cooperation, django_assert_max_num_queries
):
    client.get("/cooperations/?format=csv")
    client.force_login(User.objects.create_user("agent", is_staff=True))
    client.get("/cooperations/")
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Renommée sans historique")
    assert "Renommée sans historique" in client.get("/cooperations/").content.decode()
    # The CSV line is stored with the record: rebuilt here, still without any history, so
    # that the catalogue's version, and any cache key made of it, stays the same.
    version = caching.catalogue_version()
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    assert caching.catalogue_version() == version
    csv = b"".join(client.get("/cooperations/?format=csv").streaming_content)
    assert "Renommée sans historique" in csv.decode("utf-8-sig")


def test_cache_off_when_the_delay_is_zero(client, settings, cooperation):
    settings.PUBLIC_CACHE_SECONDS = 0
    url = cooperation.get_absolute_url()
    client.get(url)
    Cooperation.objects.filter(pk=cooperation.pk).update(name="Renommée sans historique")
    # The pages kept with the facet index follow the catalogue's version, which a write without
    # history does not move: forget them, so that only the page cache could still answer.
    facet_index.reset()
    assert "Renommée sans historique" in client.get(url).content.decode()


def test_each_host_gets_its_own_permalinks(client, page_cache, cooperation, settings):
    settings.ALLOWED_HOSTS = ["catalogue.example.fr", "miroir.example.fr"]
    url = cooperation.get_absolute_url()
    first = client.get(url, HTTP_HOST="catalogue.example.fr").content.decode()
    second = client.get(url, HTTP_HOST="miroir.example.fr").content.decode()
    assert "http://catalogue.example.fr/" in first
    assert "http://miroir.example.fr/" in second
    assert "catalogue.example.fr" not in second


@pytest.mark.parametrize("page_cache", ["redis"], indirect=True)
def test_pages_cached_in_redis_are_stored_under_the_key_prefix(
    client, settings, page_cache, cooperation
):
    import redis

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert client.get("/").status_code == 200
    with redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]) as server:
        keys = list(server.scan_iter(match=f"{prefix}:*"))
    assert len(keys) == 1
    assert keys[0].decode().startswith(f"{prefix}:1:public-page:")


def test_a_cache_outage_serves_pages_uncached_with_one_warning(
    client, settings, cooperation, caplog, monkeypatch
):
    from benchmarks.runner import free_port

    settings.PUBLIC_CACHE_SECONDS = 60
    # Nothing listens on a port just freed: every connection is refused, as when Redis is down.
    settings.CACHES = {"default": cache_config(f"redis://127.0.0.1:{free_port()}/0", "panne")}
    monkeypatch.setattr(caching, "_cache_down_until", 0.0)
    with caplog.at_level(logging.WARNING, logger="cooperations.caching"):
        first = client.get("/cooperations/")
        second = client.get(cooperation.get_absolute_url())
    assert first.status_code == 200
    assert second.status_code == 200
    assert cooperation.name in first.content.decode()
    assert cooperation.name in second.content.decode()
    warnings = [r for r in caplog.records if r.name == "cooperations.caching"]
    assert len(warnings) == 1
    assert "Cache des pages injoignable" in warnings[0].getMessage()


def test_the_cache_is_tried_again_after_the_retry_delay(
    client, settings, cooperation, caplog, monkeypatch
):
    from benchmarks.runner import free_port

    settings.PUBLIC_CACHE_SECONDS = 60
    settings.CACHES = {"default": cache_config(f"redis://127.0.0.1:{free_port()}/0", "panne")}
    monkeypatch.setattr(caching, "_cache_down_until", 0.0)
    with caplog.at_level(logging.WARNING, logger="cooperations.caching"):
        assert client.get("/cooperations/").status_code == 200
        monkeypatch.setattr(caching, "_cache_down_until", 0.0)  # the delay has passed
        assert client.get("/cooperations/").status_code == 200
    assert len([r for r in caplog.records if r.name == "cooperations.caching"]) == 2


KEY_SCRIPT = """
import json, sys
import django
django.setup()
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from cooperations.caching import page_cache_key
request = RequestFactory().get(
    "/cooperations/?metropole=242900314&q=mobilit%C3%A9", HTTP_HOST="catalogue.example.fr"
)
print(json.dumps(cache.make_key(page_cache_key(request, sys.argv[1]))))
"""


def test_separate_processes_compute_the_same_cache_key(settings):
    """What two servers do: separate interpreters, other hash seeds, same configuration."""
    settings.ALLOWED_HOSTS = ["catalogue.example.fr"]
    # Read as a new process reads it: earlier tests of this process may have had other files.
    caching.presentation_version.cache_clear()
    processes = []
    for seed in ("1", "2"):
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            PYTHONHASHSEED=seed,
            ALLOWED_HOSTS="catalogue.example.fr",
            REDIS_URL="redis://127.0.0.1:6379/0",
            CACHE_KEY_PREFIX="catalogue",
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", KEY_SCRIPT, "41-7-3-2"],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    keys = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        keys.append(json.loads(stdout))
    request = RequestFactory().get(
        "/cooperations/?metropole=242900314&q=mobilit%C3%A9", HTTP_HOST="catalogue.example.fr"
    )
    assert keys[0] == keys[1]
    assert keys[0] == "catalogue:1:" + caching.page_cache_key(request, "41-7-3-2")
    assert keys[0] != "catalogue:1:" + caching.page_cache_key(request, "41-7-3-3")


def test_the_list_query_is_prepared_once_per_connection_on_postgresql(client, db, settings):
    """PostgreSQL plans the version and rows queries of list pages once per connection; the
    pages stay the same with it turned off (as behind a pooler that cannot keep it)."""
    if connection.vendor != "postgresql":
        pytest.skip("Requêtes préparées de PostgreSQL.")
    make_cooperation("Une coopération", metropoles=[make_metropole()])
    settings.PUBLIC_CACHE_SECONDS = 0
    first = client.get("/cooperations/").content
    assert client.get("/cooperations/").content == first

    def prepared():
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    # The version, which every list page reads first.
    assert [sql for sql in prepared() if "history_id" in sql]
    connection.settings_dict["OPTIONS"].pop("prepare_threshold")
    try:
        assert client.get("/cooperations/").content == first
    finally:
        connection.settings_dict["OPTIONS"]["prepare_threshold"] = 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_version_query_stands_for_the_connection_health_check(client, settings, monkeypatch):
    """A list page sends no `SELECT 1` before its first query on a reused connection; when the
    database closed that connection in the meantime (a restart), the page is served all the
    same, from a new connection."""
    if connection.vendor != "postgresql":
        pytest.skip("Connexions persistantes de PostgreSQL.")
    make_cooperation("Une coopération", metropoles=[make_metropole()])
    settings.PUBLIC_CACHE_SECONDS = 0
    # Connections kept between requests, as in production (the tests close them).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()

    def served():
        # What a server does at the start of each request, and Django's test client does not:
        # the connection left open is to be checked again.
        connection.close_if_unusable_or_obsolete()
        return client.get("/cooperations/")

    assert served().status_code == 200
    checks = []
    real_check = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real_check())
    assert served().status_code == 200
    assert checks == []

    first = connection.connection.info.backend_pid
    other = psycopg.connect(
        host=connection.settings_dict["HOST"],
        port=connection.settings_dict["PORT"] or 5432,
        user=connection.settings_dict["USER"],
        password=connection.settings_dict["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )
    with other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [first])
    response = served()
    assert response.status_code == 200
    assert "Une coopération" in response.content.decode()
    assert checks == [1]
    assert connection.connection.info.backend_pid != first
    connection.close()
