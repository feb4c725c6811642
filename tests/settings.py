"""Settings for the test suite: production settings plus what only tests may relax.

DATABASE_URL still chooses the engine, so the same suite runs on SQLite and PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-deployment")
os.environ.setdefault("DEBUG", "0")
# The test client speaks plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
# Tests change the data between requests of the same URL, and SQLite reuses the history ids
# that a rolled-back test had taken; the page cache has its own tests (test_caching.py).
os.environ.setdefault("PUBLIC_CACHE_SECONDS", "0")
# A test's own writes are in its transaction, which a building thread cannot see: the index is
# built on the request path, except in the tests of the background build.
os.environ.setdefault("FACET_INDEX_BACKGROUND", "0")

from catalogue.settings import *  # noqa: E402, F403

# Fast hashing: password strength is not under test, and logins happen in many tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Login throttling (django-axes) stays on, as in production: tests log in with force_login()
# or by posting to the login page; Client.login() passes no request, which axes refuses.
# Tests never need the compressed manifest; a missing collectstatic must not fail them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Live-server threads must not keep connections open, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
