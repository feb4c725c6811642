"""The statistics page: hand counts on the small catalogue, filters, CSV downloads, bad input."""

import csv
import io

import pytest

from cooperations.models import Cooperation, LegalForm, SuccessFactor, TerritoryKind, Theme
from cooperations.statistics import BAR_LENGTH, CHART_WIDTH
from cooperations.text import fold

from .catalogue_data import build_catalogue

URL = "/statistiques/"


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def tables(response) -> dict[str, dict[str, int]]:
    """Every table's rows in the order shown, the « Non renseigné » row included."""
    assert response.status_code == 200
    return {table.key: dict(table.lines) for table in response.context["tables"]}


def label(model, slug) -> str:
    return model.objects.get(slug=slug).label


def test_every_table_equals_the_hand_counts_of_the_published_records(client, catalogue):
    response = client.get(URL)
    found = tables(response)
    assert response.context["total"] == 4
    # Every year from the first to the last, those without a signature as 0; the carpool
    # record has no signature date: its own bar, last.
    assert found["annees"] == {
        "2012": 1,
        "2013": 0,
        "2014": 0,
        "2015": 0,
        "2016": 1,
        "2017": 0,
        "2018": 0,
        "2019": 1,
        "Date non renseignée": 1,
    }
    assert found["formes"] == {
        label(LegalForm, "contrat-de-reciprocite"): 1,
        label(LegalForm, "pole-metropolitain"): 1,
        label(LegalForm, "entente"): 1,
        label(LegalForm, "convention-de-cooperation"): 1,
    }
    assert found["thematiques"] == {
        label(Theme, "mobilites-transports"): 2,
        label(Theme, "attractivite-rayonnement"): 1,
        label(Theme, "tourisme-loisirs"): 1,
    }
    assert found["metropoles"] == {
        "Brest Métropole": 2,
        "Nantes Métropole": 2,
        "Métropole Rouen Normandie": 1,
    }
    assert found["natures"] == {
        TerritoryKind.CC.label: 1,
        TerritoryKind.CA.label: 1,
        TerritoryKind.PETR.label: 1,
        "Aucun partenaire renseigné": 1,
    }
    assert found["statuts"] == {
        Cooperation.Status.ACTIVE.label: 2,
        Cooperation.Status.ENDED.label: 1,
        Cooperation.Status.PROJECT.label: 1,
    }
    assert found["facteurs"] == {
        label(SuccessFactor, "gouvernance"): 2,
        label(SuccessFactor, "vision"): 1,
        label(SuccessFactor, "financements"): 1,
        "Non renseigné": 1,
    }
    assert found["plus_values"] == {
        "Enjeux d'échelles": 1,
        "Mutualisation": 1,
        "Non renseignée": 2,
    }


def test_categories_are_sorted_by_count_then_name(client, catalogue):
    found = tables(client.get(URL))
    for key in ("formes", "thematiques", "metropoles", "natures", "statuts", "facteurs"):
        rows = [(label, count) for label, count in found[key].items() if "renseign" not in label]
        assert rows
        assert rows == sorted(rows, key=lambda row: (-row[1], fold(row[0]))), key
    assert list(found["formes"]) == sorted(found["formes"], key=fold)
    assert list(found["thematiques"])[0] == label(Theme, "mobilites-transports")


def test_unknown_values_are_their_own_last_bar(client, catalogue):
    Cooperation.objects.filter(pk=catalogue.carpool.pk).update(status="", legal_form=None)
    response = client.get(URL)
    found = tables(response)
    assert list(found["statuts"].items())[-1] == ("Non renseigné", 1)
    assert Cooperation.Status.PROJECT.label not in found["statuts"]
    assert list(found["formes"].items())[-1] == ("Non renseignée", 1)
    html = response.content.decode()
    forms = html.split('id="stat-formes-titre"')[1].split("</svg>")[0]
    # Drawn in grey after the others, with its label.
    assert forms.count('fill="#666666"') == 1
    assert forms.index("Non renseignée") > forms.index(label(LegalForm, "entente"))
    assert "Statut inconnu" not in html


def test_unknown_values_are_counted_in_the_csv(client, catalogue):
    response = client.get(URL, {"tableau": "annees", "format": "csv"})
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[1] == ["2012", "1"]
    assert ["2013", "0"] in lines
    assert lines[-1] == ["Date non renseignée", "1"]


def test_every_chart_shares_one_scale(client, catalogue):
    response = client.get(URL)
    assert response.status_code == 200
    charts = response.context["tables"]
    assert response.context["largest"] == 2
    widths = {(bar["count"], bar["width"]) for table in charts for bar in table.bars}
    # One count, one length, whichever chart draws it; the largest count the longest bar.
    assert widths == {(0, 0), (1, BAR_LENGTH // 2), (2, BAR_LENGTH)}


def test_charts_have_their_own_size_and_their_table_folded_under_them(client, catalogue):
    html = client.get(URL).content.decode()
    chart = html.split('id="stat-thematiques"')[1].split("</section>")[0]
    svg = chart.split("<svg")[1].split(">")[0]
    assert f'width="{CHART_WIDTH}"' in svg
    assert 'height="' in svg and "100%" not in svg
    details = chart.split("<details")[1].split("</details>")[0]
    assert "<summary" in details and "Tableau des chiffres" in details
    assert "<table>" in details
    assert chart.index("</svg>") < chart.index("<details")


def test_tables_follow_the_list_filters(client, catalogue):
    response = client.get(URL, {"metropole": "242900314"})
    found = tables(response)
    assert response.context["total"] == 2
    assert found["annees"] == {"2012": 1, "2013": 0, "2014": 0, "2015": 0, "2016": 1}
    assert found["metropoles"] == {"Brest Métropole": 2, "Nantes Métropole": 1}
    assert found["statuts"] == {Cooperation.Status.ACTIVE.label: 2}
    assert found["plus_values"] == {"Enjeux d'échelles": 1, "Non renseignée": 1}
    assert "Brest Métropole" in response.context["page_heading"]


def test_a_search_narrows_the_tables_as_the_list(client, catalogue):
    response = client.get(URL, {"q": "brest"})
    found = tables(response)
    assert response.context["total"] == 2
    assert found["metropoles"]["Brest Métropole"] == 2


def test_a_bad_filter_value_is_ignored_with_the_lists_notice(client, catalogue):
    response = client.get(URL, {"statut": "=cmd|calc", "thematique": "mobilites-transports"})
    found = tables(response)
    assert response.context["total"] == 2
    assert found["thematiques"] == {label(Theme, "mobilites-transports"): 2}
    assert response.context["notices"] == [
        "Le filtre « Statut » avec la valeur « =cmd|calc » n'a pas été compris : il a été ignoré."
    ]
    assert "Certains paramètres ont été ignorés" in response.content.decode()


@pytest.mark.parametrize("key", ["annees", "formes", "metropoles", "facteurs", "plus_values"])
def test_csv_download_matches_the_table(client, catalogue, key):
    query = {"metropole": "242900314"}
    shown = tables(client.get(URL, query))[key]
    response = client.get(URL, {**query, "tableau": key, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"statistiques-{key.replace('_', '-')}" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][1] == "Nombre de coopérations"
    assert shown
    assert {label: int(count) for label, count in lines[1:]} == shown


def test_csv_download_escapes_formulas(client, catalogue):
    Theme.objects.filter(slug="mobilites-transports").update(label="=HYPERLINK(1)")
    response = client.get(URL, {"tableau": "thematiques", "format": "csv"})
    assert response.status_code == 200
    assert "'=HYPERLINK(1);2" in response.content.decode("utf-8-sig")


def test_unknown_table_or_format_shows_the_page_with_a_notice(client, catalogue):
    response = client.get(URL, {"tableau": "inconnu", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["notices"] == [
        "Le tableau « inconnu » n'existe pas : tous les tableaux sont affichés."
    ]


def test_csv_without_a_table_shows_the_page_with_a_notice(client, catalogue):
    response = client.get(URL, {"format": "csv"})
    assert response.status_code == 200
    assert response.context["notices"] == [
        "Le téléchargement CSV porte sur un tableau : choisissez-le ci-dessous."
    ]


def test_charts_are_accessible_svg_followed_by_their_table(client, catalogue):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="img" aria-labelledby="stat-') == 8
    assert "<script>" not in html.split("</footer>")[0].split("<main")[-1]
    figure = html.index('id="stat-metropoles-titre"')
    assert html.index('<div class="fr-table', figure) < html.index("stat-natures", figure)
    assert "Brest Métropole, 2" in html


def test_statistics_answer_in_a_constant_number_of_queries(
    client, catalogue, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = client.get(URL, {"metropole": "242900314", "statut": "active"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/cooperations/?metropole=242900314&tri=recent", "/statistiques/?metropole=242900314"),
        ("/thematiques/mobilites-transports/", "/statistiques/?thematique=mobilites-transports"),
        ("/facteurs/gouvernance/", "/statistiques/?facteur=gouvernance"),
        ("/plus-values/echelles/", "/statistiques/?plus_value=echelles"),
        ("/territoires/departement/29/", "/statistiques/?departement=29"),
    ],
)
def test_list_pages_link_to_the_statistics_of_their_selection(client, catalogue, page, expected):
    response = client.get(page)
    assert response.status_code == 200
    assert f'href="{expected}">Statistiques de cette sélection' in response.content.decode()


def test_selection_link_of_a_page_gives_the_same_count(client, catalogue):
    html = client.get("/thematiques/mobilites-transports/").content.decode()
    assert "2 coopérations" in html
    response = client.get(URL, {"thematique": "mobilites-transports"})
    assert response.status_code == 200
    assert response.context["total"] == 2


def test_a_partners_page_offers_no_statistics_link(client, catalogue):
    response = client.get(catalogue.iroise.get_absolute_url())
    assert response.status_code == 200
    assert "Statistiques de cette sélection" not in response.content.decode()


def test_site_map_links_to_statistics(client, db):
    response = client.get("/plan-du-site/")
    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()
