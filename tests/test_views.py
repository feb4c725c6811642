"""Public pages: content, sorting, pagination, bad parameters, unpublished records, query bounds."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cooperations.derived import refresh_derived_text
from cooperations.models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)

from .catalogue_data import build_catalogue
from .conftest import get_or_make_territory, make_cooperation, make_source

# Fixed bounds: the same with 4 cooperations as with hundreds (see test_query_bound_*). A text
# search adds none: the facet index answers it (cooperations/stem_index.py).
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
    assert "Accessibilité\u00a0: non conforme" in html


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
    assert "La page 9999 n&#39;existe pas : dernière page (2) affichée." in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"metropole": "inconnue"}, "Le filtre « Métropole » avec la valeur « inconnue »"),
        ({"thematique": "pas-un-theme"}, "Le filtre « Thématique »"),
        ({"annee_min": "deux-mille"}, "Le filtre « Signée à partir de »"),
        ({"annee_max": "99999"}, "Le filtre « Signée jusqu&#39;en »"),
        ({"statut": "zombie"}, "Le filtre « Statut »"),
        ({"page": "abc"}, "La page « abc » n&#39;existe pas"),
        ({"page": "-3"}, "La page -3 n&#39;existe pas"),
        ({"tri": "hasard"}, "Le tri « hasard » n&#39;existe pas"),
        ({"format": "pdf"}, "Le format « pdf » n&#39;existe pas"),
        # NUL reached the facet queries once: PostgreSQL refuses it in text (500).
        (
            {"departement": "\x00"},
            "Le filtre « Département des participants » avec la valeur « \ufffd »",
        ),
        ({"region": "5\x003"}, "Le filtre « Région des participants » avec la valeur « 5\ufffd3 »"),
        ({"metropole": "\x00"}, "Le filtre « Métropole »"),
        ({"q": "mot " * 21}, "Le filtre « Rechercher »"),  # 21 words
        ({"q": "x" * 201}, "Le filtre « Rechercher »"),
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
        'Brest Métropole</a><br><span class="cat-meta">Métropole · code officiel 242900314',
        "CC du Pays d&#39;Iroise</a><br>"
        '<span class="cat-meta">Communauté de communes · code officiel 242900074',
        catalogue.iroise.get_absolute_url(),
        "Mobilités et transports",
        "La mise en place d&#39;espaces de gouvernance adaptés",
        "Illustration de gouvernance",
        "Contrat signé",  # legal form definition
        "<dd>2016</dd>",  # year precision, not 01/01/2016
        "1er mars 2016",
        "1er février 2026",
        "Enjeux d&#39;échelles",
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
    html = client.get("/cooperations/entente-estuaire/").content.decode()
    assert "<dd>10 juillet 2019</dd>" in html


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


# --- query bounds ---------------------------------------------------------------------------


def bulk_catalogue(size: int, catalogue, start: int = 0) -> None:
    """`size` published cooperations (numbered from `start`) with a métropole, a partner, two
    themes, a factor and a plus-value, in a few bulk queries."""
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
        for n in range(start, start + size)
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
    gouvernance = SuccessFactor.objects.get(slug="gouvernance")
    CooperationFactor.objects.bulk_create(
        CooperationFactor(
            cooperation=c, factor=gouvernance, text="Un comité", source_url="https://a.fr/"
        )
        for c in cooperations
    )
    CooperationPlusValue.objects.bulk_create(
        CooperationPlusValue(cooperation=c, plus_value="echelles", text="Un bassin de vie")
        for c in cooperations
    )
    Cooperation.objects.filter(pk__in=[c.pk for c in cooperations]).update(adds_scale=True)


PAGES = [
    # The home page's counts are the facet index's: the first page after a write builds it.
    ("/", LIST_MAX_QUERIES),
    ("/cooperations/", LIST_MAX_QUERIES),
    (
        "/cooperations/?q=brest&metropole=242900314&thematique=mobilites-transports"
        "&departement=29&region=53&annee_min=2000&tri=recent&page=2",
        LIST_MAX_QUERIES,
    ),
    ("/cooperations/?format=json&metropole=242900314", PAGE_MAX_QUERIES),
    ("/cooperations/brest-iroise/", PAGE_MAX_QUERIES),
    ("/cooperations/brest-iroise/?format=json", PAGE_MAX_QUERIES),
    # Comparison: one query for the records and five prefetches, whatever the catalogue's size.
    ("/comparer/?c=brest-iroise&c=masse-00000&c=masse-00001", PAGE_MAX_QUERIES),
    ("/comparer/?c=brest-iroise&c=masse-00000&format=xlsx", PAGE_MAX_QUERIES),
    ("/thematiques/mobilites-transports/", LIST_MAX_QUERIES),
    ("/facteurs/gouvernance/", LIST_MAX_QUERIES),
    ("/facteurs/", PAGE_MAX_QUERIES),
    ("/plus-values/", PAGE_MAX_QUERIES),
    ("/plus-values/echelles/", LIST_MAX_QUERIES),
    # A métropole's page, with its network (one grouped query, see tests/test_network.py).
    ("TERRITORY", LIST_MAX_QUERIES),
    ("/territoires/departement/29/", LIST_MAX_QUERIES),
    ("/territoires/region/53/", LIST_MAX_QUERIES),
    # Atom feeds: the filter values, the newest records, their themes and participants.
    (
        "/cooperations/flux/?q=brest&metropole=242900314&thematique=mobilites-transports"
        "&departement=29&region=53&annee_min=2000",
        PAGE_MAX_QUERIES,
    ),
    ("/territoires/departement/29/flux/", PAGE_MAX_QUERIES),
    ("/facteurs/gouvernance/flux/?metropole=242900314", PAGE_MAX_QUERIES),
    # « Ma commune, mon territoire »: a partner of every row, a name search, suggestions.
    # Statistics: the filter values, the total, one grouped query per table.
    ("/statistiques/?metropole=242900314&thematique=mobilites-transports", LIST_MAX_QUERIES),
    ("/statistiques/?tableau=metropoles&format=csv&region=53", PAGE_MAX_QUERIES),
    ("/mon-territoire/?territoire=epci:242900074", PAGE_MAX_QUERIES),
    ("/mon-territoire/?nom=metropole", PAGE_MAX_QUERIES),
    ("/mon-territoire/suggestions/?q=bres", PAGE_MAX_QUERIES),
    # The API (cooperations/publishing/api_v1.py): its list is the list's queries with its facets.
    ("/api/", PAGE_MAX_QUERIES),
    ("/api/v1/cooperations", LIST_MAX_QUERIES),
    (
        "/api/v1/cooperations?q=brest&metropole=242900314&thematique=mobilites-transports"
        "&departement=29&region=53&annee_min=2000&tri=recent&page=2",
        LIST_MAX_QUERIES,
    ),
    ("/api/v1/cooperations/brest-iroise", PAGE_MAX_QUERIES),
    ("/api/v1/territoires?q=brest", PAGE_MAX_QUERIES),
    ("/api/v1/territoires?nature=CC&page=2", PAGE_MAX_QUERIES),
    ("/api/v1/territoires/epci/242900314", PAGE_MAX_QUERIES),
    ("/api/v1/territoires/departement/29", PAGE_MAX_QUERIES),
    ("/api/v1/vocabulaires", PAGE_MAX_QUERIES),
]


def test_query_bounds_do_not_depend_on_data_size(client, catalogue):
    """Every page within its bound at 10 and at 10,000 cooperations. One data set grown from 10
    to 10,000 rather than one per page: building 10,000 rows is what this test costs."""
    over = []
    for size, added in ((10, 10), (10_000, 9_990)):
        bulk_catalogue(added, catalogue, start=size - added)
        assert Cooperation.objects.filter(slug__startswith="masse-").count() == size
        for url, bound in PAGES:
            if url == "TERRITORY":
                url = catalogue.brest.get_absolute_url()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, url
            if len(queries) > bound:
                over.append((size, url, len(queries), bound))
    assert over == []


def test_counts_use_french_plural_rules(client, catalogue):
    assert "0 coopération<" in client.get("/cooperations/", {"q": "velo"}).content.decode()
    assert "1 coopération<" in client.get("/cooperations/", {"q": "estuaire"}).content.decode()
    assert "2 coopérations<" in client.get("/cooperations/", {"q": "brest"}).content.decode()


def test_result_count_and_skip_link_are_singular_for_one_result(client, catalogue):
    html = client.get("/cooperations/", {"q": "estuaire"}).content.decode()
    assert "Aller directement au résultat" in html
    assert "1 résultat" not in html.replace("1 résultat</", "")
    html = client.get("/cooperations/", {"q": "brest"}).content.decode()
    assert "Aller directement aux 2 résultats" in html


# --- success factors and plus-values ---------------------------------------------------------

EDITORIAL = "Classement éditorial du catalogue, d'après la source citée"


@pytest.fixture
def illustrated(catalogue):
    """Sources on the factor texts and an illustrated plus-value; the draft has some too."""
    CooperationFactor.objects.filter(cooperation=catalogue.reciprocity).update(
        source_url="https://www.pays-iroise.bzh/gouvernance"
    )
    CooperationPlusValue.objects.create(
        cooperation=catalogue.reciprocity,
        plus_value="echelles",
        text="Un bassin de mobilité commun.",
        source_url="https://example.org/echelles",
    )
    CooperationPlusValue.objects.create(
        cooperation=catalogue.draft, plus_value="echelles", text="Texte jamais publié."
    )
    refresh_derived_text()  # as every writer does
    return catalogue


def test_factors_page_shows_the_six_factors_in_order_with_counts_and_illustrations(
    client, illustrated
):
    response = client.get("/facteurs/")
    assert response.status_code == 200
    factors = response.context["factors"]
    assert [f.slug for f in factors] == [
        "connaissance", "vision", "gouvernance", "competences", "financements", "cadre-juridique"
    ]  # fmt: skip
    assert {f.slug: f.total for f in factors} == {
        "connaissance": 0, "vision": 1, "gouvernance": 2, "competences": 0, "financements": 1,
        "cadre-juridique": 0,
    }  # fmt: skip
    html = response.content.decode()
    assert EDITORIAL in html
    assert "L&#39;allocation ou le partage de « compétences métiers »" in html
    assert "2 coopérations l'illustrent" in html and "1 coopération l'illustre<" in html
    assert "Illustration de gouvernance" in html
    assert 'href="https://www.pays-iroise.bzh/gouvernance"' in html
    assert ">pays-iroise.bzh</a>" in html
    assert "Brouillon" not in html


@pytest.mark.parametrize("url", ["/facteurs/", "/plus-values/"])
def test_overviews_are_kept_with_the_index_and_follow_an_edit(client, illustrated, url):
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    # Built once per catalogue version: warm, the version's query only.
    assert len(queries.captured_queries) == 1
    model = CooperationFactor if url == "/facteurs/" else CooperationPlusValue
    link = model.objects.filter(cooperation=illustrated.reciprocity).exclude(text="").first()
    link.text = "Un texte revu ce matin."
    link.save()
    assert "Un texte revu ce matin." in client.get(url).content.decode()


def test_factor_page_lists_its_illustrations_then_its_cooperations(client, illustrated):
    response = client.get("/facteurs/gouvernance/")
    assert response.status_code == 200
    html = response.content.decode()
    assert [link.cooperation.slug for link in response.context["illustrations"]] == [
        "brest-iroise",
        "entente-estuaire",
    ]
    assert EDITORIAL in html
    assert html.index("Illustration de gouvernance") < html.index('id="resultats"')
    assert "Brouillon" not in html
    assert json_slugs(client, "/facteurs/gouvernance/", metropole="244400404") == [
        "entente-estuaire"
    ]


def test_plus_values_page_and_one_plus_value_page(client, illustrated):
    response = client.get("/plus-values/")
    assert response.status_code == 200
    totals = {p["code"]: p["total"] for p in response.context["plus_values"]}
    assert totals == {"echelles": 1, "filieres": 0, "mutualisation": 1}
    html = response.content.decode()
    assert EDITORIAL in html and "Un bassin de mobilité commun." in html
    assert "Texte jamais publié" not in html
    response = client.get("/plus-values/echelles/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Un bassin de mobilité commun." in html and 'href="https://example.org/echelles"' in html
    assert json_slugs(client, "/plus-values/echelles/") == ["brest-iroise"]
    assert client.get("/plus-values/inconnue/").status_code == 404


def test_cooperation_page_shows_each_factor_and_plus_value_with_text_and_source(
    client, illustrated
):
    response = client.get("/cooperations/brest-iroise/")
    assert response.status_code == 200
    html = response.content.decode()
    assert EDITORIAL in html
    assert 'href="https://www.pays-iroise.bzh/gouvernance"' in html
    assert 'Plus-value\u00a0: <a href="/plus-values/echelles/">Enjeux d&#39;échelles</a>' in html
    assert "Un bassin de mobilité commun." in html
    record = client.get("/cooperations/brest-iroise/", {"format": "json"}).json()
    assert record["success_factors"][0]["source_url"] == "https://www.pays-iroise.bzh/gouvernance"
    assert record["plus_value_illustrations"] == [
        {
            "slug": "echelles",
            "label": "Enjeux d'échelles",
            "text": "Un bassin de mobilité commun.",
            "source_url": "https://example.org/echelles",
        }
    ]


def test_home_counts_factors_and_plus_values_in_the_publication_order(client, illustrated):
    response = client.get("/")
    assert response.status_code == 200
    assert [(f.slug, f.total) for f in response.context["factors"]] == [
        ("connaissance", 0), ("vision", 1), ("gouvernance", 2), ("competences", 0),
        ("financements", 1), ("cadre-juridique", 0),
    ]  # fmt: skip
    assert [(p["code"], p["total"]) for p in response.context["plus_values"]] == [
        ("echelles", 1), ("filieres", 0), ("mutualisation", 1)
    ]  # fmt: skip
    html = response.content.decode()
    assert 'href="/facteurs/"' in html and 'href="/plus-values/"' in html


def test_main_navigation_leads_to_factors_and_plus_values(client, db):
    response = client.get("/facteurs/")
    html = response.content.decode()
    assert response.status_code == 200
    nav = html[html.index('id="navigation-principale"') :]
    assert 'href="/facteurs/" aria-current="true">Facteurs de réussite' in nav
    assert 'href="/plus-values/">Plus-values' in nav


# --- dates ------------------------------------------------------------------------------------


def test_result_rows_say_the_signature_date_in_words(client, catalogue):
    html = client.get("/cooperations/").content.decode()
    assert "signée le 10 juillet 2019" in html
    assert "signée en mai 2012" in html
    assert "signée en 2016" in html
    assert "signée en 10/07" not in html and "signée en 01/" not in html


# --- territory pages --------------------------------------------------------------------------


def test_territory_addresses_are_by_kind_and_official_code(client, catalogue):
    assert catalogue.brest.get_absolute_url() == "/territoires/epci/242900314/"
    assert catalogue.finistere.get_absolute_url() == "/territoires/departement/29/"
    assert catalogue.bretagne.get_absolute_url() == "/territoires/region/53/"
    commune = get_or_make_territory(Territory.Kind.COMMUNE, "Brest", "29019")
    assert commune.get_absolute_url() == "/territoires/commune/29019/"
    assert catalogue.petr.get_absolute_url() == f"/territoires/autre/{catalogue.petr.pk}/"
    assert client.get(catalogue.petr.get_absolute_url()).status_code == 200
    assert client.get("/territoires/commune/29019/").status_code == 200


@pytest.mark.parametrize("which", ["brest", "petr"])
def test_old_territory_addresses_redirect_permanently(client, catalogue, which):
    territory = getattr(catalogue, which)
    response = client.get(f"/territoires/{territory.pk}/")
    assert response.status_code == 301
    assert response["Location"] == territory.get_absolute_url()


def test_id_address_of_a_territory_with_a_code_redirects_to_its_stable_address(client, catalogue):
    response = client.get(f"/territoires/autre/{catalogue.brest.pk}/", {"thematique": "x"})
    assert response.status_code == 301
    assert response["Location"] == "/territoires/epci/242900314/?thematique=x"


@pytest.mark.parametrize(
    "url", ["/territoires/epci/999999999/", "/territoires/canton/29/", "/territoires/autre/0/"]
)
def test_unknown_territory_addresses_are_404(client, catalogue, url):
    assert client.get(url).status_code == 404


def test_departement_page_lists_the_cooperations_of_participants_located_in_it(client, catalogue):
    response = client.get("/territoires/departement/29/")
    assert response.status_code == 200
    slugs = [c.slug for c in response.context["cooperations"]]
    assert slugs == ["brest-iroise", "pole-loire-bretagne"]
    assert json_slugs(client, "/cooperations/", departement="29") == sorted(slugs)
    html = response.content.decode()
    assert "Par un participant situé dans le département" in html
    assert "2 coopérations<" in html
    region = client.get("/territoires/region/52/")
    assert region.status_code == 200
    assert [c.slug for c in region.context["cooperations"]] == [
        "entente-estuaire",
        "pole-loire-bretagne",
    ]


def test_departement_taking_part_itself_comes_first(client, catalogue):
    catalogue.carpool.participations.create(
        territory=catalogue.finistere, role=Participation.Role.ASSOCIATED
    )
    response = client.get("/territoires/departement/29/")
    assert [c.slug for c in response.context["cooperations"]] == [
        "covoiturage-rouennais",
        "brest-iroise",
        "pole-loire-bretagne",
    ]
    html = response.content.decode()
    assert html.index("Comme associé") < html.index("Par un participant situé")


# --- related cooperations ---------------------------------------------------------------------


def test_related_cooperations_same_metropole_then_shared_partners_then_themes(client, catalogue):
    theme = Theme.objects.get(slug="mobilites-transports")
    make_cooperation(
        "Zeta partenaire commun", slug="zeta-partenaire", metropoles=[catalogue.rouen],
        partners=[catalogue.iroise],
    )  # fmt: skip
    make_cooperation(
        "Alpha thème commun", slug="alpha-theme", metropoles=[catalogue.nantes], themes=[theme]
    )
    response = client.get("/cooperations/brest-iroise/")
    assert response.status_code == 200
    assert [c.slug for c in response.context["related"]] == [
        "pole-loire-bretagne",  # same métropole
        "zeta-partenaire",  # a partner in common
        "alpha-theme",  # a theme in common, by name
        "covoiturage-rouennais",
    ]
    assert "puis celles qui ont le plus de partenaires en commun" in response.content.decode()


def test_record_page_kept_for_the_version_and_follows_another_servers_write(client, catalogue):
    from cooperations import facet_index

    client.get("/cooperations/brest-iroise/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/cooperations/brest-iroise/")
    # The page is kept for the catalogue's version: the version's query only.
    assert len(queries.captured_queries) == 1
    assert "history_id" in queries.captured_queries[0]["sql"]
    kept = facet_index.current()
    make_cooperation("Aaa même métropole", slug="aaa-meme", metropoles=[catalogue.brest])
    # As if written on another server: this process still holds the index it built before.
    facet_index._current = kept
    related = client.get("/cooperations/brest-iroise/").context["related"]
    assert [c.slug for c in related][:2] == ["aaa-meme", "pole-loire-bretagne"]


# --- record page ------------------------------------------------------------------------------


def test_record_page_says_nothing_of_unknown_status_or_verification(client, catalogue):
    catalogue.carpool.status = ""
    catalogue.carpool.save()
    response = client.get("/cooperations/covoiturage-rouennais/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Non renseign" not in html
    assert "Dernière vérification" not in html
    assert "Statut</dt>" not in html and "Signature</dt>" not in html


def test_record_page_explains_provenance_and_names_sources(client, catalogue):
    make_source(
        catalogue.reciprocity,
        "https://www.ouest-france.fr/article",
        title="Brest et l'Iroise signent",
        publisher="Ouest-France",
        published_on=datetime.date(2016, 11, 4),
    )
    make_source(catalogue.reciprocity, "https://www.banquedesterritoires.fr/contrat")
    response = client.get("/cooperations/brest-iroise/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "ajoutée au catalogue après l&#39;inventaire de 2018" in html
    assert "Brest et l&#39;Iroise signent</a>, Ouest-France, 4 novembre 2016" in html
    assert 'href="https://www.banquedesterritoires.fr/contrat" rel="noopener external">' in html
    assert ">banquedesterritoires.fr</a>" in html


def test_record_page_brief_comes_first_and_share_button_needs_no_inline_script(client, catalogue):
    response = client.get("/cooperations/brest-iroise/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("En bref") < html.index("Territoires</h2>")
    assert (
        'id="lien-permanent" type="text" readonly value="http://testserver/cooperations/brest-iroise/"'
        in html
    )
    assert 'id="copier-lien" data-copy-target="lien-permanent" hidden' in html
    assert "/static/js/share.js" in html
    body = html[html.index("<body") :]
    assert "<script>" not in body and "onclick" not in body


# --- filters that speak, titles that follow the state -----------------------------------------


def test_each_select_says_what_its_empty_choice_keeps(client, catalogue):
    response = client.get("/cooperations/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Toutes les valeurs" not in html
    for empty in (
        "Toutes les métropoles",
        "Toutes les thématiques",
        "Tous les facteurs",
        "Toutes les formes",
        "Tous les statuts",
        "Toutes les plus-values",
    ):
        assert f'<option value="">{empty}</option>' in html


def test_reset_link_leads_to_the_page_without_any_filter(client, catalogue):
    plain = client.get("/thematiques/mobilites-transports/").content.decode()
    assert "Réinitialiser" not in plain
    response = client.get("/thematiques/mobilites-transports/", {"metropole": "242900314"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a class="fr-btn fr-btn--secondary" href="/thematiques/mobilites-transports/">' in html
    assert "Réinitialiser" in html


@pytest.mark.parametrize(
    ("url", "fixed"),
    [
        ("/cooperations/", None),
        ("/thematiques/mobilites-transports/", "thematique"),
        ("/facteurs/gouvernance/", "facteur"),
        ("/plus-values/echelles/", "plus_value"),
        ("/territoires/epci/242900314/", "metropole"),
        ("/territoires/departement/29/", "departement"),
        ("/territoires/region/53/", "region"),
        ("/territoires/epci/242900074/", None),
    ],
)
def test_a_page_does_not_offer_again_the_facet_it_fixes(client, catalogue, url, fixed):
    response = client.get(url)
    assert response.status_code == 200
    names = [facet.name for facet in response.context["facets"]]
    assert len(names) == (8 if fixed else 9)
    assert fixed not in names
    if fixed:
        assert f'name="{fixed}"' not in response.content.decode()


def test_result_count_comes_before_the_filters_which_fold_away(client, catalogue):
    html = client.get("/cooperations/").content.decode()
    count = html.index('<div role="status"><h2 class="fr-h4" id="nombre-resultats"')
    assert count < html.index('class="fr-accordion cat-filters') < html.index('id="filtres"')
    assert 'aria-controls="panneau-filtres"' in html
    assert "<script>" not in html  # the Content-Security-Policy forbids inline scripts
    assert "{#" not in html and "{% comment" not in html


def test_theme_tags_of_results_link_to_their_theme(client, catalogue):
    html = client.get("/cooperations/").content.decode()
    assert (
        '<a class="fr-tag fr-tag--sm" href="/thematiques/mobilites-transports/">'
        "Mobilités et transports</a>"
    ) in html


def title_and_heading(response) -> tuple[str, str]:
    import re

    html = response.content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    return title, heading


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        ("/cooperations/", {}, "Toutes les coopérations"),
        (
            "/cooperations/",
            {"metropole": "242900314", "thematique": "mobilites-transports"},
            "Coopérations — Brest Métropole, Mobilités et transports",
        ),
        (
            "/cooperations/",
            {"q": "brest", "statut": "active", "annee_min": "2015"},
            # French spacing: no line break inside « » or before a colon.
            "Coopérations — recherche «\u00a0brest\u00a0», Statut\u00a0: Active, "
            "signées à partir de 2015",
        ),
        ("/thematiques/mobilites-transports/", {}, "Mobilités et transports"),
        (
            "/thematiques/mobilites-transports/",
            {"metropole": "200023414"},
            "Mobilités et transports — Métropole Rouen Normandie",
        ),
        (
            "/facteurs/gouvernance/",
            {"forme": "entente"},
            "La mise en place d&#39;espaces de gouvernance adaptés — Entente (art. L5221-1 CGCT)",
        ),
        (
            "/plus-values/echelles/",
            {"statut": "active"},
            "Enjeux d&#39;échelles — Statut\u00a0: Active",
        ),
        (
            "/territoires/departement/29/",
            {"thematique": "mobilites-transports"},
            "Finistère — Mobilités et transports",
        ),
    ],
)
def test_title_and_heading_state_the_filters(client, catalogue, url, params, expected):
    response = client.get(url, params)
    assert response.status_code == 200
    title, heading = title_and_heading(response)
    assert heading == expected
    assert title == f"{expected} — Catalogue des coopérations interterritoriales"


def test_title_and_heading_state_the_page_number(client, many_brest):
    response = client.get("/cooperations/", {"metropole": "242900314", "page": 2})
    assert response.status_code == 200
    title, heading = title_and_heading(response)
    assert heading == "Coopérations — Brest Métropole — page 2"
    assert title.startswith("Coopérations — Brest Métropole — page 2 — ")
    response = client.get("/territoires/epci/242900314/", {"page": 2})
    assert title_and_heading(response)[1] == "Brest Métropole — page 2"


# --- pages every State site carries ----------------------------------------------------------

STATE_PAGES = ["/plan-du-site/", "/accessibilite/", "/mentions-legales/", "/donnees-personnelles/"]


def test_footer_links_to_the_pages_every_state_site_carries(client, db):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    footer = html[html.index('class="fr-footer__bottom-list"') :]
    for url in STATE_PAGES:
        assert f'class="fr-footer__bottom-link" href="{url}"' in footer


@pytest.mark.parametrize("url", STATE_PAGES)
def test_state_pages_answer_in_the_site_layout(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    assert 'aria-label="vous êtes ici\u00a0:"' in response.content.decode()


def test_accessibility_statement_has_every_item_the_rgaa_asks_for(client, db, settings):
    settings.CONTACT_EMAIL = "accessibilite@anct.example"
    response = client.get("/accessibilite/")
    html = response.content.decode()
    assert response.status_code == 200
    for item in (
        "État de conformité",
        "<strong>non conforme</strong>",
        "Aucun audit de conformité n'a encore été mené",
        "axe-core",
        "Contenus non accessibles",
        "Cette déclaration a été établie le 7 décembre 2026",
        "Dérogations pour charge disproportionnée",
        "Technologies utilisées",
        "Environnement de test",
        "Chromium",
        "Pages de l'échantillon",
        "Retour d'information et contact",
        'href="mailto:accessibilite@anct.example"',
        "Voies de recours",
        "https://formulaire.defenseurdesdroits.fr/",
        "délégués",
        "tchat",
        "Libre réponse 71120<br>75342 Paris CEDEX 07",
    ):
        assert item in html, item


def test_statement_gives_the_self_assessment_its_rate_and_every_failed_criterion(client, db):
    from catalogue.accessibility import SAMPLE, self_assessment

    assessment = self_assessment()
    # The RGAA 4.1 has 106 criteria in 13 themes; one left out would raise the rate silently.
    assert len(assessment.criteria) == 106
    assert [theme.number for theme in assessment.themes] == list(range(1, 14))
    assert len({c.number for c in assessment.criteria}) == 106
    met, failed = assessment.count("C"), assessment.count("NC")
    assert met + failed + assessment.count("NA") == 106
    # Read as text: entities decoded, the typography's no-break spaces as plain spaces.
    html = client.get("/accessibilite/").content.decode()
    text = re.sub(r"[\s\u00a0\u202f]+", " ", unescape(html))
    rate = f"{100 * met / (met + failed):.1f}".replace(".", ",")
    assert f"<strong>{rate} % des critères applicables respectés</strong>" in text
    assert f"({met} sur {met + failed})" in text
    assert failed > 0
    for criterion in assessment.failures:
        assert f"<li>{criterion.number} — {criterion.subject}" in text
    # Every criterion is in the folded detail, with its result in words.
    assert text.count('<th scope="row">') == 106
    for key, label in SAMPLE:
        assert f"<li>{re.sub(' +', ' ', label)}</li>" in text, key


def test_contact_address_defaults_to_a_placeholder_that_reaches_nobody(client, db):
    html = client.get("/donnees-personnelles/").content.decode()
    assert 'href="mailto:contact@example.invalid"' in html


def test_personal_data_page_says_what_is_stored_and_the_rights(client, db):
    response = client.get("/donnees-personnelles/")
    html = response.content.decode()
    assert response.status_code == 200
    for item in (
        "Pas de cookie de suivi",
        "<code>sessionid</code>",
        "<code>csrftoken</code>",
        "adresse IP",
        "90 jours",
        "RGPD",
        "https://www.cnil.fr/fr/plaintes",
    ):
        assert item in html, item


def test_legal_notice_names_the_host_when_configured(client, db, settings):
    assert "pas encore renseigné son hébergeur" in client.get("/mentions-legales/").content.decode()
    settings.HOSTING_PROVIDER = "Hébergeur essai\n1 rue de l'Essai, 75000 Paris"
    html = client.get("/mentions-legales/").content.decode()
    assert "Hébergeur essai<br>1 rue de l&#39;Essai, 75000 Paris" in html


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/accessibilite/", 0),
        ("/mentions-legales/", 0),
        ("/donnees-personnelles/", 0),
        # Métropoles, themes, factors: lists of vocabularies, never of cooperations, so the
        # bound does not depend on the catalogue's size (no need of test_query_bound_*).
        ("/plan-du-site/", 3),
    ],
)
def test_state_pages_query_bounds(client, catalogue, django_assert_num_queries, url, queries):
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200


def test_site_map_lists_metropoles_themes_factors_and_plus_values(client, catalogue):
    response = client.get("/plan-du-site/")
    html = response.content.decode()
    assert response.status_code == 200
    for url in (
        catalogue.brest.get_absolute_url(),
        "/thematiques/mobilites-transports/",
        "/facteurs/gouvernance/",
        "/plus-values/mutualisation/",
        "/mentions-legales/",
    ):
        assert f'href="{url}"' in html, url


def test_search_landmarks_have_distinct_labels(client, catalogue):
    html = client.get("/cooperations/").content.decode()
    assert 'role="search" aria-label="Rechercher dans tout le catalogue"' in html
    assert 'role="search" aria-label="Rechercher dans ces coopérations"' in html


def test_home_counts_come_from_the_index_and_follow_edits(client, admin_client, catalogue):
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    # Kept with the facet index for the catalogue's version: the version's query only.
    assert len(queries.captured_queries) == 1
    assert "Santé de proximité" not in html
    response = admin_client.post(
        reverse("admin:cooperations_theme_add"),
        {"label": "Santé de proximité", "slug": "sante-proximite", "position": "50"},
    )
    assert response.status_code == 302
    html = client.get("/").content.decode()
    # With no cooperation yet: its name, not a link to an empty list.
    assert '<li>Santé de proximité <span class="cat-meta">(0' in html
    make_cooperation("Une de plus", metropoles=[catalogue.brest])
    assert client.get("/").context["total"] == len(catalogue.published) + 1


def test_a_former_slug_redirects_permanently_to_the_record(client, catalogue):
    from cooperations.models import CooperationSlugAlias

    record = Cooperation.objects.get(slug="brest-iroise")
    CooperationSlugAlias.objects.create(slug="brest-et-iroise", cooperation=record)
    response = client.get("/cooperations/brest-et-iroise/", {"format": "json"})
    assert response.status_code == 301
    assert response["Location"] == "/cooperations/brest-iroise/?format=json"
    assert client.get("/cooperations/brest-et-iroise/").status_code == 301
    assert client.get("/cooperations/brest-iroise-inconnue/").status_code == 404


def test_a_former_slug_of_an_unpublished_record_is_not_found(client, catalogue):
    from cooperations.models import CooperationSlugAlias

    draft = Cooperation.objects.get(slug="brouillon")
    CooperationSlugAlias.objects.create(slug="ancien-brouillon", cooperation=draft)
    assert client.get("/cooperations/ancien-brouillon/").status_code == 404


def test_the_record_page_reads_no_former_slug_when_its_slug_is_found(client, catalogue):
    client.get("/cooperations/brest-iroise/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/cooperations/brest-iroise/").status_code == 200
    assert not any("slugalias" in query["sql"] for query in queries.captured_queries)
