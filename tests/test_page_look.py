"""What a visitor finds on the public pages: navigation, the home page's entries, the list's
order, the comparison checkboxes and the skip links' targets at every width."""

import re

import pytest

from .catalogue_data import build_catalogue
from .conftest import make_metropole, make_source


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def page(client, path, **params) -> str:
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


def section(html, start, end) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_menu_and_footer_reach_every_kind_of_page(client, catalogue):
    html = page(client, "/cooperations/")
    menu = section(html, 'id="navigation-principale"', "</nav>")
    pages = ("/cooperations/", "/facteurs/", "/plus-values/", "/statistiques/", "/mon-territoire/")
    for href in pages:
        assert f'href="{href}"' in menu, href
    footer = section(html, 'id="pied-de-page"', "</footer>")
    for href in ("/donnees/", "/api/", "/plan-du-site/", "/accessibilite/"):
        assert f'href="{href}"' in footer, href


def test_site_map_lists_every_kind_of_page(client, catalogue):
    main = section(page(client, "/plan-du-site/"), "<main", "</main>")
    for href in ("/statistiques/", "/mon-territoire/", "/api/", "/donnees/", "/facteurs/"):
        assert f'href="{href}"' in main, href


def test_home_page_has_one_search_bar(client, catalogue):
    html = page(client, "/")
    assert html.count('name="q"') == 1
    assert 'id="recherche-entete"' not in html
    # Its skip link leads to that one bar.
    assert 'href="#recherche-accueil">Recherche' in html
    # Other pages keep the header's.
    assert page(client, "/cooperations/").count('id="recherche-entete"') == 1


def test_home_entries_without_cooperations_are_not_links(client, catalogue):
    make_metropole("Métropole sans coopération")
    html = page(client, "/")
    assert re.search(r"<li>Métropole sans coopération <span class=\"cat-meta\">\(0", html)
    assert '">Brest Métropole</a> <span class="cat-meta">(2)' in html


def test_first_result_comes_before_the_territory_search(client, catalogue):
    html = page(client, "/cooperations/")
    assert html.index('id="resultats"') < html.index("Ma commune, mon territoire</button>")


def test_comparison_checkboxes_only_with_two_results_or_more(client, catalogue):
    one = page(client, "/cooperations/", q="estuaire")
    assert 'name="c"' not in one and "Comparer la sélection" not in one
    two = page(client, "/cooperations/", q="brest")
    assert two.count('name="c"') == 2 and "Comparer la sélection" in two


def test_status_facet_offers_non_renseigne(client, catalogue):
    assert '<option value="inconnu"' in page(client, "/cooperations/")


@pytest.mark.parametrize("path", ["/cooperations/", "/", "/statistiques/"])
def test_every_skip_link_leads_to_an_element_of_the_page(client, catalogue, path):
    html = page(client, path)
    links = re.findall(r'href="#([^"]+)"', section(html, 'class="fr-skiplinks"', "</nav>"))
    assert links
    for target in links:
        assert f'id="{target}"' in html, target
    # Below the large width the menu and search links lead to the buttons that open them.
    if path != "/":
        assert '<li class="fr-hidden-lg"><a class="fr-link" href="#bouton-recherche">' in html
    assert '<li class="fr-hidden-lg"><a class="fr-link" href="#bouton-menu">' in html


def test_record_page_says_each_fact_once(client, catalogue):
    cooperation = catalogue.reciprocity
    cooperation.starts_on = cooperation.signed_on
    cooperation.save()
    html = page(client, cooperation.get_absolute_url())
    main = section(html, "<main", "</main>")
    assert "fr-badge" not in main
    assert main.count(f"<dd>{cooperation.get_status_display()}</dd>") == 1
    assert '<dt class="fr-text--bold">Début</dt>' not in main
    # The participants in words, the official code as a detail.
    assert " — Métropole" not in main and "code officiel 242900314" in main


def test_record_sources_show_title_and_publisher_else_the_domain(client, catalogue):
    cooperation = catalogue.reciprocity
    cooperation.sources.all().delete()
    make_source(cooperation, "https://example.gouv.fr/a", title="Le contrat", publisher="ANCT")
    make_source(cooperation, "https://presse.example.org/article-12", position=1)
    main = section(page(client, cooperation.get_absolute_url()), "<main", "</main>")
    assert ">Le contrat</a>, ANCT" in main
    assert ">presse.example.org</a>" in main
