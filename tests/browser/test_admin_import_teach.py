"""An editor teaches the import two territory names it refused, as a person would: picks the
close territory proposed for a misspelt name, declares the other a PETR without code, confirms,
and finds the same file unchanged on the next upload."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from django.db import connections
from openpyxl import Workbook

from cooperations.models import Cooperation, Territory, TerritoryAlias
from cooperations.services import EDITORS, REVIEWERS, ensure_staff_groups

from ..conftest import make_metropole, make_territory
from .test_admin_import import PASSWORD, log_in, upload

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FILE_NAME = "inventaire-finistere.xlsx"
MISSPELT = "Quimper Bretagne Ocidentale"
UNKNOWN = "Pays de Nulle Part"


@pytest.fixture
def teaching_site(live_server, tmp_path):
    """An editor, the few official territories the file needs (and neighbours close enough in
    spelling to compete for the candidates), and the file. All written before Playwright
    starts: ORM writes under its event loop would open a second database connection."""
    ensure_staff_groups()
    editor = User.objects.create_user("editrice", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITORS))
    # The file publishes its records: a reviewer's permission (the editorial workflow).
    editor.groups.add(Group.objects.get(name=REVIEWERS))
    make_metropole("Brest Métropole", code="242900314")
    make_territory(Territory.Kind.CA, "CA Quimper Bretagne Occidentale", code="200068120")
    make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", code="242900074")
    make_territory(Territory.Kind.CA, "CA Lorient Agglomération", code="200042174")
    make_territory(Territory.Kind.COMMUNE, "Quimper", code="29232")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Identifiant", "Nom", "Métropoles", "Territoires partenaires", "Publiée"])
    sheet.append(["brest-quimper", "Entente Brest – Quimper", "Brest Métropole", MISSPELT, "oui"])
    sheet.append(["brest-nulle-part", "Contrat Brest – Nulle Part", "Brest", UNKNOWN, "oui"])
    sheet.append(
        ["brest-les-deux", "Pacte à trois", "Brest Métropole", f"{MISSPELT}; {UNKNOWN}", "non"]
    )
    path = tmp_path / FILE_NAME
    workbook.save(path)
    return live_server.url, path


def database_state() -> dict:
    """What the import left, read as plain values; the connection these reads open under
    Playwright's event loop is closed at once (see test_admin_flow)."""
    try:
        return {
            "aliases": sorted(
                (a.alias, a.territory.kind, a.territory.code, a.created_by.username, a.source_file)
                for a in TerritoryAlias.objects.select_related("territory", "created_by")
            ),
            "petr": list(
                Territory.objects.filter(kind=Territory.Kind.PETR).values_list("name", "code")
            ),
            "cooperations": {
                c.slug: sorted(p.territory.name for p in c.participations.all())
                for c in Cooperation.objects.prefetch_related("participations__territory")
            },
        }
    finally:
        connections.close_all()


def test_editor_teaches_two_names_then_the_same_file_passes_unchanged(teaching_site, page):
    base_url, path = teaching_site
    log_in(page, base_url, "editrice")
    upload(page, base_url, path)

    errors = page.locator("#import-errors").inner_text()
    assert f"« {MISSPELT} »" in errors and f"« {UNKNOWN} »" in errors
    learn = page.locator("#import-learn")
    assert learn.get_by_role("group").count() == 2
    misspelt = learn.get_by_role("group", name=f"« {MISSPELT} »")
    unknown = learn.get_by_role("group", name=f"« {UNKNOWN} »")
    candidate = misspelt.get_by_role(
        "radio", name="CA Quimper Bretagne Occidentale (Communauté d'agglomération, 200068120)"
    )
    assert candidate.is_visible()
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    # Nothing is chosen until the editor chooses.
    assert misspelt.get_by_role("radio", name="Ne rien retenir").is_checked()
    assert unknown.get_by_role("radio", name="Ne rien retenir").is_checked()

    # The candidate with the keyboard: a radio group is entered with Tab, moved with arrows.
    misspelt.get_by_role("radio", name="Ne rien retenir").focus()
    page.keyboard.press("ArrowDown")
    assert candidate.is_checked()
    # Choosing a kind in the list ticks its option: no second click to forget.
    unknown.get_by_label(f"Nature pour « {UNKNOWN} »").select_option(label="PETR / pays")
    codeless = unknown.get_by_role("radio", name="Territoire sans code officiel, de nature :")
    assert codeless.is_checked()
    learn.get_by_role("button", name="Enregistrer ces choix et vérifier de nouveau").click()

    assert "2 nom(s) appris" in page.locator(".messagelist").inner_text()
    summary = page.locator("#import-summary").inner_text()
    assert "3 nouvelle(s), 0 modifiée(s), 0 inchangée(s), 0 rejetée(s)" in summary
    page.locator("input[name=confirm]").click()
    page.wait_for_url(f"{base_url}/admin/cooperations/cooperation/")
    assert "Import terminé" in page.locator(".messagelist").inner_text()

    # The same file again: every name is now known, every row unchanged.
    upload(page, base_url, path)
    assert page.locator("#import-learn").count() == 0
    assert (
        "3 ligne(s) : 0 nouvelle(s), 0 modifiée(s), 3 inchangée(s)"
        in page.locator("#import-summary").inner_text()
    )
    actions = page.locator("table.import-preview td.import-type").all_inner_texts()
    assert actions == ["Inchangée", "Inchangée", "Inchangée"]

    # The aliases in the admin say who taught them and from which file.
    page.goto(f"{base_url}/admin/cooperations/territoryalias/")
    listed = page.locator("#result_list tbody").inner_text()
    assert MISSPELT in listed and UNKNOWN in listed and "editrice" in listed

    state = database_state()
    assert state["aliases"] == [
        (UNKNOWN, "PETR", "", "editrice", FILE_NAME),
        (MISSPELT, "CA", "200068120", "editrice", FILE_NAME),
    ]
    assert state["petr"] == [(UNKNOWN, "")]
    assert state["cooperations"] == {
        "brest-quimper": ["Brest Métropole", "CA Quimper Bretagne Occidentale"],
        "brest-nulle-part": ["Brest Métropole", UNKNOWN],
        "brest-les-deux": ["Brest Métropole", "CA Quimper Bretagne Occidentale", UNKNOWN],
    }
