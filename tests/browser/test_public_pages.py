"""What a visitor does in a real browser: filter, open, export; accessibility; keyboard only."""

import io
import re
from pathlib import Path

import openpyxl
import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [
    pytest.mark.browser,
    # serialized_rollback restores the migrated vocabularies for the tests that run after a flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def result_names(page) -> list[str]:
    return [n.strip() for n in page.locator(".cat-results li > .fr-h6 a").all_inner_texts()]


def test_visitor_filters_by_metropole_and_theme_opens_a_record_and_downloads_it(site, page):
    base, catalogue = site
    page.goto(f"{base}/cooperations/")
    page.select_option("#filtre-metropole", "242900314")
    page.select_option("#filtre-thematique", "mobilites-transports")
    page.get_by_role("button", name="Appliquer les filtres").click()
    page.wait_for_url("**metropole=242900314**")
    assert "thematique=mobilites-transports" in page.url
    assert "statut=" not in page.url  # unused filters stay out of the shared URL
    shown = result_names(page)
    assert shown == ["Contrat de réciprocité Brest – Iroise"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert re.fullmatch(
        r"cooperations-brest-metropole-\d{4}-\d{2}-\d{2}\.xlsx",
        download_info.value.suggested_filename,
    )
    path = download_info.value.path()
    book = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    rows = list(book["Coopérations"].iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == shown

    page.get_by_role("link", name="Contrat de réciprocité Brest – Iroise").click()
    assert page.locator("h1").inner_text() == "Contrat de réciprocité Brest – Iroise"
    assert page.get_by_role("link", name="CC du Pays d'Iroise").is_visible()


# One page of each kind of the accessibility statement's sample (catalogue/accessibility.py),
# keyed as there; a callable takes the catalogue and the commune. The statement says these are
# tested: test_the_sample_of_the_statement_is_what_axe_visits keeps both lists the same.
SAMPLE_PAGES = {
    "home": "/",
    "list": "/cooperations/",
    "filtered_list": "/cooperations/?metropole=242900314&thematique=mobilites-transports",
    "search": "/cooperations/?q=brest",
    "record": "/cooperations/brest-iroise/",
    "comparison": "/comparer/?c=brest-iroise&c=pole-loire-bretagne&c=entente-estuaire",
    "theme": "/thematiques/mobilites-transports/",
    "factors": "/facteurs/",
    "factor": "/facteurs/gouvernance/",
    "plus_values": "/plus-values/",
    "plus_value": "/plus-values/echelles/",
    "metropole": lambda catalogue, commune: catalogue.brest.get_absolute_url(),
    "epci": lambda catalogue, commune: catalogue.iroise.get_absolute_url(),
    "commune": lambda catalogue, commune: commune.get_absolute_url(),
    "departement": "/territoires/departement/29/",
    "region": lambda catalogue, commune: catalogue.bretagne.get_absolute_url(),
    "my_territory": "/mon-territoire/",
    "my_territory_result": "/mon-territoire/?territoire=commune%3A29212",
    "statistics": "/statistiques/",
    "api": "/api/",
    "open_data": "/donnees/",
    "accessibility": "/accessibilite/",
    "legal_notice": "/mentions-legales/",
    "personal_data": "/donnees-personnelles/",
    "site_map": "/plan-du-site/",
    "not_found": "/cooperations/retiree-du-catalogue/",
}
# Variants whose markup differs from their kind's page: a comparison refused, one of the wrong
# size, a filtered statistics page.
OTHER_PAGES = [
    "/comparer/?c=brest-iroise&c=brouillon",
    "/comparer/?c=brest-iroise&retour=%2Fcooperations%2F",
    "/statistiques/?metropole=242900314",
]


def test_the_sample_of_the_statement_is_what_axe_visits():
    from catalogue.accessibility import SAMPLE

    assert list(SAMPLE_PAGES) == [key for key, _ in SAMPLE]


@pytest.fixture
def sample_site(illustrated_site):
    """The illustrated site plus a commune taking part in a cooperation, for the commune and
    « Ma commune » pages. Written before Playwright starts."""
    from .test_my_territory import add_plouzane

    base, catalogue = illustrated_site
    commune = add_plouzane(catalogue)
    paths = [path(catalogue, commune) if callable(path) else path for path in SAMPLE_PAGES.values()]
    return base, paths + OTHER_PAGES


def axe_and_console(browser, base, paths, width) -> dict:
    """Every axe-core violation, whatever its impact, and every warning of the DSFR's script
    or error in the console, of each page at this width. One browser context visits every page:
    launching a browser per page would cost more than the scans."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
    page = context.new_page()
    console = []

    def listen(message):
        text = message.text
        # The browser reports a 404 or 400 document as a failed load: that is the page tested.
        if message.type == "error" and not text.startswith("Failed to load resource"):
            console.append(("error", text))
        elif message.type == "warning" and "dsfr" in text:
            console.append(("warning", text.replace("%c", "").split("  font-family")[0]))

    page.on("console", listen)
    axe = Axe()
    found = {}
    for path in paths:
        console.clear()
        response = page.goto(base + path)
        # 404: a withdrawn record; 400: a comparison that names an unpublished record.
        assert response.status in (200, 400, 404), path
        page.wait_for_load_state("load")
        report = axe.run(page).response
        assert report["passes"], path  # axe did check the page
        problems = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in report["violations"]
        ] + console
        if problems:
            found[path] = problems
    context.close()
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_and_the_dsfr_find_nothing_on_any_page_kind(sample_site, browser, width):
    base, paths = sample_site
    assert axe_and_console(browser, base, paths, width) == {}


def test_title_and_heading_follow_the_filters_and_the_count_gets_the_focus(site, page):
    base, _ = site
    page.goto(f"{base}/cooperations/")
    assert page.title() == "Toutes les coopérations — Catalogue des coopérations interterritoriales"
    page.select_option("#filtre-metropole", "242900314")
    page.get_by_role("button", name="Appliquer les filtres").click()
    page.wait_for_url("**metropole=242900314**")
    assert page.evaluate("document.title") == (
        "Coopérations — Brest Métropole — Catalogue des coopérations interterritoriales"
    )
    assert page.locator("h1").inner_text() == "Coopérations — Brest Métropole"
    # After a submission the count is focused, so that a screen reader reads it out…
    assert focused(page) == "nombre-resultats|2 coopérations"
    # …but not when the same page is opened from a link.
    page.reload()
    assert not focused(page).startswith("nombre-resultats")


def test_on_a_phone_the_count_comes_first_and_the_filters_fold_away(site, browser):
    base, _ = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/cooperations/")
    count = page.locator("#nombre-resultats")
    toggle = page.get_by_role("button", name="Affiner")
    assert count.bounding_box()["y"] < toggle.bounding_box()["y"]
    assert not page.locator("#filtre-metropole").is_visible()
    toggle.click()
    page.locator("#filtre-metropole").wait_for(state="visible")
    page.select_option("#filtre-metropole", "242900314")
    page.get_by_role("button", name="Appliquer les filtres").click()
    page.wait_for_url("**metropole=242900314**")
    assert page.locator("h1").inner_text() == "Coopérations — Brest Métropole"
    context.close()


SOURCE = "https://www.pays-iroise.bzh/gouvernance-du-contrat"


@pytest.fixture
def illustrated_site(site):
    """The site plus sources for the factor texts and a plus-value illustration. Written before
    Playwright starts (request this fixture before `page`): ORM writes made while its event
    loop runs would open a second database connection that outlives the test."""
    from cooperations.models import CooperationFactor, CooperationPlusValue

    _, catalogue = site
    CooperationFactor.objects.filter(cooperation=catalogue.reciprocity).update(source_url=SOURCE)
    CooperationPlusValue.objects.create(
        cooperation=catalogue.reciprocity,
        plus_value="echelles",
        text="Un bassin de mobilité commun.",
        source_url="https://example.org/echelles",
    )
    return site


def test_visitor_reads_an_illustration_of_a_factor_and_follows_its_source(illustrated_site, page):
    base, catalogue = illustrated_site
    visited = []

    def external(route):
        # The external site is never loaded: the navigation is answered here.
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Source</title>")

    page.route("https://www.pays-iroise.bzh/**", external)
    page.goto(f"{base}/")
    page.get_by_role("link", name="Facteurs de réussite", exact=True).first.click()
    page.wait_for_url("**/facteurs/")
    page.get_by_role(
        "link", name="Toutes les coopérations de ce facteur : La mise en place"
    ).click()
    page.wait_for_url("**/facteurs/gouvernance/")
    assert page.locator("h1").inner_text() == "La mise en place d'espaces de gouvernance adaptés"
    assert page.get_by_text(
        "Classement éditorial du catalogue, d'après la source citée"
    ).is_visible()
    illustration = page.locator(".cat-illustrations li").filter(
        has_text="Illustration de gouvernance"
    )
    assert illustration.get_by_role(
        "link", name="Contrat de réciprocité Brest – Iroise"
    ).is_visible()
    illustration.get_by_role("link", name="pays-iroise.bzh").click()
    page.wait_for_url(SOURCE)
    assert visited == [SOURCE]


def test_copy_link_button_copies_the_permalink(site, browser):
    base, _ = site
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.goto(f"{base}/cooperations/brest-iroise/")
    # On a phone « En bref » comes before the body of the record.
    brief = page.locator("#titre-fiche").bounding_box()
    territories = page.get_by_role("heading", name="Territoires").bounding_box()
    assert brief["y"] < territories["y"]
    page.get_by_role("button", name="Copier le lien").click()
    status = page.locator("#copier-lien-etat")
    status.wait_for(state="visible")
    assert status.inner_text() == "Lien copié dans le presse-papiers."
    assert page.evaluate("navigator.clipboard.readText()") == f"{base}/cooperations/brest-iroise/"
    context.close()


def focused(page) -> str:
    return page.evaluate(
        "() => (document.activeElement.id || '') + '|' + document.activeElement.textContent.trim()"
    )


def tab_until(page, predicate, limit=120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if predicate(focused(page)):
            return
    raise AssertionError(f"Focus never reached the target; last focus: {focused(page)}")


def test_keyboard_alone_searches_filters_and_opens_a_record(site, page):
    base, _ = site
    page.goto(f"{base}/cooperations/")
    page.keyboard.press("Tab")
    assert focused(page).endswith("|Contenu")  # the first skip link comes first
    tab_until(page, lambda f: f.endswith("|Filtres"))
    page.keyboard.press("Enter")
    tab_until(page, lambda f: f.startswith("filtre-q|"))
    page.keyboard.type("mobilité")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=mobilit**")
    assert result_names(page) == ["Contrat de réciprocité Brest – Iroise", "Covoiturage rouennais"]

    tab_until(page, lambda f: f.startswith("filtre-metropole|"))
    page.keyboard.press("ArrowDown")  # the first enabled métropole
    tab_until(page, lambda f: f.endswith("|Appliquer les filtres"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"metropole=\d"))
    assert len(result_names(page)) == 1

    name = result_names(page)[0]
    tab_until(page, lambda f: f.endswith("|" + name))
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == name


def test_visitor_compares_two_results_without_javascript(site, browser):
    """The checkboxes and the button are a plain GET form: no script needed to compare."""
    base, _ = site
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/cooperations/")
    # The DSFR draws the box on the label, over the input: a visitor clicks the label.
    for slug in ("brest-iroise", "entente-estuaire"):
        page.locator(f'label[for="comparer-{slug}"]').click()
    assert page.get_by_label("Comparer Contrat de réciprocité Brest – Iroise").is_checked()
    assert page.get_by_label("Comparer Entente touristique de l'estuaire").is_checked()
    page.get_by_role("button", name="Comparer la sélection").click()
    page.wait_for_url("**/comparer/**")
    assert "c=brest-iroise" in page.url and "c=entente-estuaire" in page.url
    assert page.locator("h1").inner_text() == "Comparer 2 coopérations"
    headers = page.locator("thead th").all_inner_texts()
    assert [h.strip() for h in headers] == [
        "Contrat de réciprocité Brest – Iroise",
        "Entente touristique de l'estuaire",
    ]
    context.close()


def test_visitor_who_chose_one_to_compare_goes_back_to_the_list_and_completes_it(site, browser):
    """One record ticked: the rule is stated, the list is one link away with the record still
    ticked, and a second one makes the comparison."""
    base, _ = site
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/cooperations/?metropole=242900314")
    page.locator('label[for="comparer-brest-iroise"]').click()
    page.get_by_role("button", name="Comparer la sélection").click()
    page.wait_for_url("**/comparer/**")
    assert "une seule a été choisie" in page.locator(".fr-alert").inner_text()
    page.get_by_role("link", name="Revenir à la liste").click()
    page.wait_for_url("**/cooperations/?metropole=242900314&c=brest-iroise")
    assert page.get_by_label("Comparer Contrat de réciprocité Brest – Iroise").is_checked()
    page.locator('label[for="comparer-pole-loire-bretagne"]').click()
    page.get_by_role("button", name="Comparer la sélection").click()
    page.wait_for_url("**/comparer/**")
    assert page.locator("h1").inner_text() == "Comparer 2 coopérations"
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_skip_link_leads_to_something_visible_at_both_widths(site, browser, width):
    base, _ = site
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="fr-FR")
    page = context.new_page()
    try:
        for path in ("/cooperations/", "/"):
            page.goto(f"{base}{path}")
            links = page.locator(".fr-skiplinks__list li")
            shown = []
            for index in range(links.count()):
                item = links.nth(index)
                if item.evaluate("li => getComputedStyle(li).display") == "none":
                    continue
                href = item.locator("a").get_attribute("href")
                shown.append(href)
                assert page.locator(href).is_visible(), f"{path} at {width} px: {href}"
            # One link per destination, whatever the width.
            assert len(shown) == len(set(shown)) >= 3, shown
            # The keyboard reaches the first one and follows it.
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            assert page.evaluate("location.hash") == "#contenu"
    finally:
        context.close()
