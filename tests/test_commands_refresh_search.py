from io import StringIO

import pytest
from django.core.management import call_command

from cooperations.models import Cooperation

from .conftest import make_cooperation


@pytest.fixture
def stale(db):
    cooperation = make_cooperation("Charte de l'estuaire")
    Cooperation.objects.filter(pk=cooperation.pk).update(search_text="")
    return cooperation


def test_refresh_search_dry_run_counts_and_writes_nothing(stale):
    out = StringIO()
    call_command("refresh_search", "--dry-run", stdout=out)
    assert "1 fiche(s) à mettre à jour" in out.getvalue()
    assert Cooperation.objects.get(pk=stale.pk).search_text == ""


def test_refresh_search_rebuilds_stale_text(stale):
    out = StringIO()
    call_command("refresh_search", stdout=out)
    assert "1 fiche(s) sur 1" in out.getvalue()
    assert " chart estuair |" in Cooperation.objects.get(pk=stale.pk).search_text
