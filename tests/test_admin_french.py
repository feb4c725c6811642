"""The admin and the import command speak correct French: no English left by a library, no
broken agreement or typography of their translations."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from .conftest import get_or_make_territory, make_cooperation
from .test_admin import editor  # noqa: F401
from .test_admin_import import CSV

# English words and wrong forms seen in the admin's pages and the command's output.
WRONG = [
    "selectionné",
    "coopérations sélectionnés",
    "un objet",
    "suivants:",
    "CHANGES",
    "Changes",
    "Change reason",
    ": None",
    "Historique de changement",
    "Historique de vue",
    "new ",
    "update ",
]


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_french(text: str):
    found = [wrong for wrong in WRONG if wrong in text]
    assert not found, found


@pytest.fixture
def page_urls(db, cooperation):
    return [
        reverse("admin:cooperations_cooperation_changelist"),
        reverse("admin:cooperations_cooperation_add"),
        reverse("admin:cooperations_cooperation_change", args=[cooperation.pk]),
        reverse("admin:cooperations_cooperation_history", args=[cooperation.pk]),
        reverse("admin:cooperations_cooperation_import"),
        reverse("admin:cooperations_territory_changelist"),
    ]


def test_admin_pages_have_no_english_nor_wrong_forms(client, editor, page_urls):  # noqa: F811
    client.force_login(editor)
    for url in page_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_french(visible_text(html))
        # Texts of the JavaScript inlines and actions live in attributes.
        assert "un objet" not in html and "selectionné" not in html


def test_the_corrected_wordings_are_shown(client, editor, cooperation):  # noqa: F811
    client.force_login(editor)
    changelist = client.get(reverse("admin:cooperations_cooperation_changelist")).content.decode()
    assert "Exporter la sélection (coopérations)" in changelist
    assert "Supprimer la sélection (coopérations)" in changelist
    change = client.get(
        reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])
    ).content.decode()
    assert "Ajouter une ligne (Participant)" in change
    imported = client.get(reverse("admin:cooperations_cooperation_import")).content.decode()
    assert "Cet import lit les colonnes suivantes : " in imported


def test_the_import_command_reports_in_french(db, tmp_path):
    get_or_make_territory("METRO", "Brest Métropole", "242900314")
    get_or_make_territory("CC", "CC du Pays d'Iroise", "242900074")
    make_cooperation("Contrat Brest — Iroise", slug="contrat-brest-iroise")
    path = tmp_path / "inventaire.csv"
    path.write_text(CSV + "Autre;Brest Métropole;;;2017\r\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_inventory", str(path), verbosity=2, stdout=out)
    text = out.getvalue()
    assert "Ligne 2 : modifiée — contrat-brest-iroise" in text
    assert "Ligne 3 : nouvelle — autre" in text
    assert "Nom : typographie seule (tiret cadratin « — » → tiret demi-cadratin « – »)" in text
    assert_french(text)
