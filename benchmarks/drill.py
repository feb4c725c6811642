"""Outage drill (`manage.py outage_drill`): what visitors and staff get while the database is down.

Two kinds of outage: a restart (`pg_ctl stop`, then start: connections are refused), or, with
`--freeze`, a database that hangs (every PostgreSQL process stopped by SIGSTOP, then resumed
by SIGCONT: connections are accepted and nothing answers). A prober asks `/sante/` twice a
second throughout; the summary gives how long the answers during the outage took, against the
targets of docs/deployment.md (pages ≤ 2 s, `/sante/` ≤ 1 s).

Why: a catalogue served by several servers depends on one PostgreSQL; this drill shows, on a
throw-away copy, what a database restart costs — the responses during the outage, the time to
recover, and whether any write that staff saw acknowledged was lost. It never touches the
developer's database: it starts a private PostgreSQL cluster of its own in a temporary folder
(as the `postgres` system user when run as root: PostgreSQL refuses to run as root), loads the
catalogue with its demo data, serves it with gunicorn (production settings, DEBUG off) on free
ports of 127.0.0.1, and removes everything at the end, even after a failure or Ctrl-C.

Load: reader threads loop over the home page, the list, the JSON list, a cooperation page and
the CSV export; one staff writer logs into the admin and adds territories through the real
form, recording those the admin acknowledged (its 302 after saving). Requests are classified
by the moment they start: during the outage (from the stop of the database to the end of its
restart) or outside it.
"""

import collections
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .http_client import Client
from .runner import free_port

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
WRITE_PREFIX = "Exercice de coupure"
SUCCESS = {200, 302}


@dataclass
class DrillOptions:
    outage: float = 15
    before: float = 5
    after: float = 5
    readers: int = 4
    workers: int = 3
    recovery_timeout: float = 60
    freeze: bool = False
    pg_bin: Path = PG_BIN
    log: object = field(default=print)


@dataclass
class Outcome:
    """One request: when it started and ended (monotonic seconds), what it was, what it got."""

    kind: str
    started: float
    ended: float
    status: str


# --- Private PostgreSQL cluster ------------------------------------------------------------------


class PrivateCluster:
    """A PostgreSQL cluster in `root`, listening on 127.0.0.1:`port` only."""

    def __init__(self, root: Path, port: int, pg_bin: Path):
        self.root = root
        self.data = root / "data"
        self.port = port
        self.pg_bin = pg_bin
        # PostgreSQL refuses to run as root: the system user `postgres` runs it then.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self.as_owner, *args],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
        )
        if result.returncode:
            raise RuntimeError(f"{Path(args[0]).name} a échoué : {result.stderr.strip()}")

    def create(self) -> None:
        if self.as_owner:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.pg_bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",  # a throw-away cluster: only its initialisation skips fsync
        )

    def start(self) -> None:
        self._run(
            str(self.pg_bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgresql.log"),
            "-w",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster's pid, then its children's (backends, checkpointer, WAL writer…)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # The command name, in brackets, may hold spaces: the fields after it count.
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """Stop every process of the cluster (SIGSTOP): the kernel still accepts connections
        and acknowledges what they send, and nothing answers — a hung database."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
                os.kill(pid, signum)

    def running(self) -> bool:
        result = subprocess.run(
            [*self.as_owner, str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


# --- Load ----------------------------------------------------------------------------------------


def _timed(kind: str, call) -> Outcome:
    started = time.monotonic()
    try:
        status = str(call())
    except (TimeoutError, http.client.RemoteDisconnected) as error:
        status = "délai dépassé" if isinstance(error, TimeoutError) else "connexion coupée"
    except http.client.IncompleteRead:
        status = "réponse tronquée"
    except OSError:
        status = "erreur réseau"
    return Outcome(kind, started, time.monotonic(), status)


def reader(port: int, paths: list[tuple[str, str]], stop: threading.Event, out: list) -> None:
    client = Client(port, timeout=10)
    index = 0
    while not stop.is_set():
        kind, path = paths[index % len(paths)]
        index += 1
        out.append(_timed(kind, lambda p=path: client.get(p).status))


def prober(port: int, stop: threading.Event, out: list) -> None:
    """What a load balancer does: `/sante/` twice a second."""
    client = Client(port, timeout=10)
    while not stop.is_set():
        out.append(_timed("santé", lambda: client.get("/sante/").status))
        stop.wait(0.5)


def writer(
    port: int, password: str, stop: threading.Event, out: list, acknowledged: list, run_id: str
) -> None:
    """Add territories through the admin form; keep the names the admin acknowledged."""
    client = Client(port, timeout=10)
    out.append(_timed("connexion (admin)", lambda: client.login("exercice", password)))
    number = 0
    while not stop.is_set():
        number += 1
        name = f"{WRITE_PREFIX} {run_id} n°{number}"

        def save(name=name):
            response = client.submit(
                "/admin/cooperations/territory/add/",
                "territory_form",
                {"name": name, "kind": "AUTRE"},
            )
            if response.status == 302:
                acknowledged.append(name)
            return response.status

        out.append(_timed("écriture (admin)", save))
        time.sleep(0.2)


# --- Summary -------------------------------------------------------------------------------------


def summarise(outcomes: list[Outcome], outage_start: float, outage_end: float) -> dict:
    """Status counts during and outside the outage, and the recovery after the restart."""
    during = collections.Counter()
    outside = collections.Counter()
    for outcome in outcomes:
        target = during if outage_start <= outcome.started < outage_end else outside
        target[outcome.status] += 1
    recovered = [
        o.ended for o in outcomes if o.started >= outage_end and o.status in {"200", "302"}
    ]
    recovery = min(recovered) - outage_end if recovered else None
    after_restart = [o for o in outcomes if o.started >= outage_end]
    # How long the errors went on after the restart: a server that fails fast after giving up
    # on the database (DATABASE_OUTAGE_WINDOW) still answers 503 for up to that window.
    errors_after = [o.ended for o in after_restart if o.status not in {"200", "302"}]
    # How long the answers during the outage took: the health probe apart from the pages.
    slowest = {"santé": 0.0, "pages": 0.0}
    for outcome in outcomes:
        if outage_start <= outcome.started < outage_end:
            kind = "santé" if outcome.kind == "santé" else "pages"
            slowest[kind] = max(slowest[kind], outcome.ended - outcome.started)
    return {
        "during": during,
        "outside": outside,
        "recovery_s": recovery,
        "requests": len(outcomes),
        "errors_after_restart": len(errors_after),
        "last_error_after_restart_s": max(errors_after) - outage_end if errors_after else None,
        "slowest_during_s": slowest,
    }


def _counts(counter: collections.Counter) -> str:
    return ", ".join(f"{status} : {n}" for status, n in sorted(counter.items())) or "aucune"


def verdict_lines(summary: dict, acknowledged: int, lost: int) -> list[str]:
    yes_no = {True: "oui", False: "non"}
    # 302: the admin acknowledging a write that reached the database just before its stop.
    only_503_200 = bool(summary["during"]) and set(summary["during"]) <= {"200", "302", "503"}
    recovery = summary["recovery_s"]
    last_error = summary["last_error_after_restart_s"]
    return [
        f"Requêtes pendant la coupure : {_counts(summary['during'])}",
        f"Requêtes hors coupure : {_counts(summary['outside'])}",
        f"Erreurs après le redémarrage de la base : {summary['errors_after_restart']}"
        + (f" (la dernière finie {last_error:.1f} s après)" if last_error is not None else ""),
        "Reprise (du redémarrage de la base à la première réponse réussie) : "
        + (f"{recovery:.1f} s" if recovery is not None else "aucune réponse réussie"),
        f"Écritures acquittées : {acknowledged} ; perdues : {lost}",
        f"Pendant la coupure : seulement 503 et 200 (302 : écriture acquittée) : "
        f"{yes_no[only_503_200]}",
        f"Aucune écriture acquittée perdue : {yes_no[lost == 0]}",
        "Réponse la plus lente pendant la coupure : pages "
        f"{summary['slowest_during_s']['pages']:.2f} s (cible ≤ 2 s), /sante/ "
        f"{summary['slowest_during_s']['santé']:.2f} s (cible ≤ 1 s)",
    ]


# --- Run -----------------------------------------------------------------------------------------


def _environment(database_url: str, port: int, options: DrillOptions, secret: str) -> dict:
    # The developer's REDIS_URL is dropped: the drill's pages must not land in a shared Redis.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "ALLOWED_HOSTS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        DATABASE_URL=database_url,
        SECRET_KEY=secret,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(options.workers),
        PYTHONPATH=str(ROOT),
    )
    return env


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare_catalogue(cluster: PrivateCluster, env: dict, password: str) -> None:
    """The catalogue database with the official territories, the demo data and a staff account."""
    subprocess.run(
        [*cluster.as_owner, str(cluster.pg_bin / "createdb"), "-h", "127.0.0.1"]
        + ["-p", str(cluster.port), "-U", "postgres", "catalogue"],
        check=True,
        cwd=cluster.root,
    )
    _manage(env, "migrate", "--no-input")
    _manage(
        {**env, "CATALOGUE_ADMIN_PASSWORD": password},
        "setup_catalogue",
        "--demo-account",
        "exercice",
    )
    _manage(env, "collectstatic", "--no-input")


def start_gunicorn(env: dict, log_file) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "catalogue.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no graceful wait
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _wait_served(port: int, server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn s'est arrêté avant de servir")
        try:
            if Client(port, timeout=5).get("/cooperations/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn ne sert pas le catalogue après {timeout:.0f} s")


@dataclass
class Load:
    """The running reader and writer threads and what they recorded."""

    stop: threading.Event
    threads: list[threading.Thread]
    outcomes: list[Outcome]
    acknowledged: list[str]
    run_id: str

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def start_load(port: int, password: str, readers: int) -> Load:
    slug = _first_slug(port)
    paths = [
        ("accueil", "/"),
        ("liste", "/cooperations/"),
        ("JSON", "/cooperations/?format=json"),
        ("coopération", f"/cooperations/{slug}/"),
        ("export CSV", "/cooperations/?format=csv"),
    ]
    load = Load(threading.Event(), [], [], [], secrets.token_hex(3))
    for n in range(readers):
        # Each reader starts elsewhere in the mix, so every kind of page is always requested.
        rotated = paths[n % len(paths) :] + paths[: n % len(paths)]
        load.threads.append(
            threading.Thread(
                target=reader, args=(port, rotated, load.stop, load.outcomes), daemon=True
            )
        )
    load.threads.append(
        threading.Thread(target=prober, args=(port, load.stop, load.outcomes), daemon=True)
    )
    load.threads.append(
        threading.Thread(
            target=writer,
            args=(port, password, load.stop, load.outcomes, load.acknowledged, load.run_id),
            daemon=True,
        )
    )
    for thread in load.threads:
        thread.start()
    return load


def cut_the_database(cluster: PrivateCluster, load: Load, options: DrillOptions):
    """Stop the database for `options.outage` seconds under load, restart it, wait for the
    first success and `options.after` seconds more; return the outage's start and end."""
    log = options.log
    log(f"Charge : {options.readers} lecteurs et 1 écrivain ; {options.before:.0f} s avant…")
    time.sleep(options.before)
    outage_start = time.monotonic()
    if options.freeze:
        log(f"Base figée (SIGSTOP de tous ses processus) pendant {options.outage:.0f} s…")
        cluster.freeze()
    else:
        log(f"Arrêt de la base (pg_ctl stop -m fast) pendant {options.outage:.0f} s…")
        cluster.stop("fast")
    time.sleep(max(0.0, options.outage - (time.monotonic() - outage_start)))
    if options.freeze:
        cluster.thaw()
    else:
        cluster.start()
    outage_end = time.monotonic()
    log(f"Base redémarrée ; charge maintenue jusqu'à la reprise, puis {options.after:.0f} s…")
    deadline = outage_end + options.recovery_timeout
    while time.monotonic() < deadline:
        if summarise(list(load.outcomes), outage_start, outage_end)["recovery_s"] is not None:
            break
        time.sleep(0.2)
    time.sleep(options.after)
    return outage_start, outage_end


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def run(options: DrillOptions) -> int:
    """The whole drill; returns 0 when no acknowledged write was lost and the site recovered."""
    log = options.log
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    root = Path(tempfile.mkdtemp(prefix="catalogue-exercice-"))
    cluster = PrivateCluster(root, free_port(), options.pg_bin)
    server = load = None
    try:
        with open(root / "gunicorn.log", "w") as server_log:
            log(f"Grappe PostgreSQL privée sur 127.0.0.1:{cluster.port} ({root})…")
            cluster.create()
            cluster.start()
            port = free_port()
            password = secrets.token_urlsafe(16)
            env = _environment(cluster.url("catalogue"), port, options, secrets.token_urlsafe(50))
            log("Migrations, territoires officiels, données de démonstration, fichiers statiques…")
            prepare_catalogue(cluster, env, password)
            log(f"gunicorn ({options.workers} processus) sur http://127.0.0.1:{port}/ …")
            server = start_gunicorn(env, server_log)
            _wait_served(port, server)
            load = start_load(port, password, options.readers)
            outage_start, outage_end = cut_the_database(cluster, load, options)
            load.finish()
            summary = summarise(list(load.outcomes), outage_start, outage_end)
            present = _saved_names(cluster.url("catalogue"), load.run_id)
            lost = [name for name in load.acknowledged if name not in present]
            log("")
            log(
                f"Coupure de la base : {outage_end - outage_start:.1f} s ; "
                f"requêtes : {len(load.outcomes)}"
            )
            for line in verdict_lines(summary, len(load.acknowledged), len(lost)):
                log(line)
            recovered = summary["recovery_s"] is not None
            return 0 if load.acknowledged and not lost and recovered else 1
    finally:
        if load is not None:
            load.stop.set()
        if server is not None:
            stop_gunicorn(server)
        if cluster.data.exists() and cluster.running():
            if options.freeze:
                cluster.thaw()  # a stopped process cannot shut down
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _first_slug(port: int) -> str:
    response = Client(port).get("/cooperations/?format=json")
    results = json.loads(response.text)["results"]
    if not results:
        raise RuntimeError("le catalogue de l'exercice n'a aucune coopération publiée")
    return results[0]["slug"]


def _saved_names(database_url: str, run_id: str) -> set[str]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT name FROM cooperations_territory WHERE name LIKE %s",
            [f"{WRITE_PREFIX} {run_id} %"],
        ).fetchall()
    return {row[0] for row in rows}
