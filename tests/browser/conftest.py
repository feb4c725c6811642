"""Real-browser fixtures: Playwright drives Debian's Chromium (never a downloaded browser).

Without /usr/bin/chromium the browser tests skip with a message; with REQUIRE_BROWSER_TESTS=1
(as CI sets it) they fail instead, so that a missing browser can never pass silently.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User

from cooperations.vocabularies import LEGAL_FORMS, SUCCESS_FACTORS, THEMES

from ..catalogue_data import build_catalogue
from ..conftest import ROOT, production_environment

SUPERUSER_PASSWORD = "mot-de-passe-du-test-production"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_chromium(path: Path = CHROMIUM) -> None:
    """Skip when Chromium is missing, or fail when REQUIRE_BROWSER_TESTS=1 (CI)."""
    if path.exists():
        return
    message = (
        f"Tests navigateur ignorés : Chromium est absent ({path}). "
        "Installez-le avec « apt-get install chromium »."
    )
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(message + " REQUIRE_BROWSER_TESTS=1 exige ces tests.", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def browser():
    """A fresh Chromium per test: Playwright's event loop and the async-unsafe switch below
    then live only as long as one browser test, never while other tests use the ORM.
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between two browser steps are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(
        accept_downloads=True, locale="fr-FR", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _load_vocabularies():
    """The data migration's vocabularies: a live-server test flushes the database around it."""
    from cooperations.models import LegalForm, SuccessFactor, Theme

    for model, rows in (
        (SuccessFactor, SUCCESS_FACTORS),
        (Theme, THEMES),
        (LegalForm, LEGAL_FORMS),
    ):
        for position, (slug, label, definition) in enumerate(rows, start=1):
            model.objects.update_or_create(
                slug=slug, defaults={"label": label, "definition": definition, "position": position}
            )


@pytest.fixture
def site(live_server):
    """The live server with the small hand-checkable catalogue of tests/catalogue_data.py."""
    _load_vocabularies()
    catalogue = build_catalogue()
    return live_server.url, catalogue


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url_for_other_processes(directory: Path) -> str:
    """A URL another process can open with this test's committed data: the PostgreSQL test
    database itself, or for SQLite (an in-memory test database) a file copy of it."""
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "sqlite":
        path = directory / "db.sqlite3"
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        copy.close()
        return f"sqlite:///{path}"
    settings = connection.settings_dict
    credentials = quote(settings["USER"] or "")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"])
    host = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{settings['NAME']}"


@pytest.fixture
def production_site(transactional_db, collected_static, tmp_path):
    """The catalogue served as in production: gunicorn, DEBUG off, WhiteNoise serving the
    files that collectstatic wrote with the manifest storage. Not live_server: its static
    handler serves the source files through the finders, so the collected files (the ones the
    browser refused) would never be tested. Yields the base URL and the catalogue."""
    _load_vocabularies()
    catalogue = build_catalogue()
    # Hashed for the production settings (the tests' MD5 hasher is unknown there), with few
    # iterations: the login check stays fast, and verifying reads the count from the hash.
    User.objects.create_superuser("admin-prod", password=None)
    User.objects.filter(username="admin-prod").update(
        password=PBKDF2PasswordHasher().encode(SUPERUSER_PASSWORD, "sel-du-test", iterations=1000)
    )
    port = _free_port()
    env = production_environment(
        STATIC_ROOT=str(collected_static),
        DATABASE_URL=_database_url_for_other_processes(tmp_path),
        CONN_MAX_AGE="0",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "catalogue.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(server, base, tmp_path / "gunicorn.log")
        yield base, catalogue
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_until_serving(server, base: str, log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            pytest.fail(f"gunicorn s'est arrêté :\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(base + "/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn ne répond pas :\n{log.read_text()}", pytrace=False)
