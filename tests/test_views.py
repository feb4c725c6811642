"""Public pages: content, sorting, pagination, bad parameters, unpublished records, query bounds."""

import datetime

import pytest
from django.template.loader import render_to_string

from cooperations.models import Cooperation, Participation, Theme

from .catalogue_data import build_catalogue
from .conftest import make_cooperation

# Fixed bounds: the same with 4 cooperations as with hundreds (see test_query_bound_*).
LIST_MAX_QUERIES = 20
PAGE_MAX_QUERIES = 8


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def json_slugs(client, url="/cooperations/", **params) -> list[str]:
    response = client.get(url, {**params, "format": "json"})
    assert response.status_code == 200
    return [row["slug"] for row in response.json()["results"]]


# --- home -----------------------------------------------------------------------------------


def test_home_shows_counts_and_entry_points(client, catalogue):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["total"] == 4
    counts = {m.name: m.total for m in response.context["metropoles"] if m.total}
    assert counts == {"Brest Métropole": 2, "Nantes Métropole": 2, "Métropole Rouen Normandie": 1}
    assert catalogue.brest.get_absolute_url() in html
    assert "/thematiques/mobilites-transports/" in html
    assert "/facteurs/gouvernance/" in html
    assert "?forme=entente" in html
    assert 'name="q"' in html


def test_home_lists_metropoles_in_french_alphabetical_order(client, db):
    from .conftest import make_metropole

    mine = ["Métropole Zéta essai", "Metz essai", "Mont essai"]
    for name in reversed(mine):
        make_metropole(name)
    names = [m.name for m in client.get("/").context["metropoles"] if m.name in mine]
    # Byte order would give Metz, Mont, Métropole.
    assert names == mine


def test_layout_has_service_name_navigation_skip_links_and_accessibility_mention(client, db):
    html = client.get("/").content.decode()
    assert "Catalogue des coopérations interterritoriales" in html
    assert 'class="fr-skiplinks"' in html and 'href="#contenu"' in html
    assert 'id="navigation-principale"' in html
    assert "Accessibilité : non conforme" in html


# --- list: sorting, pagination, messages ----------------------------------------------------


def test_list_sorted_by_name_by_default(client, catalogue):
    assert json_slugs(client) == [
        "brest-iroise",
        "covoiturage-rouennais",
        "entente-estuaire",
        "pole-loire-bretagne",
    ]


def test_list_sorted_by_signature_newest_and_oldest_with_undated_last(client, catalogue):
    assert json_slugs(client, tri="recent") == [
        "entente-estuaire",
        "brest-iroise",
        "pole-loire-bretagne",
        "covoiturage-rouennais",
    ]
    assert json_slugs(client, tri="ancien") == [
        "pole-loire-bretagne",
        "brest-iroise",
        "entente-estuaire",
        "covoiturage-rouennais",
    ]


def test_search_results_sorted_by_relevance_by_default(client, catalogue):
    assert json_slugs(client, q="covoiturage") == ["covoiturage-rouennais", "brest-iroise"]
    assert json_slugs(client, q="covoiturage", tri="nom") == [
        "brest-iroise",
        "covoiturage-rouennais",
    ]


@pytest.fixture
def many_brest(catalogue):
    for n in range(25):
        make_cooperation(f"Action {n:02d}", metropoles=[catalogue.brest])
    return catalogue


def test_pagination_keeps_filters_in_page_links(client, many_brest):
    response = client.get("/cooperations/", {"metropole": "242900314", "tri": "recent"})
    html = response.content.decode()
    assert response.context["paginator"].count == 27
    assert "?metropole=242900314&amp;tri=recent&amp;page=2" in html
    page2 = client.get("/cooperations/", {"metropole": "242900314", "tri": "recent", "page": 2})
    assert len(page2.context["cooperations"]) == 7


def test_page_beyond_the_end_shows_the_last_page_with_a_notice(client, many_brest):
    response = client.get("/cooperations/", {"page": "9999"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 2
    assert "La page 9999 n&#x27;existe pas : dernière page (2) affichée." in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"metropole": "inconnue"}, "Le filtre « Métropole » avec la valeur « inconnue »"),
        ({"thematique": "pas-un-theme"}, "Le filtre « Thématique »"),
        ({"annee_min": "deux-mille"}, "Le filtre « Signée à partir de »"),
        ({"annee_max": "99999"}, "Le filtre « Signée jusqu&#x27;en »"),
        ({"statut": "zombie"}, "Le filtre « Statut »"),
        ({"page": "abc"}, "La page « abc » n&#x27;existe pas"),
        ({"page": "-3"}, "La page -3 n&#x27;existe pas"),
        ({"tri": "hasard"}, "Le tri « hasard » n&#x27;existe pas"),
        ({"format": "pdf"}, "Le format « pdf » n&#x27;existe pas"),
    ],
)
def test_bad_parameter_is_ignored_with_a_visible_notice(client, catalogue, params, notice):
    response = client.get("/cooperations/", params)
    assert response.status_code == 200
    assert notice in response.content.decode()
    assert response.context["paginator"].count == 4


def test_inverted_year_range_is_swapped_with_a_notice(client, catalogue):
    response = client.get("/cooperations/", {"annee_min": "2016", "annee_max": "2013"})
    assert [c.slug for c in response.context["cooperations"]] == ["brest-iroise"]
    assert "elles ont été inversées" in response.content.decode()


def test_bad_parameter_does_not_drop_the_valid_ones(client, catalogue):
    response = client.get("/cooperations/", {"metropole": "x", "thematique": "tourisme-loisirs"})
    assert [c.slug for c in response.context["cooperations"]] == ["entente-estuaire"]


def test_active_filters_are_removable_tags(client, catalogue):
    response = client.get(
        "/cooperations/", {"metropole": "242900314", "thematique": "mobilites-transports"}
    )
    tags = {t["label"]: t["remove_url"] for t in response.context["active_filters"]}
    assert tags["Métropole : Brest Métropole"] == "?thematique=mobilites-transports"
    assert tags["Thématique : Mobilités et transports"] == "?metropole=242900314"
    assert "Retirer le filtre Métropole : Brest Métropole" in response.content.decode()


def test_no_result_offers_a_way_back(client, catalogue):
    html = client.get("/cooperations/", {"q": "velo"}).content.decode()
    assert "Aucune coopération ne correspond" in html
    assert 'href="/cooperations/"' in html


# --- cooperation page -----------------------------------------------------------------------


def test_cooperation_page_shows_every_public_field(client, catalogue):
    cooperation = catalogue.reciprocity
    cooperation.description = "Premier paragraphe.\n\nSecond paragraphe."
    cooperation.governance = "Comité de pilotage"
    cooperation.funding = "Crédits partagés"
    cooperation.staffing = "Un chargé de mission"
    cooperation.starts_on = datetime.date(2016, 3, 1)
    cooperation.last_verified_on = datetime.date(2026, 2, 1)
    cooperation.save()
    html = client.get("/cooperations/brest-iroise/").content.decode()
    for text in [
        "Contrat de réciprocité Brest – Iroise",
        "Covoiturage et circuits courts",
        "<p>Second paragraphe.</p>",
        "Brest Métropole</a> — Métropole, code 242900314",
        "CC du Pays d&#x27;Iroise</a> — Communauté de communes, code 242900074",
        catalogue.iroise.get_absolute_url(),
        "Mobilités et transports",
        "La mise en place d&#x27;espaces de gouvernance adaptés",
        "Illustration de gouvernance",
        "Contrat signé",  # legal form definition
        "<dd>2016</dd>",  # year precision, not 01/01/2016
        "1er mars 2016",
        "1er février 2026",
        "Enjeux d&#x27;échelles",
        "Comité de pilotage",
        "Crédits partagés",
        "Un chargé de mission",
        'href="https://example.org/brest-iroise"',
        "Citer cette fiche",
        "http://testserver/cooperations/brest-iroise/",
        "Active",
    ]:
        assert text in html, text
    assert "01/01/2016" not in html


def test_signature_is_shown_at_its_precision(client, catalogue):
    assert "<dd>mai 2012</dd>" in client.get("/cooperations/pole-loire-bretagne/").content.decode()
    assert "<dd>10 juillet 2019</dd>" in client.get("/cooperations/entente-estuaire/").content.decode()


def test_related_cooperations_share_a_metropole_or_a_theme(client, catalogue):
    response = client.get("/cooperations/brest-iroise/")
    related = [c.slug for c in response.context["related"]]
    assert set(related) == {"pole-loire-bretagne", "covoiturage-rouennais"}


# --- pages per territory, theme, factor -----------------------------------------------------


def test_territory_page_groups_cooperations_by_role(client, catalogue):
    response = client.get(catalogue.brest.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Comme métropole" in html
    assert [c.slug for c in response.context["cooperations"]] == [
        "brest-iroise",
        "pole-loire-bretagne",
    ]


def test_partner_territory_page_lists_what_it_takes_part_in(client, catalogue):
    catalogue.tourism.participations.create(
        territory=catalogue.iroise, role=Participation.Role.ASSOCIATED
    )
    response = client.get(catalogue.iroise.get_absolute_url())
    html = response.content.decode()
    assert [c.slug for c in response.context["cooperations"]] == [
        "brest-iroise",
        "entente-estuaire",
    ]
    assert html.index("Comme partenaire") < html.index("Comme associé")


def test_territory_page_has_the_same_filters_and_exports(client, catalogue):
    url = catalogue.brest.get_absolute_url()
    assert json_slugs(client, url, thematique="mobilites-transports") == ["brest-iroise"]
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert b"brest-iroise" in b"".join(response.streaming_content)


def test_theme_page_lists_its_cooperations(client, catalogue):
    response = client.get("/thematiques/mobilites-transports/")
    assert response.status_code == 200
    assert "Mobilités et transports" in response.content.decode()
    assert json_slugs(client, "/thematiques/mobilites-transports/") == [
        "brest-iroise",
        "covoiturage-rouennais",
    ]
    assert json_slugs(client, "/thematiques/mobilites-transports/", metropole="200023414") == [
        "covoiturage-rouennais"
    ]


def test_factor_page_lists_its_cooperations(client, catalogue):
    assert client.get("/facteurs/gouvernance/").status_code == 200
    assert json_slugs(client, "/facteurs/gouvernance/") == ["brest-iroise", "entente-estuaire"]


@pytest.mark.parametrize(
    "url", ["/thematiques/inconnue/", "/facteurs/inconnu/", "/territoires/999999/"]
)
def test_unknown_pages_are_404_in_the_site_style(client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


# --- unpublished records exist nowhere ------------------------------------------------------


def test_unpublished_cooperation_url_is_404(client, catalogue):
    assert client.get("/cooperations/brouillon/").status_code == 404
    assert client.get("/cooperations/brouillon/", {"format": "json"}).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/cooperations/",
        "/cooperations/?q=brouillon",
        "/cooperations/?metropole=242900314&thematique=mobilites-transports",
        "/cooperations/?format=json",
        "/cooperations/?format=csv",
        "/cooperations/brest-iroise/",
        "/thematiques/mobilites-transports/",
        "/facteurs/gouvernance/",
    ],
)
def test_unpublished_cooperation_appears_nowhere(client, catalogue, url):
    response = client.get(url)
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    for trace in ("/cooperations/brouillon/", "Brouillon mobilit", "jamais publi"):
        assert trace not in body


def test_unpublished_cooperation_is_not_on_territory_pages(client, catalogue):
    for territory in (catalogue.brest, catalogue.petr, catalogue.saint_nazaire):
        html = client.get(territory.get_absolute_url()).content.decode()
        assert "Brouillon" not in html
    response = client.get(catalogue.iroise.get_absolute_url())
    assert [c.slug for c in response.context["cooperations"]] == ["brest-iroise"]


def test_unpublished_cooperation_is_not_counted_in_facets(client, catalogue):
    response = client.get("/cooperations/")
    facet = next(f for f in response.context["facets"] if f.name == "plus_value")
    assert {o.value: o.count for o in facet.options}["filieres"] == 0


# --- error pages ----------------------------------------------------------------------------


def test_500_page_renders_without_context_or_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")
    assert "Erreur 500" in html
    assert "Catalogue des coopérations interterritoriales" in html


def test_unexpected_error_shows_the_styled_500_page(client, db, monkeypatch):
    from cooperations.models import CooperationQuerySet

    def broken(self):
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(CooperationQuerySet, "published", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert "Erreur 500" in response.content.decode()


# --- query bounds ---------------------------------------------------------------------------


def bulk_catalogue(size: int, catalogue) -> None:
    """`size` published cooperations with a métropole, a partner and two themes, in 4 queries."""
    cooperations = Cooperation.objects.bulk_create(
        Cooperation(
            name=f"Coopération en masse {n:05d}",
            slug=f"masse-{n:05d}",
            is_published=True,
            search_text=f" cooperation en masse {n:05d} brest metropole ",
            signed_on=datetime.date(2000 + n % 25, 1, 1),
            signed_on_precision=Cooperation.DatePrecision.YEAR,
            status=Cooperation.Status.ACTIVE,
        )
        for n in range(size)
    )
    Participation.objects.bulk_create(
        [
            Participation(cooperation=c, territory=catalogue.brest, role="metropole")
            for c in cooperations
        ]
        + [
            Participation(cooperation=c, territory=catalogue.iroise, role="partenaire")
            for c in cooperations
        ]
    )
    themes = list(Theme.objects.all()[:2])
    Cooperation.themes.through.objects.bulk_create(
        Cooperation.themes.through(cooperation=c, theme=t) for c in cooperations for t in themes
    )


PAGES = [
    ("/", PAGE_MAX_QUERIES),
    ("/cooperations/", LIST_MAX_QUERIES),
    (
        "/cooperations/?q=brest&metropole=242900314&thematique=mobilites-transports"
        "&departement=29&region=53&annee_min=2000&tri=recent&page=2",
        LIST_MAX_QUERIES,
    ),
    ("/cooperations/?format=json&metropole=242900314", PAGE_MAX_QUERIES),
    ("/cooperations/brest-iroise/", PAGE_MAX_QUERIES),
    ("/cooperations/brest-iroise/?format=json", PAGE_MAX_QUERIES),
    ("/thematiques/mobilites-transports/", LIST_MAX_QUERIES),
    ("/facteurs/gouvernance/", LIST_MAX_QUERIES),
    ("TERRITORY", LIST_MAX_QUERIES),
]


@pytest.mark.parametrize("size", [10, 10_000])
@pytest.mark.parametrize(("url", "bound"), PAGES)
def test_query_bound_does_not_depend_on_data_size(
    client, catalogue, django_assert_max_num_queries, size, url, bound
):
    bulk_catalogue(size, catalogue)
    if url == "TERRITORY":
        url = catalogue.brest.get_absolute_url()
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.status_code == 200


def test_counts_use_french_plural_rules(client, catalogue):
    assert "0 coopération<" in client.get("/cooperations/", {"q": "velo"}).content.decode()
    assert "1 coopération<" in client.get("/cooperations/", {"q": "estuaire"}).content.decode()
    assert "2 coopérations<" in client.get("/cooperations/", {"q": "brest"}).content.decode()
