"""The import preview: what each row changes, field by field; duplicates found by name; the
confirmation applies what was previewed or nothing."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from cooperations.demo import DEMO_PATH
from cooperations.importing import STALE_PREVIEW, plan_import, run_import
from cooperations.importing.changes import is_typographic, typography_note, word_diff
from cooperations.models import Cooperation, Participation, Source, Territory, Theme

from .conftest import get_or_make_territory, make_cooperation, make_source
from .test_admin_import import IMPORT, PROCESS, editor_client  # noqa: F401
from .test_importing import HEADER, sheet, table_counts


@pytest.fixture
def world(db):
    brest = get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    iroise = get_or_make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", "242900074")
    leon = get_or_make_territory(Territory.Kind.CC, "CC du Pays des Abers", "242900553")
    mobility = Theme.objects.get(label="Mobilités et transports")
    cooperation = make_cooperation(
        "Contrat Brest – Iroise",
        slug="contrat-brest-iroise",
        metropoles=[brest],
        partners=[iroise],
        themes=[mobility],
    )
    return {"brest": brest, "iroise": iroise, "abers": leon, "cooperation": cooperation}


def upload(client, text: str, name="bureau.csv", encoding="cp1252"):
    return client.post(
        IMPORT,
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile(name, text.encode(encoding)),
        },
    )


def confirm(client, preview, **changed):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in form.initial} | changed
    return client.post(PROCESS, data, follow=True)


def csv_text(*rows, header=HEADER) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


# --- Typography and word diffs -------------------------------------------------------------------


def test_dashes_quotes_spaces_and_ligatures_are_typography_but_letters_are_not():
    assert is_typographic("Brest – Iroise", "Brest - Iroise")
    assert is_typographic("Cœur de l’Ouest", "Coeur de l'Ouest")
    assert is_typographic("« Pacte »", '"Pacte"')
    assert is_typographic("Brest\u00a0Iroise", "Brest Iroise")
    assert not is_typographic("Brest – Iroise", "Brest – Iroise")
    assert not is_typographic("Brest – Iroise", "brest – iroise")
    assert not is_typographic("Étang", "Etang")


def test_a_typographic_change_names_the_characters_that_differ():
    note = typography_note("Toulouse – Cœur", "Toulouse - Coeur")
    assert note == "tiret demi-cadratin « – » → trait d'union « - » ; « œ » → « oe »"


def test_a_word_diff_keeps_the_changed_words_and_a_few_around():
    old = " ".join(f"mot{i}" for i in range(40))
    new = old.replace("mot20", "MOT")
    pieces = word_diff(old, new)
    assert ("-", "mot20") in pieces and ("+", "MOT") in pieces
    shown = " ".join(words for _kind, words in pieces)
    assert "mot14" in shown and "mot26" in shown
    assert "mot2 " not in shown and "mot39" not in shown


# --- What an update changes ----------------------------------------------------------------------


def test_a_dash_only_change_of_name_is_an_update_flagged_typographic(world):
    plan = plan_import(sheet(["Contrat Brest - Iroise", "Brest Métropole", "CC du Pays d'Iroise",
                              "Mobilités et transports"]))  # fmt: skip
    row = plan.rows[0]
    assert row.action == "update" and row.typographic_only
    [change] = row.details
    assert (change.label, change.old, change.new) == (
        "Nom",
        "Contrat Brest – Iroise",
        "Contrat Brest - Iroise",
    )
    assert change.typographic and "tiret demi-cadratin" in change.note


def test_partners_and_themes_added_and_removed_are_listed(world):
    partners = "CC du Pays d'Iroise; CC du Pays des Abers"
    plan = plan_import(sheet(["Contrat Brest – Iroise", "Brest Métropole", partners,
                              "Logistique"]))  # fmt: skip
    row = plan.rows[0]
    assert row.action == "update" and not row.typographic_only
    changes = {change.label: change for change in row.details}
    assert changes["Territoires partenaires"].added == ["CC du Pays des Abers (242900553)"]
    assert changes["Territoires partenaires"].removed == []
    assert changes["Thématiques"].added == ["Logistique"]
    assert changes["Thématiques"].removed == ["Mobilités et transports"]
    assert row.changes == ["Territoires partenaires", "Thématiques"]


def test_the_preview_shows_each_change_old_and_new(editor_client, world):  # noqa: F811
    text = csv_text(
        ["Contrat Brest - Iroise", "Brest Métropole", "CC du Pays d'Iroise; CC du Pays des Abers",
         "Mobilités et transports"],
    )  # fmt: skip
    page = upload(editor_client, text)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Modifiée" in html
    assert "<del>Contrat Brest – Iroise</del> → <ins>Contrat Brest - Iroise</ins>" in html
    assert "typographie seule : tiret demi-cadratin" in html
    assert "ajouté : <ins>CC du Pays des Abers (242900553)</ins>" in html
    assert Cooperation.objects.get().name == "Contrat Brest – Iroise"


# --- The confirmation applies the preview or nothing ---------------------------------------------


def test_confirmation_applies_the_previewed_changes(editor_client, world):  # noqa: F811
    text = csv_text(["Contrat Brest – Iroise", "Brest Métropole", "CC du Pays des Abers",
                     "Mobilités et transports"])  # fmt: skip
    done = confirm(editor_client, upload(editor_client, text))
    assert "Import terminé" in done.content.decode()
    partners = Participation.objects.filter(role="partenaire").values_list(
        "territory__name", flat=True
    )
    assert list(partners) == ["CC du Pays des Abers"]


def test_a_record_changed_since_the_preview_refuses_the_confirmation(editor_client, world):  # noqa: F811
    text = csv_text(["Contrat Brest – Iroise", "Brest Métropole", "CC du Pays des Abers",
                     "Mobilités et transports"])  # fmt: skip
    preview = upload(editor_client, text)
    # Someone edits the record in the admin between preview and confirmation: the preview's
    # « old » values are no longer the record's.
    Cooperation.objects.filter(pk=world["cooperation"].pk).update(name="Contrat revu")
    before = table_counts()
    done = confirm(editor_client, preview)
    assert done.redirect_chain[-1][0] == IMPORT
    assert "Le fichier ou le catalogue a changé depuis l&#x27;aperçu" in done.content.decode()
    assert table_counts() == before


def test_a_confirmation_with_another_digest_writes_nothing(editor_client, world):  # noqa: F811
    text = csv_text(["Nouvelle coopération", "Brest Métropole", "", ""])
    preview = upload(editor_client, text)
    before = table_counts()
    done = confirm(editor_client, preview, plan_digest="0" * 64)
    assert "Le fichier ou le catalogue a changé" in done.content.decode()
    assert table_counts() == before
    # The refused confirmation removed the uploaded file: sent again, it is said to be gone.
    again = confirm(editor_client, preview)
    assert "Fichier expiré : envoyez-le de nouveau." in again.content.decode()
    assert table_counts() == before


def test_a_confirmation_without_digest_is_refused(editor_client, world):  # noqa: F811
    preview = upload(editor_client, csv_text(["Nouvelle coopération", "Brest Métropole", "", ""]))
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in form.initial if name != "plan_digest"}
    response = editor_client.post(PROCESS, data)
    assert response.status_code == 200
    assert not Cooperation.objects.filter(name="Nouvelle coopération").exists()


def test_run_import_refuses_a_stale_digest_without_writing(world):
    rows = sheet(["Autre coopération", "Brest Métropole", "", ""])
    preview = plan_import(rows)
    Cooperation.objects.filter(pk=world["cooperation"].pk).update(name="Renommée")
    unrelated, _ = run_import(rows, commit=True, expected_digest=preview.digest)
    # A record the file does not name changed: the plan is the same, the import goes through.
    assert unrelated.is_valid
    again = sheet(["Renommée", "Brest Métropole", "", ""])
    stale = plan_import(again).digest
    Cooperation.objects.filter(pk=world["cooperation"].pk).update(summary="Nouveau résumé")
    plan, outcome = run_import(again, commit=True, expected_digest=stale)
    assert plan.file_errors == [STALE_PREVIEW] and outcome is None


# --- Duplicates ----------------------------------------------------------------------------------


def test_a_new_row_with_the_same_folded_name_and_metropoles_updates_the_record(world):
    world["cooperation"].name = "Contrat Brest – Cœur d'Iroise"
    world["cooperation"].save()
    plan = plan_import(sheet(["Contrat Brest - Coeur d’Iroise", "Brest Métropole",
                              "CC du Pays d'Iroise", "Mobilités et transports"]))  # fmt: skip
    row = plan.rows[0]
    assert row.slug == "contrat-brest-iroise" and row.derived_slug == "contrat-brest-coeur-diroise"
    assert row.matched.pk == world["cooperation"].pk
    assert row.action == "update" and row.typographic_only
    run_import(sheet(["Contrat Brest - Coeur d’Iroise", "Brest Métropole", "CC du Pays d'Iroise",
                      "Mobilités et transports"]), commit=True)  # fmt: skip
    assert Cooperation.objects.count() == 1


def test_same_name_with_other_metropoles_is_another_cooperation(world):
    get_or_make_territory(Territory.Kind.METRO, "Nantes Métropole", "244400404")
    Cooperation.objects.filter(pk=world["cooperation"].pk).update(name="Pacte Cœur d'Iroise")
    plan = plan_import(sheet(["Pacte Coeur d'Iroise", "Nantes Métropole", "", ""]))
    assert plan.rows[0].action == "new" and plan.rows[0].matched is None


def test_a_row_giving_its_own_identifier_for_a_known_cooperation_shows_it(world):
    header = ["Identifiant", *HEADER]
    plan = plan_import(sheet(["autre-cle", "Contrat Brest - Iroise!", "Brest Métropole", "", ""],
                             header=header))  # fmt: skip
    assert plan.is_valid and plan.rows[0].action == "new"
    [lookalike] = plan.rows[0].lookalikes
    assert lookalike.pk == world["cooperation"].pk
    assert lookalike.reason.startswith("même nom (casse, accents et ponctuation ignorés)")


def test_two_rows_of_one_cooperation_with_their_own_identifiers_are_a_warning(world):
    header = ["Identifiant", *HEADER]
    plan = plan_import(sheet(
        ["pacte-a", "Pacte Cœur d’Iroise", "Brest Métropole", "", ""],
        ["pacte-b", "Pacte Coeur d'Iroise", "Brest Métropole", "", ""],
        header=header,
    ))  # fmt: skip
    assert plan.is_valid
    assert "que la ligne 2" in plan.rows[1].warnings[0]


def test_two_rows_of_one_cooperation_in_the_file_are_refused(world):
    # « d Iroise » makes another slug than « d'Iroise » (slugify drops apostrophes), the same
    # folded name.
    plan = plan_import(sheet(
        ["Pacte Cœur d’Iroise", "Brest Métropole", "", ""],
        ["Pacte Coeur d Iroise", "Brest Métropole", "", ""],
    ))  # fmt: skip
    assert plan.rows[0].action == "new"
    [error] = plan.row_errors
    assert error.line == 3 and "même nom et mêmes métropoles que la ligne 2" in error.message


def test_a_row_matching_a_record_already_updated_by_another_row_is_refused(world):
    plan = plan_import(sheet(
        ["Contrat Brest – Iroise", "Brest Métropole", "", ""],
        ["Contrat Brest - Iroise", "Brest Métropole", "", ""],
    ))  # fmt: skip
    messages = [error.message for error in plan.row_errors]
    assert messages == ["identifiant « contrat-brest-iroise » déjà utilisé ligne 2."]


def test_a_close_name_or_a_shared_source_is_shown_as_a_lookalike(editor_client, world):  # noqa: F811
    make_source(world["cooperation"], "https://example.org/contrat")
    text = csv_text(
        ["Contrat Brest Iroise 2", "Brest Métropole", "", "", "https://example.org/contrat"],
        header=[*HEADER, "Sources"],
    )
    page = upload(editor_client, text)
    html = page.content.decode()
    change = reverse("admin:cooperations_cooperation_change", args=[world["cooperation"].pk])
    assert f'href="{change}"' in html
    assert "même source (https://example.org/contrat)" in html
    assert "indiquez son identifiant « contrat-brest-iroise »" in html
    plan = page.context["result"].inventory_plan
    assert [lookalike.pk for lookalike in plan.rows[0].lookalikes] == [world["cooperation"].pk]
    assert plan.rows[0].action == "new"


def test_a_close_name_with_the_same_metropoles_is_a_lookalike(world):
    plan = plan_import(sheet(["Contrat Brest – Iroises", "Brest Métropole", "", ""]))
    [lookalike] = plan.rows[0].lookalikes
    assert lookalike.reason == "nom proche, mêmes métropoles"


def test_cells_beyond_the_last_header_are_a_warning(world):
    plan = plan_import(sheet(["Autre", "Brest Métropole", "", "", "décalée"]))
    assert plan.is_valid
    assert plan.rows[0].warnings == [
        "1 cellule(s) remplie(s) au-delà de la dernière colonne d'en-tête, ignorée(s) : "
        "« décalée »."
    ]


# --- The office spreadsheet of the demo records --------------------------------------------------


def office_copy_of_the_demo() -> str:
    """The demo file as an office would type it: no identifier column, « - » for « – » and
    « Coeur » for « Cœur », French Excel's CSV."""
    rows = list(csv.reader(io.StringIO(DEMO_PATH.read_text(encoding="utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    name = header.index("Nom")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header[1:])
    for row in body:
        row[name] = row[name].replace("–", "-").replace("œ", "oe")
        writer.writerow(row[1:])
    return out.getvalue()


def test_office_copy_of_the_demo_is_typographic_updates_and_no_duplicate(
    official_territories,
    db,
    editor_client,  # noqa: F811
):
    call_command("load_demo", stdout=io.StringIO())
    count = Cooperation.objects.count()
    page = upload(editor_client, office_copy_of_the_demo())
    assert page.status_code == 200
    plan = page.context["result"].inventory_plan
    assert plan.is_valid, plan.row_errors[:3]
    dashed = sum(1 for row in plan.rows if "–" in (row.existing.fields["name"] if row.existing
                                                     else ""))  # fmt: skip
    assert plan.count("new") == 0
    assert plan.count("update") == dashed == plan.typographic_rows
    comminges = next(row for row in plan.rows if "Comminges" in row.fields["name"])
    # « Coeur » and « Cœur » make one slug: the row names its record by its identifier.
    assert comminges.existing is not None and comminges.action == "update"
    assert (
        comminges.slug == "contrat-de-reciprocite-toulouse-metropole-coeur-et-coteaux-du-comminges"
    )
    html = page.content.decode()
    assert re.search(r"Modifiée \(typographie seule\)", html)
    assert "« œ » → « oe »" in html
    confirm(editor_client, page)
    assert Cooperation.objects.count() == count
    assert Source.objects.filter(cooperation__slug=comminges.slug).exists()


# --- Ambiguous names -----------------------------------------------------------------------------

PARIS = csv_text(["Coopération Brest – Paris", "Brest Métropole", "{}", ""])


def test_an_ambiguous_name_gets_the_picker_and_the_choice_imports(
    official_territories,
    db,
    editor_client,  # noqa: F811
):
    page = upload(editor_client, PARIS.replace("{}", "Paris"))
    html = page.content.decode()
    assert "« Paris » : plusieurs territoires portent ce nom" in html
    assert "« Paris [COM:75056] » ou « Paris [DEP:75] »" in html
    commune = Territory.objects.get(kind="COM", code="75056")
    assert f'value="{commune.pk}"> Paris (Commune, 75056)' in html
    form = page.context["form"]
    learnt = editor_client.post(
        reverse("admin:cooperations_cooperation_import_learn"),
        {
            "tmp_storage_name": form.cleaned_data["import_file"].tmp_storage_name,
            "file_name": "bureau.csv",
            "count": "1",
            "name_0": "Paris",
            "choice_0": str(commune.pk),
        },
    )
    assert learnt.context["confirm_form"] is not None
    confirm(editor_client, learnt)
    cooperation = Cooperation.objects.get(name="Coopération Brest – Paris")
    assert cooperation.participations.filter(territory=commune).exists()


@pytest.mark.parametrize("cell", ["Paris [COM:75056]", "Paris [75056]", "[75056]"])
def test_a_code_in_brackets_settles_an_ambiguous_name(official_territories, db, cell):
    get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    rows = sheet(["Coopération Brest – Paris", "Brest Métropole", cell, ""])
    plan = plan_import(rows)
    assert plan.is_valid, plan.row_errors
    [handle] = plan.rows[0].participations["partenaire"]
    assert Territory.objects.get(pk=handle).kind == "COM"


def test_a_departement_and_a_region_of_one_number_are_told_apart_by_name(official_territories, db):
    get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")
    plan = plan_import(sheet(["Coopération Brest – Paris", "Brest Métropole", "Paris [75]", ""]))
    [handle] = plan.rows[0].participations["partenaire"]
    assert Territory.objects.get(pk=handle).kind == "DEP"


def test_the_preview_tells_how_each_territory_cell_was_read(editor_client, world):  # noqa: F811
    text = csv_text(["Nouvelle", "Brest Métropole", "Pays des Abers; [242900074]", ""])
    page = upload(editor_client, text)
    assert page.context["result"].inventory_plan.rows[0].resolutions == [
        ("Métropoles", "Brest Métropole", "Brest Métropole (242900314)"),
        ("Territoires partenaires", "Pays des Abers", "CC du Pays des Abers (242900553)"),
        ("Territoires partenaires", "[242900074]", "CC du Pays d'Iroise (242900074)"),
    ]
    html = page.content.decode()
    assert "<summary>Territoires reconnus</summary>" in html
    assert "Territoires partenaires : « Pays des Abers » → CC du Pays des Abers (242900553)" in html
