"""The demo data: the documented cooperations of fixtures/documented/ and their illustrations,
loaded through the inventory import."""

import csv
import io

import pytest
from django.core.management import call_command

from cooperations.demo import DATA_DIR, DEMO_PATH, HEADERS, convert_data_dir, convert_documented
from cooperations.inventory import ParseError
from cooperations.models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    Participation,
    Source,
    Territory,
)

SOURCE_HEADER = "metropoles,nom,partenaires,thematiques,forme,date_signature,statut,notes,sources\n"
FACTOR_HEADER = "cooperation,facteur,texte,source,page\n"


def test_conversion_renames_columns_and_adds_only_record_choices():
    source = "metropoles,nom,partenaires,thematiques,forme,date_signature,statut,notes,sources\n"
    source += (
        'Brest Métropole [242900314],Coop A,X [PETR],"T1; T2",Entente,2011,,Note,https://a.fr\n'
    )
    rows = list(
        csv.reader(io.StringIO(convert_documented(source).decode("utf-8-sig")), delimiter=";")
    )
    assert [row[:12] for row in rows] == [
        ["Identifiant", "Nom", "Métropoles", "Territoires partenaires", "Thématiques",
         "Forme de coopération", "Date de signature", "Statut", "Résumé", "Sources",
         "Provenance", "Publiée"],
        ["coop-a", "Coop A", "Brest Métropole [242900314]", "X [PETR]", "T1; T2", "Entente",
         "2011", "", "Note", "https://a.fr", "Ajout ultérieur", "oui"],
    ]  # fmt: skip
    assert set(rows[1][12:]) == {""}


def test_conversion_merges_the_supplementary_file_and_places_each_illustration():
    documented = SOURCE_HEADER + "Brest Métropole [242900314],Coop A,,,,,,,https://a.fr\n"
    supplementary = SOURCE_HEADER + "Brest Métropole [242900314],Coop B,,,,,,,https://b.fr\n"
    factors = (
        FACTOR_HEADER
        + "Coop B,vision,Une vision commune.,https://b.fr/vision,\n"
        + "Coop B,plus-value:mutualisation,Un service commun.,https://b.fr/mutu,\n"
    )
    data = convert_documented(documented, supplementary, factors).decode("utf-8-sig")
    rows = [
        dict(zip(HEADERS, row, strict=True)) for row in csv.reader(io.StringIO(data), delimiter=";")
    ][1:]
    assert [row["Nom"] for row in rows] == ["Coop A", "Coop B"]
    assert rows[1]["Facteur vision (comment)"] == "Une vision commune."
    assert rows[1]["Facteur vision (source)"] == "https://b.fr/vision"
    assert rows[1]["Plus-value mutualisation (source)"] == "https://b.fr/mutu"
    assert rows[0]["Facteur vision (comment)"] == ""
    assert rows[1]["Provenance"] == "Ajout ultérieur"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Coop Z,vision,Texte.,https://z.fr,", "coopération inconnue « Coop Z »"),
        ("Coop A,ambition,Texte.,https://z.fr,", "facteur ou plus-value inconnu « ambition »"),
        ("Coop A,vision,Texte.,,", "un texte et l'adresse de sa source sont requis"),
    ],
)
def test_conversion_fails_loudly_on_a_bad_illustration(line, message):
    documented = SOURCE_HEADER + "Brest Métropole [242900314],Coop A,,,,,,,https://a.fr\n"
    with pytest.raises(ParseError, match=message):
        convert_documented(documented, "", FACTOR_HEADER + line + "\n")


def documented_rows(name):
    return list(csv.DictReader(io.StringIO((DATA_DIR / name).read_text("utf-8-sig"))))


DOCUMENTED_NAMES = {
    row["nom"]
    for name in ("cooperations-documentees.csv", "cooperations-supplementaires.csv")
    for row in documented_rows(name)
}
ILLUSTRATIONS = documented_rows("facteurs-documentes.csv")


def test_every_illustration_names_a_documented_cooperation():
    # convert_data_dir raises on the first unknown name; this reads the real files.
    assert len(DOCUMENTED_NAMES) >= 47 and len(ILLUSTRATIONS) >= 95
    assert {row["cooperation"] for row in ILLUSTRATIONS} <= DOCUMENTED_NAMES


def test_committed_demo_file_is_up_to_date_with_the_documented_csvs():
    assert DEMO_PATH.read_bytes() == convert_data_dir(DATA_DIR)


def test_demo_loads_through_the_import_and_reloads_unchanged(official_territories, db):
    total = len(DOCUMENTED_NAMES)
    plus_values = sum(row["facteur"].startswith("plus-value:") for row in ILLUSTRATIONS)
    value_chains = {
        row["cooperation"] for row in ILLUSTRATIONS if row["facteur"] == "plus-value:filieres"
    }
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert f"{total} ligne(s) : {total} nouvelle(s)" in out.getvalue()
    assert Cooperation.objects.count() == total
    assert Cooperation.objects.filter(is_published=True).count() == total
    assert Source.objects.count() >= total
    # Each illustration, of a factor or of a plus-value, with its own source.
    assert CooperationFactor.objects.count() == len(ILLUSTRATIONS) - plus_values
    assert CooperationPlusValue.objects.count() == plus_values
    assert not CooperationFactor.objects.filter(source_url="").exists()
    assert not CooperationPlusValue.objects.filter(source_url="").exists()
    assert Cooperation.objects.filter(adds_value_chain=True).count() == len(value_chains)
    assert not Cooperation.objects.filter(sources__isnull=True).exists()
    pays_cob = Territory.objects.get(name="Pays du Centre Ouest Bretagne")
    assert (pays_cob.kind, pays_cob.code) == ("PETR", "")
    lyon = Cooperation.objects.get(slug="contrat-de-reciprocite-metropole-de-lyon-pays-daurillac")
    assert lyon.status == Cooperation.Status.ABANDONED
    assert lyon.participations.get(role=Participation.Role.METROPOLE).territory.kind == "MET69"
    eurodistrict = Cooperation.objects.get(slug="eurodistrict-strasbourg-ortenau")
    assert eurodistrict.legal_form.label == "Groupement européen de coopération territoriale"

    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert f"{total} inchangée(s)" in out.getvalue()
    assert Cooperation.objects.count() == total


def test_every_documented_row_cites_its_sources():
    # Read in the files, before any import: a row added without sources fails here first.
    rows = [
        row
        for name in ("cooperations-documentees.csv", "cooperations-supplementaires.csv")
        for row in documented_rows(name)
    ]
    assert rows
    unsourced = [
        row["nom"]
        for row in rows
        if not any(url.startswith(("https://", "http://")) for url in row["sources"].split())
    ]
    assert unsourced == []
    assert all(row["source"].startswith(("https://", "http://")) for row in ILLUSTRATIONS)


def test_published_demo_is_sourced_and_spans_at_least_twenty_metropoles(official_territories, db):
    call_command("load_demo", stdout=io.StringIO())
    published = Cooperation.objects.filter(is_published=True)
    assert published.count() >= 100
    metropoles = (
        Territory.objects.metropoles()
        .filter(
            participations__role=Participation.Role.METROPOLE,
            participations__cooperation__in=published,
        )
        .distinct()
    )
    assert metropoles.count() >= 20
    assert not published.exclude(sources__url__startswith="http").exists()
    assert not CooperationFactor.objects.exclude(source_url__startswith="http").exists()
    assert not CooperationPlusValue.objects.exclude(source_url__startswith="http").exists()


@pytest.mark.parametrize(
    ("cell", "siren"),
    [("Lille", "200093201"), ("MEL", "200093201"), ("Marseille", "200054807"),
     ("Paris", "200054781"), ("Lyon", "200046977"), ("Saint-Étienne", "244200770"),
     ("Métropole Européenne de Lille", "200093201"), ("Toulouse Métropole", "243100518")],
)  # fmt: skip
def test_usual_short_names_of_metropoles_in_the_metropole_column(
    official_territories, db, cell, siren
):
    from cooperations.importing import plan_import
    from cooperations.inventory import Sheet

    plan = plan_import(
        Sheet(header=["Nom", "Métropoles", "Partenaires"], rows=[(2, ["X", cell, "Lille"])])
    )
    assert plan.row_errors == []
    (metropole,) = plan.rows[0].participations["metropole"]
    (partner,) = plan.rows[0].participations["partenaire"]
    assert Territory.objects.get(pk=metropole).code == siren
    assert Territory.objects.get(pk=partner).kind == "COM"  # among partners, Lille is the commune
