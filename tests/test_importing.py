"""The import service: resolution, errors, all-or-nothing, idempotence."""

import datetime
from unittest import mock

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cooperations import importing
from cooperations.derived import stale_count
from cooperations.importing import plan_import, run_import, writing
from cooperations.inventory import Sheet
from cooperations.models import (
    Cooperation,
    Participation,
    Source,
    Territory,
    TerritoryAlias,
)
from cooperations.search import stems

from .conftest import get_or_make_territory, make_territory

HEADER = ["Nom", "Métropoles", "Territoires partenaires", "Thématiques"]


def sheet(*rows, header=HEADER) -> Sheet:
    return Sheet(header=list(header), rows=[(n, list(r)) for n, r in enumerate(rows, start=2)])


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def brest(db):
    return get_or_make_territory(Territory.Kind.METRO, "Brest Métropole", "242900314")


@pytest.fixture
def iroise(db):
    return get_or_make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", "242900074")


@pytest.fixture
def full_row(brest, iroise):
    header = [
        "Identifiant",
        "Nom",
        "Métropoles",
        "Territoires partenaires",
        "Territoires associés",
        "Forme de coopération",
        "Statut",
        "Date de signature",
        "Date de début",
        "Date de fin",
        "Thématiques",
        "Facteurs de réussite",
        "Facteur vision (comment)",
        "Plus-value",
        "Résumé",
        "Description",
        "Gouvernance",
        "Financements",
        "Moyens humains",
        "Provenance",
        "Sources",
        "Dernière vérification",
        "Publiée",
    ]
    row = [
        "brest-iroise",
        "Contrat Brest – Iroise",
        "Brest Métropole",
        "CC du Pays d'Iroise",
        "Pays de Brest [PETR]",
        "Contrat de réciprocité",
        "Active",
        "07/2017",
        "2017",
        "2020",
        "Mobilités et transports; Culture, patrimoine et sport",
        "La mise en place d'espaces de gouvernance adaptés",
        "Une vision partagée",
        "Mutualisation, Filières",
        "Un résumé",
        "Une description\nsur deux lignes",
        "Comité",
        "Budget",
        "Un chargé de mission",
        "Inventaire 2018",
        "https://a.fr/1 https://b.fr/2",
        "15/01/2026",
        "oui",
    ]
    return header, row


def test_dry_run_writes_nothing(full_row):
    before = table_counts()
    plan, outcome = run_import(sheet(full_row[1], header=full_row[0]), commit=False)
    assert plan.is_valid and outcome is None
    assert plan.count("new") == 1
    assert table_counts() == before


def test_commit_creates_the_cooperation_with_every_field(full_row, brest, iroise):
    plan, outcome = run_import(sheet(full_row[1], header=full_row[0]), commit=True)
    assert outcome.created == 1 and outcome.territories_created == 1
    cooperation = Cooperation.objects.get(slug="brest-iroise")
    assert cooperation.name == "Contrat Brest – Iroise"
    assert cooperation.legal_form.slug == "contrat-de-reciprocite"
    assert cooperation.status == Cooperation.Status.ACTIVE
    assert (cooperation.signed_on, cooperation.signed_on_precision) == (
        datetime.date(2017, 7, 1),
        "month",
    )
    assert cooperation.starts_on == datetime.date(2017, 1, 1)
    assert cooperation.ends_on == datetime.date(2020, 1, 1)
    assert sorted(cooperation.themes.values_list("slug", flat=True)) == [
        "culture-patrimoine-sport",
        "mobilites-transports",
    ]
    assert dict(cooperation.factor_links.values_list("factor__slug", "text")) == {
        "gouvernance": "",
        "vision": "Une vision partagée",
    }
    assert (cooperation.adds_scale, cooperation.adds_value_chain, cooperation.adds_pooling) == (
        False,
        True,
        True,
    )
    assert cooperation.description == "Une description\nsur deux lignes"
    assert (cooperation.governance, cooperation.funding, cooperation.staffing) == (
        "Comité",
        "Budget",
        "Un chargé de mission",
    )
    assert cooperation.provenance == Cooperation.Provenance.INVENTORY_2018
    assert cooperation.last_verified_on == datetime.date(2026, 1, 15)
    assert cooperation.is_published
    assert list(cooperation.sources.values_list("url", "position")) == [
        ("https://a.fr/1", 1),
        ("https://b.fr/2", 2),
    ]
    roles = {(p.territory.name, p.role) for p in cooperation.participations.all()}
    assert roles == {
        ("Brest Métropole", "metropole"),
        ("CC du Pays d'Iroise", "partenaire"),
        ("Pays de Brest", "associe"),
    }
    petr = Territory.objects.get(name="Pays de Brest")
    assert (petr.kind, petr.code, petr.search_name) == ("PETR", "", "pays de brest")
    assert cooperation.history.count() == 1
    assert cooperation.history.get().themes.count() == 2
    assert (
        stems("iroise") in cooperation.search_text
        and stems("pays de brest") in cooperation.search_text
    )
    assert "Pays de Brest" in cooperation.export_text
    assert stale_count() == 0


def test_reimporting_the_same_file_changes_nothing(full_row):
    data = sheet(full_row[1], header=full_row[0])
    run_import(data, commit=True)
    before = table_counts()
    plan, outcome = run_import(data, commit=True)
    assert [row.action for row in plan.rows] == ["skip"]
    assert outcome.created == outcome.updated == 0
    assert table_counts() == before


def test_a_changed_cell_is_an_update_naming_its_column(full_row):
    header, row = full_row
    run_import(sheet(row, header=header), commit=True)
    row = list(row)
    row[header.index("Statut")] = "Terminée"
    row[header.index("Thématiques")] = "Mobilités et transports"
    plan, outcome = run_import(sheet(row, header=header), commit=True)
    assert plan.rows[0].action == "update"
    assert plan.rows[0].changes == ["Statut", "Thématiques"]
    cooperation = Cooperation.objects.get()
    assert cooperation.status == "terminee"
    assert list(cooperation.themes.values_list("slug", flat=True)) == ["mobilites-transports"]
    assert cooperation.history.count() == 2
    assert stems("culture") not in cooperation.search_text
    assert stale_count() == 0
    latest = cooperation.history.latest()
    assert latest.history_type == "~"
    assert [t.theme.slug for t in latest.themes.all()] == ["mobilites-transports"]


def test_slug_is_derived_from_the_name_and_is_the_import_key(brest):
    plan, _ = run_import(sheet(["Contrat d'Été à Brest", "Brest Métropole", "", ""]), commit=True)
    assert Cooperation.objects.get().slug == "contrat-dete-a-brest"
    plan, _ = run_import(sheet(["Contrat d'Été à Brest", "Brest Métropole", "", ""]), commit=True)
    assert plan.rows[0].action == "skip"


def test_a_name_with_oe_gets_its_letters_in_the_slug_and_matches_its_plain_spelling(brest):
    row = ["Contrat Cœur et Coteaux du Comminges", "Brest Métropole", "", ""]
    plan, _ = run_import(sheet(row), commit=True)
    assert Cooperation.objects.get().slug == "contrat-coeur-et-coteaux-du-comminges"
    # « Coeur » typed without the ligature names the same record: the same slug, the same key.
    plan, _ = run_import(sheet(["Contrat Coeur et Coteaux du Comminges", *row[1:]]), commit=True)
    assert plan.is_valid, plan.row_errors
    assert plan.rows[0].existing is not None
    assert plan.rows[0].action != "new"
    assert Cooperation.objects.count() == 1


def test_a_slug_cell_with_oe_is_refused_with_its_spelled_form(brest):
    plan = plan_import(
        sheet(["cœur", "Cœur", "Brest Métropole"], header=["Identifiant", "Nom", "Métropoles"])
    )
    assert not plan.is_valid
    assert "« coeur »" in plan.row_errors[0].message


def test_a_slug_the_site_uses_for_itself_is_never_given_to_a_cooperation(brest):
    # « flux » is the list's Atom feed under /cooperations/: a record there would be unreachable.
    plan, _ = run_import(sheet(["Flux", "Brest Métropole", "", ""]), commit=True)
    assert plan.is_valid, plan.row_errors
    assert Cooperation.objects.get().slug == "flux-cooperation"
    plan = plan_import(
        sheet(["flux", "Autre", "Brest Métropole"], header=["Identifiant", "Nom", "Métropoles"])
    )
    assert not plan.is_valid
    assert "« flux » est réservé" in plan.row_errors[0].message


def test_columns_absent_from_the_file_are_left_as_they_are(full_row):
    run_import(sheet(full_row[1], header=full_row[0]), commit=True)
    plan, _ = run_import(
        sheet(
            ["brest-iroise", "Contrat Brest – Iroise", "Brest Métropole"],
            header=["Identifiant", "Nom", "Métropoles"],
        ),
        commit=True,
    )
    assert plan.rows[0].action == "skip"
    cooperation = Cooperation.objects.get()
    assert cooperation.themes.count() == 2
    assert cooperation.participations.count() == 3


def test_source_titles_typed_in_the_admin_survive_a_reimport(full_row):
    data = sheet(full_row[1], header=full_row[0])
    run_import(data, commit=True)
    Source.objects.filter(url="https://a.fr/1").update(title="Communiqué")
    plan, _ = run_import(data, commit=True)
    assert plan.rows[0].action == "skip"
    assert Source.objects.get(url="https://a.fr/1").title == "Communiqué"


# --- Territories ---------------------------------------------------------------------------------


def resolve(cell, column="Territoires partenaires"):
    header = ["Nom", "Métropoles", column] if column != "Métropoles" else ["Nom", "Métropoles"]
    row = ["X", "Brest Métropole", cell] if column != "Métropoles" else ["X", cell]
    plan = plan_import(sheet(row, header=header))
    if plan.row_errors:
        return [error.message for error in plan.row_errors]
    role = {
        "Métropoles": "metropole",
        "Territoires partenaires": "partenaire",
        "Territoires associés": "associe",
    }[column]
    return [plan.index.label(h) for h in plan.rows[0].participations[role]]


@pytest.mark.parametrize(
    "cell",
    [
        "CC du Pays d'Iroise",
        "cc du pays d iroise",
        "CC DU PAYS D'IROISE  ",
        "CC du Pays d’Iroise",
        "Communauté de communes du Pays d'Iroise",
        "CC Pays d'Iroise",
        "242900074",
        "Iroise [242900074]",
        "CC du Pays d'Iroise (242900074)",
    ],
)
def test_partner_found_by_name_prefix_or_siren(brest, iroise, cell):
    assert resolve(cell) == ["CC du Pays d'Iroise (242900074)"]


def test_name_without_its_kind_prefix_finds_the_grouping(brest, iroise):
    assert resolve("Pays d'Iroise") == ["CC du Pays d'Iroise (242900074)"]


def test_ambiguous_name_lists_candidates_with_codes(brest):
    make_territory(Territory.Kind.COMMUNE, "Saint-Fictif", code="9A001")
    make_territory(Territory.Kind.COMMUNE, "Saint Fictif", code="9A002")
    assert resolve("saint-fictif") == [
        "« saint-fictif » désigne plusieurs territoires : Saint Fictif (Commune, 9A002) ; "
        "Saint-Fictif (Commune, 9A001). Indiquez lequel avec son code entre crochets : "
        "« Saint Fictif [COM:9A002] » ou « Saint-Fictif [COM:9A001] »."
    ]


def test_unknown_name_is_an_error_explaining_what_to_do(brest):
    assert resolve("Pays de Nulle Part") == [
        "Territoire inconnu : « Pays de Nulle Part ». Indiquez son code officiel (SIREN ou "
        "INSEE), ajoutez un alias dans l'administration, ou, pour un territoire sans code, "
        "précisez sa nature au début du nom (PETR, Pôle métropolitain, Syndicat mixte, Parc "
        "naturel régional…) ou entre crochets : « Pays de Nulle Part [PETR] »."
    ]


def test_unknown_code_is_an_error(brest):
    assert resolve("999999999") == [
        "Aucun territoire n'a le code officiel « 999999999 » dans la liste chargée."
    ]


def test_kind_in_brackets_reuses_an_existing_territory_of_that_kind(brest):
    petr = make_territory(Territory.Kind.PETR, "Pays de Fiction", code="")
    assert resolve("PAYS DE FICTION [PETR]") == [petr.name]


def test_kind_in_brackets_creates_one_uncoded_territory_for_the_whole_file(brest):
    rows = [
        ["A", "Brest Métropole", "Pays de Retz [PETR]"],
        ["B", "Brest Métropole", "pays de retz [petr]"],
    ]
    plan, outcome = run_import(sheet(*rows, header=["Nom", "Métropoles", "Partenaires"]), True)
    assert outcome.territories_created == 1
    assert Territory.objects.get(kind="PETR").participations.count() == 2


def test_official_kinds_are_never_created_from_a_name(brest):
    assert resolve("Nulle-Commune [COM]")[0].startswith("Territoire inconnu")


def test_departement_by_kind_and_code(brest):
    make_territory(Territory.Kind.DEPARTEMENT, "Département fictif", code="990")
    make_territory(Territory.Kind.REGION, "Région fictive", code="990")  # same code, other kind
    assert resolve("[DEP:990]") == ["Département fictif (990)"]
    assert resolve("990")[0].startswith("« 990 » désigne plusieurs territoires")


def test_alias_wins_over_name_matching(brest, iroise):
    TerritoryAlias.objects.create(alias="Iroise", territory=iroise)
    assert resolve("IROISE") == ["CC du Pays d'Iroise (242900074)"]


def test_metropole_column_accepts_only_metropoles(brest, iroise):
    assert resolve("Brest", column="Métropoles") == ["Brest Métropole (242900314)"]
    assert resolve("242900074", column="Métropoles") == [
        "« CC du Pays d'Iroise » n'est pas une des 22 métropoles."
    ]


def test_metropole_column_cannot_be_empty(brest):
    assert resolve("", column="Métropoles") == ["au moins une métropole est obligatoire."]


def test_same_territory_twice_in_a_row_is_an_error(brest):
    plan = plan_import(sheet(["X", "Brest Métropole", "Brest Métropole [242900314]", ""]))
    assert [str(e) for e in plan.row_errors] == [
        "Ligne 2, colonne « Territoires partenaires », valeur « Brest Métropole [242900314] » : "
        "« Brest Métropole (242900314) » figure déjà comme métropole de cette coopération."
    ]


# --- Errors and all-or-nothing --------------------------------------------------------------------


def test_one_bad_row_rejects_the_whole_file_and_leaves_every_table_untouched(brest, iroise):
    before = table_counts()
    rows = [
        ["Bon", "Brest Métropole", "CC du Pays d'Iroise", "Mobilités et transports"],
        ["Mauvais", "Brest Métropole", "", "Mobilité douce"],
    ]
    plan, outcome = run_import(sheet(*rows), commit=True)
    assert outcome is None
    assert [row.action for row in plan.rows] == ["new", "invalid"]
    assert [str(e) for e in plan.row_errors] == [
        "Ligne 3, colonne « Thématiques », valeur « Mobilité douce » : Thématique inconnue : "
        "« Mobilité douce ». Valeurs proches : « Mobilités et transports » ; « Forêt et filière "
        "bois » ; « Attractivité et rayonnement »."
    ]
    assert table_counts() == before


def test_an_interrupted_import_changes_nothing(full_row):
    before = table_counts()
    plan = plan_import(sheet(full_row[1], header=full_row[0]))
    failure = mock.patch.object(writing, "_replace_sources", side_effect=RuntimeError("coupure"))
    with failure, pytest.raises(RuntimeError):
        importing.apply_import(plan)
    assert table_counts() == before


def test_duplicate_slug_in_a_file_is_an_error(brest):
    plan = plan_import(
        sheet(["Même nom", "Brest Métropole", "", ""], ["Même nom", "Brest Métropole", "", ""])
    )
    assert [str(e) for e in plan.row_errors] == [
        "Ligne 3, colonne « Nom », valeur « Même nom » : identifiant « meme-nom » déjà utilisé "
        "ligne 2."
    ]


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        (
            ["Nom", "Métropoles", "Date de début", "Date de fin"],
            ["X", "Brest Métropole", "2020", "2019"],
            "Ligne 2, colonne « Date de fin », valeur « 2019 » : la date de fin précède la date de "
            "début.",
        ),
        (
            ["Nom", "Métropoles", "Statut"],
            ["X", "Brest Métropole", "En pause"],
            "Ligne 2, colonne « Statut », valeur « En pause » : Valeur de statut inconnue : « En "
            "pause ». Valeurs proches : « En projet » ; « Active » ; « Terminée ».",
        ),
        (
            ["Nom", "Métropoles", "Identifiant"],
            ["X", "Brest Métropole", "Mon Slug"],
            "Ligne 2, colonne « Identifiant », valeur « Mon Slug » : un identifiant ne contient "
            "que des minuscules sans accent, des chiffres et des tirets (200 au plus), par exemple "
            "« mon-slug ».",
        ),
        (
            ["Nom", "Métropoles"],
            ["", "Brest Métropole"],
            "Ligne 2, colonne « Nom » : le nom est obligatoire.",
        ),
        (
            ["Nom", "Métropoles", "Sources"],
            ["X", "Brest Métropole", "https://exa mple"],
            "Ligne 2, colonne « Sources », valeur « https://exa mple » : « mple » n'est pas une "
            "adresse http(s).",
        ),
        (
            ["Nom", "Métropoles", "Date de signature"],
            ["X", "Brest Métropole", "vers 2017"],
            "Ligne 2, colonne « Date de signature », valeur « vers 2017 » : « vers 2017 » n'est "
            "pas une date lisible (formats acceptés : 2017, 07/2017, 10/07/2017, 2017-07-10).",
        ),
        (
            ["Nom", "Métropoles", "Forme"],
            ["X", "Brest Métropole", "Contrat"],
            "Ligne 2, colonne « Forme », valeur « Contrat » : Forme de coopération inconnue : "
            "« Contrat ». Valeurs proches : « Contrat de réciprocité » ; « Charte » ; « Convention "
            "de coopération ».",
        ),
        (
            ["Nom", "Métropoles", "Publiée"],
            ["X", "Brest Métropole", "bientôt"],
            "Ligne 2, colonne « Publiée », valeur « bientôt » : « bientôt » : répondez « oui » ou "
            "« non ».",
        ),
    ],
)
def test_each_bad_cell_gets_an_error_with_line_column_and_value(brest, header, row, message):
    plan = plan_import(sheet(row, header=header))
    assert [str(e) for e in plan.row_errors] == [message]


def test_missing_required_column_rejects_the_file(brest):
    plan = plan_import(sheet(["X"], header=["Nom"]))
    assert plan.file_errors == ["Colonne obligatoire absente : « Métropoles »."]
    assert not plan.is_valid


def test_planning_costs_the_same_queries_whatever_the_number_of_rows(brest, iroise):
    def queries(n):
        rows = [
            [f"Coop {i}", "Brest Métropole", "CC du Pays d'Iroise", "Logistique"] for i in range(n)
        ]
        with CaptureQueriesContext(connection) as context:
            plan_import(sheet(*rows))
        return len(context.captured_queries)

    assert queries(3) == queries(60)


def test_commit_costs_a_bounded_number_of_queries(brest, iroise):
    def queries(n):
        rows = [
            [f"Lot{n} coop {i}", "Brest Métropole", "CC du Pays d'Iroise", "Logistique"]
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as context:
            run_import(sheet(*rows), commit=True)
        return len(context.captured_queries)

    # Bulk statements: the count grows with batches of rows (SQLite caps parameters), not rows.
    # The import lock's transaction and its advisory lock (PostgreSQL) add up to 3, lifting the
    # web server's statement timeout 3 more (PostgreSQL: a savepoint, SET LOCAL, its release),
    # the derived texts (search and export) 9 reads per batch of 500 rows and their writes;
    # the duplicate check reads every record's name and métropoles (2).
    assert queries(3) < 37
    assert queries(150) < 47


def test_participation_history_is_recorded(brest, iroise):
    run_import(sheet(["X", "Brest Métropole", "CC du Pays d'Iroise", ""]), commit=True)
    assert Participation.history.count() == 2


def test_official_name_with_a_comma_is_not_split(brest):
    make_territory(Territory.Kind.CC, "CC Alpha, Beta et Gamma", code="900000001")
    make_territory(Territory.Kind.CC, "CC Delta Fictive", code="900000002")
    assert resolve("CC Alpha, Beta et Gamma") == ["CC Alpha, Beta et Gamma (900000001)"]
    assert resolve("CC Delta Fictive, CC Alpha, Beta et Gamma") == [
        "CC Delta Fictive (900000002)",
        "CC Alpha, Beta et Gamma (900000001)",
    ]


def test_comma_separated_new_territories_stay_separate(brest):
    assert resolve("Pays A [PETR], Pays B [PETR]") == [
        "Pays A (PETR / pays, à créer, sans code officiel)",
        "Pays B (PETR / pays, à créer, sans code officiel)",
    ]


def test_update_removes_reorders_and_records_history(full_row):
    header, row = full_row
    run_import(sheet(row, header=header), commit=True)
    row = list(row)
    row[header.index("Territoires partenaires")] = ""
    row[header.index("Facteurs de réussite")] = "vision"
    row[header.index("Facteur vision (comment)")] = "Autrement dit"
    row[header.index("Sources")] = "https://b.fr/2\nhttps://c.fr/3"
    row[header.index("Thématiques")] = "Logistique"
    plan, outcome = run_import(sheet(row, header=header), commit=True)
    assert outcome.updated == 1
    cooperation = Cooperation.objects.get()
    assert {p.role for p in cooperation.participations.all()} == {"metropole", "associe"}
    assert dict(cooperation.factor_links.values_list("factor__slug", "text")) == {
        "vision": "Autrement dit"
    }
    assert list(cooperation.sources.values_list("url", "position")) == [
        ("https://b.fr/2", 1),
        ("https://c.fr/3", 2),
    ]
    assert list(cooperation.themes.values_list("slug", flat=True)) == ["logistique"]
    assert Participation.history.filter(history_type="-").count() == 1
    plan, _ = run_import(sheet(row, header=header), commit=True)
    assert plan.rows[0].action == "skip"


def test_overlong_new_territory_name_is_an_error(brest):
    assert resolve("P" * 201 + " [PETR]") == ["un nom de territoire compte 200 caractères au plus."]


def test_unknown_metropole_gets_its_own_message(brest):
    assert resolve("Métropole de Nulle Part", column="Métropoles") == [
        "Métropole inconnue : « Métropole de Nulle Part ». Indiquez son nom officiel ou son "
        "SIREN (voir le modèle), ou ajoutez un alias dans l'administration."
    ]


def test_a_huge_cell_is_quoted_cut_in_its_message(brest):
    plan = plan_import(sheet(["X", "Brest Métropole", "Nulle part " * 2000, ""]))
    (error,) = plan.row_errors
    assert len(str(error)) < 700
    assert "Nulle part Nulle part" in str(error)
    assert "…" in str(error)


def test_thousands_of_unknown_columns_are_summarised(brest):
    header = ["Nom", "Métropoles", *(f"Colonne libre {n}" for n in range(5000))]
    plan = plan_import(sheet(["X", "Brest Métropole"], header=header))
    assert plan.is_valid
    assert len(plan.ignored_headers) == 5000
    assert plan.ignored_summary.endswith("« Colonne libre 9 » et 4990 autres")


def test_a_name_tells_a_region_from_a_departement_sharing_its_code(brest):
    bretagne = get_or_make_territory(Territory.Kind.REGION, "Bretagne", "53")
    mayenne = get_or_make_territory(Territory.Kind.DEPARTEMENT, "Mayenne", "53")
    assert resolve("Bretagne (53)") == [plan_label(bretagne)]
    assert resolve("Mayenne (53)") == [plan_label(mayenne)]
    assert resolve("53")[0].startswith("« 53 » désigne plusieurs territoires")


def plan_label(territory) -> str:
    return f"{territory.name} ({territory.code})"


def test_an_unknown_status_written_in_words_is_blank(brest):
    row = ["X", "Brest Métropole", "Non renseigné"]
    plan = plan_import(sheet(row, header=["Nom", "Métropoles", "Statut"]))
    assert plan.is_valid
    assert plan.rows[0].fields["status"] == ""
