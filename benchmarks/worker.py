"""One data set, one engine, in a subprocess whose DATABASE_URL names its own database.

    python -m benchmarks.worker --size 10000 --repeat 15 --heavy-repeat 3 --output out.json

Builds the data set unless it is already there (`--reuse`), then times, in-process with
Django's test client (so without any HTTP or server cost): the public pages (lists, record,
statistics, « Ma commune », comparison, feed), the exports of every published row and of a
selection of about 10,000 rows and, with `--imports`, the admin import (preview then confirm)
of 173 and 10,000 rows. With `--load-urls`, it also chooses the list views that the load test
rotates through. Writes one JSON document; the runner turns it into the report.

Data set: `generate_rows` (the synthetic inventory over the official territories), read by the
import's own `plan_import` and written by its `apply_import` — the import service without the
spreadsheet file and the admin pages, history included — then `refresh_derived_text`. The
imports themselves are timed through the admin pages and rolled back, so every repetition
imports the same rows into the same catalogue.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

from benchmarks.report import PAGES

# Rows of the data sets and of the imported files: different seeds give different slugs.
DATASET_SEED = 2018
IMPORT_SEED = 5
IMPORT_SIZES = (173, 10_000)
# A word of a theme label (« Alimentation et agriculture »): about one cooperation in six.
SEARCH_QUERY = "alimentation"
# Typed in « Ma commune, mon territoire »: hundreds of communes start with it.
TERRITORY_PREFIX = "saint"
# The exports of a selection: the view closest to this many rows (issue 11's export target).
SELECTION_ROWS = 10_000
# Seed of the load test's rotating URLs.
LOAD_SEED = 11
SYNTHETIC_PREFIX = "synthetique-"


def log(message: str) -> None:
    print(
        f"[worker {os.environ.get('BENCHMARK_LABEL', '')}] {message}", file=sys.stderr, flush=True
    )


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 15 runs, the 95th is the slowest one."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def counting_queries(connection):
    """Count the statements sent to the database (lighter than CaptureQueriesContext)."""
    counter = {"n": 0}

    def wrapper(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def consume(response) -> int:
    """Read the whole body, chunk by chunk for streamed responses, and return its size."""
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
        response.close()
        return size
    return len(response.content)


def build(size: int) -> dict:
    """Migrate, load the official territories and write `size` synthetic cooperations."""
    from django.core.management import call_command

    from cooperations.derived import refresh_derived_text
    from cooperations.importing import apply_import, plan_import
    from cooperations.inventory import Sheet
    from cooperations.synthetic import generate_rows
    from cooperations.territories import load_territories, read_fixture

    timings = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    load_territories(read_fixture())
    timings["schema_and_territories_s"] = time.perf_counter() - started
    started = time.perf_counter()
    headers, rows = generate_rows(size, seed=DATASET_SEED)
    plan = plan_import(Sheet(header=headers, rows=list(enumerate(rows, start=2))))
    if not plan.is_valid:
        raise SystemExit(f"synthetic rows rejected: {plan.summary()}")
    apply_import(plan)
    refresh_derived_text()
    timings["cooperations_s"] = time.perf_counter() - started
    return timings


def facet_index_cost(builds: int = 3) -> dict:
    """What the list pages' facet index costs each worker process: median build time over
    `builds` builds, and its size in memory (bitmaps, arrays and the id map)."""
    from cooperations import facet_index
    from cooperations.caching import catalogue_version

    version = catalogue_version()
    seconds, index = [], None
    for _ in range(builds):
        started = time.perf_counter()
        index = facet_index.build(version)
        seconds.append(time.perf_counter() - started)
    stats = index.stats()
    # What a process does after a staff write: the index updated with the record read again
    # (the first one in the name order and one in the middle, which shift the others the most
    # and half as much). A record read again as it was makes the same reads and moves.
    updates = []
    for position in (0, index.size // 2):
        changed = {int(index.ids[position])} if index.size else set()
        started = time.perf_counter()
        updated = facet_index.update(index, version, changed)
        updates.append(time.perf_counter() - started)
        assert updated is not None and updated.ids.tolist() == index.ids.tolist()
    return {
        "build_ms": statistics.median(seconds) * 1000,
        "update_ms": statistics.median(updates) * 1000,
        "mb": stats["bytes"] / 1_000_000,
        "bitmaps": stats["bitmaps"],
    }


def dataset_size() -> int:
    from cooperations.models import Cooperation

    return Cooperation.objects.filter(slug__startswith=SYNTHETIC_PREFIX).count()


def targets() -> dict:
    """The URLs measured, chosen from the data so that every size has the same kind of page."""
    from django.db.models import Count, F, Q

    from cooperations.models import Cooperation, Participation, Territory, Theme
    from cooperations.my_territory import territory_key

    published = Q(cooperations__is_published=True)
    metropole = (
        Territory.objects.metropoles()
        .annotate(n=Count("cooperations", filter=published))
        .order_by("-n", "code")
        .first()
    )
    partner = (
        Territory.objects.filter(
            participations__role=Participation.Role.PARTNER,
            participations__cooperation__is_published=True,
        )
        .annotate(n=Count("participations"))
        .order_by("-n", "code")
        .first()
    )
    # The most populous commune of that partner: its result lists the EPCI's cooperations too.
    communes = (
        Territory.objects.filter(kind=Territory.Kind.COMMUNE)
        .exclude(code="")
        .order_by(F("population").desc(nulls_last=True), "code")
    )
    commune = communes.filter(epci=partner).first() or communes.first()
    theme = Theme.objects.order_by("position", "pk").first()
    departement = (
        metropole.departement
        or Territory.objects.filter(kind=Territory.Kind.DEPARTEMENT).order_by("code").first()
    )
    region = (
        departement.region
        or Territory.objects.filter(kind=Territory.Kind.REGION).order_by("code").first()
    )
    active = Cooperation.Status.ACTIVE
    ids = list(Cooperation.objects.published().order_by("pk").values_list("slug", flat=True))
    slug = ids[len(ids) // 2]
    compared = "&".join(f"c={ids[len(ids) * k // 5]}" for k in range(1, 5))
    filtered = f"metropole={metropole.code}&thematique={theme.slug}"
    urls = {
        "home": "/",
        "list": "/cooperations/",
        "list_filtered": f"/cooperations/?thematique={theme.slug}&statut={active}",
        "search": f"/cooperations/?q={SEARCH_QUERY}",
        "detail": f"/cooperations/{slug}/",
        "metropole": metropole.get_absolute_url(),
        "territory": partner.get_absolute_url(),
        "departement": departement.get_absolute_url(),
        "region": region.get_absolute_url(),
        "theme": theme.get_absolute_url(),
        "factors": "/facteurs/",
        "plus_values": "/plus-values/",
        "json": "/cooperations/?format=json",
        "statistics": "/statistiques/",
        "statistics_filtered": f"/statistiques/?{filtered}",
        "territory_search": f"/mon-territoire/?nom={TERRITORY_PREFIX}",
        "territory_result": f"/mon-territoire/?territoire={territory_key(commune)}",
        "suggestions": f"/mon-territoire/suggestions/?q={TERRITORY_PREFIX}",
        "compare": f"/comparer/?{compared}",
        "feed": f"/cooperations/flux/?{filtered}",
        "feed_all": "/cooperations/flux/",
        "territory_feed": metropole.get_absolute_url() + "flux/",
        "api_list": "/api/v1/cooperations",
        "api_search": f"/api/v1/cooperations?q={SEARCH_QUERY}",
        "api_record": f"/api/v1/cooperations/{slug}",
        "csv": "/cooperations/?format=csv",
        "xlsx": "/cooperations/?format=xlsx",
    }
    selection, rows = export_selection(len(ids))
    if selection:
        urls["csv_selection"] = f"/cooperations/?{selection}&format=csv"
        urls["xlsx_selection"] = f"/cooperations/?{selection}&format=xlsx"
        urls["selection_rows"] = rows
    return urls


def export_selection(published: int) -> tuple[str, int]:
    """The one-filter view (a status, a form, a theme) whose published rows come closest to
    `SELECTION_ROWS`, as a query string, with its row count; ("", 0) when the data set is too
    small to hold such a view (fewer than 80 % of those rows published)."""
    from django.db.models import Count

    from cooperations.models import Cooperation

    if published < SELECTION_ROWS * 0.8:
        return "", 0
    rows = Cooperation.objects.published()
    candidates = []
    for name, field in (("statut", "status"), ("forme", "legal_form__slug"),
                        ("thematique", "themes__slug")):  # fmt: skip
        counts = rows.values_list(field).annotate(n=Count("pk")).order_by(field)
        candidates += [(f"{name}={value}", n) for value, n in counts if value]
    return min(candidates, key=lambda item: (abs(item[1] - SELECTION_ROWS), item[0]))


def filter_values() -> dict[str, list[str]]:
    """Every value of the list's filters that the data set's published cooperations carry."""
    from cooperations.models import Cooperation, Participation, Territory

    published = Cooperation.objects.published()
    participations = Participation.objects.filter(cooperation__is_published=True)

    def distinct(queryset, field):
        return sorted({v for v in queryset.values_list(field, flat=True).distinct() if v})

    metropoles = Territory.objects.metropoles().filter(
        pk__in=participations.filter(role=Participation.Role.METROPOLE).values("territory")
    )
    departements = Territory.objects.filter(
        kind=Territory.Kind.DEPARTEMENT,
        pk__in=participations.exclude(territory__departement=None).values("territory__departement"),
    )
    return {
        "metropole": distinct(metropoles, "code"),
        "thematique": distinct(published, "themes__slug"),
        "statut": distinct(published, "status"),
        "forme": distinct(published, "legal_form__slug"),
        "facteur": distinct(published, "factors__slug"),
        "departement": distinct(departements, "code"),
    }


def load_urls(client, count: int) -> list[str]:
    """`count` distinct list views for the load test, each checked through the list's JSON: a
    view whose parameters the list would ignore in part is left out."""
    from .load_urls import rotating_urls

    def num_pages(url):
        response = client.get(url + ("&" if "?" in url else "?") + "format=json")
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        payload = response.json()
        return None if payload["notices"] else payload["num_pages"]

    return rotating_urls(filter_values(), num_pages, count=count, seed=LOAD_SEED)


EXPORTS = ["csv", "xlsx", "csv_selection", "xlsx_selection"]


def time_request(client, connection, url: str, repeat: int, memory: bool) -> dict:
    """Median and 95th percentile over `repeat` runs after one warm-up; queries of the
    costliest run; with `memory`, one more run under tracemalloc for the peak."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    if ignored_parameters(response):
        raise SystemExit(f"{url} ignored some of its parameters: it would not measure its view")
    durations, queries, size = [], 0, 0
    for _ in range(repeat):
        with counting_queries(connection) as counter:
            started = time.perf_counter()
            response = client.get(url)
            size = consume(response)
            durations.append(time.perf_counter() - started)
        queries = max(queries, counter["n"])
    result = {
        "url": url,
        "runs": repeat,
        "median_ms": statistics.median(durations) * 1000,
        "p95_ms": percentile(durations, 0.95) * 1000,
        "queries": queries,
        "bytes": size,
    }
    if memory:
        tracemalloc.start()
        consume(client.get(url))
        result["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return result


NOTICE = "Certains paramètres ont été ignorés"


def ignored_parameters(response) -> bool:
    """Whether the page says it ignored a parameter (the HTML notice, or the JSON `notices`);
    reads the body, so the response is consumed."""
    if response.streaming:
        body = b"".join(response.streaming_content)
        response.close()
    else:
        body = response.content
    if response.get("Content-Type", "").startswith("application/json"):
        payload = json.loads(body)
        return bool(isinstance(payload, dict) and payload.get("notices"))
    return NOTICE in body.decode("utf-8", "replace")


_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def _import_once(client, connection, data: bytes) -> tuple[float, float, int, str]:
    """Preview then confirm one file through the admin pages, inside a transaction that is
    rolled back; returns both durations, the queries and the success message."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.urls import reverse

    from cooperations.models import Cooperation

    before = Cooperation.objects.count()
    upload = reverse("admin:cooperations_cooperation_import")
    process = reverse("admin:cooperations_cooperation_process_import")
    with transaction.atomic():
        with counting_queries(connection) as counter:
            started = time.perf_counter()
            preview = client.post(
                upload,
                {
                    "resource": "0",
                    "format": "0",
                    "import_file": SimpleUploadedFile("inventaire.xlsx", data),
                },
            )
            previewed = time.perf_counter()
            fields = dict(_HIDDEN.findall(preview.content.decode()))
            if preview.status_code != 200 or "import_file_name" not in fields:
                raise SystemExit("import preview failed: no confirmation form")
            confirmed = client.post(process, fields)
            done = time.perf_counter()
        if confirmed.status_code != 302:
            raise SystemExit(f"import confirmation answered {confirmed.status_code}")
        created = Cooperation.objects.count() - before
        transaction.set_rollback(True)
    return previewed - started, done - previewed, counter["n"], created


def time_import(client, connection, rows: int, repeat: int) -> dict:
    """The import's own work, run in the confirming request whatever its size (a larger file
    goes to the task worker in production, benchmarks/import_job.py): here it can be rolled
    back, so that every repetition imports the same rows."""
    from django.test import override_settings

    with override_settings(IMPORT_BACKGROUND_ROWS=rows):
        return _time_import(client, connection, rows, repeat)


def _time_import(client, connection, rows: int, repeat: int) -> dict:
    from cooperations.synthetic import generate_rows, write_inventory

    headers, cells = generate_rows(rows, seed=IMPORT_SEED)
    data = write_inventory(headers, cells, "xlsx")
    previews, confirms, totals, queries = [], [], [], 0
    for _ in range(repeat):
        preview, confirm, count, created = _import_once(client, connection, data)
        if created != rows:
            raise SystemExit(f"import of {rows} rows created {created} cooperations")
        previews.append(preview)
        confirms.append(confirm)
        totals.append(preview + confirm)
        queries = max(queries, count)
    tracemalloc.start()
    _import_once(client, connection, data)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return {
        "url": "admin import (XLSX), preview + confirm",
        "runs": repeat,
        "median_ms": statistics.median(totals) * 1000,
        "p95_ms": percentile(totals, 0.95) * 1000,
        "preview_median_ms": statistics.median(previews) * 1000,
        "confirm_median_ms": statistics.median(confirms) * 1000,
        "queries": queries,
        "bytes": len(data),
        "peak_mb": peak,
    }


def staff_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--heavy-repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="Keep the data set if complete.")
    parser.add_argument("--imports", action="store_true", help="Also time the imports.")
    parser.add_argument(
        "--import-sizes", default=",".join(str(n) for n in IMPORT_SIZES), help="173,10000"
    )
    parser.add_argument(
        "--load-urls", type=int, default=0, help="Also choose this many list views for wrk."
    )
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.templatetags.static import static
    from django.test import Client

    from cooperations.models import Cooperation

    result = {"size": args.size, "vendor": connection.vendor, "build": None, "items": {}}
    reused = False
    if args.reuse:
        try:
            reused = dataset_size() == args.size
        except Exception:  # noqa: BLE001 - an empty database has no table yet
            reused = False
    if reused:
        # Migrations merged since the data set was built apply to it as they would in production.
        call_command("migrate", verbosity=0, interactive=False)
    else:
        log(f"building {args.size} cooperations")
        result["build"] = build(args.size)
    if args.reuse and not reused:
        log("data set was missing or incomplete: rebuilt")
    if connection.vendor == "postgresql":
        # Statistics as autovacuum would leave them in production, not those of an empty table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    result["reused"] = reused
    if not os.environ.get("BENCHMARK_STATIC_ROOT"):
        call_command("collectstatic", interactive=False, verbosity=0)
    result["published"] = Cooperation.objects.published().count()
    result["facet_index"] = facet_index_cost()
    urls = targets()
    result["selection_rows"] = urls.pop("selection_rows", 0)
    result["urls"] = urls

    client = Client()
    for name in PAGES:
        log(f"timing {name}")
        result["items"][name] = time_request(client, connection, urls[name], args.repeat, False)
    for name in [name for name in EXPORTS if name in urls]:
        log(f"timing {name} export")
        result["items"][name] = time_request(
            client, connection, urls[name], args.heavy_repeat, True
        )
    if args.load_urls:
        log(f"choosing {args.load_urls} list views for the load test")
        result["load_urls"] = load_urls(client, args.load_urls)
        result["static_path"] = static("css/catalogue.css")
        # The cooperations that the write-churn rounds rename in turn (benchmarks.churn).
        result["churn_slugs"] = list(
            Cooperation.objects.published().order_by("pk").values_list("slug", flat=True)[:5]
        )
    if args.imports:
        client = staff_client()
        for rows in [int(n) for n in args.import_sizes.split(",") if n]:
            log(f"timing import of {rows} rows")
            result["items"][f"import_{rows}"] = time_import(
                client, connection, rows, args.heavy_repeat
            )
    args.output.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
