import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from catalogue.settings import cache_config, database_config, env_bool, env_networks

ROOT = Path(__file__).resolve().parent.parent


def import_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import catalogue.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_missing_secret_key_is_refused_when_debug_is_off():
    result = import_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY est obligatoire" in result.stderr


def test_debug_is_off_by_default():
    result = import_settings()
    assert "SECRET_KEY est obligatoire" in result.stderr


def test_secret_key_is_enough_when_debug_is_off():
    assert import_settings(SECRET_KEY="x" * 50, DEBUG="0").returncode == 0


@pytest.mark.parametrize(
    "url",
    ["mysql://user@host/db", "postgres//127.0.0.1/db", "not a url", "postgres://127.0.0.1"],
)
def test_malformed_database_url_is_refused(url):
    with pytest.raises(ImproperlyConfigured):
        database_config(url)


def test_unset_database_url_selects_the_embedded_sqlite_file():
    config = database_config(None)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(config["NAME"]) == ROOT / "db.sqlite3"


def test_postgres_url_selects_postgresql():
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    # Django's backend with a bound on waiting for the server (catalogue/postgresql/base.py).
    assert config["ENGINE"] == "catalogue.postgresql"
    assert config["NAME"] == "catalogue"


def test_request_timeouts_are_off_unless_asked(monkeypatch):
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["RESPONSE_TIMEOUT"] is None
    assert "statement_timeout" not in config["OPTIONS"]["options"]
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "1.5")
    monkeypatch.setenv("DATABASE_RESPONSE_TIMEOUT", "1.8")
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["RESPONSE_TIMEOUT"] == 1.8
    assert "-c statement_timeout=1500" in config["OPTIONS"]["options"]


def test_the_connect_timeout_may_be_set_below_psycopgs_floor_or_above_it(monkeypatch):
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "0.5")
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["CONNECT_TIMEOUT"] == 0.5
    assert config["OPTIONS"]["connect_timeout"] == 2
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "4.5")
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    # Each of psycopg's attempts may last as long as the whole deadline.
    assert config["OPTIONS"]["connect_timeout"] == 5
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "une")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_CONNECT_TIMEOUT doit être une durée"):
        database_config("postgres://postgres@127.0.0.1:5432/catalogue")


def test_the_outage_window_defaults_to_one_second(monkeypatch):
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["OUTAGE_WINDOW"] == 1.0
    monkeypatch.setenv("DATABASE_OUTAGE_WINDOW", "2.5")
    assert database_config("postgres://postgres@127.0.0.1:5432/catalogue")["OUTAGE_WINDOW"] == 2.5
    monkeypatch.setenv("DATABASE_OUTAGE_WINDOW", "0")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_OUTAGE_WINDOW doit être une durée"):
        database_config("postgres://postgres@127.0.0.1:5432/catalogue")


@pytest.mark.parametrize(
    ("statement", "response", "message"),
    [
        ("2", "1", "DATABASE_RESPONSE_TIMEOUT doit dépasser DATABASE_STATEMENT_TIMEOUT"),
        ("deux", "", "DATABASE_STATEMENT_TIMEOUT doit être une durée positive"),
        ("", "-1", "DATABASE_RESPONSE_TIMEOUT doit être une durée positive"),
    ],
)
def test_inconsistent_request_timeouts_stop_the_start_up(monkeypatch, statement, response, message):
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", statement)
    monkeypatch.setenv("DATABASE_RESPONSE_TIMEOUT", response)
    with pytest.raises(ImproperlyConfigured, match=message):
        database_config("postgres://postgres@127.0.0.1:5432/catalogue")


def test_malformed_database_url_stops_the_start_up():
    result = import_settings(SECRET_KEY="x" * 50, DATABASE_URL="mysql://nope/db")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


@pytest.mark.parametrize("raw", ["maybe", "2", "vrai"])
def test_unreadable_boolean_is_refused(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG")


def test_trusted_proxies_are_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert [str(network) for network in env_networks("TRUSTED_PROXIES")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1,proxy.example")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")


def test_deploy_checks_pass_with_production_like_variables():
    relaxed_by_tests = {
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    }
    env = {k: v for k, v in os.environ.items() if k not in relaxed_by_tests}
    env.update(
        SECRET_KEY="a-long-random-production-key-" + "k3y" * 20,
        ALLOWED_HOSTS="cooperations.example.gouv.fr",
        DJANGO_SETTINGS_MODULE="catalogue.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_postgres_sessions_start_no_parallel_workers_unless_asked_and_no_jit(monkeypatch):
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["OPTIONS"]["options"] == "-c max_parallel_workers_per_gather=0 -c jit=off"
    monkeypatch.setenv("DATABASE_PARALLEL_WORKERS", "2")
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["OPTIONS"]["options"] == "-c max_parallel_workers_per_gather=2 -c jit=off"


def test_postgres_prepares_the_pages_queries_unless_turned_off(monkeypatch):
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert config["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "0")
    config = database_config("postgres://postgres@127.0.0.1:5432/catalogue")
    assert "prepare_threshold" not in config["OPTIONS"]


def test_unset_redis_url_keeps_each_process_cache_in_local_memory():
    config = cache_config(None, "catalogue")
    assert config["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["KEY_PREFIX"] == "catalogue"


def test_redis_url_selects_the_shared_redis_cache_with_its_prefix():
    config = cache_config("redis://cache.interne:6379/2", "recette")
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert config["LOCATION"] == "redis://cache.interne:6379/2"
    assert config["KEY_PREFIX"] == "recette"


@pytest.mark.parametrize(
    "url",
    ["127.0.0.1:6379", "http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:port/0"],
)
def test_malformed_redis_url_is_refused(url):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        cache_config(url, "catalogue")


def test_malformed_redis_url_stops_the_start_up_in_french():
    result = import_settings(SECRET_KEY="x" * 50, DEBUG="0", REDIS_URL="localhost:6379")
    assert result.returncode != 0
    assert "REDIS_URL doit être de la forme redis://" in result.stderr
