"""setup_catalogue's demo account: a random password is shown once, a chosen one never."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from cooperations.models import CURRENT_VINTAGE

from .conftest import make_territory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def official_list_present(db):
    # One row of the current vintage makes the command skip loading the 36,000 territories.
    make_territory(vintage=CURRENT_VINTAGE)


def setup_catalogue(*args) -> str:
    out = io.StringIO()
    call_command("setup_catalogue", "--skip-demo-data", *args, stdout=out)
    return out.getvalue()


def test_random_password_is_printed_once_and_works(monkeypatch):
    monkeypatch.delenv("CATALOGUE_ADMIN_PASSWORD", raising=False)
    output = setup_catalogue("--demo-account", "admin")
    assert "Mot de passe (affiché une seule fois) : " in output
    password = output.split("Mot de passe (affiché une seule fois) : ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    again = setup_catalogue("--demo-account", "admin")
    assert password not in again
    assert "python3 dev.py manage changepassword admin" in again


def test_chosen_password_is_never_printed(monkeypatch):
    monkeypatch.setenv("CATALOGUE_ADMIN_PASSWORD", "choisi-par-moi-2026")
    output = setup_catalogue("--demo-account", "admin")
    assert "choisi-par-moi-2026" not in output
    assert "Mot de passe (affiché une seule fois)" not in output
    assert "créé avec le mot de passe de CATALOGUE_ADMIN_PASSWORD" in output
    user = User.objects.get(username="admin")
    assert user.is_superuser
    assert user.check_password("choisi-par-moi-2026")
