"""Staff load an inventory file through the admin as a person would; readers cannot."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connections

from cooperations.models import Cooperation, Territory
from cooperations.services import EDITORS, READERS, REVIEWERS, ensure_staff_groups

from ..conftest import make_metropole, make_territory

pytestmark = [
    pytest.mark.browser,
    # Same as the other live-server tests: restore the migrated data after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "mot-de-passe-de-test"
INVENTORY = (
    "Nom;Métropoles;Territoires partenaires;Thématiques;Date de signature;Publiée\r\n"
    "Contrat Brest – Iroise;Brest Métropole;CC du Pays d'Iroise;Mobilités et transports;"
    "2016;oui\r\n"
    "Entente Brest – Abers;Brest;CC du Pays des Abers [242900553];Tourisme et loisirs;"
    "03/2019;oui\r\n"
)


@pytest.fixture
def staff_site(live_server, tmp_path):
    ensure_staff_groups()
    for username, group in (("editrice", EDITORS), ("lecteur", READERS)):
        user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        if group == EDITORS:
            # The file publishes its records: a reviewer's permission (the editorial workflow).
            user.groups.add(Group.objects.get(name=REVIEWERS))
    make_metropole("Brest Métropole", code="242900314")
    make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", code="242900074")
    make_territory(Territory.Kind.CC, "CC du Pays des Abers", code="242900553")
    # French Excel's CSV: semicolons, Windows-1252.
    path = tmp_path / "inventaire.csv"
    path.write_bytes(INVENTORY.encode("cp1252"))
    return live_server.url, path


def log_in(page, base_url, username):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def upload(page, base_url, path):
    page.goto(f"{base_url}/admin/cooperations/cooperation/")
    page.get_by_role("link", name="Importer").click()
    page.set_input_files("input[type=file]", str(path))
    page.locator("form input[type=submit]").first.click()


def test_editor_uploads_previews_confirms_and_finds_the_records(staff_site, page):
    base_url, path = staff_site
    log_in(page, base_url, "editrice")
    upload(page, base_url, path)
    summary = page.locator("#import-summary").inner_text()
    assert "2 nouvelle(s), 0 modifiée(s), 0 inchangée(s), 0 rejetée(s)" in summary
    assert Cooperation.objects.count() == 0

    page.locator("input[name=confirm]").click()
    page.wait_for_url(f"{base_url}/admin/cooperations/cooperation/")
    assert "Import terminé" in page.locator(".messagelist").inner_text()
    listed = page.locator("#result_list tbody th a").all_inner_texts()
    assert sorted(listed) == ["Contrat Brest – Iroise", "Entente Brest – Abers"]

    # The same file again changes nothing.
    upload(page, base_url, path)
    assert (
        "0 nouvelle(s), 0 modifiée(s), 2 inchangée(s)"
        in page.locator("#import-summary").inner_text()
    )
    entente = Cooperation.objects.get(name="Entente Brest – Abers")
    signature = entente.signature_display
    connections.close_all()  # opened under Playwright's event loop, see test_admin_flow
    assert signature == "mars 2019"


def test_reader_sees_no_import_button_and_is_refused_its_url(staff_site, page):
    base_url, _ = staff_site
    log_in(page, base_url, "lecteur")
    page.goto(f"{base_url}/admin/cooperations/cooperation/")
    assert page.get_by_role("link", name="Importer").count() == 0
    response = page.goto(f"{base_url}/admin/cooperations/cooperation/import/")
    assert response.status == 403
