#!/usr/bin/env python3
"""Set-up entry point for a new machine: only Python 3.11+ and pip are assumed.

Why a script and not a Makefile: `make`, `uv` or a virtual environment may be missing on a
newcomer's machine, while `python3` is always there. The script creates `.venv`, installs the
locked dependencies (hash-checked) once per lock change, then delegates to `manage.py` or pytest.

    python3 dev.py start    # demo catalogue on http://127.0.0.1:8000 (SQLite, DEBUG off),
                            # with the task worker of the background imports beside it
    python3 dev.py test     # test suite (SQLite, or PostgreSQL when DATABASE_URL says so)
    python3 dev.py manage COMMAND …  # a management command, with the development defaults
    python3 dev.py install  # dependencies only (used by CI)
"""

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs before any dependency is installed
        sys.exit("Python 3.11 ou plus récent est requis.")
    if not PYTHON.exists():
        print("Création de l'environnement virtuel .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in REQUIREMENTS)).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    print("Installation des dépendances verrouillées …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    args = [arg for p in REQUIREMENTS for arg in ("-r", str(p))]
    subprocess.run([*pip, "--require-hashes", *args], check=True)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([str(PYTHON), str(ROOT / "manage.py"), *args], check=True, env=env)


def development_environment() -> dict:
    env = dict(os.environ)
    # A laptop: debug pages and a throw-away key are acceptable only here, never by default.
    # Production runs manage.py and gunicorn directly, so it never gets these defaults.
    env.setdefault("DEBUG", "1")
    return env


def run_command(extra: list[str]) -> int:
    """`manage.py` with the development defaults of `start`; its exit status is ours."""
    if not extra:
        extra = ["help"]
    command = [str(PYTHON), str(ROOT / "manage.py"), *extra]
    return subprocess.run(command, env=development_environment()).returncode


def demo_environment(address: str) -> dict:
    """The demo looks like the service: DEBUG off (the catalogue's French error pages, hashed
    static files served by WhiteNoise), plain HTTP on this machine. `DEBUG=1 python3 dev.py
    start` gives a developer the debug pages; any variable set in the shell wins."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "0")
    # A key of this machine's own, kept so that sessions survive a restart; never committed.
    key_file = VENV / "demo-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    env.setdefault("SECRET_KEY", key_file.read_text().strip())
    host = address.rsplit(":", 1)[0].strip("[]")
    # "0.0.0.0" (every interface) is an address to listen on, not a host name to answer to.
    listens_everywhere = host in ("", "0.0.0.0")  # noqa: S104
    hosts = ["127.0.0.1", "localhost", "::1", *([] if listens_everywhere else [host])]
    env.setdefault("ALLOWED_HOSTS", ",".join(dict.fromkeys(hosts)))
    # runserver speaks plain HTTP: no redirect to HTTPS, cookies that a browser sends back over
    # HTTP (the admin's login needs its CSRF cookie), no HSTS pinned on localhost.
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.setdefault(name, "0")
    env.setdefault("SECURE_HSTS_SECONDS", "0")
    return env


def start(extra: list[str]) -> None:
    address = extra[0] if extra else "127.0.0.1:8000"
    env = demo_environment(address)
    manage("migrate", "--no-input", env=env)
    manage("setup_catalogue", "--demo-account", "admin", env=env)
    # With DEBUG off the pages name static files by their hashes, read from the manifest.
    manage("collectstatic", "--no-input", "--verbosity", "0", env=env)
    # The worker of the background imports (django-tasks' database backend), stopped with the
    # server whichever way it ends: Ctrl+C, the server's exit, or this script being killed.
    worker = subprocess.Popen([str(PYTHON), str(ROOT / "manage.py"), "db_worker"], env=env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        manage("runserver", address, env=env)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def test(extra: list[str]) -> int:
    return subprocess.run([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT).returncode


def main() -> int:
    command, *extra = sys.argv[1:] or ["help"]
    if command not in {"start", "test", "manage", "install"}:
        print(__doc__)
        return 2
    ensure_environment()
    if command == "start":
        start(extra)
    elif command == "test":
        return test(extra)
    elif command == "manage":
        return run_command(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
