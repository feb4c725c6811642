"""The staff writes of the load test's write-churn rounds, in a process of their own.

    python -m benchmarks.churn --port 8000 --slug <slug> --flag out/churn.on --output out.json

While the flag file exists, every `--every` seconds (2), renames one published cooperation
through the ORM, history and search text included (what the admin's save does), then polls the
list sorted by name over HTTP until the new name shows, and records that delay. Why a process:
the writer must not share an interpreter (and its lock) with wrk's server nor with the runner;
why the ORM rather than an admin POST: the write itself is not what is measured, its effect on
the readers is. The name starts with « AAAA » so that it heads the list sorted by name: its
showing there needs the new facet index (the order by name), not only the row's new values.
"""

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path

POLL_PATH = "/cooperations/?tri=nom"
POLL_TIMEOUT_S = 10
POLL_INTERVAL_S = 0.02
# Each poll opens a new connection, which any worker process may accept: the write counts as
# visible once this many polls in a row show it (one poll could reach the one process that had
# already rebuilt its index).
STABLE_POLLS = 10


def shows(port: int, name: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", POLL_PATH)
        response = connection.getresponse()
        return response.status == 200 and name in response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slug", required=True)
    parser.add_argument("--flag", type=Path, required=True)
    parser.add_argument("--stop", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--every", type=float, default=2.0)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cooperations.derived import refresh_derived_text
    from cooperations.models import Cooperation

    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    writes = []
    number = 0
    last = 0.0
    args.output.with_suffix(".ready").write_text("ready")
    while not args.stop.exists():
        if not args.flag.exists() or time.monotonic() - last < args.every:
            time.sleep(0.02)
            continue
        last = time.monotonic()
        number += 1
        name = f"AAAA Banc essai {os.getpid()} numero {number}"
        started = time.perf_counter()
        with transaction.atomic():
            cooperation = Cooperation.objects.get(slug=args.slug)
            cooperation.name = name
            cooperation._history_user = user
            cooperation.save()
            refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
        written = time.perf_counter()
        visible = stable = None
        polls = streak = 0
        while time.perf_counter() - written < POLL_TIMEOUT_S:
            polls += 1
            if shows(args.port, name):
                visible = visible or time.perf_counter() - written
                streak += 1
                if streak == STABLE_POLLS:
                    stable = time.perf_counter() - written
                    break
            else:
                streak = 0
            time.sleep(POLL_INTERVAL_S)
        writes.append(
            {
                "write_ms": (written - started) * 1000,
                "first_seen_ms": visible * 1000 if visible is not None else None,
                "visible_ms": stable * 1000 if stable is not None else None,
                "polls": polls,
            }
        )
    args.output.write_text(json.dumps({"writes": writes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
