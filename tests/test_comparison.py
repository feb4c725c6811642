"""The side-by-side comparison of 2 to 4 published cooperations and its XLSX export."""

import datetime
import io
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from cooperations.models import Cooperation, CooperationFactor, CooperationPlusValue

from .catalogue_data import build_catalogue
from .conftest import make_cooperation, make_source

FOUR = ["brest-iroise", "pole-loire-bretagne", "entente-estuaire", "covoiturage-rouennais"]


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def compare(client, *slugs, **params):
    return client.get("/comparer/", {"c": list(slugs), **params})


def columns(html: str) -> list[str]:
    """The header cells of the comparison table, in order."""
    head = html.split("<thead>")[1].split("</thead>")[0]
    return [cell.split("</th>")[0] for cell in head.split('<th scope="col">')[1:]]


def body_row(html: str, heading: str) -> list[str]:
    """The cells of one row of the table, after its row header."""
    row = html.split(f'<th scope="row">{heading}</th>')[1].split("</tr>")[0]
    return [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]


def test_two_records_side_by_side(client, catalogue):
    CooperationFactor.objects.filter(cooperation=catalogue.reciprocity).update(
        text="Un comité de pilotage commun.", source_url="https://www.pays-iroise.bzh/gouvernance"
    )
    CooperationPlusValue.objects.create(
        cooperation=catalogue.reciprocity, plus_value="echelles", text="Deux échelles réunies."
    )
    response = compare(client, "brest-iroise", "pole-loire-bretagne")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(columns(html)) == 2
    assert 'href="/cooperations/brest-iroise/"' in columns(html)[0]
    assert "Pôle métropolitain Loire-Bretagne" in columns(html)[1]
    assert 'class="fr-table' in html
    iroise, pole = body_row(html, "Signature")
    assert iroise == "2016"
    assert pole == "mai 2012"
    assert body_row(html, "Statut") == ["Active", "Active"]
    metropoles = body_row(html, "Métropoles")
    assert "Brest Métropole" in metropoles[0] and "Nantes" not in metropoles[0]
    assert "Nantes" in metropoles[1]
    assert "CC du Pays d&#39;Iroise" in body_row(html, "Partenaires")[0]
    assert "PETR du Pays de Retz" in body_row(html, "Partenaires")[1]
    factors = body_row(html, "Facteurs de réussite")
    assert "Un comité de pilotage commun." in factors[0]
    assert "pays-iroise.bzh" in factors[0]
    plus_values = body_row(html, "Plus-values")
    assert "Deux échelles réunies." in plus_values[0]
    assert plus_values[1] == "—"
    sources = body_row(html, "Sources")
    assert "Communiqué" in sources[0]
    assert 'href="?c=brest-iroise&amp;c=pole-loire-bretagne&amp;format=xlsx"' in html


def test_three_and_four_records_in_the_order_chosen(client, catalogue):
    response = compare(client, "entente-estuaire", "brest-iroise", "covoiturage-rouennais")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(columns(html)) == 3
    assert "Entente touristique" in columns(html)[0]
    assert body_row(html, "Signature") == ["10 juillet 2019", "2016", "—"]
    assert body_row(html, "Statut") == ["Terminée", "Active", "En projet"]
    response = compare(client, *FOUR)
    assert response.status_code == 200
    html = response.content.decode()
    assert len(columns(html)) == 4
    assert "Covoiturage rouennais" in columns(html)[3]
    themes = body_row(html, "Thématiques")
    assert len(themes) == 4
    assert "Tourisme" in themes[2]


def test_duplicates_are_ignored(client, catalogue):
    response = compare(client, "brest-iroise", "brest-iroise", "entente-estuaire")
    assert response.status_code == 200
    assert len(columns(response.content.decode())) == 2


def main(html: str) -> str:
    return html.split("<main")[1].split("</main>")[0]


@pytest.mark.parametrize(
    "slugs, expected",
    [
        ([], "aucune n'a été choisie"),
        (["brest-iroise"], "une seule a été choisie"),
        (["brest-iroise", "brest-iroise"], "une seule a été choisie"),
        ([*FOUR, "cinquieme"], "5 ont été choisies"),
    ],
)
def test_a_selection_of_the_wrong_size_states_the_rule_and_keeps_the_choice(
    client, catalogue, slugs, expected
):
    make_cooperation("Cinquième coopération", slug="cinquieme", metropoles=[catalogue.brest])
    response = compare(client, *slugs, retour="/cooperations/?metropole=242900314")
    # A visitor's slip, not a bad address: the page answers, with the rule in a DSFR alert.
    assert response.status_code == 200
    html = main(response.content.decode())
    assert 'class="fr-alert fr-alert--warning' in html
    assert "Choisissez de 2 à 4 coopérations à comparer" in unescape(html)
    assert expected in unescape(html)
    assert "<table" not in html
    # Every record chosen stays checked, to submit again; the list is one link away, with them.
    for slug in dict.fromkeys(slugs):
        assert f'name="c" value="{slug}" checked' in html
    if slugs:
        assert 'name="retour" value="/cooperations/?metropole=242900314"' in html
    back = "/cooperations/?metropole=242900314" + "".join(
        f"&amp;c={slug}" for slug in dict.fromkeys(slugs)
    )
    assert f'href="{back}"' in html


def test_the_way_back_defaults_to_the_catalogues_list(client, catalogue):
    response = compare(client, "brest-iroise")
    assert response.status_code == 200
    assert 'href="/cooperations/?c=brest-iroise"' in response.content.decode()


@pytest.mark.parametrize(
    "retour",
    [
        "https://ailleurs.example/cooperations/",
        "//ailleurs.example/cooperations/",
        "/\\ailleurs.example/",
        "/\t/ailleurs.example/",
        "javascript:alert(1)",
        "cooperations/",
        "/" + "a" * 3000,
    ],
)
def test_a_way_back_out_of_the_site_is_replaced_by_the_list(client, catalogue, retour):
    response = compare(client, "brest-iroise", retour=retour)
    assert response.status_code == 200
    html = main(response.content.decode())
    assert 'href="/cooperations/?c=brest-iroise"' in html
    assert 'name="retour" value="/cooperations/"' in html
    assert "ailleurs" not in html and "javascript" not in html


def test_the_list_checks_the_records_chosen_and_keeps_those_of_other_pages(client, catalogue):
    response = client.get("/cooperations/", {"c": ["brest-iroise", "ailleurs"], "tri": "nom"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="comparer-brest-iroise" name="c" value="brest-iroise" checked' in html
    assert 'name="c" value="entente-estuaire">' in html
    # A record chosen but not shown on this page goes on with the form, hidden.
    assert '<input type="hidden" name="c" value="ailleurs">' in html
    # The way back is the list without the selection, which the comparison adds itself.
    assert 'name="retour" value="/cooperations/?tri=nom"' in html
    # The checked row is a fragment of its own: the same list without a choice checks nothing.
    again = client.get("/cooperations/", {"tri": "nom"}).content.decode()
    assert " checked" not in again.split('id="comparaison"')[1].split("</form>")[0]
    assert 'name="retour" value="/cooperations/?tri=nom"' in again


def test_a_comparison_leads_back_to_its_list_with_the_selection(client, catalogue):
    response = compare(
        client, "brest-iroise", "entente-estuaire", retour="/thematiques/tourisme-loisirs/"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/thematiques/tourisme-loisirs/?c=brest-iroise&amp;c=entente-estuaire"' in html


def test_rows_that_no_record_fills_are_left_out_of_the_page_and_the_sheet(client, catalogue):
    response = compare(client, "brest-iroise", "entente-estuaire")
    assert response.status_code == 200
    html = response.content.decode()
    # No record of the two has a start, an end or an associated territory.
    for heading in ("Début", "Fin", "Territoires associés"):
        assert f'<th scope="row">{heading}</th>' not in html
    assert body_row(html, "Signature") == ["2016", "10 juillet 2019"]
    sheet = load_workbook(
        io.BytesIO(compare(client, "brest-iroise", "entente-estuaire", format="xlsx").content)
    ).active
    headings = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert "Signature" in headings and "Fin" not in headings and "Début" not in headings
    # One record with an end: the row is back, « — » for the other.
    Cooperation.objects.filter(slug="entente-estuaire").update(ends_on=datetime.date(2024, 6, 30))
    html = compare(client, "brest-iroise", "entente-estuaire").content.decode()
    assert body_row(html, "Fin") == ["—", "30 juin 2024"]
    assert '<th scope="row">Début</th>' not in html


def test_guillemets_never_end_a_line_alone(client, catalogue):
    Cooperation.objects.filter(slug="entente-estuaire").update(name="Entente « Estuaire »")
    for response in (
        compare(client, "brest-iroise", "entente-estuaire"),
        compare(client, "brest-iroise", "nulle-part"),
        compare(client, "brest-iroise"),
    ):
        html = unescape(main(response.content.decode()))
        assert "«" in html
        assert "« " not in html and " »" not in html


def test_unknown_and_unpublished_records_are_named(client, catalogue):
    response = compare(client, "brest-iroise", "brouillon", "nulle-part")
    assert response.status_code == 400
    html = response.content.decode()
    assert "introuvables ou ne sont pas publiées" in html
    assert "«\xa0brouillon\xa0», «\xa0nulle-part\xa0»" in html
    assert "Brouillon mobilité" not in html
    # The record that was found is offered again, checked.
    assert 'name="c" value="brest-iroise" checked' in html
    assert "Comparer la sélection" in html


def test_refused_selection_is_not_exported(client, catalogue):
    response = compare(client, "brest-iroise", "brouillon", format="xlsx")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_xlsx_has_one_row_per_attribute_and_one_column_per_record(client, catalogue):
    make_source(catalogue.tourism, "https://example.org/estuaire", title="=SOMME(A1)")
    response = compare(client, "brest-iroise", "entente-estuaire", format="xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="cooperations-comparaison-' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "Rubrique",
        "Contrat de réciprocité Brest – Iroise",
        "Entente touristique de l'estuaire",
    ]
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    by_heading = {row[0]: row[1:] for row in rows[1:]}
    assert by_heading["Adresse"] == [
        "http://testserver/cooperations/brest-iroise/",
        "http://testserver/cooperations/entente-estuaire/",
    ]
    assert by_heading["Signature"] == ["2016", "10 juillet 2019"]
    assert by_heading["Statut"] == ["Active", "Terminée"]
    assert by_heading["Métropoles"][0] == "Brest Métropole"
    assert by_heading["Facteurs de réussite"][1].startswith("La mise en place d'espaces")
    # The source title begins with « = »: the cell is escaped, never a formula.
    assert by_heading["Sources"][1] == "'=SOMME(A1) — https://example.org/estuaire"
    assert "Communiqué — https://example.org/brest-iroise" in by_heading["Sources"][0]
    assert by_heading["Plus-values"][0] == "Enjeux d'échelles"


def test_query_count_does_not_depend_on_the_number_compared(client, catalogue):
    counts = []
    for slugs in (FOUR[:2], FOUR):
        with CaptureQueriesContext(connection) as queries:
            assert compare(client, *slugs).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_list_results_carry_comparison_checkboxes(client, catalogue):
    response = client.get("/cooperations/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/comparer/"' in html
    assert 'name="c" value="brest-iroise"' in html
    assert 'Comparer<span class="fr-sr-only"> Contrat de réciprocité Brest – Iroise</span>' in html
    assert "Comparer la sélection" in html


def test_a_single_result_offers_no_comparison_even_after_its_row_was_kept(client, catalogue):
    # The row is first rendered, and kept, in a list of four with its checkbox...
    html = client.get("/cooperations/").content.decode()
    assert 'name="c" value="entente-estuaire"' in html
    # ...then alone in its list: nothing to compare it with, no checkbox, no form.
    response = client.get("/cooperations/", {"q": "estuaire"})
    assert response.status_code == 200
    assert response.context["paginator"].count == 1
    html = response.content.decode()
    # Its title, with the searched word marked.
    assert "Entente touristique de l&#39;<mark" in html and "estuaire</mark>" in html
    assert 'name="c"' not in html and "Comparer la sélection" not in html
