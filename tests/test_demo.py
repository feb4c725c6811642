"""The demo data: the 40 documented cooperations, loaded through the inventory import."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from cooperations.demo import DEMO_PATH, convert_documented
from cooperations.models import Cooperation, Participation, Source, Territory

DOCUMENTED = Path("/work/shared/data/cooperations-documentees.csv")


def test_conversion_renames_columns_and_adds_only_record_choices():
    source = "metropoles,nom,partenaires,thematiques,forme,date_signature,statut,notes,sources\n"
    source += (
        'Brest Métropole [242900314],Coop A,X [PETR],"T1; T2",Entente,2011,,Note,https://a.fr\n'
    )
    rows = list(
        csv.reader(io.StringIO(convert_documented(source).decode("utf-8-sig")), delimiter=";")
    )
    assert rows == [
        ["Identifiant", "Nom", "Métropoles", "Territoires partenaires", "Thématiques",
         "Forme de coopération", "Date de signature", "Statut", "Résumé", "Sources",
         "Provenance", "Publiée"],
        ["coop-a", "Coop A", "Brest Métropole [242900314]", "X [PETR]", "T1; T2", "Entente",
         "2011", "", "Note", "https://a.fr", "Ajout ultérieur", "oui"],
    ]  # fmt: skip


@pytest.mark.skipif(not DOCUMENTED.exists(), reason="documented CSV not available")
def test_committed_demo_file_is_up_to_date_with_the_documented_csv():
    assert DEMO_PATH.read_bytes() == convert_documented(DOCUMENTED.read_text(encoding="utf-8"))


def test_demo_loads_through_the_import_and_reloads_unchanged(official_territories, db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "40 ligne(s) : 40 nouvelle(s)" in out.getvalue()
    assert Cooperation.objects.count() == 40
    assert Cooperation.objects.filter(is_published=True).count() == 40
    assert Source.objects.count() >= 40
    assert not Cooperation.objects.filter(sources__isnull=True).exists()
    pays_cob = Territory.objects.get(name="Pays du Centre Ouest Bretagne")
    assert (pays_cob.kind, pays_cob.code) == ("PETR", "")
    lyon = Cooperation.objects.get(slug="contrat-de-reciprocite-metropole-de-lyon-pays-daurillac")
    assert lyon.status == Cooperation.Status.ABANDONED
    assert lyon.participations.get(role=Participation.Role.METROPOLE).territory.kind == "MET69"

    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "40 inchangée(s)" in out.getvalue()
    assert Cooperation.objects.count() == 40


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
