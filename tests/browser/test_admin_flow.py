"""A staff member logs into the admin and records a cooperation, as a person would."""

import pytest
from django.contrib.auth.models import User
from django.db import connections

from cooperations.models import Cooperation, Territory
from cooperations.services import ensure_staff_groups

from ..conftest import make_metropole, make_territory

pytestmark = [
    pytest.mark.browser,
    # Like the public browser tests: the flush around a live server would otherwise drop the
    # migrated vocabularies and staff groups for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def staff_site(live_server):
    editors, _ = ensure_staff_groups()
    user = User.objects.create_user("editrice", password="mot-de-passe-de-test", is_staff=True)
    user.groups.add(editors)
    make_metropole("Brest Métropole", code="242900314", population=210000)
    make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", code="242900074")
    make_territory(Territory.Kind.CC, "CC du Pays des Abers", code="242900553")
    return live_server.url


def log_in(page, base_url):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", "editrice")
    page.fill("#id_password", "mot-de-passe-de-test")
    page.click("input[type=submit]")


def pick_territory(page, row: int, term: str, label: str, role: str) -> None:
    page.click(f"#participations-{row} .select2-selection")
    # Type into the open dropdown's own field once it is there: typing on the keyboard right
    # after the click could reach the page before select2 has moved the focus (seen once in CI).
    page.locator(".select2-container--open .select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=label).click()
    page.select_option(f"#id_participations-{row}-role", role)


def test_editor_records_a_cooperation_with_autocompleted_partners(staff_site, page):
    log_in(page, staff_site)
    page.goto(f"{staff_site}/admin/cooperations/cooperation/add/")
    page.fill("#id_name", "Coopération Brest – Iroise – Abers")
    page.press("#id_name", "Tab")  # the slug is pre-filled when the name field changes
    assert page.input_value("#id_slug") == "cooperation-brest-iroise-abers"
    pick_territory(page, 0, "brest", "Brest Métropole", "metropole")
    page.click("#participations-group .add-row a")
    pick_territory(page, 1, "iroise", "Pays d'Iroise", "partenaire")
    page.click("#participations-group .add-row a")
    pick_territory(page, 2, "242900553", "Pays des Abers", "partenaire")
    for theme in ("Mobilités et transports", "Tourisme et loisirs"):
        page.select_option("#id_themes_from", label=theme)
        page.click("#id_themes_add")
    page.click("#factor_links-group .add-row a")
    page.select_option(
        "#id_factor_links-0-factor", label="La mise en place d'espaces de gouvernance adaptés"
    )
    page.fill("#id_factor_links-0-text", "Un comité de pilotage se réunit chaque trimestre.")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/cooperations/cooperation/")
    assert page.locator(".messagelist .success").count() == 1

    cooperation = Cooperation.objects.get(slug="cooperation-brest-iroise-abers")
    assert sorted(cooperation.participations.values_list("territory__code", "role")) == [
        ("242900074", "partenaire"),
        ("242900314", "metropole"),
        ("242900553", "partenaire"),
    ]
    assert sorted(cooperation.themes.values_list("label", flat=True)) == [
        "Mobilités et transports",
        "Tourisme et loisirs",
    ]
    link = cooperation.factor_links.select_related("factor").get()
    # Queries made while Playwright's event loop runs open a connection Django's teardown
    # does not see; close it here, or PostgreSQL refuses to drop the test database.
    connections.close_all()
    assert (link.factor.slug, link.text) == (
        "gouvernance",
        "Un comité de pilotage se réunit chaque trimestre.",
    )
