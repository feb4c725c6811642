"""Browser tests skip without Chromium, except where CI requires them."""

from pathlib import Path

import pytest

from .conftest import require_chromium

MISSING = Path("/nonexistent/chromium")


def test_missing_chromium_skips_with_a_clear_message(monkeypatch):
    monkeypatch.delenv("REQUIRE_BROWSER_TESTS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium est absent"):
        require_chromium(MISSING)


def test_missing_chromium_fails_when_ci_requires_browser_tests(monkeypatch):
    monkeypatch.setenv("REQUIRE_BROWSER_TESTS", "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_BROWSER_TESTS=1"):
        require_chromium(MISSING)
