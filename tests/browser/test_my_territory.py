"""« Ma commune, mon territoire » in a real browser: keyboard-only choice of a suggestion, and
an axe-core scan of its pages."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def territory_site(site):
    """The site plus the commune of Plouzané in Brest Métropole, taking part in a cooperation.
    Written before Playwright starts (request this fixture before `page`)."""
    add_plouzane(site[1])
    return site


def add_plouzane(catalogue):
    """The commune of Plouzané in Brest Métropole, partner of one cooperation; returned."""
    from cooperations.models import Territory

    from ..conftest import make_cooperation, make_territory

    plouzane = make_territory(
        Territory.Kind.COMMUNE,
        "Plouzané",
        code="29212",
        epci=catalogue.brest,
        departement=catalogue.finistere,
        region=catalogue.bretagne,
    )
    make_cooperation("Technopôle de Plouzané", metropoles=[catalogue.brest], partners=[plouzane])
    return plouzane


def test_visitor_picks_her_commune_with_the_keyboard_and_reaches_her_cooperations(
    territory_site, page
):
    base, _ = territory_site
    page.goto(base + "/")
    field = page.get_by_role("combobox", name="Votre commune, intercommunalité")
    field.focus()
    page.keyboard.type("plouza")
    option = page.get_by_role("option", name="Plouzané — Commune, Finistère")
    option.wait_for()
    assert field.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert field.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_url("**/mon-territoire/?territoire=commune%3A29212")
    assert page.locator("h1").inner_text() == "Ma commune, mon territoire\u00a0: Plouzané"
    headings = page.locator("h2.fr-h4").all_inner_texts()
    assert headings == [
        "Votre commune, Plouzané",
        "Votre intercommunalité, Brest Métropole",
        "Votre département, Finistère",
        "Votre région, Bretagne",
    ]
    assert page.get_by_role("link", name="Technopôle de Plouzané").count() == 2
    assert page.get_by_role("link", name="Contrat de réciprocité Brest – Iroise").is_visible()


def test_escape_closes_the_suggestions(territory_site, page):
    base, _ = territory_site
    page.goto(base + "/mon-territoire/")
    field = page.get_by_role("combobox", name="Votre commune, intercommunalité")
    field.focus()
    page.keyboard.type("brest")
    page.get_by_role("option").first.wait_for()
    page.keyboard.press("Escape")
    assert field.get_attribute("aria-expanded") == "false"
    assert page.get_by_role("option").first.is_hidden()


@pytest.mark.parametrize(
    ("path", "typed"),
    [
        ("/mon-territoire/?territoire=commune%3A29212", ""),
        ("/mon-territoire/?nom=metropole", ""),
        ("/mon-territoire/?nom=zzyzx", ""),
        ("/mon-territoire/", "bres"),
        ("/", "plouza"),
    ],
)
def test_axe_finds_no_violation_on_my_territory_pages(territory_site, page, path, typed):
    base, _ = territory_site
    page.goto(base + path)
    if typed:
        page.get_by_role("combobox", name="Votre commune, intercommunalité").focus()
        page.keyboard.type(typed)
        page.get_by_role("option").first.wait_for()
        page.keyboard.press("ArrowDown")
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
    ]
    assert violations == []
