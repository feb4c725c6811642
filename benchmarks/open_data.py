"""The open-data package at 100,000 cooperations: how long its build takes and how much memory
building and serving it hold (`python manage.py benchmark_open_data`, docs/benchmark.md).

Why: the package is rebuilt on the first request after each change of the catalogue, inside a
web worker; the issue's target is a build of at most 30 s at 100,000 cooperations, and a ZIP
served without being loaded whole into memory. Both are measured on PostgreSQL, in a database
of their own (`bench_open_data`, created then dropped), by a worker subprocess whose
DATABASE_URL points at it, so the developer's database is never touched.

Peak memory is the process's VmHWM (/proc/self/status), reset before each phase by writing 5
to /proc/self/clear_refs (Linux), so each phase reports its own peak, not the data set's.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.runner import POSTGRES_URL, ROOT, _environment, _server_url

DATABASE = "bench_open_data"
SEED = 2024


def _status_mb(field: str) -> float:
    """VmRSS or VmHWM of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} absent de /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _phase(results: dict, name: str, work):
    """Run `work()`, recording its time, the RSS before it and its own peak RSS."""
    _reset_peak()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    value = work()
    results[name] = {
        "seconds": round(time.perf_counter() - started, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(_status_mb("VmHWM"), 1),
    }
    return value


def _csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _row in csv.reader(handle)) - 1


def worker(size: int, output: Path) -> None:
    """In the subprocess: schema, official territories, `size` synthetic cooperations, then the
    package's build and the ZIP's download through the view."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from cooperations.publishing import open_data
    from cooperations.synthetic import write_catalogue
    from cooperations.territories import load_territories, read_fixture

    # WhiteNoise warns at the first request when the collected static folder is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    results: dict = {"size": size}
    call_command("migrate", verbosity=0, interactive=False)
    _phase(results, "territories", lambda: load_territories(read_fixture()))
    _phase(results, "cooperations", lambda: write_catalogue(size, seed=SEED))
    with tempfile.TemporaryDirectory(prefix="open-data-") as root:
        settings.OPEN_DATA_ROOT = root
        host = "http://testserver"
        folder = _phase(
            results, "build", lambda: open_data.current_folder(lambda path: host + path)
        )
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        results["files_mb"] = {
            path.name: round(path.stat().st_size / 1_000_000, 1)
            for path in sorted(folder.iterdir())
        }
        results["rows"] = {
            resource["name"]: _csv_rows(folder / resource["path"])
            for resource in package["resources"]
        }

        def download() -> int:
            response = Client().get(f"/donnees/fichiers/{open_data.ZIP_NAME}")
            assert response.status_code == 200 and response.streaming, response.status_code
            received = sum(len(chunk) for chunk in response.streaming_content)
            response.close()
            return received

        # The package exists now: the request only streams it from disk.
        results["zip_bytes"] = _phase(results, "serve_zip", download)
    output.write_text(json.dumps(results, indent=2))


def _database(url: str, action: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if action == "create":
            connection.execute(f'CREATE DATABASE "{DATABASE}"')


def run(size: int, postgres_url: str = POSTGRES_URL, log=print) -> dict:
    """Create bench_open_data, measure in a worker subprocess, drop the database; returns the
    figures (see `report`)."""
    _database(postgres_url, "create")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-open-data-") as out:
            output = Path(out) / "result.json"
            env = _environment(_server_url(postgres_url, DATABASE), f"open data {size}")
            command = [sys.executable, "-m", "benchmarks.open_data", "--worker",
                       f"--size={size}", f"--output={output}"]  # fmt: skip
            log(f"Mesure du paquet de données à {size} coopérations (PostgreSQL {DATABASE})…")
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True)
            results = json.loads(output.read_text())
            results["wall_s"] = round(time.perf_counter() - started, 1)
    finally:
        _database(postgres_url, "drop")
    results["load_average"] = [round(value, 2) for value in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    return results


def report(results: dict) -> str:
    """The figures in a few Markdown lines, as docs/open-data.md records them."""
    build, serve = results["build"], results["serve_zip"]
    zip_mb = results["zip_bytes"] / 1_000_000
    lines = [
        f"- {results['size']} cooperations (PostgreSQL), {results['cpus']} CPUs, load "
        f"average after the run {results['load_average']}.",
        f"- Build (every CSV, datapackage.json, ZIP): **{build['seconds']} s** (target ≤ 30 s); "
        f"peak RSS {build['peak_rss_mb']} MB, from {build['rss_before_mb']} MB before.",
        f"- ZIP served by the view ({zip_mb:.1f} MB streamed): {serve['seconds']} s, peak RSS "
        f"{serve['peak_rss_mb']} MB from {serve['rss_before_mb']} MB before "
        f"({serve['peak_rss_mb'] - serve['rss_before_mb']:+.1f} MB).",
        "- Rows: " + ", ".join(f"{name} {count}" for name, count in results["rows"].items()),
        f"- Data set written in bulk: territories {results['territories']['seconds']} s, "
        f"cooperations {results['cooperations']['seconds']} s.",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args(argv)
    if options.worker:
        worker(options.size, options.output)
    else:
        print(report(run(options.size)))


if __name__ == "__main__":
    main()
