"""The catalogue as production serves it (gunicorn, DEBUG off, collected static files): every
page styled, nothing refused, no Content-Security-Policy violation, public pages and admin."""

from pathlib import Path

import pytest

from .conftest import SUPERUSER_PASSWORD

pytestmark = [
    pytest.mark.browser,
    # gunicorn reads the data from another process: it must be committed.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

# Runs before any page script, so it sees every violation; page scripts cannot remove it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


class Problems(list):
    """Everything the browser refused or reported while the test browsed."""

    def watch(self, page) -> None:
        page.add_init_script(REPORT_CSP_VIOLATIONS)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: self.append(f"failed: {request.url}"))
        page.on("response", self.response)

    def console(self, message) -> None:
        if message.type == "error":
            self.append(f"console: {message.text} {message.location.get('url')}")

    def response(self, response) -> None:
        if response.status >= 400:
            self.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture
def problems(page) -> Problems:
    found = Problems()
    found.watch(page)
    return found


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    # Fonts and icons referenced from inside the stylesheets load after the document.
    page.wait_for_load_state("networkidle")


def stylesheets(page) -> list[dict]:
    """Each stylesheet link with whether the browser accepted it (a refused one has no sheet)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('link[rel=stylesheet]')].map((link) => ({
            href: link.getAttribute('href'),
            rules: link.sheet ? link.sheet.cssRules.length : 0,
        }))"""
    )


def assert_dsfr_applied(page, icons: bool = False) -> None:
    sheets = stylesheets(page)
    assert any("dsfr.min." in sheet["href"] for sheet in sheets)
    assert any("utility.min." in sheet["href"] for sheet in sheets)
    assert [sheet["href"] for sheet in sheets if sheet["rules"] == 0] == []
    # Unstyled, the body uses the browser's serif font and the header has no shadow.
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Marianne")
    assert page.evaluate("getComputedStyle(document.querySelector('.fr-header')).filter") != "none"
    # The Marianne font file, referenced from inside dsfr.min.css, was loaded and used.
    loaded = page.evaluate(
        """async () => {
            await document.fonts.ready;
            return [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family);
        }"""
    )
    assert "Marianne" in loaded
    # dsfr.module.min.js (integrity-checked too) ran: it marks the root element.
    assert page.get_attribute("html", "data-fr-js") == "true"
    if icons:
        # Icons (the filter tags' close icon…) are masks drawn from SVG files that the DSFR
        # stylesheets reference by relative url().
        masks = page.evaluate(
            """() => [...document.querySelectorAll('[class*="fr-icon-"]')].map((el) =>
                getComputedStyle(el, '::before').maskImage
                + getComputedStyle(el, '::after').maskImage)"""
        )
        assert masks and all(".svg" in mask for mask in masks)


def test_public_pages_are_styled_and_nothing_is_refused(production_site, page, problems):
    base, catalogue = production_site
    SCREENSHOTS.mkdir(exist_ok=True)
    visit(page, base + "/")
    assert_dsfr_applied(page)
    page.screenshot(path=SCREENSHOTS / "home-1280.png", full_page=True)

    visit(page, base + "/cooperations/?thematique=mobilites-transports")
    assert_dsfr_applied(page, icons=True)
    page.screenshot(path=SCREENSHOTS / "list-1280.png", full_page=True)

    for path in (
        "/cooperations/?q=brest",
        "/cooperations/brest-iroise/",
        catalogue.brest.get_absolute_url(),
        "/thematiques/mobilites-transports/",
        "/api/",
    ):
        visit(page, base + path)
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Marianne")
    assert problems == []


def test_api_reference_and_documents_load_without_error(production_site, page, problems):
    base, _catalogue = production_site
    visit(page, base + "/api/")
    assert_dsfr_applied(page)
    assert page.locator("h1").inner_text() == "API de données"
    # The OpenAPI document and an answer, opened in the browser as a developer would.
    for path in ("/api/v1/openapi.json", "/api/v1/cooperations?thematique=mobilites-transports"):
        response = page.goto(base + path)
        assert response.status == 200, path
        assert response.headers["content-type"].startswith("application/json"), path
    assert problems == []


def test_admin_pages_work_under_the_security_policy(production_site, page, problems, tmp_path):
    base, catalogue = production_site
    visit(page, base + "/admin/login/")
    assert [sheet["href"] for sheet in stylesheets(page) if sheet["rules"] == 0] == []
    page.fill("#id_username", "admin-prod")
    page.fill("#id_password", SUPERUSER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")

    changelist = base + "/admin/cooperations/cooperation/"
    visit(page, changelist)
    assert page.locator("#result_list tbody tr").count() > 0
    change_form = f"{changelist}{catalogue.reciprocity.pk}/change/"
    visit(page, change_form)
    # The participants' autocomplete (select2, run by the admin's own scripts) came alive.
    assert page.locator(".select2-selection").count() > 0
    visit(page, change_form.replace("/change/", "/history/"))
    visit(page, changelist + "import/")
    inventory = tmp_path / "inventaire.csv"
    inventory.write_text(
        "Nom;Métropoles;Territoires partenaires\r\n"
        "Coopération de contrôle;Brest Métropole;CC du Pays d'Iroise\r\n",
        encoding="utf-8",
    )
    page.set_input_files("input[type=file]", str(inventory))
    page.locator("form input[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert "1 nouvelle(s)" in page.locator("#import-summary").inner_text()
    page.locator("input[name=confirm]").click()
    page.wait_for_url(changelist)
    assert "Import terminé" in page.locator(".messagelist").inner_text()
    visit(page, changelist + "export/")
    assert problems == []
