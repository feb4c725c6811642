#!/usr/bin/env python3
"""Set-up entry point for a new machine: only Python 3.11+ and pip are assumed.

Why a script and not a Makefile: `make`, `uv` or a virtual environment may be missing on a
newcomer's machine, while `python3` is always there. The script creates `.venv`, installs the
locked dependencies (hash-checked) once per lock change, then delegates to `manage.py` or pytest.

    python3 dev.py start    # demo catalogue on http://127.0.0.1:8000 (SQLite by default)
    python3 dev.py test     # test suite (SQLite, or PostgreSQL when DATABASE_URL says so)
    python3 dev.py manage COMMAND …  # a management command, with the development defaults
    python3 dev.py install  # dependencies only (used by CI)
"""

import hashlib
import os
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


def start(extra: list[str]) -> None:
    env = development_environment()
    manage("migrate", "--no-input", env=env)
    manage("setup_catalogue", "--demo-account", "admin", env=env)
    address = extra[0] if extra else "127.0.0.1:8000"
    manage("runserver", address, env=env)


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
