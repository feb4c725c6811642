"""Import and export of the inventory in the cooperation admin."""

import datetime
import io
import os
import re
import tempfile
import zipfile

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from cooperations.importing import plan_import
from cooperations.inventory import read_spreadsheet
from cooperations.models import (
    Cooperation,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    TerritoryAlias,
    Theme,
)
from cooperations.resources import HEADERS
from cooperations.services import EDITORS, READERS, REVIEWERS
from cooperations.synthetic import generate_rows, write_inventory

from .conftest import (
    get_or_make_territory,
    make_cooperation,
    make_source,
    make_sparse_xlsx,
    make_territory,
    make_territory_world,
    make_zip_bomb,
)
from .test_importing import table_counts

CHANGELIST = reverse("admin:cooperations_cooperation_changelist")
IMPORT = reverse("admin:cooperations_cooperation_import")
PROCESS = reverse("admin:cooperations_cooperation_process_import")
EXPORT = reverse("admin:cooperations_cooperation_export")
TEMPLATE = reverse("admin:cooperations_cooperation_import_template")

CSV = (
    "Nom;Métropoles;Partenaires;Thématiques;Date de signature\r\n"
    "Contrat Brest – Iroise;Brest Métropole;CC du Pays d'Iroise;Mobilités et transports;2016\r\n"
)


def make_staff(group_name: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor_client(client, db):
    client.force_login(make_staff(EDITORS, "editrice"))
    return client


@pytest.fixture
def reviewer_client(client, db):
    client.force_login(make_staff(REVIEWERS, "relectrice"))
    return client


@pytest.fixture
def reader_client(client, db):
    client.force_login(make_staff(READERS, "lecteur"))
    return client


@pytest.fixture
def territories(db):
    get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    get_or_make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", "242900074")


def upload(client, data: bytes, name="inventaire.csv"):
    return client.post(
        IMPORT,
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile(name, data)},
    )


def confirm(client, preview):
    form = preview.context["confirm_form"]
    return client.post(PROCESS, {name: form.initial[name] for name in form.initial}, follow=True)


def test_reader_sees_no_import_button_and_gets_403(reader_client, territories):
    page = reader_client.get(CHANGELIST)
    assert page.status_code == 200
    assert IMPORT not in page.content.decode()
    assert reader_client.get(IMPORT).status_code == 403
    assert upload(reader_client, CSV.encode()).status_code == 403
    assert reader_client.post(PROCESS, {}).status_code == 403
    assert reader_client.get(TEMPLATE).status_code == 403


def test_editor_previews_then_confirms_an_import(editor_client, territories):
    assert IMPORT in editor_client.get(CHANGELIST).content.decode()
    preview = upload(editor_client, CSV.encode("cp1252"))
    page = preview.content.decode()
    assert "1 ligne(s) : 1 nouvelle(s), 0 modifiée(s), 0 inchangée(s), 0 rejetée(s)." in page
    assert "contrat-brest-iroise" in page
    assert Cooperation.objects.count() == 0

    done = confirm(editor_client, preview)
    assert done.redirect_chain[-1][0] == CHANGELIST
    assert "Import terminé : 1 ligne(s) : 1 nouvelle(s)" in done.content.decode()
    cooperation = Cooperation.objects.get()
    assert cooperation.name == "Contrat Brest – Iroise"
    assert cooperation.history.get().history_user.username == "editrice"

    again = upload(editor_client, CSV.encode("utf-8-sig"))
    assert "0 nouvelle(s), 0 modifiée(s), 1 inchangée(s)" in again.content.decode()


def test_rejected_file_shows_every_error_and_offers_no_confirmation(editor_client, territories):
    before = table_counts()
    # A métropole no register holds: the official territories may be loaded by an earlier
    # test of the session, and « Lyon » then names the Métropole de Lyon.
    bad = CSV + "Autre;Atlantide;CC du Pays d'Iroise;Mobilité douce;2016\r\n"
    page = upload(editor_client, bad.encode())
    html = page.content.decode()
    assert "confirm_form" not in page.context or page.context["confirm_form"] is None
    errors = re.findall(r'<ul class="errorlist" id="import-errors">(.*?)</ul>', html, re.S)[0]
    assert "Ligne 3, colonne « Métropoles », valeur « Atlantide » : Métropole inconnue" in errors
    assert "Ligne 3, colonne « Thématiques », valeur « Mobilité douce »" in errors
    assert table_counts() == before


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"%PDF-1.4\n%binary",
            "rapport.pdf",
            "Ce fichier n&#x27;est pas un tableur : envoyez un fichier XLSX, ODS ou CSV.",
        ),
        (
            b"PK\x03\x04not a zip",
            "inventaire.xlsx",
            "Ce fichier n&#x27;est pas un classeur Excel (.xlsx) lisible.",
        ),
        (
            b"Nom;M\xc3\xa9tropoles\r\n",
            "vide.csv",
            "Le fichier ne contient aucune coopération sous ses en-têtes.",
        ),
        (b"\r\n;;\r\n", "blanc.csv", "Le fichier est vide : aucune ligne d&#x27;en-tête."),
        (b"", "zero.csv", "Le fichier soumis est vide."),
        (b"Auteur;Date\r\nA;B\r\n", "autre.csv", "Colonne obligatoire absente : « Nom »."),
    ],
)
def test_bad_files_get_a_clear_message_not_a_500(editor_client, territories, data, name, message):
    before = table_counts()
    page = upload(editor_client, data, name)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert table_counts() == before


def test_a_zip_bomb_is_refused_through_the_admin(editor_client, territories):
    before = table_counts()
    page = upload(editor_client, make_zip_bomb(), "bombe.xlsx")
    assert page.status_code == 200
    assert "Ce classeur est anormalement compressé" in page.content.decode()
    assert table_counts() == before


def test_a_sparse_workbook_is_refused_through_the_admin(editor_client, territories):
    before = table_counts()
    page = upload(editor_client, make_sparse_xlsx(), "creux.xlsx")
    assert page.status_code == 200
    assert "Cette feuille s&#x27;étend sur 1\u202f048\u202f576 lignes" in page.content.decode()
    assert table_counts() == before


def test_oversized_file_is_refused_with_the_limit(editor_client, territories, settings):
    settings.IMPORT_MAX_UPLOAD_SIZE = 100
    page = upload(editor_client, CSV.encode() * 3)
    assert "la limite est de 1 Ko" in page.content.decode()
    assert Cooperation.objects.count() == 0


def test_template_has_headers_example_and_allowed_values(editor_client, territories):
    response = editor_client.get(TEMPLATE)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Coopérations", "Valeurs autorisées", "Colonnes"]
    rows = list(workbook["Coopérations"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and len(rows) == 2
    allowed = list(workbook["Valeurs autorisées"].iter_rows(values_only=True))
    columns = dict(zip(allowed[0], zip(*allowed[1:], strict=True), strict=True))
    assert "Mobilités et transports" in columns["Thématiques"]
    assert "La définition de financements spécifiques" in columns["Facteurs de réussite"]
    assert "Contrat de réciprocité" in columns["Formes de coopération"]
    assert "Abandonnée" in columns["Statuts"]
    assert "Brest Métropole [242900314]" in columns["Métropoles"]
    assert 'href="' + TEMPLATE in editor_client.get(IMPORT).content.decode()


def test_template_example_row_is_a_valid_inventory_row(editor_client, territories):
    get_or_make_territory(Territory.Kind.DEPARTEMENT, "Finistère", "29")
    plan = plan_import(read_spreadsheet(editor_client.get(TEMPLATE).content, "xlsx"))
    assert plan.row_errors == [] and plan.count("new") == 1


@pytest.fixture
def catalogue(db):
    brest = get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    nantes = get_or_make_territory(Territory.Kind.METRO, "Nantes Métropole", "244400404")
    iroise = get_or_make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", "242900074")
    petr = make_territory(Territory.Kind.PETR, "Pays de Fiction", code="")
    departement = get_or_make_territory(Territory.Kind.DEPARTEMENT, "Finistère", "29")
    factors = list(SuccessFactor.objects.all()[:2])
    first = make_cooperation(
        '=HYPERLINK("http://evil") ; @coop',
        slug="formule",
        metropoles=[brest, nantes],
        partners=[iroise, petr],
        themes=list(Theme.objects.all()[:3]),
        factors=factors,
        legal_form=LegalForm.objects.first(),
        summary="-moins\nligne 2",
        description="+plus; virgule, point-virgule",
        status=Cooperation.Status.ENDED,
        adds_scale=True,
        adds_pooling=True,
        provenance=Cooperation.Provenance.FABRIQUE,
    )
    first.participations.create(territory=departement, role="associe")
    make_source(first, "https://a.fr/x?p=1;q=2", title="Titre")
    make_source(first, "https://b.fr/", position=2)
    make_cooperation("Sans rien", slug="sans-rien", metropoles=[nantes], is_published=False)
    for index, name in enumerate(["Un", "Deux"]):
        make_cooperation(
            name,
            metropoles=[brest],
            signed_on=[datetime.date(2017, 7, 10), datetime.date(2017, 7, 1)][index],
            signed_on_precision=["day", "month"][index],
            starts_on=datetime.date(2017, 1, 1),
            ends_on=datetime.date(2019, 12, 31),
            last_verified_on=datetime.date(2026, 1, 2),
        )
    return Cooperation.objects.all()


@pytest.mark.parametrize(("index", "extension"), [(0, "xlsx"), (1, "ods"), (2, "csv")])
def test_export_then_reimport_reports_every_row_unchanged(
    editor_client, catalogue, index, extension
):
    response = editor_client.post(EXPORT, {"resource": "0", "format": str(index)})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'.{extension}"')
    plan = plan_import(read_spreadsheet(response.content, extension))
    assert plan.row_errors == []
    assert [(row.slug, row.changes) for row in plan.rows if row.changes] == []
    assert [row.action for row in plan.rows] == ["skip"] * catalogue.count()


def test_exported_formulas_are_neutralised(editor_client, catalogue):
    response = editor_client.post(EXPORT, {"resource": "0", "format": "2"})
    assert response.status_code == 200
    csv_text = response.content.decode("utf-8-sig")
    assert '\'=HYPERLINK(""http://evil"") ; @coop' in csv_text
    response = editor_client.post(EXPORT, {"resource": "0", "format": "1"})
    assert response.status_code == 200
    content = zipfile.ZipFile(io.BytesIO(response.content)).read("content.xml").decode()
    assert '<text:p>\'=HYPERLINK("http://evil") ; @coop' in content
    response = editor_client.post(EXPORT, {"resource": "0", "format": "0"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value]
    assert all(cell.data_type == "s" for cell in cells)
    assert not any(str(cell.value).startswith(("=", "+", "-", "@")) for cell in cells)


def test_export_keeps_the_changelist_filters(editor_client, catalogue):
    response = editor_client.post(
        EXPORT + "?is_published__exact=0", {"resource": "0", "format": "2"}
    )
    plan = plan_import(read_spreadsheet(response.content, "csv"))
    assert [row.slug for row in plan.rows] == ["sans-rien"]


def test_export_of_selected_cooperations(editor_client, catalogue):
    chosen = Cooperation.objects.get(slug="formule")
    response = editor_client.post(
        EXPORT, {"resource": "0", "format": "2", "export_items": [str(chosen.pk)]}
    )
    plan = plan_import(read_spreadsheet(response.content, "csv"))
    assert [row.slug for row in plan.rows] == ["formule"]


@pytest.mark.parametrize("user", ["editor_client", "reader_client"])
@pytest.mark.parametrize("query", ["?page=2", "?page=2&is_published__exact=0", "?zz=%00"])
def test_export_with_an_unknown_parameter_says_so_and_offers_the_whole_list(
    request, catalogue, user, query
):
    client = request.getfixturevalue(user)
    for response in (
        client.get(EXPORT + query, follow=True),
        client.post(EXPORT + query, {"resource": "0", "format": "2"}, follow=True),
    ):
        assert response.status_code == 200
        assert response.redirect_chain == [(EXPORT, 302)]
        page = response.content.decode()
        assert "Un paramètre de l&#x27;adresse n&#x27;est pas un filtre de la liste" in page
        assert "« page »" in page or "« zz »" in page
        assert "l&#x27;export porte sur toutes les coopérations" in page


def test_reader_may_export(reader_client, catalogue):
    response = reader_client.post(EXPORT, {"resource": "0", "format": "2"})
    assert response.status_code == 200


def test_generated_inventory_through_the_admin(reviewer_client, db):
    make_territory_world()
    data = write_inventory(*generate_rows(173, seed=5), "xlsx")
    # Its rows say « Publiée : oui »: publishing is the reviewers' permission.
    preview = upload(reviewer_client, data, "inventaire.xlsx")
    assert "173 ligne(s) : 173 nouvelle(s)" in preview.content.decode()
    confirm(reviewer_client, preview)
    assert Cooperation.objects.count() == 173
    assert Source.objects.count() == 173


def test_editors_maintain_the_alias_table_and_aliases_resolve(editor_client, territories):
    iroise = Territory.objects.get(code="242900074")
    response = editor_client.post(
        reverse("admin:cooperations_territoryalias_add"),
        {"alias": "Iroise", "territory": str(iroise.pk)},
    )
    assert response.status_code == 302
    page = upload(editor_client, CSV.replace("CC du Pays d'Iroise", "IROISE").encode())
    assert "1 nouvelle(s)" in page.content.decode()


def test_alias_spelled_twice_is_refused(editor_client, territories):
    iroise = Territory.objects.get(code="242900074")
    url = reverse("admin:cooperations_territoryalias_add")
    editor_client.post(url, {"alias": "Iroise", "territory": str(iroise.pk)})
    response = editor_client.post(url, {"alias": "iroise", "territory": str(iroise.pk)})
    assert (
        "Cet alias existe déjà (casse, accents et ponctuation ignorés)."
        in response.content.decode()
    )


def test_changelist_offers_import_and_export_to_editors_and_export_to_readers(
    client, db, territories
):
    client.force_login(make_staff(EDITORS, "editrice"))
    page = client.get(CHANGELIST).content.decode()
    assert IMPORT in page and EXPORT in page
    client.force_login(make_staff(READERS, "lecteur"))
    page = client.get(CHANGELIST).content.decode()
    assert IMPORT not in page and EXPORT in page


def test_confirmation_rechecks_the_file_and_writes_nothing_if_it_fails(editor_client, territories):
    preview = upload(editor_client, CSV.encode())
    Theme.objects.filter(slug="mobilites-transports").delete()
    done = confirm(editor_client, preview)
    assert done.redirect_chain[-1][0] == IMPORT
    assert "Rien n&#x27;a été importé" in done.content.decode()
    assert Cooperation.objects.count() == 0


def test_export_queries_do_not_grow_with_the_number_of_cooperations(
    editor_client, catalogue, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        response = editor_client.post(EXPORT, {"resource": "0", "format": "2"})
    assert response.status_code == 200
    for index in range(30):
        make_cooperation(f"Encore {index}", metropoles=[Territory.objects.get(code="242900314")])
    with django_assert_max_num_queries(20):
        response = editor_client.post(EXPORT, {"resource": "0", "format": "2"})
    assert response.status_code == 200
    assert len(plan_import(read_spreadsheet(response.content, "csv")).rows) == 34


LEARN = reverse("admin:cooperations_cooperation_import_learn")
UNKNOWN = "Nom;Métropoles;Partenaires\r\nContrat;Brest Métropole;Pays d'Iroize\r\n"


def learn(client, preview, **choice):
    form = {
        "tmp_storage_name": preview.context["form"].cleaned_data["import_file"].tmp_storage_name,
        "file_name": "inventaire.csv",
        "count": "1",
        "name_0": "Pays d'Iroize",
        **choice,
    }
    return client.post(LEARN, form)


def test_preview_offers_close_territories_for_an_unknown_name(editor_client, territories):
    preview = upload(editor_client, UNKNOWN.encode())
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="import-learn"' in page
    iroise = Territory.objects.get(code="242900074")
    label = "CC du Pays d&#x27;Iroise (Communauté de communes, 242900074)"
    assert f'value="{iroise.pk}"> {label}' in page


def test_a_chosen_territory_becomes_an_alias_and_the_file_passes(editor_client, territories):
    iroise = Territory.objects.get(code="242900074")
    preview = upload(editor_client, UNKNOWN.encode())
    page = learn(editor_client, preview, choice_0=str(iroise.pk))
    assert page.status_code == 200
    alias = TerritoryAlias.objects.get()
    assert (alias.alias, alias.territory, alias.source_file) == (
        "Pays d'Iroize",
        iroise,
        "inventaire.csv",
    )
    assert alias.created_by.username == "editrice" and alias.created_at is not None
    assert "1 ligne(s) : 1 nouvelle(s)" in page.content.decode()
    assert page.context["confirm_form"] is not None
    assert Cooperation.objects.count() == 0


def test_a_name_learnt_in_the_preview_resolves_the_next_upload(editor_client, territories):
    iroise = Territory.objects.get(code="242900074")
    learn(editor_client, upload(editor_client, UNKNOWN.encode()), choice_0=str(iroise.pk))
    other_file = (
        "Nom;Métropoles;Territoires associés\r\nAutre contrat;Brest Métropole;PAYS D'IROIZE\r\n"
    )
    preview = upload(editor_client, other_file.encode(), name="autre.csv")
    assert preview.status_code == 200
    plan = preview.context["result"].inventory_plan
    assert plan.is_valid, plan.row_errors
    assert plan.rows[0].participations[Participation.Role.ASSOCIATED] == [iroise.pk]
    assert 'id="import-learn"' not in preview.content.decode()


def test_a_codeless_territory_can_be_declared_from_the_preview(editor_client, territories):
    preview = upload(editor_client, UNKNOWN.encode())
    learn(editor_client, preview, choice_0="kind", kind_0="PETR")
    petr = Territory.objects.get(kind=Territory.Kind.PETR)
    assert (petr.name, petr.code) == ("Pays d'Iroize", "")
    assert TerritoryAlias.objects.get().territory == petr


def test_a_wrong_code_saves_nothing_and_says_why(editor_client, territories):
    preview = upload(editor_client, UNKNOWN.encode())
    page = learn(editor_client, preview, choice_0="code", code_0="123456789")
    assert page.status_code == 200
    assert "aucun territoire n&#x27;a ce code" in page.content.decode()
    assert TerritoryAlias.objects.count() == 0


def test_nothing_is_learnt_without_a_choice(editor_client, territories):
    preview = upload(editor_client, UNKNOWN.encode())
    page = learn(editor_client, preview, choice_0="")
    assert page.status_code == 200
    assert TerritoryAlias.objects.count() == 0
    assert "Pays d&#x27;Iroize" in page.content.decode()


def test_a_tampered_count_teaches_nothing_and_shows_the_file_again(editor_client, territories):
    preview = upload(editor_client, UNKNOWN.encode())
    page = learn(editor_client, preview, count="deux", choice_0="kind", kind_0="PETR")
    assert page.status_code == 200
    assert TerritoryAlias.objects.count() == 0
    assert 'id="import-learn"' in page.content.decode()


def test_readers_cannot_teach(reader_client, territories):
    stored = os.path.join(tempfile.gettempdir(), "tmpabcdef12")
    assert reader_client.post(LEARN, {"tmp_storage_name": stored}).status_code == 403


def test_only_a_file_of_the_upload_folder_is_read_back(editor_client, territories):
    page = editor_client.post(LEARN, {"tmp_storage_name": "/etc/passwd"}, follow=True)
    assert page.status_code == 200
    assert "Fichier introuvable" in page.content.decode()
    assert TerritoryAlias.objects.count() == 0
