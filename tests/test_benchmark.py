"""The benchmark command, on a tiny SQLite data set: every measurement reaches the report.

No timing is asserted here: timings belong in the report, never in tests.
"""

import re
import sqlite3

import pytest
from django.conf import settings
from django.core.management import call_command

from benchmarks import report, runner

MEASUREMENTS = [
    "List, no filter",
    "List, métropole + thématique filters, all facet counts",
    "List, text search",
    "Cooperation page",
    "Métropole page",
    "Territory page (partner EPCI)",
    "JSON list",
    "CSV export, every published row",
    "XLSX export, every published row",
    "Import of 20 rows (admin: preview + confirm)",
]
NUMBER = r"[\d,]+(?:\.\d+)?"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run for the module: 20 cooperations, SQLite, 2 runs each, no wrk."""
    out = tmp_path_factory.mktemp("bench")
    developer_db = settings.BASE_DIR / "db.sqlite3"
    before = developer_db.stat().st_mtime_ns if developer_db.exists() else None
    call_command(
        "benchmark",
        "--sizes=20",
        "--engines=sqlite",
        "--repeat=2",
        "--heavy-repeat=2",
        "--import-sizes=20",
        "--no-wrk",
        f"--out={out}",
        f"--report={out / 'REPORT.md'}",
    )
    after = developer_db.stat().st_mtime_ns if developer_db.exists() else None
    return out, (out / "REPORT.md").read_text(), before, after


def test_report_has_every_measurement_with_times_queries_and_memory(tiny_run):
    _, text, _, _ = tiny_run
    assert "## SQLite, 20 cooperations" in text
    for label in MEASUREMENTS:
        line = next((line for line in text.splitlines() if line.startswith(f"| {label}")), None)
        assert line is not None, f"missing row: {label}"
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        median, p95, queries, peak, runs = cells[-5:]
        assert re.fullmatch(NUMBER, median) and re.fullmatch(NUMBER, p95), line
        assert int(queries) > 0, line
        assert runs == "2", line
        exported_or_imported = "export" in label or "Import" in label
        assert (re.fullmatch(NUMBER, peak) is not None) == exported_or_imported, line


def test_report_describes_the_machine_and_lists_the_targets(tiny_run):
    _, text, _, _ = tiny_run
    assert re.search(r"- CPU: .+, \d+ cores; memory", text)
    assert f"SQLite {sqlite3.sqlite_version}" in text
    for target in report.targets({"runs": [], "loads": []}):
        assert f"| {target['target']} |" in text


def test_data_set_lives_in_its_own_file_not_the_developer_database(tiny_run):
    out, _, before, after = tiny_run
    assert (out / "bench_20.sqlite3").exists()
    assert before == after


def test_wrk_output_is_read_into_rate_latency_and_errors():
    sample = """Running 30s test @ http://127.0.0.1:8000/cooperations/
  2 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.10ms   10.02ms 301.00ms   90.00%
    Req/Sec   190.00     20.00   250.00     70.00%
  Latency Distribution
     50%   50.00ms
     75%   55.00ms
     90%   60.00ms
     99%    1.20s
  11400 requests in 30.02s, 300.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    379.75
Transfer/sec:     10.00MB
"""
    parsed = runner.parse_wrk(sample)
    assert parsed["requests_per_s"] == 379.75
    assert parsed["requests"] == 11400
    assert parsed["latency_p50_ms"] == 50.0
    assert parsed["latency_p99_ms"] == 1200.0
    assert parsed["latency_max_ms"] == 301.0
    assert parsed["errors"] == 7
