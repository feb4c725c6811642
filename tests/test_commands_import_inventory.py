"""The import_inventory command refuses what the admin refuses, and as cheaply."""

import io

import pytest
from django.core.management import CommandError, call_command

from cooperations.models import Cooperation, Territory

from .conftest import get_or_make_territory, make_sparse_xlsx, make_zip_bomb


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


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", "A1:CV1048576"])
def test_a_sparse_workbook_is_refused_on_the_command_line(brest, tmp_path, dimension):
    path = tmp_path / "creux.xlsx"
    path.write_bytes(make_sparse_xlsx(dimension, dimension.split(":")[1]))
    with pytest.raises(CommandError, match="elle n'est pas lue"):
        call_command("import_inventory", str(path), "--commit", stdout=io.StringIO())
    assert Cooperation.objects.count() == 0


def test_the_command_applies_the_admins_size_limit_unless_told_otherwise(brest, tmp_path, settings):
    settings.IMPORT_MAX_UPLOAD_SIZE = 40
    path = tmp_path / "inventaire.csv"
    path.write_text("Nom;Métropoles\r\nContrat de réciprocité;Brest Métropole\r\n")
    with pytest.raises(CommandError, match=r"pèse 1 Ko : la limite est de 1 Ko"):
        call_command("import_inventory", str(path), "--commit", stdout=io.StringIO())
    assert Cooperation.objects.count() == 0
    with pytest.raises(CommandError, match="--max-size doit être positif ou nul"):
        call_command("import_inventory", str(path), "--max-size=-1", stdout=io.StringIO())
    call_command("import_inventory", str(path), "--commit", "--max-size=1000", stdout=io.StringIO())
    assert Cooperation.objects.count() == 1
    call_command("import_inventory", str(path), "--max-size=0", stdout=io.StringIO())
