"""« À vérifier »: published records whose last verification is too old, and the action that
stamps the date after review."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse

from cooperations.admin import verification_deadline
from cooperations.models import Cooperation

from .conftest import make_cooperation
from .test_admin import editor  # noqa: F401

CHANGELIST = reverse("admin:cooperations_cooperation_changelist")
TODAY = datetime.date(2026, 12, 7)


@pytest.fixture
def records(db, metropole):
    def make(name, verified, published=True):
        return make_cooperation(
            name, metropoles=[metropole], last_verified_on=verified, is_published=published
        )

    return {
        "old": make("Ancienne", datetime.date(2025, 12, 6)),
        "recent": make("Récente", datetime.date(2025, 12, 7)),
        "never": make("Jamais", None),
        "draft": make("Brouillon ancien", datetime.date(2020, 1, 1), published=False),
    }


@pytest.fixture(autouse=True)
def today():
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield


def test_the_deadline_is_the_configured_number_of_months_ago(settings):
    assert verification_deadline() == datetime.date(2025, 12, 7)
    settings.VERIFICATION_MAX_AGE_MONTHS = 18
    assert verification_deadline() == datetime.date(2025, 6, 7)
    with mock.patch("django.utils.timezone.localdate", return_value=datetime.date(2026, 3, 31)):
        settings.VERIFICATION_MAX_AGE_MONTHS = 1
        assert verification_deadline() == datetime.date(2026, 2, 28)


def test_to_verify_lists_published_records_verified_too_long_ago_or_never(
    client,
    editor,  # noqa: F811
    records,
):
    client.force_login(editor)
    response = client.get(CHANGELIST, {"verification": "a-verifier"})
    assert response.status_code == 200
    assert set(response.context["cl"].queryset) == {records["old"], records["never"]}
    assert "À vérifier (publiées, non vérifiées depuis 12 mois)" in response.content.decode()


def test_the_action_stamps_today_and_the_history_says_why(client, editor, records):  # noqa: F811
    client.force_login(editor)
    chosen = [records["old"], records["never"]]
    response = client.post(
        CHANGELIST,
        {"action": "mark_verified", "_selected_action": [str(c.pk) for c in chosen]},
        follow=True,
    )
    assert "2 fiche(s) marquée(s) comme vérifiée(s) le 7 décembre 2026." in (
        response.content.decode()
    )
    for cooperation in chosen:
        cooperation.refresh_from_db()
        assert cooperation.last_verified_on == TODAY
        assert cooperation.history.first().history_change_reason == "Vérification de la fiche"
    again = client.get(CHANGELIST, {"verification": "a-verifier"})
    assert list(again.context["cl"].queryset) == []


def test_readers_cannot_stamp(client, records):
    from cooperations.services import READERS

    from .test_admin import make_staff

    client.force_login(make_staff(READERS, "lecteur"))
    before = Cooperation.objects.get(pk=records["old"].pk).last_verified_on
    client.post(CHANGELIST, {"action": "mark_verified",
                             "_selected_action": [str(records["old"].pk)]})  # fmt: skip
    assert Cooperation.objects.get(pk=records["old"].pk).last_verified_on == before
