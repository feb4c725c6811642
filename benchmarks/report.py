"""benchmarks/REPORT.md from the results of a run: machine and its load, issue 11's targets with
their measured values and pass or miss, SQLite against PostgreSQL, cost growth with the data
size, the issue-5 targets still meaningful, one table per engine and size, the load tests.
Every ratio compares figures of the same run.
"""

import math

LABELS = {
    "home": "Home page",
    "list": "List, no filter",
    "list_filtered": "List, thématique + statut filters, all facet counts",
    "search": "List, text search « alimentation »",
    "detail": "Cooperation page",
    "metropole": "Métropole page",
    "territory": "Territory page (partner EPCI)",
    "departement": "Département page",
    "region": "Région page",
    "theme": "Theme page",
    "factors": "Factors overview",
    "plus_values": "Plus-values overview",
    "json": "JSON list",
    "statistics": "Statistics page",
    "statistics_filtered": "Statistics page, métropole + thématique",
    "territory_search": "Ma commune : search by name « saint »",
    "territory_result": "Ma commune : a commune's cooperations",
    "suggestions": "Ma commune : suggestions « saint »",
    "compare": "Comparison of 4 cooperations",
    "feed": "Atom feed, métropole + thématique",
    "feed_all": "Atom feed, whole catalogue",
    "territory_feed": "Atom feed of a métropole",
    "api_list": "API list",
    "api_search": "API list, search « alimentation »",
    "api_record": "API record",
    "csv": "CSV export, every published row",
    "xlsx": "XLSX export, every published row",
    "csv_selection": "CSV export, one-filter selection",
    "xlsx_selection": "XLSX export, one-filter selection",
}
PAGES = [
    "home",
    "list",
    "list_filtered",
    "search",
    "detail",
    "metropole",
    "territory",
    "departement",
    "region",
    "theme",
    "factors",
    "plus_values",
    "json",
    "statistics",
    "statistics_filtered",
    "territory_search",
    "territory_result",
    "suggestions",
    "compare",
    "feed",
    "feed_all",
    "territory_feed",
    "api_list",
    "api_search",
    "api_record",
]
# The pages whose cost with the data size the growth table shows.
GROWTH_PAGES = ["list", "list_filtered", "search", "detail"]
ENGINE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
LOAD_KINDS = {
    "list": "list, rotating filtered views",
    "floor": "static-file floor (WhiteNoise)",
    "list_nowrite": "list, rotating views, no write",
    "list_churn": "list, rotating views, a staff write every 2 s",
}
# Issue 22's targets: 100,000 cooperations, PostgreSQL, page cache off.
TARGET_SIZE = 100_000
FAST_PAGES = {"list_filtered": 4, "list": 4, "detail": 4, "home": 20}
FAST_PAGE_LIMIT = 20
FLOOR_SHARE_22 = 0.25
CHURN_RATE_SHARE = 0.80
CHURN_P99_FACTOR = 3
VISIBLE_MS = 1000
# Issue 11's load target.
LOAD_SIZE = 10_000
LOAD_RATE = 300
FLOOR_SHARE = 0.40
SQLITE_FACTOR = 2.0


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


def _item_label(key: str, run: dict | None = None) -> str:
    if key.startswith("import_"):
        return f"Import of {int(key.removeprefix('import_')):,} rows (admin: preview + confirm)"
    label = LABELS.get(key, key)
    if key.endswith("_selection") and run and run.get("selection_rows"):
        label += f" ({run['selection_rows']:,} rows)"
    return label


def _run(results, engine, size):
    for run in results["runs"]:
        if run["engine"] == engine and run["size"] == size:
            return run
    return None


def _find(results, engine, size, key):
    run = _run(results, engine, size)
    return run["items"].get(key) if run else None


def _find_import(results, engine, key):
    """Imports are measured on the smallest data set of each engine."""
    for run in results["runs"]:
        if run["engine"] == engine and key in run["items"]:
            return run["items"][key]
    return None


def _sizes(results, engine) -> list[int]:
    return sorted({r["size"] for r in results["runs"] if r["engine"] == engine})


def verdict(measured: float, limit: float, unit: str) -> str:
    """« pass, 18 % under » or « **miss**, missed by 2.0 ms (×1.13) »."""
    if measured <= limit:
        return f"pass, {(1 - measured / limit) * 100:.0f} % under"
    return f"**miss**, missed by {measured - limit:,.1f} {unit} (×{measured / limit:.2f})"


def _at_most(label, measured, limit, unit, detail="") -> dict:
    if measured is None:
        return {"target": label, "measured": "not measured", "verdict": "–"}
    return {
        "target": label,
        "measured": f"{measured:,.1f} {unit}" + (f" ({detail})" if detail else ""),
        "verdict": verdict(measured, limit, unit),
    }


def main_load(results, engine="postgres", size=LOAD_SIZE) -> dict | None:
    """The uncached rotating-list load test of the production configuration, or of the first
    set-up compared when the run compared set-ups only; with its floor from the same server."""
    candidates = [
        load
        for load in results.get("loads", [])
        if load["engine"] == engine and load["size"] == size and not load["cached"]
    ]
    if not candidates:
        return None
    chosen = next((lo for lo in candidates if lo.get("production")), candidates[0])["server"]
    by_kind = {lo["kind"]: lo for lo in candidates if lo["server"] == chosen}
    return by_kind if "list" in by_kind else None


def sqlite_ratios(results) -> list[dict]:
    """Each page's SQLite median over its PostgreSQL median, at every size both engines ran."""
    rows = []
    for size in _sizes(results, "postgres"):
        for key in PAGES + ["csv_selection", "xlsx_selection"]:
            pg, lite = _find(results, "postgres", size, key), _find(results, "sqlite", size, key)
            if pg and lite and pg["median_ms"] > 0:
                ratio = lite["median_ms"] / pg["median_ms"]
                rows.append(
                    {
                        "size": size,
                        "key": key,
                        "postgres_ms": pg["median_ms"],
                        "sqlite_ms": lite["median_ms"],
                        "ratio": ratio,
                        "ok": ratio <= SQLITE_FACTOR,
                    }
                )
    return rows


def growth_name(exponent: float) -> str:
    """The growth that a cost multiplied by 10**exponent per 10× data amounts to."""
    if exponent < 0.15:
        return "about constant"
    if exponent < 0.7:
        return "sub-linear"
    if exponent < 1.2:
        return "about linear"
    return "super-linear"


def growth(results, engine: str) -> list[dict]:
    """Per page, the median at each size and, between consecutive sizes, the factor per 10×
    data: (m2 / m1) ** (1 / log10(s2 / s1)), with its exponent log10(factor)."""
    sizes = _sizes(results, engine)
    rows = []
    for key in GROWTH_PAGES:
        medians = {}
        for size in sizes:
            found = _find(results, engine, size, key)
            if found:
                medians[size] = found["median_ms"]
        steps = []
        measured = sorted(medians)
        for small, large in zip(measured, measured[1:], strict=False):
            if medians[small] > 0:
                factor = (medians[large] / medians[small]) ** (1 / math.log10(large / small))
                steps.append({"from": small, "to": large, "factor": factor})
        rows.append({"key": key, "medians": medians, "steps": steps})
    return rows


def targets(results) -> list[dict]:
    """Issue 11's targets (PostgreSQL, page cache off, medians) against the measured values."""
    rows = []

    def item(size, key, field="median_ms"):
        found = _find(results, "postgres", size, key)
        return found.get(field) if found else None

    for size, limit in ((10_000, 15), (100_000, 30)):
        rows.append(
            _at_most(
                f"{size:,}: list, thématique + statut, all facet counts ≤ {limit} ms",
                item(size, "list_filtered"),
                limit,
                "ms",
            )
        )
    for key, what in (("list", "list without filter"), ("search", "search « alimentation »")):
        for size, limit in ((10_000, 22.5), (100_000, 45)):
            rows.append(_at_most(f"{size:,}: {what} ≤ {limit:g} ms", item(size, key), limit, "ms"))
    details = {size: item(size, "detail") for size in _sizes(results, "postgres")}
    details = {size: value for size, value in details.items() if value is not None}
    worst = max(details.values()) if details else None
    rows.append(
        _at_most(
            "Cooperation page ≤ 10 ms at every size",
            worst,
            10,
            "ms",
            ", ".join(f"{value:.1f} at {size:,}" for size, value in details.items())
            if len(details) > 1
            else "",
        )
    )
    selection = next(
        (
            run
            for run in sorted(results["runs"], key=lambda r: r["size"])
            if run["engine"] == "postgres" and "csv_selection" in run["items"]
        ),
        None,
    )
    for key, limit, unit, what in (
        ("csv_selection", 100, "ms", "CSV export of 10,000 rows, streamed, ≤ 100 ms"),
        ("xlsx_selection", 1, "s", "XLSX export of 10,000 rows ≤ 1 s"),
    ):
        value = selection["items"][key]["median_ms"] if selection else None
        if value is not None and unit == "s":
            value /= 1000
        detail = (
            f"{selection['selection_rows']:,} rows of the {selection['size']:,} set"
            if selection
            else ""
        )
        rows.append(_at_most(what, value, limit, unit, detail))
    rows += load_targets(results)
    ratios = sqlite_ratios(results)
    if ratios:
        worst = max(ratios, key=lambda r: r["ratio"])
        misses = [r for r in ratios if not r["ok"]]
        rows.append(
            {
                "target": f"SQLite within {SQLITE_FACTOR:g}× of PostgreSQL (every page, every "
                "size; table below)",
                "measured": f"worst ×{worst['ratio']:.2f} ({_item_label(worst['key'])}, "
                f"{worst['size']:,}); {len(misses)} of {len(ratios)} over",
                "verdict": "pass" if not misses else "**miss**",
            }
        )
    else:
        rows.append(
            {
                "target": f"SQLite within {SQLITE_FACTOR:g}× of PostgreSQL",
                "measured": "not measured",
                "verdict": "–",
            }
        )
    return rows


def load_targets(results) -> list[dict]:
    label = (
        "Load, 20 clients, ≥ 500 rotating list views, page cache off, 10,000 set: "
        f"≥ {LOAD_RATE} requests/s, 0 errors, ≥ {FLOOR_SHARE:.0%} of the floor"
    )
    load = main_load(results)
    if load is None:
        return [{"target": label, "measured": "not measured", "verdict": "–"}]
    rotating = load["list"]
    floor = load.get("floor")
    share = rotating["requests_per_s"] / floor["requests_per_s"] if floor else None
    misses = []
    if rotating["requests_per_s"] < LOAD_RATE:
        misses.append(f"×{rotating['requests_per_s'] / LOAD_RATE:.2f} the rate")
    if rotating["errors"]:
        misses.append(f"{rotating['errors']} errors")
    if share is None or share < FLOOR_SHARE:
        misses.append("below the floor share" if share is not None else "no floor measured")
    measured = (
        f"{rotating['requests_per_s']:,.1f} requests/s over {rotating['distinct_urls']} URLs, "
        f"{rotating['errors']} errors; floor {floor['requests_per_s']:,.1f} requests/s, "
        f"ratio {share:.0%}"
        if floor
        else f"{rotating['requests_per_s']:,.1f} requests/s, {rotating['errors']} errors"
    )
    measured += f" (gunicorn {rotating['server']}, {rotating['connections']} connections)"
    return [
        {
            "target": label,
            "measured": measured,
            "verdict": "pass" if not misses else "**miss**, " + ", ".join(misses),
        }
    ]


def _load_of(results, kind, size=TARGET_SIZE):
    load = main_load(results, size=size) or {}
    if kind in load:
        return load[kind]
    return next(
        (
            lo
            for lo in results.get("loads", [])
            if lo["kind"] == kind and lo["size"] == size and lo["engine"] == "postgres"
        ),
        None,
    )


def issue22_targets(results) -> list[dict]:
    """Issue 22's absolute targets at 100,000 cooperations on PostgreSQL."""
    rows = []
    size = TARGET_SIZE

    def median(key):
        found = _find(results, "postgres", size, key)
        return found["median_ms"] if found else None

    for key, limit in FAST_PAGES.items():
        rows.append(_at_most(f"{LABELS[key]} ≤ {limit} ms median", median(key), limit, "ms"))
    rows.append(datasette_target(results))
    for key in PAGES:
        if key not in FAST_PAGES:
            rows.append(
                _at_most(
                    f"{LABELS[key]} ≤ {FAST_PAGE_LIMIT} ms median",
                    median(key),
                    FAST_PAGE_LIMIT,
                    "ms",
                )
            )
    rotating, floor = _load_of(results, "list"), _load_of(results, "floor")
    label = f"Rotating-URL load, page cache off ≥ {FLOOR_SHARE_22:.0%} of the static-file floor"
    if rotating and floor and floor["requests_per_s"]:
        share = rotating["requests_per_s"] / floor["requests_per_s"]
        rows.append(
            {
                "target": label,
                "measured": f"{share:.0%}: {rotating['requests_per_s']:,.1f} against "
                f"{floor['requests_per_s']:,.1f} requests/s, {rotating['errors']} errors "
                f"(gunicorn {rotating['server']}, {rotating['connections']} connections)",
                "verdict": "pass" if share >= FLOOR_SHARE_22 else "**miss**",
            }
        )
    else:
        rows.append({"target": label, "measured": "not measured", "verdict": "–"})
    quiet, churn = _load_of(results, "list_nowrite"), _load_of(results, "list_churn")
    label = f"Write churn (a write every 2 s) ≥ {CHURN_RATE_SHARE:.0%} of the no-write rate"
    label_p99 = f"Write churn: p99 ≤ {CHURN_P99_FACTOR}× the no-write p99"
    label_seen = f"A write shows in the list within {VISIBLE_MS / 1000:g} s"
    if quiet and churn and quiet["requests_per_s"]:
        share = churn["requests_per_s"] / quiet["requests_per_s"]
        rows.append(
            {
                "target": label,
                "measured": f"{share:.0%}: {churn['requests_per_s']:,.1f} against "
                f"{quiet['requests_per_s']:,.1f} requests/s, {churn['errors']} errors",
                "verdict": "pass" if share >= CHURN_RATE_SHARE else "**miss**",
            }
        )
        p99, quiet_p99 = churn.get("latency_p99_ms"), quiet.get("latency_p99_ms")
        if p99 and quiet_p99:
            factor = p99 / quiet_p99
            rows.append(
                {
                    "target": label_p99,
                    "measured": f"×{factor:.2f}: {_ms(p99)} against {_ms(quiet_p99)} ms "
                    f"(median rounds; worst rounds {_ms(churn.get('latency_p99_worst_ms'))} "
                    f"against {_ms(quiet.get('latency_p99_worst_ms'))} ms)",
                    "verdict": "pass" if factor <= CHURN_P99_FACTOR else "**miss**",
                }
            )
        else:
            rows.append({"target": label_p99, "measured": "not measured", "verdict": "–"})
        writes = churn.get("writes") or []
        delays = sorted(w["visible_ms"] for w in writes if w.get("visible_ms") is not None)
        unseen = len(writes) - len(delays)
        firsts = sorted(w["first_seen_ms"] for w in writes if w.get("first_seen_ms") is not None)
        if writes:
            worst = max(delays) if delays else None
            measured = (
                f"{len(writes)} writes: in 10 polls in a row after median "
                f"{_ms(delays[len(delays) // 2])} ms, worst {_ms(worst)} ms"
                if delays
                else f"{len(writes)} writes"
            ) + (f", {unseen} not shown within 10 s" if unseen else "")
            if firsts:
                measured += (
                    f"; first shown after median {_ms(firsts[len(firsts) // 2])} ms, "
                    f"worst {_ms(max(firsts))} ms"
                )
            ok = not unseen and worst is not None and worst <= VISIBLE_MS
            verdict_seen = "pass" if ok else "**miss**"
            rows.append({"target": label_seen, "measured": measured, "verdict": verdict_seen})
        else:
            rows.append({"target": label_seen, "measured": "no write made", "verdict": "–"})
    else:
        for text in (label, label_p99, label_seen):
            rows.append({"target": text, "measured": "not measured", "verdict": "–"})
    warm = rotating.get("rss_mb_warm") if rotating else None
    after = rotating.get("rss_mb_churn") if rotating else None
    rows.append(
        {
            "target": "RSS of one gunicorn worker after warm-up and after write churn (reported)",
            "measured": (
                f"after warm-up {_mb_list(warm)}; after write churn {_mb_list(after)}"
                if warm
                else "not measured"
            ),
            "verdict": "–",
        }
    )
    return rows


def _side(results, kind, connections) -> dict | None:
    return next(
        (
            r
            for r in results.get("side_by_side") or []
            if r["kind"] == kind and r["connections"] == connections
        ),
        None,
    )


def datasette_target(results) -> dict:
    """Our record page against Datasette's row page, same records, same client, same run.
    The verdict reads the sequential median latency (one visitor's wait for a page); the 20
    connections show what each server makes of concurrency, ours with gunicorn's workers,
    Datasette in its one process."""
    label = "Cooperation page no slower than Datasette's row page, same data"
    ours, theirs = _side(results, "ours", 1), _side(results, "datasette", 1)
    if not ours or not theirs or not theirs.get("latency_p50_ms"):
        return {"target": label, "measured": "not measured", "verdict": "–"}
    parts = []
    for connections in (1, 20):
        mine, other = _side(results, "ours", connections), _side(results, "datasette", connections)
        if not mine or not other or not other.get("latency_p50_ms") or not other["requests_per_s"]:
            continue
        kind = "sequential" if connections == 1 else f"{connections} connections"
        parts.append(
            f"{kind}: median {_ms(mine.get('latency_p50_ms'))} against "
            f"{_ms(other['latency_p50_ms'])} ms "
            f"(×{mine.get('latency_p50_ms', 0) / other['latency_p50_ms']:.2f}), "
            f"{mine['requests_per_s']:,.1f} against {other['requests_per_s']:,.1f} requests/s "
            f"(×{mine['requests_per_s'] / other['requests_per_s']:.2f})"
        )
    errors = sum(r["errors"] for r in results["side_by_side"])
    where = f"{ours['engine']}, {ours['size']:,} cooperations, {ours['records']} records"
    ratio = ours["latency_p50_ms"] / theirs["latency_p50_ms"]
    return {
        "target": label,
        "measured": "; ".join(parts) + f" ({where}, {errors} errors)",
        "verdict": (
            f"pass, ×{ratio:.2f} sequential median"
            if ratio <= 1
            else f"**miss**, ×{ratio:.2f} sequential median"
        )
        + ("" if ours["size"] == TARGET_SIZE else f" (at {ours['size']:,}, not {TARGET_SIZE:,})"),
    }


def _mb_list(values) -> str:
    if not values:
        return "–"
    return "largest " + f"{max(values):,.0f} MB (" + ", ".join(f"{v:,.0f}" for v in values) + ")"


def issue5_targets(results) -> list[dict]:
    """The targets of issue 5 that issue 11 does not supersede."""
    rows = []
    sizes = _sizes(results, "postgres")
    if len(sizes) > 1:
        varying = []
        for key in PAGES:
            counts = {}
            for size in sizes:
                found = _find(results, "postgres", size, key)
                if found:
                    counts[size] = found["queries"]
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
    found = _find(results, "postgres", 100_000, "csv")
    rows.append(
        _at_most(
            "100,000: CSV export of all rows streams, peak memory < 150 MB",
            found.get("peak_mb") if found else None,
            150,
            "MB",
        )
    )
    for rows_count, limit in ((173, 3), (10_000, 60)):
        found = _find_import(results, "postgres", f"import_{rows_count}")
        rows.append(
            _at_most(
                f"Import of {rows_count:,} rows (preview + confirm) ≤ {limit} s",
                found["median_ms"] / 1000 if found else None,
                limit,
                "s",
            )
        )
    return rows


def _table(rows) -> list[str]:
    lines = ["| Target | Measured | Verdict |", "|---|---|---|"]
    lines += [f"| {r['target']} | {r['measured']} | {r['verdict']} |" for r in rows]
    return lines + [""]


def _rounds(results) -> str:
    """How many alternating rounds the load tests made ("several" when none ran)."""
    counts = [len(load.get("round_rates") or ()) for load in results.get("loads", [])]
    return str(max(counts)) if any(counts) else "several"


def render(results) -> str:
    machine = results["machine"]
    options = results["options"]
    start, end = machine.get("loadavg_start"), machine.get("loadavg_end")
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
        f"- CPU: {machine['cpu']}, {machine['cores']} cores ({machine.get('nproc', '?')} "
        f"available to the run, `nproc`); memory {machine['memory']}",
        f"- OS: {machine['system']}",
        f"- Python {machine['python']}, Django {machine['django']}, "
        f"PostgreSQL {machine['postgresql'] or '–'}, SQLite {machine['sqlite']}"
        + (f", {machine['wrk']}" if machine.get("wrk") else ""),
        f"- Date: {machine['date']}; whole run {results['total_s'] / 60:.1f} min",
        "- Load average (1, 5, 15 min): "
        + (f"{', '.join(map(str, start))} at the start" if start else "–")
        + (f", {', '.join(map(str, end))} at the end" if end else "")
        + ". Other work on the machine (test suites of other branches) slows the figures; "
        "medians resist it better than means, 95th percentiles less so.",
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
        "by its bulk `apply_import` (history included), then `refresh_derived_text`. About half "
        "the rows are published; lists and exports show published rows only.",
        "- Exports of a selection: the one-filter view (a status, a form or a theme) whose "
        "published rows come closest to 10,000, on the data sets large enough to hold one.",
        "- Imports: a fresh synthetic file (seed 5, XLSX) uploaded to the admin import and "
        "confirmed, as staff do, on the smallest data set of each engine, in a transaction "
        "rolled back after each run so that every run creates the same rows.",
        "- In-process timings run with the public page cache off (`PUBLIC_CACHE_SECONDS=0`): "
        "they measure the work of each page.",
        f"- Load: gunicorn (gunicorn.conf.py, or the set-ups compared) on 127.0.0.1 serves the "
        f"{options['load_size']:,} set; `wrk` (2 threads, on the same cores, keep-alive) with "
        f"{options['connections']} connections: "
        f"{options.get('load_urls', 500)} distinct filtered views of the list (one to three of "
        "métropole, thématique, statut, forme, facteur, département with the data set's values, "
        "some sorted otherwise, some on a later page; each checked to answer without an "
        "ignored-parameter notice), page cache off, after "
        f"{options.get('warmup', 0)} s of the same views not measured (each worker builds its "
        "facet index once per catalogue version); alternating with them on the same server, "
        "the floor: a static file served by the same gunicorn through WhiteNoise: "
        f"{_rounds(results)} rounds of each, {options['duration']} s in all, each rate the "
        "median of its rounds, so that a burst of other work on the machine weighs on both. "
        "Then write churn: three pairs of rounds of the same rotating views, "
        f"{options['duration']} s per kind, the first of each pair without writes, the second "
        "while another process (`benchmarks.churn`) renames one of five published "
        "cooperations in turn through the ORM every 2 s (history and search text included, as "
        "the admin's save does), and a thread per write polls the list sorted by name on new "
        "connections until the new name shows in 10 polls in a row (the « write visible » "
        "figure); a no-write round starts once the last write shows and 2 s more have passed; "
        "each rate the median round. RSS: VmRSS of every gunicorn worker "
        "(/proc/<pid>/status) after the warm-up and after the write churn. Then the rotating "
        "views once more with the page cache on, as in production. Errors: non-2xx/3xx "
        "responses plus socket errors.",
        *_datasette_method(results),
        "",
        f"## Targets (issue 22: {TARGET_SIZE:,} cooperations, PostgreSQL, page cache off)",
        "",
        *_table(issue22_targets(results)),
        "## Targets (issue 11: PostgreSQL, page cache off, medians)",
        "",
        *_table(targets(results)),
    ]

    ratios = sqlite_ratios(results)
    if ratios:
        lines += [
            "## SQLite against PostgreSQL (medians, ms)",
            "",
            "| Page | Data set | PostgreSQL | SQLite | SQLite / PostgreSQL |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in ratios:
            ratio = f"×{row['ratio']:.2f}" + ("" if row["ok"] else " **over 2×**")
            lines.append(
                f"| {_item_label(row['key'])} | {row['size']:,} | {_ms(row['postgres_ms'])} "
                f"| {_ms(row['sqlite_ms'])} | {ratio} |"
            )
        lines.append("")

    for engine in options["engines"]:
        table = growth(results, engine)
        sizes = _sizes(results, engine)
        if len(sizes) < 2:
            continue
        lines += [
            f"## Cost growth with the data size ({ENGINE_NAMES.get(engine, engine)}, medians)",
            "",
            "Factor per 10× data: the median's ratio between two sizes, scaled to a tenfold "
            "step; about 1 means constant, about 10 linear. Exponent: its log10.",
            "",
            "| Page | "
            + " | ".join(f"{s:,} (ms)" for s in sizes)
            + " | Factor per 10× (exponent) | Growth |",
            "|---|" + "---:|" * len(sizes) + "---|---|",
        ]
        for row in table:
            steps = "; ".join(
                f"×{step['factor']:.2f} ({math.log10(step['factor']):.2f}) "
                f"{step['from']:,} → {step['to']:,}"
                for step in row["steps"]
                if step["factor"] > 0
            )
            last = row["steps"][-1]["factor"] if row["steps"] else None
            named = growth_name(math.log10(last)) if last and last > 0 else "–"
            lines.append(
                f"| {LABELS[row['key']]} | "
                + " | ".join(_ms(row["medians"].get(s)) for s in sizes)
                + f" | {steps or '–'} | {named} |"
            )
        lines.append("")

    lines += [
        "## Targets of issue 5 still checked (PostgreSQL)",
        "",
        *_table(issue5_targets(results)),
    ]

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
                *_facet_index_line(run),
                "| Measurement | Median (ms) | p95 (ms) | SQL queries | Peak memory (MB) | Runs |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for key, item in run["items"].items():
                peak = f"{item['peak_mb']:.1f}" if "peak_mb" in item else "–"
                label = _item_label(key, run)
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
        lines += _load_section(results)
    if results.get("side_by_side"):
        lines += _side_by_side_section(results)
    return "\n".join(lines)


def _datasette_method(results) -> list[str]:
    sides = results.get("side_by_side") or []
    if not sides:
        return []
    theirs = next(r for r in sides if r["kind"] == "datasette")
    ours = next(r for r in sides if r["kind"] == "ours")
    return [
        f"- Record page against Datasette's row page: the same {ours['records']} published "
        f"records, spread over the table, asked in turn by `wrk` (a Lua script of their URLs) "
        f"of our record page (`/cooperations/<slug>/`, gunicorn {ours['server']} with "
        "gunicorn.conf.py, production settings, page cache off) and of Datasette's row page "
        f"(`/<db>/cooperations_cooperation/<id>`, `{theirs['server']}` in a virtualenv of its "
        "own, `datasette serve -i`, one process) serving "
        f"{theirs['data']}; one connection (a visitor in sequence) and 20 connections, in "
        "alternating rounds (each server, each concurrency), each URL first checked to answer "
        "200 and each rotation sent for 5 s over 20 connections, not measured; each figure "
        "the median round. The verdict reads the sequential median "
        "latency."
    ]


def _side_by_side_section(results) -> list[str]:
    lines = [
        "## Record page beside Datasette's row page",
        "",
        "| Server | Data | Connections | Requests/s | Latency median / p90 / p99 (ms) | Errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for side in results["side_by_side"]:
        latencies = " / ".join(
            _ms(side.get(k)) for k in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms")
        )
        name = "catalogue" if side["kind"] == "ours" else "Datasette"
        lines.append(
            f"| {name}, {side['server']} | {side['data']} | {side['connections']} "
            f"| {_rate(side)} | {latencies} | {side['errors']} |"
        )
    return [*lines, ""]


def _load_section(results) -> list[str]:
    lines = [
        "## Under load (gunicorn + wrk)",
        "",
        "| Engine, data set | gunicorn | Page cache | Requests to | Requests/s | Requests "
        "| Latency median / p90 / p99 / max (ms) | Errors (non-2xx + socket) |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for load in results["loads"]:
        latencies = " / ".join(
            _ms(load.get(k))
            for k in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms")
        )
        server = load["server"] + (" (gunicorn.conf.py)" if load.get("production") else "")
        lines.append(
            f"| {ENGINE_NAMES.get(load['engine'], load['engine'])}, {load['size']:,} "
            f"| {server} | {'on' if load['cached'] else 'off'} "
            f"| {LOAD_KINDS.get(load['kind'], load['kind'])} | {_rate(load)} "
            f"| {load['requests']:,} | {latencies} "
            f"| {load['errors']} ({load['non_2xx']} + {load['socket_errors']}) |"
        )
    lines.append("")
    shares = []
    for load in results["loads"]:
        if load["kind"] != "list" or load["cached"]:
            continue
        floor = next(
            (
                other
                for other in results["loads"]
                if other["kind"] == "floor"
                and not other["cached"]
                and (other["engine"], other["size"], other["server"])
                == (load["engine"], load["size"], load["server"])
            ),
            None,
        )
        if floor and floor["requests_per_s"]:
            shares.append(
                f"- {ENGINE_NAMES.get(load['engine'], load['engine'])}, gunicorn "
                f"{load['server']}: rotating list {load['requests_per_s']:,.1f} requests/s = "
                f"{load['requests_per_s'] / floor['requests_per_s']:.0%} of the static-file "
                f"floor ({floor['requests_per_s']:,.1f} requests/s)."
            )
    if shares:
        lines += ["Share of the floor, same server, same run:", "", *shares, ""]
    first = results["loads"][0]
    lines += [
        f"{first['connections']} connections, {first['duration_s']} s per line (the rotating "
        f"list and the floor: the median of {_rounds(results)} alternating rounds, each round's "
        "rate in brackets, latencies of the median round). Floor: "
        f"`{_path_of(results, 'floor')}`.",
        "",
    ]
    return lines


def _path_of(results, kind) -> str:
    return next((lo["path"] for lo in results["loads"] if lo["kind"] == kind), "–")


def _facet_index_line(run: dict) -> list[str]:
    cost = run.get("facet_index")
    if not cost:
        return []
    return [
        f"Facet index of each worker process: built in {_ms(cost['build_ms'])} ms (median of 3)"
        + (
            f", updated after the write of one record in {_ms(cost['update_ms'])} ms (median of 2)"
            if "update_ms" in cost
            else ""
        )
        + f", {cost['mb']:.1f} MB in memory, {cost['bitmaps']:,} bitmaps.",
        "",
    ]


def _rate(load: dict) -> str:
    rate = f"{load['requests_per_s']:,.1f}"
    if load.get("round_rates"):
        rate += " (" + ", ".join(f"{value:,.0f}" for value in load["round_rates"]) + ")"
    return rate
