"""A background import of 10,000 synthetic rows through the admin, with a real task worker.

    python -m benchmarks.import_job                    # PostgreSQL, 10,000 rows
    python -m benchmarks.import_job --engine sqlite --rows 2000

On a database of its own (`bench_import_job`, dropped and created; never the developer's):
migrate, the official territories, then in this process the admin's pages through Django's
test client — preview, confirmation — while `manage.py db_worker --max-tasks 1` runs the job
in a subprocess. Measures the time to the confirmation's redirect, the job's total time, the
time of each step, the progress seen by polling etat.json every half second, and the worker's
peak resident memory (the kernel's ru_maxrss of that process). Prints one JSON document.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "bench_import_job"
SEED = 5


def log(message: str) -> None:
    print(f"[import_job] {message}", file=sys.stderr, flush=True)


def prepare_database(engine: str, postgres_url: str) -> str:
    """A fresh database, migrated, with the official territories; its DATABASE_URL."""
    if engine == "postgres":
        import psycopg

        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{NAME}"')
        return postgres_url.rstrip("/").rsplit("/", 1)[0] + "/" + NAME
    path = ROOT / "benchmarks" / "out" / f"{NAME}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def environment(url: str) -> dict:
    from benchmarks.runner import _environment

    return _environment(url, "import-job")


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--engine", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--output", type=Path, help="also write the JSON document there")
    options = parser.parse_args(argv)

    url = prepare_database(options.engine, options.postgres_url)
    env = environment(url)
    log("migrate and load the official territories")
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    manage(env, "setup_catalogue", "--skip-demo-data", "--verbosity", "0")
    # The pages name static files by their hashes (DEBUG off), read from the manifest.
    manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    os.environ.update(env)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from benchmarks.worker import _HIDDEN
    from cooperations.models import Cooperation, ImportJob
    from cooperations.synthetic import generate_rows, write_inventory

    headers, cells = generate_rows(options.rows, seed=SEED)
    data = write_inventory(headers, cells, "xlsx")
    user = get_user_model().objects.create_superuser("benchmark", password=None)
    client = Client()
    client.force_login(user)

    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "db_worker", "--max-tasks", "1",
         "--no-startup-delay", "--interval", "0.2", "--verbosity", "0"],
        env=env,
    )  # fmt: skip
    try:
        log(f"preview of {options.rows} rows ({len(data) / 1e6:.1f} MB XLSX)")
        started = time.perf_counter()
        preview = client.post(
            reverse("admin:cooperations_cooperation_import"),
            {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("gros.xlsx", data)},
        )
        previewed = time.perf_counter()
        fields = dict(_HIDDEN.findall(preview.content.decode()))
        if preview.status_code != 200 or "import_file_name" not in fields:
            raise SystemExit("the preview offered no confirmation")
        confirmed = client.post(reverse("admin:cooperations_cooperation_process_import"), fields)
        redirected = time.perf_counter()
        if confirmed.status_code != 302 or "/import/suivi/" not in confirmed["Location"]:
            raise SystemExit(f"the confirmation was not queued: {confirmed.status_code}")
        log("queued; polling etat.json")
        state_url = confirmed["Location"] + "etat.json"
        samples = []
        while True:
            state = client.get(state_url).json()
            now = time.perf_counter() - redirected
            samples.append((round(now, 1), state["etape"], state["pourcentage"]))
            if state["termine"]:
                break
            if now > 1800:
                raise SystemExit("the job did not end within 30 minutes")
            time.sleep(0.5)
        finished = time.perf_counter()
        _, status, usage = os.wait4(worker.pid, 0)
        worker.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if worker.returncode is None:
            worker.terminate()
            worker.wait()
    job = ImportJob.objects.get()
    steps = {}
    for at, step, _percent in samples:
        steps.setdefault(step, at)
    result = {
        "engine": options.engine,
        "rows": options.rows,
        "file_bytes": len(data),
        "preview_s": round(previewed - started, 2),
        "confirm_to_redirect_s": round(redirected - previewed, 3),
        "job_total_s": round(finished - redirected, 1),
        "job_recorded_s": round((job.finished_at - job.created_at).total_seconds(), 1),
        "step_first_seen_s": steps,
        "percents_seen": sorted({percent for _, _, percent in samples}),
        "polls": len(samples),
        "worker_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "state": job.state,
        "summary": job.summary or job.error_message,
        "cooperations": Cooperation.objects.count(),
    }
    document = json.dumps(result, indent=2, ensure_ascii=False)
    print(document)
    if options.output:
        options.output.write_text(document + "\n")
    return 0 if job.state == ImportJob.State.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
