"""Every command line of the ```sh blocks of the README and of the guides it links to works as
written.

Each line is run as written, or — when it cannot run inside the suite — its command's `--help`,
or it is skipped; every substitute and skip gives its reason below. A documented line that is
none of these fails the test, so a new command cannot be documented without being tried.

The lines run in a temporary copy of the project (its own `db.sqlite3`, files written there),
in the order of DOCUMENTS: the production line (docs/operations.md) builds the database the
import commands (docs/import.md) use. SQLite only: these commands run on the embedded SQLite
database of a fresh clone, and each command's behaviour on PostgreSQL has its own tests; a
second run would cost the same half-minute for nothing.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SUITE_VARIABLES

# The documents whose ```sh blocks are run, in this order.
DOCUMENTS = [ROOT / "README.md"] + [
    ROOT / "docs" / name for name in ("operations.md", "import.md", "performance.md")
]
# The documents' lines are shell lines (variable prefixes, &&): a POSIX shell runs them.
BASH = shutil.which("bash") or "/bin/bash"

RUN = "run"

# Line as printed (without its trailing comment) → RUN, or (substitute or None, reason).
COMMANDS = {
    "python3 dev.py start": (
        None,
        "serves until stopped; .ci/run starts it on a fresh clone and requests two pages",
    ),
    "python3 dev.py test": (None, "the test suite itself"),
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/catalogue python3 dev.py test": (
        None,
        "the test suite itself, on PostgreSQL (.ci/run runs it)",
    ),
    "pip install --require-hashes -r requirements.txt": (
        None,
        "installs into the current environment from the network; dev.py install runs it in CI",
    ),
    "export SECRET_KEY=… ALLOWED_HOSTS=… DATABASE_URL=postgres://…": (
        None,
        "placeholders: the test gives these variables real values for the next line",
    ),
    "python manage.py migrate && python manage.py setup_catalogue && "
    "python manage.py collectstatic --no-input": RUN,
    "gunicorn catalogue.wsgi": (
        None,
        "serves until stopped; tests/browser/test_production.py serves the catalogue with it",
    ),
    "python manage.py db_worker": (
        "python manage.py db_worker --help",
        "runs until stopped; tests/test_import_jobs.py runs it with --batch",
    ),
    "python -m benchmarks.import_job": (
        "python -m benchmarks.import_job --help",
        "a few minutes on a PostgreSQL database of its own; its figures are in docs/import.md",
    ),
    "python3 dev.py manage generate_inventory --rows 173 --seed 2018 --format xlsx "
    "-o inventaire.xlsx": RUN,
    "python3 dev.py manage generate_inventory --rows 10000 --messy --format csv-cp1252 "
    "-o gros.csv": RUN,
    "python3 dev.py manage import_inventory inventaire.xlsx": RUN,
    "python3 dev.py manage import_inventory inventaire.xlsx --commit": RUN,
    "python3 dev.py manage load_demo": RUN,
    "python3 dev.py manage build_demo": RUN,
    "apt-get install wrk": (None, "a Debian package: needs root and the network"),
    "python3 dev.py manage benchmark": (
        "python3 dev.py manage benchmark --help",
        "about 35 minutes; tests/test_benchmark.py runs the harness on 20 rows",
    ),
    "python3 dev.py manage benchmark --sizes 10000 --engines postgres --skip-load "
    "--servers sync:5,gthread:5x4,gthread:2x8": (
        "python3 dev.py manage benchmark --help",
        "a few minutes of load tests on the 10,000 set; tests/test_benchmark.py reads --servers",
    ),
    "python3 dev.py manage benchmark --skip-load": (
        "python3 dev.py manage benchmark --help",
        "needs the data sets of a full run",
    ),
    "python3 dev.py manage benchmark --quick": (
        "python3 dev.py manage benchmark --help",
        "half a minute; tests/test_benchmark.py runs the harness on 20 rows",
    ),
    "python3 dev.py manage axes_list_attempts": RUN,
    "python3 dev.py manage axes_reset_username editrice": RUN,
    "python3 dev.py manage axes_reset_ip 203.0.113.7": RUN,
    "python3 dev.py manage axes_reset_ip_username 203.0.113.7 editrice": RUN,
    "python3 dev.py manage axes_reset": RUN,
    "python3 dev.py manage axes_reset_failure_logs --age 90": RUN,
    "python3 dev.py manage outage_drill": (
        "python3 dev.py manage outage_drill --help",
        "about 80 s with a private PostgreSQL cluster; tests/test_drill.py covers its parts",
    ),
    "python3 dev.py manage outage_drill --outage 30 --readers 8": (
        "python3 dev.py manage outage_drill --help",
        "a longer run of the same drill",
    ),
}

# The copy leaves out what a fresh clone does not have.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "db.sqlite3*",
    "staticfiles",
    "screenshots",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "out",
)


def readme_command_lines() -> list[str]:
    """Each non-empty line of the documents' ```sh blocks, without its trailing # comment."""
    blocks = [
        block
        for document in DOCUMENTS
        for block in re.findall(r"^```sh\n(.*?)^```", document.read_text(), flags=re.S | re.M)
    ]
    lines = []
    for block in blocks:
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def test_every_readme_command_is_run_or_justified():
    lines = readme_command_lines()
    assert "python3 dev.py start" in lines
    assert [line for line in lines if line not in COMMANDS] == []
    # A line removed from the documents must leave this list too.
    assert [line for line in COMMANDS if line not in lines] == []


@pytest.fixture
def fresh_clone(tmp_path) -> Path:
    clone = tmp_path / "catalogue"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE, symlinks=True)
    # The environment dev.py made; dev.py finds its install stamp there and installs nothing.
    (clone / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    return clone


def shell_environment(clone: Path) -> dict:
    """A developer's shell: none of the suite's variables, the project's environment active
    (`python` and `gunicorn` on the PATH, as after `pip install` in production)."""
    ignored = SUITE_VARIABLES | {"CATALOGUE_ADMIN_PASSWORD", "STATIC_ROOT"}
    env = {key: value for key, value in os.environ.items() if key not in ignored}
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def production_variables(clone: Path) -> dict:
    """Real values for docs/operations.md's `export SECRET_KEY=… ALLOWED_HOSTS=… DATABASE_URL=…`."""
    return {
        "SECRET_KEY": "readme-test-production-key-" + "x" * 30,
        "ALLOWED_HOSTS": "cooperations.example.gouv.fr",
        "DATABASE_URL": f"sqlite:///{clone / 'db.sqlite3'}",
    }


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="commandes documentées testées sur SQLite seulement (voir la docstring du module)",
)
def test_readme_commands_work_as_written(fresh_clone):
    env = shell_environment(fresh_clone)
    ran = []
    for line in readme_command_lines():
        how = COMMANDS[line]
        if how == RUN:
            command = line
        else:
            command, _reason = how
            if command is None or command in ran:
                # Several documented lines share one substitute (`benchmark --help`): its first
                # run answers for them all.
                continue
        extra = production_variables(fresh_clone) if command.startswith("python manage.py") else {}
        result = subprocess.run(
            [BASH, "-c", command],
            cwd=fresh_clone,
            env={**env, **extra},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr, command
        ran.append(command)
    # Every documented line that is neither skipped nor substituted ran: none was silently dropped.
    lines = readme_command_lines()
    expected = [line if COMMANDS[line] == RUN else COMMANDS[line][0] for line in lines]
    assert ran == [command for command in dict.fromkeys(expected) if command is not None]
    assert len(ran) >= 10
    # The commands wrote where the documents say, in the copy.
    assert (fresh_clone / "db.sqlite3").exists()
    assert (fresh_clone / "inventaire.xlsx").exists()
    assert (fresh_clone / "gros.csv").exists()
    assert (fresh_clone / "staticfiles" / "staticfiles.json").exists()


def test_manage_py_without_secret_key_says_so_in_one_line(tmp_path):
    env = shell_environment(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "setup_catalogue", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration invalide : SECRET_KEY est obligatoire quand DEBUG est désactivé (sur un "
        "poste de développement, lancez les commandes par « python3 dev.py manage … »)."
    ]


def test_dev_py_manage_runs_commands_with_the_development_defaults(tmp_path):
    env = shell_environment(tmp_path)
    result = subprocess.run(
        [sys.executable, "dev.py", "manage", "changepassword", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py changepassword" in result.stdout
