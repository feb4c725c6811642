"""The filter panel and the links above the results, written in Python (list_page.py): what a
visitor typed comes back escaped, and the form keeps the state of the page."""

import re

from .catalogue_data import build_catalogue


def test_typed_search_comes_back_escaped_in_the_form_and_the_tags(client, db):
    build_catalogue()
    typed = '<script>alert("x")</script> & co'
    page = client.get("/cooperations/", {"q": typed}).content.decode()
    assert "<script>alert" not in page
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"
    assert f'name="q" value="{escaped}"' in page
    # The active filter's tag names it, escaped, in its text and its label.
    assert f"Retirer le filtre Rechercher : « {escaped} »" in page


def test_the_form_keeps_the_years_the_sort_and_counts_the_active_filters(client, db):
    build_catalogue()
    page = client.get(
        "/cooperations/", {"annee_min": "2021", "annee_max": "2015", "tri": "recent"}
    ).content.decode()
    # The years come back swapped into the range they mean, with the sort kept hidden.
    assert 'name="annee_min" value="2015"' in page
    assert 'name="annee_max" value="2021"' in page
    assert '<input type="hidden" name="tri" value="recent">' in page
    assert "Affiner (2 filtres actifs)</button>" in page
    assert '<a class="fr-btn fr-btn--secondary" href="/cooperations/">Réinitialiser</a>' in page
    # The chosen sort is stated, the others are links keeping the filters.
    assert '<strong aria-current="true">Signature la plus récente</strong>' in page
    assert re.search(r'href="\?annee_min=2021&amp;annee_max=2015&amp;tri=nom"', page)


def test_a_page_without_filters_offers_no_reset(client, db):
    build_catalogue()
    page = client.get("/cooperations/").content.decode()
    assert "Affiner</button>" in page
    assert "Réinitialiser" not in page
    assert 'type="hidden" name="tri"' not in page
    count = client.get("/cooperations/").context["paginator"].count
    assert f"Aller directement aux {count} résultats" in page
    assert f"Télécharger cette sélection ({count} lignes)" in page


def test_addresses_kept_per_process_follow_the_script_prefix(client, db):
    # Behind a proxy that mounts the catalogue under a path, every link of the list page
    # starts with it, also the ones the page keeps from one request to the next.
    from django.urls import set_script_prefix

    build_catalogue()
    plain = client.get("/cooperations/").content.decode()
    # What gunicorn's handler does with SCRIPT_NAME (the test client leaves it alone).
    set_script_prefix("/catalogue/")
    try:
        mounted = client.get("/cooperations/").content.decode()
    finally:
        set_script_prefix("/")
    for page, prefix in ((plain, ""), (mounted, "/catalogue")):
        assert f'<form id="comparaison" method="get" action="{prefix}/comparer/"' in page
        assert f'action="{prefix}/mon-territoire/" method="get"' in page
        assert f'href="{prefix}/cooperations/flux/"' in page
        assert f'href="{prefix}/statistiques/' in page
    assert 'action="/comparer/"' not in mounted


def test_the_list_scripts_have_the_static_files_addresses(client, db):
    from django.templatetags.static import static

    build_catalogue()
    page = client.get("/cooperations/").content.decode()
    for name in ("js/filters.js", "js/territory-search.js"):
        assert f'<script src="{static(name)}" defer></script>' in page
