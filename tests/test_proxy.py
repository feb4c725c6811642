"""nginx in front of gunicorn (deploy/nginx.conf, docs/deployment.md): the repository's own
configuration, started with Debian's nginx in front of gunicorn with the production settings
and the test's PostgreSQL database.

The slow-client test lasts its 20 s: fifty connections that send a header one byte per second
or half a header then nothing, while a normal visitor requests the list one request after the
other. Through nginx, ≥ 95 % of the visitor's requests are answered; gunicorn alone served
almost none (docs/deployment.md gives both measurements).
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from benchmarks.http_client import Client
from benchmarks.runner import free_port
from benchmarks.slow_clients import SlowClients, visit
from catalogue.settings import BASE_DIR

from .conftest import make_cooperation, make_metropole, production_environment
from .test_servers import _database_url, _wait_until_served

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PUBLIC_HOST = "catalogue.example.fr"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = BASE_DIR / "deploy" / "nginx.conf"


def render_site(listen: int, upstream: int, static_root: Path) -> str:
    text = TEMPLATE.read_text()
    for name, value in {
        "__SERVER_NAME__": PUBLIC_HOST,
        "__LISTEN__": f"127.0.0.1:{listen}",
        "__UPSTREAM__": f"127.0.0.1:{upstream}",
        "__STATIC_ROOT__": str(static_root),
    }.items():
        text = text.replace(name, value)
    assert "__" not in text.replace("default_server", ""), "a value left to replace"
    return text


def main_config(root: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site, in the test's own directory."""
    # As root, the workers would drop to `nobody`, who cannot read pytest's private temporary
    # directories; as another user nginx keeps its own and ignores the directive.
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    return f"""
{user}
worker_processes 1;
daemon off;
pid {root / "nginx.pid"};
error_log {root / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    {temp}
    uwsgi_temp_path {root / "uwsgi"};
    scgi_temp_path {root / "scgi"};
    include {site};
}}
"""


def wait_for_port(port: int, process, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"le serveur s'est arrêté :\n{log.read_text()}")
        try:
            Client(port, timeout=5, host=PUBLIC_HOST).get("/sante/")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"rien ne répond sur le port {port} :\n{log.read_text()}")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def proxied(tmp_path, collected_static):
    """The port of nginx, configured by deploy/nginx.conf, in front of gunicorn."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn sert la base de test : PostgreSQL (DATABASE_URL=postgres://…).")
    if not Path(NGINX).exists():
        message = "nginx absent (apt-get install nginx-light ; .ci/run l'installe)."
        if os.environ.get("REQUIRE_PROXY_TESTS") == "1":
            pytest.fail(message + " REQUIRE_PROXY_TESTS=1 exige ces tests.", pytrace=False)
        pytest.skip(message)
    gunicorn_port, nginx_port = free_port(), free_port()
    env = production_environment(
        DATABASE_URL=_database_url(),
        ALLOWED_HOSTS=f"127.0.0.1,{PUBLIC_HOST}",
        TRUSTED_PROXIES="127.0.0.1",
        STATIC_ROOT=str(collected_static),
        PUBLIC_CACHE_SECONDS="0",
        GUNICORN_BIND=f"127.0.0.1:{gunicorn_port}",
        LOG_LEVEL="WARNING",
    )
    gunicorn_log = tmp_path / "gunicorn.log"
    with open(gunicorn_log, "w") as log:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "catalogue.wsgi"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    nginx = None
    try:
        _wait_until_served(gunicorn_port, gunicorn, gunicorn_log)
        site = tmp_path / "catalogue.conf"
        site.write_text(render_site(nginx_port, gunicorn_port, collected_static))
        main = tmp_path / "nginx.conf"
        main.write_text(main_config(tmp_path, site))
        nginx_log = tmp_path / "nginx-stderr.log"
        with open(nginx_log, "w") as log:
            nginx = subprocess.Popen(
                [NGINX, "-c", str(main), "-p", str(tmp_path)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_for_port(nginx_port, nginx, nginx_log)
        yield nginx_port
    finally:
        if nginx is not None:
            stop(nginx)
        stop(gunicorn)


@pytest.fixture
def catalogue(db):
    metropole = make_metropole("Brest Métropole", code="242900314")
    for number in range(3):
        make_cooperation(f"Coopération servie {number}", metropoles=[metropole])


def test_nginx_serves_the_catalogue_its_static_files_and_refuses_other_hosts(
    catalogue, proxied, collected_static
):
    client = Client(proxied, host=PUBLIC_HOST)
    page = client.get("/cooperations/")
    assert page.status == 200
    assert "Coopération servie 2" in page.text
    # Static files come from the disk, compressed and cached for a year under hashed names.
    hashed = next(
        path.relative_to(collected_static)
        for path in collected_static.rglob("*.css")
        if len(path.stem.rsplit(".", 1)[-1]) == 12
    )
    css = Client(proxied, host=PUBLIC_HOST).get(f"/static/{hashed}")
    assert css.status == 200
    assert "max-age=31536000" in css.headers["cache-control"]
    # Another host never reaches Django: nginx closes the connection without an answer.
    with pytest.raises(OSError):
        Client(proxied, host="intrus.example").get("/")


def test_an_upload_past_the_import_limit_is_refused_by_nginx(catalogue, proxied):
    client = Client(proxied, host=PUBLIC_HOST)
    fields = [("x", "a" * (7 * 1024 * 1024))]
    assert client.request("POST", "/admin/login/", fields).status == 413


def test_slow_clients_leave_the_list_served(catalogue, proxied):
    with SlowClients(proxied, PUBLIC_HOST, count=50):
        time.sleep(2)  # the slow connections in place first
        visits = visit(proxied, PUBLIC_HOST, seconds=20)
    print(f"\nnginx → gunicorn, 50 clients lents pendant 20 s : {visits.summary()}")
    assert len(visits.statuses) >= 10
    assert visits.share >= 0.95, visits.statuses
