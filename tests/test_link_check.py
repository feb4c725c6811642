"""The link checker against a local HTTP server answering 200, 301, 404, 500 and too late."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.urls import reverse

from cooperations.link_check import check_sources, check_url
from cooperations.models import Source

from .conftest import make_cooperation, make_source


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    release = threading.Event()

    def do_GET(self):  # noqa: N802
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/lent":
            # Answers only once the test is over: the client's timeout must give up first.
            Handler.release.wait(5)
        if self.path == "/instable" and Handler.hits[self.path] == 1:
            self.send_response(503)
            self.end_headers()
            return
        status = {"/ok": 200, "/instable": 200, "/deplacee": 301, "/absente": 404,
                  "/panne": 500, "/lent": 200}[self.path]  # fmt: skip
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "/ok")
        self.end_headers()
        self.wfile.write(b"page")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.hits = {}
    Handler.release.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cited(db, server, metropole):
    first = make_cooperation("Première", metropoles=[metropole])
    second = make_cooperation("Seconde", metropoles=[metropole])
    for path in ["/ok", "/deplacee", "/absente", "/panne", "/lent"]:
        make_source(first, server + path)
    make_source(second, server + "/absente")  # one address cited twice: asked once
    return first, second


def test_each_answer_is_recorded_on_each_source(server, cited):
    checks = check_sources(timeout=0.3, concurrency=3, retries=1, pause=0)
    by_path = {check.url.removeprefix(server): check for check in checks}
    assert {path: check.status for path, check in by_path.items()} == {
        "/ok": 200, "/deplacee": 301, "/absente": 404, "/panne": 500, "/lent": None,
    }  # fmt: skip
    assert by_path["/lent"].error == "délai dépassé"
    # Errors that may pass are retried, the others are not; the 301 is not followed.
    assert (by_path["/panne"].attempts, by_path["/lent"].attempts) == (2, 2)
    assert (by_path["/absente"].attempts, by_path["/ok"].attempts) == (1, 1)
    assert Handler.hits["/absente"] == 1 and Handler.hits["/ok"] == 1
    rows = {
        (url.removeprefix(server), status)
        for url, status in Source.objects.values_list("url", "last_status")
    }
    assert ("/absente", 404) in rows and ("/lent", None) in rows
    assert Source.objects.filter(last_checked_at__isnull=True).count() == 0
    unreachable = sorted(
        s.url.removeprefix(server) for s in Source.objects.all() if s.is_unreachable
    )
    assert unreachable == ["/absente", "/absente", "/lent", "/panne"]
    # Not a fact of the cooperation: no history row.
    assert Source.history.filter(history_type="~").count() == 0


def test_a_passing_failure_is_retried_until_it_answers(server):
    check = check_url(server + "/instable", timeout=1, retries=2, pause=0)
    assert (check.status, check.attempts) == (200, 2)


def test_dry_run_records_nothing(server, cited):
    out = io.StringIO()
    call_command("check_sources", "--dry-run", "--timeout", "0.3", "--retries", "0", stdout=out)
    assert "5 adresse(s) vérifiée(s) : 2 joignable(s) (dont 1 redirigée(s)), 3 injoignable(s)." in (
        out.getvalue()
    )
    assert "Essai à blanc" in out.getvalue()
    assert not Source.objects.filter(last_checked_at__isnull=False).exists()


def test_the_admin_lists_records_with_an_unreachable_source(admin_client, server, cited):
    first, second = cited
    ok_only = make_cooperation("Sûre", metropoles=[first.participations.first().territory])
    make_source(ok_only, server + "/ok")
    call_command("check_sources", "--timeout", "0.3", "--retries", "0", stdout=io.StringIO())
    changelist = reverse("admin:cooperations_cooperation_changelist")
    response = admin_client.get(changelist, {"sources": "injoignable"})
    assert response.status_code == 200
    assert set(response.context["cl"].queryset) == {first, second}
    moved = admin_client.get(changelist, {"sources": "deplacee"})
    assert set(moved.context["cl"].queryset) == {first}
    page = admin_client.get(reverse("admin:cooperations_cooperation_change", args=[second.pk]))
    assert "injoignable (code 404), le " in page.content.decode()


def test_bad_options_are_refused(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--timeout"):
        call_command("check_sources", "--concurrency", "0")
