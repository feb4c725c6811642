"""The staff writes of the load test's write-churn rounds, in a process of their own.

    python -m benchmarks.churn --port 8000 --slugs a,b,c --flag out/churn.on --output out.json

While the flag file exists, every `--every` seconds (2), renames one of the given published
cooperations (in turn) through the ORM, history and search text included (what the admin's
save does); a thread per write then polls the list sorted by name over HTTP until the new
name shows in STABLE_POLLS polls in a row, and records that delay (and that of its first
showing). The writes keep to their schedule whatever the polls find: a write that takes long
to show must not space the next ones out. Without the flag and once every poll has ended, the
process says so with the `.idle` file, so that the runner's next no-write round starts after
the last write's effects.

Why a process: the writer must not share an interpreter (and its lock) with the server nor
with the runner; why the ORM rather than an admin POST: the write's own cost is not what is
measured, its effect on readers is. The names start with « AAAA » so that they head the list
sorted by name: their showing there needs the new facet index (the order by name), not only
the row's new values. Several cooperations in turn, fewer than a page of them: a write's name
is not replaced by the next write before its poll can see it.
"""

import argparse
import http.client
import json
import os
import sys
import threading
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
    except OSError:
        return False
    finally:
        connection.close()


def poll(port: int, name: str, written: float, record: dict) -> None:
    """Fill `record` with the delays after which `name` first showed and showed steadily."""
    visible = stable = None
    polls = streak = 0
    while time.perf_counter() - written < POLL_TIMEOUT_S:
        polls += 1
        if shows(port, name):
            visible = visible or time.perf_counter() - written
            streak += 1
            if streak == STABLE_POLLS:
                stable = time.perf_counter() - written
                break
        else:
            streak = 0
        time.sleep(POLL_INTERVAL_S)
    record.update(
        {
            "first_seen_ms": visible * 1000 if visible is not None else None,
            "visible_ms": stable * 1000 if stable is not None else None,
            "polls": polls,
        }
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slugs", required=True, help="Comma-separated, fewer than 20.")
    parser.add_argument("--flag", type=Path, required=True)
    parser.add_argument("--stop", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--every", type=float, default=2.0)
    args = parser.parse_args(argv)
    slugs = [slug for slug in args.slugs.split(",") if slug]
    idle = args.output.with_suffix(".idle")

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
    writes, pollers = [], []
    number = 0
    last = 0.0
    args.output.with_suffix(".ready").write_text("ready")
    while not args.stop.exists():
        if not args.flag.exists():
            pollers = [thread for thread in pollers if thread.is_alive()]
            if not pollers and not idle.exists():
                idle.write_text("idle")
            time.sleep(0.02)
            continue
        idle.unlink(missing_ok=True)
        if time.monotonic() - last < args.every:
            time.sleep(0.02)
            continue
        last = time.monotonic()
        number += 1
        name = f"AAAA Banc essai {os.getpid()} numero {number}"
        started = time.perf_counter()
        with transaction.atomic():
            cooperation = Cooperation.objects.get(slug=slugs[number % len(slugs)])
            cooperation.name = name
            cooperation._history_user = user
            cooperation.save()
            refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
        written = time.perf_counter()
        record = {"write_ms": (written - started) * 1000}
        writes.append(record)
        thread = threading.Thread(target=poll, args=(args.port, name, written, record))
        thread.start()
        pollers.append(thread)
    for thread in pollers:
        thread.join()
    args.output.write_text(json.dumps({"writes": writes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
