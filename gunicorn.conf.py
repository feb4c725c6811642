"""gunicorn settings for production: `gunicorn catalogue.wsgi` picks this file up.

Workers default to 2 × cores + 1 (gunicorn's own advice for sync workers); the catalogue's
pages are short database-bound requests, so sync workers suffice.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Large exports stream; keep-alive helps browsers that load the DSFR assets.
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
