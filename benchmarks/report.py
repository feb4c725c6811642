"""benchmarks/REPORT.md from the results of a run: machine, one table per engine and size, the
load test, and each target of issue 5 with its measured value and pass or miss.
"""

LABELS = {
    "list": "List, no filter",
    "list_filtered": "List, métropole + thématique filters, all facet counts",
    "search": "List, text search",
    "detail": "Cooperation page",
    "metropole": "Métropole page",
    "territory": "Territory page (partner EPCI)",
    "json": "JSON list",
    "csv": "CSV export, every published row",
    "xlsx": "XLSX export, every published row",
    "import_173": "Import of 173 rows (admin: preview + confirm)",
    "import_10000": "Import of 10,000 rows (admin: preview + confirm)",
}
PAGES = ["list", "list_filtered", "search", "detail", "metropole", "territory", "json"]
ENGINE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _duration(ms: float) -> str:
    return f"{ms / 1000:,.1f} s" if ms >= 1000 else f"{ms:,.0f} ms"


def _item_label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    if key.startswith("import_"):
        return f"Import of {int(key.removeprefix('import_')):,} rows (admin: preview + confirm)"
    return key


def _find(results, engine, size, key):
    for run in results["runs"]:
        if run["engine"] == engine and run["size"] == size:
            return run["items"].get(key)
    return None


def _find_import(results, engine, key):
    """Imports are measured on the smallest data set of each engine."""
    for run in results["runs"]:
        if run["engine"] == engine and key in run["items"]:
            return run["items"][key]
    return None


def _load(results, engine, size, cached=True):
    for load in results.get("loads", []):
        if load["engine"] == engine and load["size"] == size and load["cached"] == cached:
            return load
    return None


def targets(results) -> list[dict]:
    """Issue 5's targets (PostgreSQL, medians unless said) against the measured values."""
    rows = []

    def at_most(label, measured, limit, unit, note=""):
        if measured is None:
            rows.append({"target": label, "measured": "not measured", "verdict": "–"})
            return
        ok = measured <= limit
        if ok:
            margin = f"{(1 - measured / limit) * 100:.0f} % under"
        else:
            margin = f"missed by {measured - limit:,.1f} {unit} (×{measured / limit:.2f})"
        rows.append(
            {
                "target": label,
                "measured": f"{measured:,.1f} {unit}",
                "verdict": ("pass, " if ok else "**miss**, ") + margin,
            }
        )

    def item(size, key, field="median_ms"):
        found = _find(results, "postgres", size, key)
        return found.get(field) if found else None

    at_most(
        "10,000: list, two filters and all facet counts ≤ 50 ms",
        item(10_000, "list_filtered"),
        50,
        "ms",
    )
    at_most("10,000: text search ≤ 80 ms", item(10_000, "search"), 80, "ms")
    at_most("10,000: cooperation page ≤ 15 ms", item(10_000, "detail"), 15, "ms")

    sizes = sorted({r["size"] for r in results["runs"] if r["engine"] == "postgres"})
    if len(sizes) > 1:
        varying = []
        for key in PAGES:
            counts = {size: item(size, key, "queries") for size in sizes}
            if len(set(counts.values())) > 1:
                varying.append(
                    f"{LABELS[key]}: " + ", ".join(f"{n} at {s:,}" for s, n in counts.items())
                )
        rows.append(
            {
                "target": "SQL queries per page independent of the data size "
                f"({', '.join(f'{s:,}' for s in sizes)})",
                "measured": "same counts at every size" if not varying else "; ".join(varying),
                "verdict": "pass" if not varying else "**miss**",
            }
        )
    else:
        rows.append(
            {
                "target": "SQL queries per page independent of the data size",
                "measured": "one size only",
                "verdict": "–",
            }
        )
    at_most(
        "100,000: list, two filters and facet counts ≤ 250 ms",
        item(100_000, "list_filtered"),
        250,
        "ms",
    )
    at_most(
        "100,000: CSV export of all rows streams, peak memory < 150 MB",
        item(100_000, "csv", "peak_mb"),
        150,
        "MB",
    )
    xlsx = item(10_000, "xlsx")
    at_most("XLSX export of 10,000 rows ≤ 10 s", xlsx / 1000 if xlsx else None, 10, "s")
    for rows_count, limit in ((173, 3), (10_000, 60)):
        found = _find_import(results, "postgres", f"import_{rows_count}")
        at_most(
            f"Import of {rows_count:,} rows (preview + confirm) ≤ {limit} s",
            found["median_ms"] / 1000 if found else None,
            limit,
            "s",
        )
    load = _load(results, "postgres", 10_000)
    if load is None:
        rows.append(
            {
                "target": "20 clients for 30 s on the 10,000 set: ≥ 100 requests/s, no error",
                "measured": "not measured",
                "verdict": "–",
            }
        )
    else:
        ok = load["requests_per_s"] >= 100 and load["errors"] == 0
        uncached = _load(results, "postgres", 10_000, cached=False)
        rows.append(
            {
                "target": f"{load['connections']} clients for {load['duration_s']} s on the "
                "10,000 set, filtered list with facets: ≥ 100 requests/s, no error",
                "measured": f"{load['requests_per_s']:,.1f} requests/s, {load['errors']} errors "
                "(page cache on, as in production"
                + (
                    f"; without it {uncached['requests_per_s']:,.1f} requests/s, "
                    f"{uncached['errors']} errors)"
                    if uncached
                    else ")"
                ),
                "verdict": (
                    f"pass, ×{load['requests_per_s'] / 100:.1f} the target" if ok else "**miss**"
                ),
            }
        )
    return rows


def render(results) -> str:
    machine = results["machine"]
    options = results["options"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python manage.py benchmark` "
        f"(sizes {', '.join(f'{s:,}' for s in options['sizes'])}; engines "
        f"{', '.join(ENGINE_NAMES.get(e, e) for e in options['engines'])}; "
        f"{options['repeat']} runs per page, {options['heavy_repeat']} per export and import). "
        "Do not edit by hand: run the command again. How to run it: README, « Benchmarks ».",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory']}",
        f"- OS: {machine['system']}",
        f"- Python {machine['python']}, Django {machine['django']}, "
        f"PostgreSQL {machine['postgresql'] or '–'}, SQLite {machine['sqlite']}"
        + (f", {machine['wrk']}" if machine.get("wrk") else ""),
        f"- Date: {machine['date']}; whole run {results['total_s'] / 60:.1f} min",
        "- Shared machine: other test suites may have run at the same time; medians resist that "
        "better than means, 95th percentiles less so.",
        "",
        "## Method",
        "",
        "- Pages, exports and imports run in-process through Django's test client with the "
        "production settings (DEBUG off, manifest static files): view, queries, template and "
        "middleware, no HTTP server. One warm-up request, then the runs; median and 95th "
        "percentile (nearest rank: with 15 runs, the slowest).",
        "- SQL queries: statements sent during the costliest run (`connection.execute_wrapper`).",
        "- Peak memory: `tracemalloc` peak of one extra run — Python allocations made by the "
        "request, above what the process already held; C buffers of the database drivers are "
        "not counted.",
        "- Data sets: the synthetic inventory (`cooperations.synthetic.generate_rows`, seed "
        "2018) over the official 2026 territories, read by the import's `plan_import`, written "
        "by its bulk `apply_import` (history included), then `refresh_search_text`. About half "
        "the rows are published; lists and exports show published rows only.",
        "- Imports: a fresh synthetic file (seed 5, XLSX) uploaded to the admin import and "
        "confirmed, as staff do, on the smallest data set of each engine, in a transaction "
        "rolled back after each run so that every run creates the same rows.",
        "- In-process timings run with the public page cache off (`PUBLIC_CACHE_SECONDS=0`): "
        "they measure the work of each page.",
        "- Load: gunicorn with the production configuration (gunicorn.conf.py, "
        "2 × cores + 1 sync workers) on 127.0.0.1, `wrk` (2 threads, on the same 2 cores) with "
        f"{options['connections']} connections for {options['duration']} s on the filtered "
        "list with facets, once with the page cache off and once on (the production default, "
        "60 s; one URL is the cache's best case: each worker computes the page once). Errors: "
        "non-2xx/3xx responses plus socket errors.",
        "",
        "## Targets (issue 5: PostgreSQL, medians)",
        "",
        "| Target | Measured | Verdict |",
        "|---|---|---|",
    ]
    for row in targets(results):
        lines.append(f"| {row['target']} | {row['measured']} | {row['verdict']} |")
    lines.append("")

    for engine in options["engines"]:
        for run in [r for r in results["runs"] if r["engine"] == engine]:
            build = run.get("build")
            built = (
                f"built in {build['schema_and_territories_s'] + build['cooperations_s']:.0f} s "
                f"(schema and territories {build['schema_and_territories_s']:.0f} s, "
                f"cooperations {build['cooperations_s']:.0f} s)"
                if build
                else "reused"
            )
            lines += [
                f"## {ENGINE_NAMES.get(engine, engine)}, {run['size']:,} cooperations",
                "",
                f"{run['published']:,} published; data set {built}; measured in "
                f"{run['wall_s']:.0f} s.",
                "",
                "| Measurement | Median (ms) | p95 (ms) | SQL queries | Peak memory (MB) | Runs |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for key, item in run["items"].items():
                peak = f"{item['peak_mb']:.1f}" if "peak_mb" in item else "–"
                label = _item_label(key)
                if "preview_median_ms" in item:
                    label += (
                        f" — preview {_duration(item['preview_median_ms'])}, "
                        f"confirm {_duration(item['confirm_median_ms'])}"
                    )
                lines.append(
                    f"| {label} | {_ms(item['median_ms'])} | {_ms(item['p95_ms'])} | "
                    f"{item['queries']} | {peak} | {item['runs']} |"
                )
            lines.append("")

    if results.get("loads"):
        lines += [
            "## Under load (gunicorn + wrk)",
            "",
            "| Engine, data set | Page cache | Requests/s | Requests "
            "| Latency median / p90 / p99 / max (ms) | Errors (non-2xx + socket) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for load in results["loads"]:
            latencies = " / ".join(
                _ms(load.get(k))
                for k in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms")
            )
            lines.append(
                f"| {ENGINE_NAMES.get(load['engine'], load['engine'])}, {load['size']:,} "
                f"| {'on' if load['cached'] else 'off'} | {load['requests_per_s']:,.1f} "
                f"| {load['requests']:,} | {latencies} "
                f"| {load['errors']} ({load['non_2xx']} + {load['socket_errors']}) |"
            )
        lines += [
            "",
            f"URL: `{results['loads'][0]['path']}`, {results['loads'][0]['workers']} gunicorn "
            f"workers, {results['loads'][0]['connections']} connections, "
            f"{results['loads'][0]['duration_s']} s.",
            "",
        ]
    return "\n".join(lines)
