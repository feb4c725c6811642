"""Orchestration of `python manage.py benchmark`: databases, subprocesses, load test, report.

Each (engine, size) pair gets its own database — PostgreSQL `bench_<size>`, SQLite
`benchmarks/out/bench_<size>.sqlite3` — and its own `benchmarks.worker` subprocess with
DATABASE_URL pointing at it, so the developer's database is never touched. The data set of
`load_size` cooperations is then served by gunicorn (the production configuration,
gunicorn.conf.py) on a free port of 127.0.0.1 while `wrk` sends the filtered, faceted list for
a bounded time.
"""

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
REPORT = ROOT / "benchmarks" / "REPORT.md"
DEFAULT_SIZES = (173, 10_000, 100_000)
ENGINES = ("postgres", "sqlite")
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"


@dataclass
class Options:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    engines: tuple[str, ...] = ENGINES
    repeat: int = 15
    heavy_repeat: int = 3
    reuse: bool = False
    load: bool = True
    load_size: int = 10_000
    duration: int = 30
    connections: int = 20
    import_sizes: tuple[int, ...] = (173, 10_000)
    postgres_url: str = POSTGRES_URL
    out: Path = OUT
    report: Path = REPORT
    log: object = field(default=print)


# --- Databases -----------------------------------------------------------------------------------


def _server_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def database_url(engine: str, size: int, options: Options) -> str:
    if engine == "postgres":
        return _server_url(options.postgres_url, f"bench_{size}")
    return f"sqlite:///{options.out / f'bench_{size}.sqlite3'}"


def recreate_database(engine: str, size: int, options: Options) -> None:
    """Drop and create the data set's database (only ever bench_<size>)."""
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            (options.out / f"bench_{size}.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = f"bench_{int(size)}"
    with psycopg.connect(options.postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_exists(engine: str, size: int, options: Options) -> bool:
    if engine == "sqlite":
        return (options.out / f"bench_{size}.sqlite3").exists()
    import psycopg

    with psycopg.connect(options.postgres_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [f"bench_{int(size)}"]
        ).fetchone()
    return row is not None


def _environment(url: str, label: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "PYTHONPATH": str(ROOT),
            "BENCHMARK_LABEL": label,
            # Fixed for the run: the settings would draw a new key in each process.
            "SECRET_KEY": env.get("BENCHMARK_SECRET_KEY") or os.urandom(24).hex(),
        }
    )
    for name in ("DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "LOG_LEVEL"):
        env.pop(name, None)
    # In-process timings measure the work of each page, never the page cache.
    env["PUBLIC_CACHE_SECONDS"] = "0"
    return env


def run_worker(engine: str, size: int, imports: bool, options: Options) -> dict:
    url = database_url(engine, size, options)
    reuse = options.reuse and database_exists(engine, size, options)
    if not reuse:
        recreate_database(engine, size, options)
    output = options.out / f"result-{engine}-{size}.json"
    output.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        f"--size={size}",
        f"--repeat={options.repeat}",
        f"--heavy-repeat={options.heavy_repeat}",
        f"--output={output}",
    ]
    if reuse:
        command.append("--reuse")
    if imports:
        command += ["--imports", "--import-sizes=" + ",".join(map(str, options.import_sizes))]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=_environment(url, f"{engine} {size}"), check=True)
    result = json.loads(output.read_text())
    result["engine"] = engine
    result["wall_s"] = time.perf_counter() - started
    return result


# --- Load test -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_served(url: str, process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn stopped before serving (see benchmarks/out/gunicorn.log)")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not serve {url} within {timeout:.0f} s")


def parse_wrk(text: str) -> dict:
    """Requests/s, latency figures and errors (non-2xx/3xx responses plus socket errors)."""

    def duration_ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]

    result = {"raw": text}
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    result["requests_per_s"] = float(match.group(1)) if match else 0.0
    match = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
    result["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", text)
    if match:
        result["latency_avg_ms"], _, result["latency_max_ms"] = (
            duration_ms(v) for v in match.groups()
        )
    for percent in ("50", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+\w+)", text, re.MULTILINE)
        if match:
            result[f"latency_p{percent}_ms"] = duration_ms(match.group(1))
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    non_2xx = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    sockets = sum(int(v) for v in match.groups()) if match else 0
    result["non_2xx"] = non_2xx
    result["socket_errors"] = sockets
    result["errors"] = non_2xx + sockets
    return result


def load_test(engine: str, size: int, path: str, options: Options, cached: bool) -> dict:
    """Serve the data set with gunicorn on a free local port and run wrk against `path`;
    `cached`: with the public page cache of the production settings, else without it."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk est introuvable : apt-get install wrk (ou --no-load).")
    port = free_port()
    env = _environment(database_url(engine, size, options), f"gunicorn {engine} {size}")
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    if cached:
        env.pop("PUBLIC_CACHE_SECONDS")
    log_path = options.out / f"gunicorn-{engine}-{size}-{'cache' if cached else 'nocache'}.log"
    with open(log_path, "w") as gunicorn_log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "catalogue.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=gunicorn_log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}{path}"
            _wait_until_served(url, server)
            workers = int(env.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2 + 1)
            for _ in range(workers * 2):  # each worker opens its database connection
                urllib.request.urlopen(url, timeout=30).read()  # noqa: S310 - 127.0.0.1
            completed = subprocess.run(
                [
                    wrk,
                    "--threads=2",
                    f"--connections={options.connections}",
                    f"--duration={options.duration}s",
                    "--timeout=10s",
                    "--latency",
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=options.duration + 60,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    result = parse_wrk(completed.stdout)
    result.update(
        {
            "engine": engine,
            "size": size,
            "path": path,
            "workers": workers,
            "connections": options.connections,
            "duration_s": options.duration,
            "cached": cached,
        }
    )
    return result


# --- Machine -------------------------------------------------------------------------------------


def machine(options: Options) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    system = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    postgres = ""
    if "postgres" in options.engines:
        try:
            import psycopg

            with psycopg.connect(options.postgres_url) as connection:
                postgres = connection.execute("SHOW server_version").fetchone()[0]
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            postgres = f"unavailable ({error.__class__.__name__})"
    wrk_version = ""
    wrk = shutil.which("wrk")
    if options.load and wrk:
        completed = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (completed.stdout + completed.stderr).split(" Copyright")[0].strip()
    import django

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "system": system,
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgres,
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- Run -----------------------------------------------------------------------------------------


def run(options: Options) -> dict:
    """Every engine and size, then the load test; writes the JSON results and the report."""
    from . import report

    options.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = {"machine": machine(options), "options": _options_dict(options), "runs": []}
    results["loads"] = []
    sizes = sorted(options.sizes)
    for engine in options.engines:
        for size in sizes:
            imports = size == sizes[0] and bool(options.import_sizes)
            options.log(f"{engine}, {size} coopérations : construction et mesures…")
            run = run_worker(engine, size, imports, options)
            results["runs"].append(run)
            if options.load and size == options.load_size:
                for cached in (False, True):
                    options.log(
                        f"{engine}, {size} coopérations : gunicorn + wrk, {options.duration} s, "
                        + ("avec" if cached else "sans")
                        + " cache des pages…"
                    )
                    results["loads"].append(
                        load_test(engine, size, run["urls"]["list_filtered"], options, cached)
                    )
    results["total_s"] = time.perf_counter() - started
    (options.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    options.report.write_text(report.render(results))
    return results


def _options_dict(options: Options) -> dict:
    return {
        "sizes": list(options.sizes),
        "engines": list(options.engines),
        "repeat": options.repeat,
        "heavy_repeat": options.heavy_repeat,
        "load": options.load,
        "load_size": options.load_size,
        "duration": options.duration,
        "connections": options.connections,
        "import_sizes": list(options.import_sizes),
    }
