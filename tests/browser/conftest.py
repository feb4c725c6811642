"""Real-browser fixtures: Playwright drives Debian's Chromium (never a downloaded browser).

Without /usr/bin/chromium the browser tests skip with a message; with REQUIRE_BROWSER_TESTS=1
(as CI sets it) they fail instead, so that a missing browser can never pass silently.
"""

import os
from pathlib import Path

import pytest

from cooperations.vocabularies import LEGAL_FORMS, SUCCESS_FACTORS, THEMES

from ..catalogue_data import build_catalogue

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
