"""Concurrent writers: imports serialised and re-planned under their lock, rows updated in a
stable order, uncoded territories unique, and the admin form's version check.

The two-staff scenarios run with two real database connections (one per thread, a barrier to
make them collide) in transactional tests; they end by closing their connections so that the
test database can be dropped.
"""

import re
import threading
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cooperations import importing
from cooperations.concurrency import ImportBusy, import_lock
from cooperations.importing import plan_import, run_import
from cooperations.models import Cooperation, Participation, Territory
from cooperations.services import EDITORS

from .conftest import get_or_make_territory, make_cooperation, make_territory
from .test_admin import _form_values, change_form_data
from .test_admin_import import confirm, upload
from .test_importing import sheet

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Deux connexions réelles qui se bloquent : PostgreSQL (SQLite sérialise toute "
    "écriture par son verrou de base, voir les tests à une connexion).",
)
# Transactional: each thread commits on its own connection. serialized_rollback restores the
# vocabularies and staff groups of the migrations after the flush, for the tests that follow.
two_connections = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HEADER = ["Identifiant", "Nom", "Métropoles", "Territoires partenaires", "Statut"]


@pytest.fixture
def brest(db):
    return get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")


def editor(username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


def run_together(*jobs):
    """Run each job in its own thread (hence its own connection), released together by a
    barrier; returns each job's result or the exception it raised."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def work(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported to the test, which asserts on it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


# --- Uncoded territories -------------------------------------------------------------------------


def test_codeless_territories_are_unique_per_kind_and_folded_name(db):
    make_territory(Territory.Kind.PETR, "Pays de Retz", code="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Territory.objects.create(kind=Territory.Kind.PETR, name="PAYS DE RETZ", code="")
    # Another kind, or an official code, is another territory.
    Territory.objects.create(kind=Territory.Kind.SYNDICAT, name="Pays de Retz", code="")
    Territory.objects.create(kind=Territory.Kind.CC, name="Pays de Retz", code="990000123")
    assert Territory.objects.filter(search_name="pays de retz").count() == 3


def test_admin_refuses_a_duplicate_codeless_territory_in_french(admin_client):
    make_territory(Territory.Kind.PETR, "Pays de Retz", code="")
    response = admin_client.post(
        reverse("admin:cooperations_territory_add"),
        {"kind": Territory.Kind.PETR, "code": "", "name": "Pays-de-Retz"},
    )
    assert response.status_code == 200
    assert "Un territoire sans code officiel de cette nature porte déjà ce nom" in (
        response.content.decode()
    )
    assert Territory.objects.filter(kind=Territory.Kind.PETR).count() == 1


def test_import_reuses_a_codeless_territory_created_since_its_plan(brest):
    plan = plan_import(
        sheet(["", "Coopération A", "Brest Métropole", "Pays du Test [PETR]", ""], header=HEADER)
    )
    assert plan.is_valid and len(plan.new_territories) == 1
    existing = Territory.objects.create(kind=Territory.Kind.PETR, name="Pays du test", code="")
    outcome = importing.apply_import(plan)
    assert outcome.territories_created == 0
    assert Participation.objects.get(role=Participation.Role.PARTNER).territory == existing


# --- Stable order --------------------------------------------------------------------------------


def test_import_updates_rows_in_primary_key_order(brest):
    first = make_cooperation("Première", metropoles=[brest], slug="premiere")
    second = make_cooperation("Seconde", metropoles=[brest], slug="seconde")
    rows = [
        ["seconde", "Seconde", "Brest Métropole", "", "Active"],
        ["premiere", "Première", "Brest Métropole", "", "Active"],
    ]
    with CaptureQueriesContext(connection) as queries:
        run_import(sheet(*rows, header=HEADER), commit=True)
    table = Cooperation._meta.db_table
    updated = [
        int(match.group(1))
        for query in queries.captured_queries
        if query["sql"].startswith(f'UPDATE "{table}"')
        and (match := re.search(rf'WHERE "{table}"\."id" = (\d+)', query["sql"]))
    ]
    assert updated == [first.pk, second.pk]


# --- One import at a time ------------------------------------------------------------------------


@pytest.fixture
def busy(monkeypatch):
    """Another import holds the lock."""

    @contextmanager
    def held(using="default"):
        raise ImportBusy
        yield  # pragma: no cover

    monkeypatch.setattr(importing, "import_lock", held)


def test_busy_import_is_refused_in_the_admin_and_can_be_retried(client, brest, busy, monkeypatch):
    client.force_login(editor("editrice"))
    csv = "Nom;Métropoles\r\nCoopération en attente;Brest Métropole\r\n".encode()
    preview = upload(client, csv)
    assert preview.status_code == 200
    response = confirm(client, preview)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Un autre import est en cours : rien n&#x27;a été importé" in page
    assert "Réessayez dans quelques instants" in page
    assert not Cooperation.objects.exists()
    monkeypatch.undo()
    assert confirm(client, upload(client, csv)).status_code == 200
    assert Cooperation.objects.filter(name="Coopération en attente").exists()


def test_busy_import_command_exits_with_the_message(tmp_path, brest, busy):
    path = tmp_path / "inventaire.csv"
    path.write_text("Nom;Métropoles\r\nCoopération en attente;Brest Métropole\r\n")
    with pytest.raises(CommandError, match="Un autre import est en cours"):
        call_command("import_inventory", str(path), "--commit")
    assert not Cooperation.objects.exists()


@postgres_only
@two_connections
def test_import_is_refused_while_another_holds_the_lock(brest, settings):
    settings.IMPORT_LOCK_WAIT_SECONDS = 0
    held, release = threading.Event(), threading.Event()

    def other_import():
        try:
            with import_lock():
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_import)
    thread.start()
    try:
        assert held.wait(timeout=10)
        rows = sheet(
            ["", "Coopération en attente", "Brest Métropole", "Pays X [PETR]", ""], header=HEADER
        )
        with pytest.raises(ImportBusy):
            run_import(rows, commit=True)
        assert not Cooperation.objects.exists()
        assert not Territory.objects.filter(kind=Territory.Kind.PETR).exists()
    finally:
        release.set()
        thread.join(timeout=30)
    _plan, outcome = run_import(rows, commit=True)
    assert outcome.created == 1


@two_connections
def test_two_imports_confirmed_together_write_each_thing_once(brest):
    """Same new identifier, same new uncoded PETR, same rows updated in opposite orders."""
    make_cooperation("Ancienne A", metropoles=[brest], slug="ancienne-a")
    make_cooperation("Ancienne B", metropoles=[brest], slug="ancienne-b")

    def import_file(rows, status):
        def job():
            row = lambda slug, name: [slug, name, "Brest Métropole", "Pays du Test [PETR]", status]  # noqa: E731
            return run_import(sheet(*[row(*r) for r in rows], header=HEADER), commit=True)

        return job

    first = import_file(
        [("nouvelle", "Nouvelle"), ("ancienne-a", "Ancienne A"), ("ancienne-b", "Ancienne B")],
        "Active",
    )
    second = import_file(
        [("nouvelle", "Nouvelle"), ("ancienne-b", "Ancienne B"), ("ancienne-a", "Ancienne A")],
        "Terminée",
    )
    results = run_together(first, second)

    succeeded = [result for result in results if isinstance(result, tuple)]
    refused = [result for result in results if isinstance(result, ImportBusy)]
    # PostgreSQL: the second waits for the first, re-plans and succeeds. SQLite (one shared
    # in-memory test database) may refuse it at once instead; never anything else.
    assert len(succeeded) + len(refused) == 2, results
    assert succeeded and all(outcome is not None for _plan, outcome in succeeded)
    if connection.vendor == "postgresql":
        assert len(succeeded) == 2
    assert Cooperation.objects.filter(slug="nouvelle").count() == 1
    assert (
        Territory.objects.filter(kind=Territory.Kind.PETR, search_name="pays du test").count() == 1
    )
    statuses = set(Cooperation.objects.values_list("status", flat=True))
    assert len(statuses) == 1  # the last import to commit wrote all of its rows


# --- The admin form's version check --------------------------------------------------------------


@pytest.fixture
def cooperation_page(brest):
    cooperation = make_cooperation(
        "Contrat Brest – Iroise", metropoles=[brest], slug="brest-iroise"
    )
    return cooperation, reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])


def test_saving_over_a_newer_version_is_refused_with_what_changed(client, cooperation_page):
    cooperation, url = cooperation_page
    client.force_login(editor("editrice"))
    form = change_form_data(client.get(url))
    # Meanwhile an import changes the status and the summary.
    rows = [["brest-iroise", "Contrat Brest – Iroise", "Brest Métropole", "", "Terminée"]]
    run_import(sheet(*rows, header=HEADER), commit=True)

    form["summary"] = "Mon résumé soigneusement rédigé"
    response = client.post(url, form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vos modifications n&#x27;ont pas été enregistrées" in page
    message = re.search(r'errorlist nonfield"><li>(.*?)</li>', page, re.S).group(1)
    assert "Statut : Terminée" in message
    assert "Participants" not in message  # unchanged since the form was opened
    assert "Mon résumé soigneusement rédigé" in page  # the user's input is kept
    cooperation.refresh_from_db()
    assert cooperation.status == Cooperation.Status.ENDED
    assert cooperation.summary == ""

    # Saving again, now over the version shown, is a deliberate choice and goes through.
    again = change_form_data(response)
    assert again["summary"] == "Mon résumé soigneusement rédigé"
    assert client.post(url, again).status_code == 302
    cooperation.refresh_from_db()
    assert cooperation.summary == "Mon résumé soigneusement rédigé"


def test_saving_an_unchanged_version_goes_through(client, cooperation_page):
    cooperation, url = cooperation_page
    client.force_login(editor("editrice"))
    form = change_form_data(client.get(url))
    assert form["version"]
    form["summary"] = "Revu"
    assert client.post(url, form).status_code == 302
    cooperation.refresh_from_db()
    assert cooperation.summary == "Revu"


@postgres_only
@two_connections
def test_two_editors_saving_the_same_version_together_one_is_refused(cooperation_page):
    cooperation, url = cooperation_page
    clients, forms = [], []
    for username, summary in (("editrice", "Version d'Anne"), ("editeur", "Version de Bruno")):
        browser = Client()
        browser.force_login(editor(username))
        form = change_form_data(browser.get(url))
        form["summary"] = summary
        clients.append(browser)
        forms.append(form)

    responses = run_together(
        lambda: clients[0].post(url, forms[0]), lambda: clients[1].post(url, forms[1])
    )
    assert sorted(response.status_code for response in responses) == [200, 302]
    refused = next(response for response in responses if response.status_code == 200)
    assert "Vos modifications n&#x27;ont pas été enregistrées" in refused.content.decode()
    saved = next(form for form, r in zip(forms, responses, strict=True) if r.status_code == 302)
    cooperation.refresh_from_db()
    assert cooperation.summary == saved["summary"]


def test_reverting_to_an_old_version_carries_the_current_version(client, cooperation_page):
    cooperation, url = cooperation_page
    client.force_login(editor("editrice"))
    first = cooperation.history.earliest()
    cooperation.summary = "Deuxième version"
    cooperation.save()
    revert = reverse(
        "admin:cooperations_cooperation_simple_history", args=[cooperation.pk, first.history_id]
    )
    response = client.get(revert)
    assert response.status_code == 200
    form = _form_values(response.context["adminform"].form)
    assert form["version"].startswith(cooperation.updated_at.isoformat())
    assert client.post(revert, form).status_code == 302
    cooperation.refresh_from_db()
    assert cooperation.summary == ""


# --- Two editors adding the same record at the same instant -------------------------------------


@pytest.fixture
def collide_in_save_model(monkeypatch):
    """Hold each thread's first save until the other has validated too: both pass the form's
    uniqueness check, then both INSERT — the race of two editors clicking together, every
    round instead of most."""

    def hold(admin_class):
        barrier = threading.Barrier(2)
        held = threading.local()
        original = admin_class.save_model

        def save_model(self, request, obj, form, change):
            if not getattr(held, "done", False):
                held.done = True
                barrier.wait(timeout=10)
            return original(self, request, obj, form, change)

        monkeypatch.setattr(admin_class, "save_model", save_model)

    return hold


def two_editors_add(url, data_of):
    """Twenty rounds of two editors posting the same add form together; each round's
    statuses and the loser's page."""
    anne, bruno = Client(), Client()
    anne.force_login(editor("editrice"))
    bruno.force_login(editor("editeur"))
    rounds = []
    for number in range(20):
        data = data_of(number)
        rounds.append(
            run_together(
                lambda data=data: anne.post(url, data), lambda data=data: bruno.post(url, data)
            )
        )
    return rounds


def assert_one_saved_one_told(rounds, message):
    for responses in rounds:
        assert not any(isinstance(r, Exception) for r in responses), responses
        assert sorted(r.status_code for r in responses) == [200, 302]
        refused = next(r for r in responses if r.status_code == 200)
        assert message in refused.content.decode()


@postgres_only
@two_connections
def test_two_editors_adding_the_same_cooperation_together_one_is_told_in_french(
    brest, collide_in_save_model
):
    from cooperations.admin import CooperationAdmin
    from cooperations.models import SuccessFactor

    from .test_admin import cooperation_form

    collide_in_save_model(CooperationAdmin)
    factor = SuccessFactor.objects.get(slug="gouvernance")

    def data_of(number):
        return cooperation_form(
            brest, [], [], factor, name=f"Entente {number}", slug=f"entente-{number}"
        )

    rounds = two_editors_add(reverse("admin:cooperations_cooperation_add"), data_of)
    assert_one_saved_one_told(rounds, "Un objet Coopération avec ce champ Identifiant")
    slugs = Cooperation.objects.filter(slug__startswith="entente-").values_list("slug", flat=True)
    assert sorted(slugs) == sorted(f"entente-{number}" for number in range(20))


@postgres_only
@two_connections
def test_two_editors_adding_the_same_codeless_territory_together_one_is_told_in_french(
    db, collide_in_save_model
):
    from cooperations.admin import TerritoryAdmin

    collide_in_save_model(TerritoryAdmin)

    def data_of(number):
        return {"kind": Territory.Kind.PETR, "code": "", "name": f"Pays numéro {number}"}

    rounds = two_editors_add(reverse("admin:cooperations_territory_add"), data_of)
    assert_one_saved_one_told(
        rounds, "Un territoire sans code officiel de cette nature porte déjà ce nom"
    )
    assert Territory.objects.filter(kind=Territory.Kind.PETR).count() == 20
