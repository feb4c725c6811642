"""The record page beside Datasette's row page, on the same data, in the same run.

Datasette is a reference point, not a dependency of the catalogue: its own requirements would
constrain ours. The benchmark installs one pinned version into a virtualenv of its own under
the work folder (`--out`), once, and serves a SQLite file with it: the SQLite data set of the
same size when the run built one, otherwise a copy of the cooperations table and its neighbours
(see `copy_from_postgres`). Our record page is served by gunicorn with the production
configuration and the page cache off, as in the load test; Datasette by `datasette serve`, one
process, immutable mode. The same client (wrk, a Lua script rotating through the same records)
asks each for the same N published records, sequentially then over 20 connections, in rounds
that alternate between the two servers so that a burst of other work weighs on both.
"""

import datetime
import decimal
import json
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from . import runner

VERSION = "0.65.5"
TABLE = "cooperations_cooperation"
RECORDS = 200
# Alternating rounds per server and per concurrency; each figure is the median round.
ROUNDS = 5
CONCURRENCIES = (1, 20)
WARMUP_S = 5


def executable(options) -> Path:
    """Datasette's command in its own virtualenv under `options.out`, installed if missing."""
    venv = options.out / "datasette-venv"
    command = venv / "bin" / "datasette"
    if command.exists():
        completed = subprocess.run([command, "--version"], capture_output=True, text=True)
        if completed.stdout.split()[-1:] == [VERSION]:
            return command
    options.log(f"Datasette {VERSION} : installation dans {venv}…")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", f"datasette=={VERSION}"],
        check=True,
    )
    return command


def _sqlite_value(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else str(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def neighbours(database: sqlite3.Connection, table: str = TABLE) -> set[str]:
    """`table`, the tables it points to, the tables pointing to it (Datasette's row page
    labels the first and counts rows in the second), and the tables those point to, so that
    their own references (participations to territories, themes…) stay whole."""
    tables = [
        row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    links = {
        name: {row[2] for row in database.execute(f'PRAGMA foreign_key_list("{name}")')}
        for name in tables
    }
    referring = {name for name, targets in links.items() if table in targets}
    chosen = {table} | links[table] | referring
    for name in referring:
        chosen |= links[name]
    return chosen


def copy_from_postgres(postgres_url: str, target: Path) -> None:
    """A SQLite file with the project's schema (its migrations) holding the cooperations of the
    PostgreSQL data set and the tables around them (`neighbours`); the other tables are left
    empty, as Datasette's row page does not read them."""
    import psycopg

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    env = runner._environment(f"sqlite:///{target}", "datasette copy")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity=0"],
        cwd=runner.ROOT,
        env=env,
        check=True,
    )
    from cooperations.collation import SQLITE_COLLATION, compare

    database = sqlite3.connect(target)
    try:
        # The name index of the cooperations table is in the catalogue's French order.
        database.create_collation(SQLITE_COLLATION, compare)
        database.execute("PRAGMA foreign_keys = OFF")
        with psycopg.connect(postgres_url) as source:
            for table in sorted(neighbours(database)):
                here = [row[1] for row in database.execute(f'PRAGMA table_info("{table}")')]
                there = {
                    row[0]
                    for row in source.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                        [table],
                    )
                }
                columns = [name for name in here if name in there]
                quoted = ", ".join(f'"{name}"' for name in columns)
                database.execute(f'DELETE FROM "{table}"')  # noqa: S608 - schema names
                cursor = source.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
                marks = ", ".join("?" * len(columns))
                insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})'  # noqa: S608
                while rows := cursor.fetchmany(5000):
                    database.executemany(
                        insert, [[_sqlite_value(value) for value in row] for row in rows]
                    )
        database.commit()
        database.execute("ANALYZE")
    finally:
        database.close()


def records(path: Path, count: int = RECORDS) -> list[tuple[int, str]]:
    """`count` published cooperations spread over the table: (id, slug)."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = database.execute(
            f"SELECT id, slug FROM {TABLE} WHERE is_published ORDER BY id"  # noqa: S608
        ).fetchall()
    finally:
        database.close()
    if len(rows) <= count:
        return rows
    return [rows[len(rows) * k // count] for k in range(count)]


def _start(command: list, env: dict, log_path: Path, check_url: str):
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process in _stop
    process = subprocess.Popen(
        command, cwd=runner.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    process.log_file = log
    try:
        runner._wait_until_served(check_url, process)
    except BaseException:
        _stop(process)
        raise
    return process


def _stop(process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.log_file.close()


def side_by_side(engine: str, size: int, options, sqlite_built: bool) -> list[dict]:
    """Our record page (gunicorn, `engine`'s data set) and Datasette's row page (the SQLite
    file of the same data), alternating; one result per server and concurrency."""
    from .load_urls import wrk_script

    datasette = executable(options)
    if engine == "sqlite" or sqlite_built:
        served = options.out / f"bench_{size}.sqlite3"
        origin = f"the SQLite data set of {size:,} cooperations"
    else:
        served = options.out / f"datasette_{size}.sqlite3"
        options.log(f"Copie des coopérations de bench_{size} pour Datasette…")
        copy_from_postgres(runner.database_url(engine, size, options), served)
        origin = (
            f"a copy of {len(_tables(served))} tables of bench_{size}: {TABLE} and its neighbours"
        )
    chosen = records(served)
    if not chosen:
        raise RuntimeError("no published cooperation for the side-by-side test")
    paths = {
        "ours": [f"/cooperations/{slug}/" for _id, slug in chosen],
        "datasette": [f"/{served.stem}/{TABLE}/{pk}" for pk, _slug in chosen],
    }
    scripts = {}
    for kind, kind_paths in paths.items():
        scripts[kind] = options.out / f"records-{kind}-{size}.lua"
        scripts[kind].write_text(wrk_script(kind_paths))

    server = runner.production_server()
    ours_port, datasette_port = runner.free_port(), runner.free_port()
    env = runner._environment(runner.database_url(engine, size, options), f"record {engine}")
    env["GUNICORN_BIND"] = f"127.0.0.1:{ours_port}"
    bases = {
        "ours": f"http://127.0.0.1:{ours_port}",
        "datasette": f"http://127.0.0.1:{datasette_port}",
    }
    gunicorn = _start(
        [sys.executable, "-m", "gunicorn", "-c", str(runner.ROOT / "gunicorn.conf.py")]
        + ["catalogue.wsgi"],
        env,
        options.out / f"gunicorn-record-{engine}-{size}.log",
        bases["ours"] + paths["ours"][0],
    )
    try:
        served_by_datasette = _start(
            [str(datasette), "serve", "-i", str(served), "--host=127.0.0.1"]
            + [f"--port={datasette_port}"],
            {"PATH": str(datasette.parent)},
            options.out / f"datasette-{size}.log",
            bases["datasette"] + paths["datasette"][0],
        )
        try:
            for kind, kind_paths in paths.items():
                _check(bases[kind], kind_paths)
            rounds = _alternate(bases, scripts, options)
        finally:
            _stop(served_by_datasette)
    finally:
        _stop(gunicorn)
    results = []
    for (kind, connections), measured in rounds.items():
        result = runner._median_round(measured)
        result.update(
            {
                "kind": kind,
                "connections": connections,
                "engine": engine,
                "size": size,
                "records": len(chosen),
                "server": runner.server_label(server) if kind == "ours" else f"datasette {VERSION}",
                "data": origin if kind == "datasette" else f"{engine} bench_{size}",
            }
        )
        results.append(result)
    return results


def _tables(path: Path) -> list[str]:
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted(neighbours(database))
    finally:
        database.close()


def _check(base: str, paths: list[str]) -> None:
    """Every URL answers 200 itself: a redirect or an error page would time something else."""
    from .http_client import Client

    port = int(base.rsplit(":", 1)[1])
    for path in paths:
        status = Client(port, timeout=30).get(path).status
        if status != 200:
            raise RuntimeError(f"{base}{path} answered {status}, not 200")


def _alternate(bases: dict, scripts: dict, options) -> dict:
    seconds = max(1, options.duration // ROUNDS)
    # Not measured: each rotation over 20 connections for a few seconds, so that every worker
    # process has asked for every record (ours keep the pages per process) before the clock
    # starts.
    for kind in bases:
        runner.run_wrk(bases[kind] + "/", options, scripts[kind], duration=WARMUP_S, connections=20)
    rounds = {(kind, c): [] for kind in bases for c in CONCURRENCIES}
    for _round in range(ROUNDS):
        for connections in CONCURRENCIES:
            for kind in bases:
                rounds[kind, connections].append(
                    runner.run_wrk(
                        bases[kind] + "/",
                        options,
                        scripts[kind],
                        duration=seconds,
                        connections=connections,
                    )
                )
    return rounds
