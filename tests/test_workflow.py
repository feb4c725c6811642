"""The editorial workflow: Brouillon → À relire → Publiée (and Archivée); only reviewers
publish or unpublish; the public sees published records only."""

import pytest
from django.urls import reverse

from cooperations.history import cooperation_history
from cooperations.importing import plan_import, run_import
from cooperations.models import Cooperation
from cooperations.services import EDITORS, REVIEWERS

from .test_admin import change_form_data, make_staff
from .test_importing import HEADER, sheet


@pytest.fixture
def editor(db):
    return make_staff(EDITORS, "editrice")


@pytest.fixture
def reviewer(db):
    return make_staff(REVIEWERS, "relectrice")


def set_state(client, cooperation, state):
    url = reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])
    data = change_form_data(client.get(url))
    data["state"] = state
    return client.post(url, data)


@pytest.fixture
def draft(cooperation):
    cooperation.is_published = False
    cooperation.save()
    assert cooperation.state == Cooperation.State.DRAFT
    return cooperation


def test_an_editor_submits_for_review_but_cannot_publish(client, editor, draft):
    client.force_login(editor)
    assert set_state(client, draft, Cooperation.State.REVIEW).status_code == 302
    draft.refresh_from_db()
    assert (draft.state, draft.is_published) == ("a-relire", False)
    refused = set_state(client, draft, Cooperation.State.PUBLISHED)
    assert refused.status_code == 200
    assert "demande la permission de relecteur" in refused.content.decode()
    draft.refresh_from_db()
    assert (draft.state, draft.is_published) == ("a-relire", False)


def test_a_reviewer_publishes_and_the_transition_is_in_the_history(client, reviewer, draft):
    client.force_login(reviewer)
    assert set_state(client, draft, Cooperation.State.PUBLISHED).status_code == 302
    draft.refresh_from_db()
    assert (draft.state, draft.is_published) == ("publiee", True)
    lines = [str(line) for entry in cooperation_history(draft.pk) for line in entry.lines]
    assert "État : Brouillon → Publiée" in lines


def test_an_editor_cannot_unpublish_nor_archive_a_published_record(client, editor, cooperation):
    assert cooperation.state == Cooperation.State.PUBLISHED
    client.force_login(editor)
    for state in [Cooperation.State.DRAFT, Cooperation.State.ARCHIVED]:
        assert set_state(client, cooperation, state).status_code == 200
    cooperation.refresh_from_db()
    assert cooperation.is_published


def test_the_public_sees_only_published_records(client, reviewer, draft):
    assert client.get(draft.get_absolute_url()).status_code == 404
    client.force_login(reviewer)
    set_state(client, draft, Cooperation.State.PUBLISHED)
    client.logout()
    assert client.get(draft.get_absolute_url()).status_code == 200
    client.force_login(reviewer)
    set_state(client, draft, Cooperation.State.ARCHIVED)
    client.logout()
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_the_changelist_counts_records_per_state(client, reviewer, cooperation, draft):
    client.force_login(reviewer)
    page = client.get(reverse("admin:cooperations_cooperation_changelist")).content.decode()
    assert "Brouillon (1)" in page and "Publiée (0)" in page and "À relire (0)" in page
    filtered = client.get(
        reverse("admin:cooperations_cooperation_changelist"), {"etat": "brouillon"}
    )
    assert list(filtered.context["cl"].queryset) == [draft]


def test_flag_only_writers_move_the_state(db, metropole):
    record = Cooperation.objects.create(name="A", slug="a", is_published=True)
    assert record.state == Cooperation.State.PUBLISHED
    record.is_published = False
    record.save()
    assert record.state == Cooperation.State.DRAFT


# --- The import sets a state ---------------------------------------------------------------------

STATE_HEADER = [*HEADER, "État de la fiche"]


@pytest.fixture
def brest(metropole):
    return metropole


def row(state, name="Coopération à relire"):
    return [name, "[242900314]", "", "", state]


def test_the_import_sets_a_state_and_the_public_flag_with_it(db, brest):
    run_import(sheet(row("À relire"), header=STATE_HEADER), commit=True)
    record = Cooperation.objects.get(name="Coopération à relire")
    assert (record.state, record.is_published) == ("a-relire", False)
    plan, _ = run_import(sheet(row("Publiée"), header=STATE_HEADER), commit=True)
    assert [str(change) for change in plan.rows[0].details] == ["État : À relire → Publiée"]
    record.refresh_from_db()
    assert (record.state, record.is_published) == ("publiee", True)


def test_an_editor_cannot_publish_through_the_import(db, brest, editor, reviewer):
    rows = sheet(row("Publiée"), header=STATE_HEADER)
    plan, outcome = run_import(rows, commit=True, user=editor)
    assert outcome is None
    assert "demande la permission de relecteur" in plan.row_errors[0].message
    assert not Cooperation.objects.exists()
    plan, outcome = run_import(rows, commit=True, user=reviewer)
    assert outcome.created == 1


def test_publiee_no_returns_a_published_record_to_draft(db, cooperation):
    header = ["Identifiant", "Nom", "Métropoles", "Publiée"]
    cells = [cooperation.slug, cooperation.name, "[242900314]", "non"]
    plan = plan_import(sheet(cells, header=header))
    assert plan.file_errors == []
    assert plan.rows[0].fields["state"] == Cooperation.State.DRAFT


def test_contradicting_state_and_flag_are_refused(db, brest):
    header = [*STATE_HEADER, "Publiée"]
    plan = plan_import(sheet([*row("Brouillon"), "oui"], header=header))
    assert plan.row_errors[0].message == "contredit la colonne « Publiée »."
