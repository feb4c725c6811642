"""gunicorn settings for production: `gunicorn catalogue.wsgi` picks this file up.

Threaded workers (gthread), cores + 1 processes of 4 threads each, chosen by measurement
(`manage.py benchmark --servers …`, 2 cores, PostgreSQL, 10,000 cooperations, page cache off,
wrk with 20 keep-alive connections, each set-up's list and floor in three alternating rounds of
10 s, the median reported; two runs on 30 November 2026, benchmarks/HISTORY.md « Step 6 »),
requests/s:

    set-up         rotating list views   template-only floor   static file
    gthread:5x4    563                   1,249                 4,263
    gthread:3x4    539 / 574             1,286 / 1,386         3,845 / 4,485
    gthread:5x2    512                   1,292                 3,808
    gthread:9x2    473                   1,234                 3,757
    gthread:2x8    305                   1,175                 4,547

In the run that had both, 3 processes of 4 threads served as many list views as 5 (574 against
563, the 5 had given 479 and 498 in two runs earlier that day), with a shorter tail (90th
percentile 57 against 73 ms), and they keep 3 facet indexes in memory instead of 5, each rebuilt
once per catalogue version. Two processes of 8 threads fell behind: one process's threads share
one interpreter lock. Sync workers close the connection after each response
(`Connection: close`), so browsers and proxies reconnect for every request and asset; gthread
workers keep it open for `keepalive` seconds (measured before the facet index, sync:5 served
about half of gthread:5x4's floor and static file). Each thread holds its own database
connection (CONN_MAX_AGE): up to workers × threads connections per server, 12 on 2 cores.
Other shapes: WEB_CONCURRENCY for the processes, GUNICORN_CMD_ARGS="--threads=8" for threads.
"""

import multiprocessing
import os

# A database that hangs costs each request at most this long before a 503: the statements the
# pages send take milliseconds, a live server cancels one after DATABASE_STATEMENT_TIMEOUT,
# and a server that cannot even do that is given up after DATABASE_RESPONSE_TIMEOUT
# (catalogue/postgresql/base.py). 1.4 s, not more: a request on a connection that froze under
# it answers after the response timeout plus its own work and the 503 page, which took up to
# 0.46 s more on 2 loaded cores in the drill (docs/deployment.md), within the 2 s target.
# Set here, for the served requests only: commands run long statements on purpose. The
# inventory import lifts both (cooperations/concurrency.py).
# Empty counts as unset: .env.example lists both without a value. Given to gunicorn as
# `raw_env`, which it sets in its own processes: reading this file changes no environment.
raw_env = [
    f"{name}={os.environ.get(name) or seconds}"
    for name, seconds in (
        ("DATABASE_STATEMENT_TIMEOUT", "1.2"),
        ("DATABASE_RESPONSE_TIMEOUT", "1.4"),
    )
]

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = 4
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Browsers load the page then its DSFR assets over the same connection.
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (gunicornc) defaults to one path per user: a second server on the
# host took it over, and stopping either deleted it. Off unless a path of this server's own is
# given (docs/deployment.md).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
