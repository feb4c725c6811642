"""The import_inventory command refuses what the admin refuses, and as cheaply."""

import io

import pytest
from django.core.management import CommandError, call_command

from cooperations.models import Cooperation, Territory

from .conftest import get_or_make_territory, make_zip_bomb


@pytest.fixture
def brest(db):
    return get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")


def test_a_zip_bomb_is_refused_on_the_command_line(brest, tmp_path):
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(make_zip_bomb())
    with pytest.raises(CommandError, match="anormalement compressé"):
        call_command("import_inventory", str(path), "--commit", stdout=io.StringIO())
    assert Cooperation.objects.count() == 0


def test_a_utf16_tab_separated_file_is_imported(brest, tmp_path):
    path = tmp_path / "inventaire.txt"
    path.write_bytes("Nom\tMétropoles\r\nContrat d'Été\tBrest Métropole\r\n".encode("utf-16"))
    out = io.StringIO()
    call_command("import_inventory", str(path), "--commit", stdout=out)
    assert Cooperation.objects.get().name == "Contrat d'Été"
