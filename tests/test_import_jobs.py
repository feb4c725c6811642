"""Background imports: a large confirmation is queued, run by the task worker, and followed on
its page and its etat.json (cooperations/import_jobs.py)."""

import datetime
import os
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from cooperations import import_jobs
from cooperations.importing import writing
from cooperations.models import Cooperation, ImportJob, Territory, Theme
from cooperations.services import EDITORS

from .test_admin_import import CHANGELIST, confirm, make_staff, upload
from .test_importing import table_counts

CSV = (
    "Nom;Métropoles;Partenaires;Thématiques;Date de signature\r\n"
    "Contrat Brest – Iroise;Brest Métropole;CC du Pays d'Iroise;Mobilités et transports;2016\r\n"
    "Entente Brest – Iroise;Brest Métropole;CC du Pays d'Iroise;;2018\r\n"
)


def job_url(job: ImportJob) -> str:
    return reverse("admin:cooperations_cooperation_import_job", args=[job.pk])


def state_url(job: ImportJob) -> str:
    return reverse("admin:cooperations_cooperation_import_job_state", args=[job.pk])


@pytest.fixture
def run_worker(monkeypatch):
    """What `manage.py db_worker` does, once: every queued task, then exit. Between tasks the
    worker closes a connection that is inside a transaction, as a test's is: not here."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> None:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)

    return run


@pytest.fixture
def territories(db):
    from .conftest import get_or_make_territory

    get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    get_or_make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", "242900074")


@pytest.fixture
def background(settings):
    """Every import of more than one row goes to the worker."""
    settings.IMPORT_BACKGROUND_ROWS = 1


@pytest.fixture
def editor(db) -> User:
    return make_staff(EDITORS, "editrice")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def queued(editor_client, territories, background) -> ImportJob:
    preview = upload(editor_client, CSV.encode())
    assert preview.status_code == 200
    done = confirm(editor_client, preview)
    assert done.status_code == 200
    return ImportJob.objects.get()


def test_a_large_confirmation_is_queued_and_redirects_to_its_page(
    editor_client, territories, background
):
    preview = upload(editor_client, CSV.encode())
    form = preview.context["confirm_form"]
    assert form.initial["row_count"] == 2
    response = editor_client.post(
        reverse("admin:cooperations_cooperation_process_import"),
        {name: form.initial[name] for name in form.initial},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert job.state == ImportJob.State.QUEUED
    assert job.author.username == "editrice" and job.rows_total == 2
    assert job.file_name == "inventaire.csv" and bytes(job.data).startswith(b"Nom;")
    assert DBTaskResult.objects.get().id.hex == job.task_id.replace("-", "")
    # Queued, not run: nothing written yet.
    assert Cooperation.objects.count() == 0

    page = editor_client.get(job_url(job))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="import-job-progress"' in html and "En attente" in html
    # Without JavaScript the page reloads itself; its script is a static file (the security
    # policy allows no inline script).
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "js/import-job.js" in html


def test_a_small_confirmation_still_runs_in_the_request(editor_client, territories):
    done = confirm(editor_client, upload(editor_client, CSV.encode()))
    assert done.redirect_chain[-1][0] == CHANGELIST
    assert Cooperation.objects.count() == 2
    assert not ImportJob.objects.exists()


def test_a_queued_job_runs_and_reports_its_counts(run_worker, editor_client, queued):
    run_worker()
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.SUCCEEDED, job.error_message
    assert (job.created, job.updated, job.unchanged, job.errors) == (2, 0, 0, 0)
    assert job.finished_at is not None and bytes(job.data) == b""
    assert Cooperation.objects.count() == 2
    cooperation = Cooperation.objects.get(name="Contrat Brest – Iroise")
    assert cooperation.history.get().history_user.username == "editrice"
    assert LogEntry.objects.filter(user__username="editrice").count() == 2

    page = editor_client.get(job_url(job))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Import terminé" in html
    assert "2 ligne(s) : 2 nouvelle(s), 0 modifiée(s), 0 inchangée(s), 0 rejetée(s)." in html
    counts = re.search(r'<table id="import-job-counts">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert re.findall(r"<td>(\d+)</td>", counts.group(1)) == ["2", "0", "0", "0"]
    assert "refresh" not in html  # a finished job's page stays still

    state = editor_client.get(state_url(job)).json()
    assert state["etat"] == "succeeded" and state["termine"] is True
    assert state["pourcentage"] == 100
    assert (state["creees"], state["modifiees"], state["inchangees"], state["erreurs"]) == (
        2,
        0,
        0,
        0,
    )

    # The same file again, through the worker: every row unchanged, nothing written.
    before = table_counts()
    confirm(editor_client, upload(editor_client, CSV.encode()))
    run_worker()
    again = ImportJob.objects.latest("pk")
    assert (again.state, again.created, again.unchanged) == ("succeeded", 0, 2)
    assert table_counts()["cooperations.Cooperation"] == before["cooperations.Cooperation"]


def test_the_progress_json_says_step_rows_percent_and_time_left(editor_client, queued):
    ImportJob.objects.filter(pk=queued.pk).update(
        state=ImportJob.State.RUNNING,
        started_at=timezone.now() - datetime.timedelta(seconds=30),
        progress_at=timezone.now(),
        step=ImportJob.Step.WRITE,
        step_done=5000,
        step_total=10000,
    )
    response = editor_client.get(state_url(queued))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    state = response.json()
    assert state["etat"] == "running" and state["termine"] is False
    assert state["etape"] == "write" and state["etape_libelle"] == "Écriture des fiches"
    assert (state["etape_numero"], state["etapes"]) == (3, 4)
    assert (state["lignes_faites"], state["lignes_etape"]) == (5000, 10000)
    # Read and check done (12 + 10), half of the writing (27 / 2).
    assert state["pourcentage"] == 35
    # 30 s for 35 %: about 56 s for the other 65 %.
    assert 50 <= state["secondes_restantes"] <= 60
    page = editor_client.get(job_url(queued)).content.decode()
    assert 'value="35"' in page and "5000 lignes sur 10000" in page
    assert "Étape 3 sur 4" in page


def test_another_staff_member_cannot_see_the_job_but_a_superuser_can(client, queued):
    other = make_staff(EDITORS, "autre")
    client.force_login(other)
    assert client.get(job_url(queued)).status_code == 404
    assert client.get(state_url(queued)).status_code == 404
    client.force_login(User.objects.create_superuser("chef", password="pw"))
    assert client.get(job_url(queued)).status_code == 200
    assert client.get(state_url(queued)).status_code == 200
    client.logout()
    assert client.get(state_url(queued)).status_code == 302  # to the login page


def test_a_file_that_no_longer_passes_fails_in_french_with_nothing_written(
    run_worker, editor_client, queued
):
    # Between preview and run, a theme named by the file's first row leaves the vocabulary.
    Theme.objects.filter(label="Mobilités et transports").delete()
    before = table_counts()
    run_worker()
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.FAILED
    assert job.error_message.startswith(
        "Rien n'a été importé : le fichier ne passe plus les vérifications. Ligne 2"
    )
    assert "Thématique inconnue" in job.error_message
    assert job.errors == 1
    after = table_counts()
    assert after == before
    html = editor_client.get(job_url(job)).content.decode()
    assert "Import échoué" in html and "ne passe plus les vérifications" in html


def test_an_unreadable_file_fails_in_french(run_worker, editor_client, queued):
    ImportJob.objects.filter(pk=queued.pk).update(data=b"%PDF-1.4\n%binary")
    run_worker()
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.FAILED
    assert "n'est pas un tableur" in job.error_message


def test_an_error_while_writing_rolls_the_whole_import_back(
    run_worker, editor_client, queued, monkeypatch
):
    def broken(queryset):
        raise RuntimeError("disk full")

    # The last write of an import: every record is written by then.
    monkeypatch.setattr(writing, "refresh_derived_text", broken)
    before = table_counts()
    run_worker()
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.FAILED
    assert job.error_message == import_jobs.UNEXPECTED
    assert table_counts() == before


def test_a_job_whose_worker_died_is_shown_failed(run_worker, editor_client, queued):
    ImportJob.objects.filter(pk=queued.pk).update(
        state=ImportJob.State.RUNNING,
        started_at=timezone.now() - datetime.timedelta(minutes=30),
        progress_at=timezone.now() - datetime.timedelta(minutes=11),
    )
    state = editor_client.get(state_url(queued)).json()
    assert state["etat"] == "failed" and state["termine"] is True
    assert "ne progresse plus depuis 10 minutes" in state["message"]
    assert ImportJob.objects.get().state == ImportJob.State.FAILED
    # A late worker does not run it again.
    run_worker()
    assert Cooperation.objects.count() == 0


def test_a_job_no_worker_has_taken_says_to_start_one(editor_client, queued):
    assert editor_client.get(state_url(queued)).json()["avertissement"] == ""
    ImportJob.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    state = editor_client.get(state_url(queued)).json()
    assert state["etat"] == "queued" and state["termine"] is False
    assert "python manage.py db_worker" in state["avertissement"]
    assert "python manage.py db_worker" in editor_client.get(job_url(queued)).content.decode()


def test_an_author_without_the_import_permission_any_more_gets_nothing_imported(run_worker, queued):
    queued.author.groups.clear()
    run_worker()
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.FAILED
    assert "n'a plus la permission d'importer" in job.error_message
    assert Cooperation.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_progress_is_seen_while_the_import_transaction_is_open(editor):
    job = ImportJob.objects.create(
        author=editor,
        file_name="gros.csv",
        plan_digest="0" * 64,
        rows_total=1000,
        state=ImportJob.State.RUNNING,
        started_at=timezone.now(),
    )
    recorder = import_jobs.ProgressRecorder(job)
    try:
        with transaction.atomic():
            recorder("check", 1, 1000)
            recorder("check", 150, 1000)  # under PROGRESS_EVERY_ROWS rows since: not recorded
            recorder("check", 400, 1000)
            # Read as the web process would, while the import's transaction is still open.
            status = import_jobs.job_status(ImportJob.objects.get(pk=job.pk))
            assert (status.step, status.done, status.total) == ("check", 400, 1000)
            assert status.percent == 12 + 4  # reading done, 40 % of the checking
            # The import fails: its transaction is rolled back, not the progress recorded.
            transaction.set_rollback(True)
        recorder.close()
        status = import_jobs.job_status(ImportJob.objects.get(pk=job.pk))
        assert (status.step, status.done) == ("check", 400)
    finally:
        recorder.discard()
    assert not os.path.exists(recorder.path)
