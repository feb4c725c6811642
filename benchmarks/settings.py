"""Production settings for the benchmark subprocesses and gunicorn: DEBUG off, whitenoise's
manifest storage (static files collected under benchmarks/out/static), plain HTTP on 127.0.0.1.
"""

import os
import secrets
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DEBUG", "0")
# The test client and wrk speak plain HTTP to 127.0.0.1.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# Per-request INFO lines would be measured too; warnings and errors still show.
os.environ.setdefault("LOG_LEVEL", "WARNING")

from catalogue.settings import *  # noqa: E402, F403
from catalogue.settings import BASE_DIR  # noqa: E402

# BENCHMARK_STATIC_ROOT names files a caller already collected with these storages (the test
# suite's session collection): the worker then serves them instead of collecting its own.
STATIC_ROOT = Path(
    os.environ.get("BENCHMARK_STATIC_ROOT") or BASE_DIR / "benchmarks" / "out" / "static"
)
