"""Orchestration of `python manage.py benchmark`: databases, subprocesses, load test, report.

Each (engine, size) pair gets its own database — PostgreSQL `bench_<size>`, SQLite
`benchmarks/out/bench_<size>.sqlite3` — and its own `benchmarks.worker` subprocess with
DATABASE_URL pointing at it, so the developer's database is never touched. The data set of
`load_size` cooperations is then served by gunicorn (the production configuration,
gunicorn.conf.py, or the worker classes given to compare) on a free port of 127.0.0.1 while `wrk`
rotates through at least 500 distinct filtered views of the list for a bounded time, alternating
with a static file served by the same gunicorn through WhiteNoise (the floor), then the same
rotation without and with a staff write every 2 s (`benchmarks.churn`), and the record page
beside Datasette's row page on the same data (`benchmarks.datasette`).
"""

import datetime
import json
import os
import platform
import re
import runpy
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
DEFAULT_SIZES = (1_000, 10_000, 100_000)
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
    # Seconds of the rotating views sent before the clock starts (see load_test).
    warmup: int = 15
    connections: int = 20
    load_urls: int = 500
    # gunicorn set-ups to compare under load, e.g. ("sync:5", "gthread:5x4"); empty: the
    # production configuration only (gunicorn.conf.py).
    servers: tuple[str, ...] = ()
    load_cached: bool = True
    # Our record page beside Datasette's row page (benchmarks.datasette), with the load test.
    datasette: bool = True
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
    if options.load and size == options.load_size:
        command.append(f"--load-urls={options.load_urls}")
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


def parse_server(spec: str) -> dict:
    """`sync:5` → 5 sync workers; `gthread:2x8` → 2 gthread workers of 8 threads each."""
    worker_class, _, shape = spec.partition(":")
    if worker_class not in ("sync", "gthread") or not shape:
        raise ValueError(f"Serveur « {spec} » : sync:<workers> ou gthread:<workers>x<threads>.")
    workers, _, threads = shape.partition("x")
    if not workers.isdigit() or (threads and not threads.isdigit()) or int(workers) < 1:
        raise ValueError(f"Serveur « {spec} » : sync:<workers> ou gthread:<workers>x<threads>.")
    if worker_class == "sync" and threads:
        raise ValueError(f"Serveur « {spec} » : un worker sync n'a qu'un fil.")
    return {"worker_class": worker_class, "workers": int(workers), "threads": int(threads or 1)}


def production_server() -> dict:
    """What gunicorn.conf.py gives on this machine (it reads the environment and core count)."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {
        "worker_class": config.get("worker_class", "sync"),
        "workers": int(config.get("workers", 1)),
        "threads": int(config.get("threads", 1)),
    }


def server_label(server: dict) -> str:
    if server["worker_class"] == "sync":
        return f"sync:{server['workers']}"
    return f"{server['worker_class']}:{server['workers']}x{server['threads']}"


def run_wrk(
    url: str,
    options: Options,
    script: Path | None = None,
    duration: int | None = None,
    connections: int | None = None,
) -> dict:
    wrk = shutil.which("wrk")
    duration = options.duration if duration is None else duration
    connections = options.connections if connections is None else connections
    command = [
        wrk,
        # wrk needs a connection per thread: one connection is one client in sequence.
        f"--threads={min(2, connections)}",
        f"--connections={connections}",
        f"--duration={duration}s",
        "--timeout=10s",
        "--latency",
    ]
    if script is not None:
        command.append(f"--script={script}")
    completed = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    return parse_wrk(completed.stdout)


# The rotating list and the floor are measured in LOAD_ROUNDS alternating rounds of
# duration / LOAD_ROUNDS seconds each, and each rate is the median of its rounds: the share of
# the floor then compares the two under the same conditions. Measured once each, one after
# the other, a burst of other work on this shared machine during either one moved the share:
# the floor alone gave 552 then 1,183 requests/s in two runs of the same morning. Nine rounds
# of about 3 s rather than three of 10: on 30 November the machine had bursts of several
# seconds at half speed; in three of four runs of three rounds one round ran at about half the
# rate of the other two (list 199 against 468 and 381 requests/s, floor 442 against 1,087 and
# 936), and the share of one commit came out at 37 then 42 %, of another at 34 then 41 %. A
# median of nine rounds stays put with up to four such rounds on either side.
LOAD_ROUNDS = 9
ALTERNATED = ("list", "floor")
# The write-churn test alternates rounds without and with writes, for the same reason.
CHURN_ROUNDS = 3
WRITE_EVERY_S = 2.0


def _median_round(rounds: list[dict]) -> dict:
    """wrk's result of the median round by rate, with every round's rate (`round_rates`) and the
    requests and errors of all rounds."""
    ranked = sorted(rounds, key=lambda result: result["requests_per_s"])
    median = dict(ranked[len(ranked) // 2])
    median["round_rates"] = [result["requests_per_s"] for result in rounds]
    for key in ("requests", "errors", "non_2xx", "socket_errors"):
        median[key] = sum(result[key] for result in rounds)
    return median


def load_test(
    engine: str, size: int, run: dict, options: Options, cached: bool, spec: str = ""
) -> list[dict]:
    """Serve the data set with gunicorn on a free local port, then run wrk on the rotating list
    views and, unless `cached`, on the template-only floor and a static file, all against the
    same server. `cached`: with the public page cache of the production settings. `spec`: a
    worker set-up to compare (see `parse_server`), else gunicorn.conf.py's."""
    from .load_urls import wrk_script

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk est introuvable : apt-get install wrk (ou --no-wrk).")
    server = parse_server(spec) if spec else production_server()
    port = free_port()
    env = _environment(database_url(engine, size, options), f"gunicorn {engine} {size}")
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    if cached:
        env.pop("PUBLIC_CACHE_SECONDS")
    script = options.out / f"rotation-{size}.lua"
    script.write_text(wrk_script(run["load_urls"]))
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    if spec:
        command += [
            f"--worker-class={server['worker_class']}",
            f"--workers={server['workers']}",
            f"--threads={server['threads']}",
        ]
    label = server_label(server).replace(":", "-")
    log_path = (
        options.out / f"gunicorn-{engine}-{size}-{label}-{'cache' if cached else 'nocache'}.log"
    )
    targets = [("list", None, script)]
    if not cached:
        # The floor: a static file through WhiteNoise, same server, same middleware entry.
        targets += [("floor", run["static_path"], None)]
    results = []
    with open(log_path, "w") as gunicorn_log:
        process = subprocess.Popen(
            [*command, "catalogue.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=gunicorn_log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_served(base + run["load_urls"][0], process)
            # Each worker (and thread) opens its database connection before the clock starts.
            for path in run["load_urls"][: server["workers"] * server["threads"] * 2]:
                urllib.request.urlopen(base + path, timeout=30).read()  # noqa: S310 - 127.0.0.1
            # Then the rotating views for `warmup` seconds, not measured: each worker builds
            # its facet index once per catalogue version, a cost a server pays after each
            # write, not on every request.
            if options.warmup > 0:
                run_wrk(base + "/", options, script, duration=options.warmup)
            rss_warm = worker_rss(process.pid)
            rounds = {kind: [] for kind, _path, _lua in targets if kind in ALTERNATED}
            for _round in range(LOAD_ROUNDS if len(rounds) > 1 else 0):
                for kind, path, lua in targets:
                    if kind in rounds:
                        rounds[kind].append(
                            run_wrk(
                                base + (path or "/"),
                                options,
                                lua,
                                duration=max(1, options.duration // LOAD_ROUNDS),
                            )
                        )
            for kind, path, lua in targets:
                if kind in rounds and rounds[kind]:
                    result = _median_round(rounds[kind])
                else:
                    result = run_wrk(base + (path or "/"), options, lua)
                result.update(
                    {
                        "kind": kind,
                        "path": path or f"{len(run['load_urls'])} rotating list views",
                        "distinct_urls": len(run["load_urls"]) if lua else 1,
                    }
                )
                results.append(result)
            if not cached and run.get("churn_slugs"):
                results += churn_test(base, port, env, run, options, script, label)
                results[0]["rss_mb_warm"] = rss_warm
                results[0]["rss_mb_churn"] = worker_rss(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for result in results:
        result.update(
            {
                "engine": engine,
                "size": size,
                "server": server_label(server),
                "workers": server["workers"],
                "threads": server["threads"],
                "worker_class": server["worker_class"],
                "production": not spec,
                "connections": options.connections,
                "duration_s": options.duration,
                "cached": cached,
            }
        )
    return results


def worker_rss(master: int) -> list[float]:
    """The resident memory (VmRSS, MB) of each gunicorn worker, the master's children."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def churn_test(
    base: str, port: int, env: dict, run: dict, options: Options, script: Path, label: str
) -> list[dict]:
    """The rotating list in CHURN_ROUNDS alternating pairs of rounds, without writes then with
    a staff write every WRITE_EVERY_S seconds (benchmarks.churn, its own process); each kind's
    result is its median round. The churn process also times how long each write takes to show
    in the list."""
    flag, stop = options.out / "churn.on", options.out / "churn.stop"
    output = options.out / f"churn-{label}.json"
    idle = output.with_suffix(".idle")
    for path in (flag, stop, output, output.with_suffix(".ready"), idle):
        path.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.churn",
        f"--port={port}",
        f"--slugs={','.join(run['churn_slugs'])}",
        f"--flag={flag}",
        f"--stop={stop}",
        f"--output={output}",
        f"--every={WRITE_EVERY_S}",
    ]
    writer = subprocess.Popen(command, cwd=ROOT, env=env)
    rounds = {"list_nowrite": [], "list_churn": []}
    try:
        deadline = time.monotonic() + 120
        while not output.with_suffix(".ready").exists():
            if writer.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the churn writer did not start")
            time.sleep(0.1)
        seconds = max(2, options.duration // CHURN_ROUNDS)
        for _round in range(CHURN_ROUNDS):
            rounds["list_nowrite"].append(run_wrk(base + "/", options, script, seconds))
            flag.write_text("on")
            try:
                rounds["list_churn"].append(run_wrk(base + "/", options, script, seconds))
            finally:
                flag.unlink(missing_ok=True)
            # The next no-write round starts once the last write shows (or its poll gave up)
            # and the index rebuilds it caused have had time to end.
            deadline = time.monotonic() + 60
            while not idle.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(WRITE_EVERY_S)
    finally:
        stop.write_text("stop")
        try:
            writer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
    writes = json.loads(output.read_text())["writes"] if output.exists() else []
    results = []
    for kind, measured in rounds.items():
        result = _median_round(measured)
        result.update(
            {
                "kind": kind,
                "path": f"{len(run['load_urls'])} rotating list views",
                "distinct_urls": len(run["load_urls"]),
                # The worst round's p99: a write stall may land in any round.
                "latency_p99_worst_ms": max(r.get("latency_p99_ms", 0) for r in measured),
            }
        )
        if kind == "list_churn":
            result["writes"] = writes
        results.append(result)
    return results


# --- Machine -------------------------------------------------------------------------------------


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    return [round(value, 2) for value in os.getloadavg()]


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
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_start": loadavg(),
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
                for spec in options.servers or ("",):
                    options.log(
                        f"{engine}, {size} coopérations : gunicorn {spec or '(production)'} "
                        f"+ wrk, sans cache des pages, puis écritures toutes les 2 s…"
                    )
                    results["loads"] += load_test(engine, size, run, options, False, spec)
                if options.load_cached:
                    options.log(
                        f"{engine}, {size} coopérations : gunicorn + wrk, {options.duration} s, "
                        "avec cache des pages…"
                    )
                    results["loads"] += load_test(engine, size, run, options, True)
    if options.load and options.datasette and options.load_size in sizes:
        from . import datasette

        engine = "postgres" if "postgres" in options.engines else options.engines[0]
        options.log(
            f"{engine}, {options.load_size} coopérations : page d'une coopération contre la "
            f"page d'une ligne de Datasette {datasette.VERSION}…"
        )
        results["side_by_side"] = datasette.side_by_side(
            engine, options.load_size, options, sqlite_built="sqlite" in options.engines
        )
    results["total_s"] = time.perf_counter() - started
    results["machine"]["loadavg_end"] = loadavg()
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
        "warmup": options.warmup,
        "connections": options.connections,
        "load_urls": options.load_urls,
        "servers": list(options.servers),
        "load_cached": options.load_cached,
        "datasette": options.datasette,
        "import_sizes": list(options.import_sizes),
    }
