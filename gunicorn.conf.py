"""gunicorn settings for production: `gunicorn catalogue.wsgi` picks this file up.

Threaded workers (gthread), 2 × cores + 1 processes of 4 threads each, chosen by measurement
(`manage.py benchmark --servers sync:5,gthread:5x4,gthread:2x8`, 2 cores, PostgreSQL, 10,000
cooperations, page cache off, wrk with 20 keep-alive connections for 15 s, two rounds in
opposite orders on a machine shared with other work, load average 5 to 13), requests/s:

    set-up         rotating list views   template-only floor   static file
    sync:5         7.9 / 6.2             337 / 147             1,583 / 716
    gthread:5x4    8.9 / 8.7             483 / 644             2,674 / 2,653
    gthread:2x8    8.2 / 8.7             366 / 297             2,215 / 1,424

gthread:5x4 led every column of both rounds. Sync workers close the connection after each
response (`Connection: close`), so browsers and proxies reconnect for every request and
asset; gthread workers keep it open for `keepalive` seconds. Each thread holds its own database
connection (CONN_MAX_AGE): up to workers × threads connections per server, 20 on 2 cores.
Other shapes: WEB_CONCURRENCY for the processes, GUNICORN_CMD_ARGS="--threads=8" for threads.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = 4
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Browsers load the page then its DSFR assets over the same connection.
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
