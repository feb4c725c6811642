"""Territory names as people write them: the resolution rules, the shipped usual names and the
score on real spellings gathered from public pages.

Most tests build a `TerritoryIndex` in memory (no database: the rules are the same on both
engines); those that load aliases or plan an import use the database.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from cooperations.importing import NewTerritory, TerritoryIndex, plan_import
from cooperations.inventory import ParseError, Sheet, parse_territory_ref
from cooperations.models import CURRENT_VINTAGE, Participation, Territory, TerritoryAlias
from cooperations.territories import (
    load_aliases,
    read_alias_fixture,
    read_fixture,
)
from cooperations.text import fold

from .conftest import get_or_make_territory, make_territory

REAL_SPELLINGS = Path(__file__).parent / "data" / "real_spellings.csv"

# A small register: (kind, code, name) as the official list writes them.
REGISTER = [
    ("COM", "56121", "Lorient"),
    ("COM", "29232", "Quimper"),
    ("CA", "200042174", "CA Lorient Agglomération"),
    ("CA", "200068120", "CA Quimper Bretagne Occidentale"),
    ("CC", "242900074", "CC du Pays d'Iroise"),
    ("CC", "200072643", "CC Coeur et Coteaux du Comminges"),
    ("CA", "200067346", "CA Pornic Agglo Pays de Retz"),
    ("CA", "243800604", "CA Porte de l'Isère (CAPI)"),
    ("CA", "200067106", "CA du Pays Basque"),
    ("CU", "247200132", "CU Le Mans Métropole"),
    ("CU", "200027183", "CU Perpignan Méditerranée Métropole"),
    ("METRO", "243400017", "Montpellier Méditerranée Métropole"),
    ("METRO", "244200770", "Saint-Étienne Métropole"),
    ("CC", "990000001", "CC du Val Fictif"),
    ("CA", "990000002", "CA Val Fictif"),
    ("CA", "243500741", "CA du Pays de Saint Malo Agglomération"),
]


def index(aliases=()) -> TerritoryIndex:
    rows = [(pk, kind, code, name, fold(name)) for pk, (kind, code, name) in enumerate(REGISTER)]
    by_code = {code: pk for pk, (_kind, code, _name) in enumerate(REGISTER)}
    return TerritoryIndex(rows, [(fold(alias), by_code[code]) for alias, code in aliases])


def code_of(cell: str, territories: TerritoryIndex | None = None, allowed=()) -> str:
    territories = territories or index()
    handle = territories.resolve(parse_territory_ref(cell), allowed)
    return REGISTER[handle][1]


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        # Without the kind prefix the register writes.
        ("Quimper Bretagne Occidentale", "200068120"),
        ("Pays d'Iroise", "242900074"),
        # Case, accents, hyphens, apostrophes.
        ("SAINT ETIENNE METROPOLE", "244200770"),
        ("CC du Pays d’Iroise", "242900074"),
        # `&` for « et ».
        ("Cœur & Coteaux du Comminges", "200072643"),
        # « agglo » for « agglomération », and the other way round.
        ("Pornic Agglomération Pays de Retz", "200067346"),
        ("Lorient Agglo", "200042174"),
        # « St » for « Saint », with « agglo ».
        ("Pays de St Malo agglo", "243500741"),
        ("CA du Pays de St-Malo Agglomération", "243500741"),
        # Articles.
        ("CC Pays Iroise", "242900074"),
        ("Communauté de communes du Pays de l'Iroise", "242900074"),
        # The kind in words, and the kind word inside the usual name.
        ("Communauté d'agglomération de Lorient", "200042174"),
        ("Agglomération de Lorient", "200042174"),
        ("communauté Pays Basque", "200067106"),
        # « Métropole » in the name of a communauté urbaine.
        ("Le Mans Métropole", "247200132"),
        ("Perpignan Méditerranée Métropole", "200027183"),
        ("communauté urbaine du Mans", "247200132"),
        # A métropole by its city, since the cell says métropole.
        ("Métropole de Montpellier", "243400017"),
        # An acronym in brackets, the register's own acronym alone.
        ("Communauté d'agglomération Porte de l'Isère (CAPI)", "243800604"),
        ("CAPI", "243800604"),
        ("Communauté d'agglomération du Pays Basque (CAPB)", "200067106"),
    ],
)
def test_usual_variants_of_a_name_find_their_territory(cell, code):
    assert code_of(cell) == code


def test_an_alias_in_brackets_after_an_unknown_name_is_used():
    territories = index(aliases=[("CASA", "200042174")])
    assert code_of("Agglo inconnue (CASA)", territories) == "200042174"


def test_alias_is_read_loosely_too():
    territories = index(aliases=[("Quimper Agglo", "200068120")])
    assert code_of("Quimper Agglomération", territories) == "200068120"


def test_a_stricter_reading_wins_over_a_looser_one():
    assert code_of("Lorient") == "56121"
    assert code_of("Lorient Agglomération") == "200042174"


def test_a_bare_city_name_never_designates_its_grouping():
    territories = index()
    territories.by_name.pop("quimper")
    with pytest.raises(ParseError, match="Territoire inconnu : « Quimper »"):
        code_of("Quimper", territories)


def test_a_name_that_fits_several_territories_lists_each_with_kind_and_code():
    with pytest.raises(ParseError) as error:
        code_of("Val Fictif")
    assert str(error.value) == (
        "« Val Fictif » désigne plusieurs territoires : CA Val Fictif (Communauté "
        "d'agglomération, 990000002) ; CC du Val Fictif (Communauté de communes, 990000001). "
        "Indiquez lequel avec son code entre crochets : « CA Val Fictif [990000002] » ou "
        "« CC du Val Fictif [990000001] »."
    )


def test_a_prefix_settles_what_the_name_alone_leaves_open():
    assert code_of("CC Val Fictif") == "990000001"
    assert code_of("Communauté d'agglomération du Val Fictif") == "990000002"


def test_unknown_communaute_de_communes_suggests_its_own_kind_not_petr():
    with pytest.raises(ParseError) as error:
        code_of("Communauté de communes de Nulle Part")
    message = str(error.value)
    assert "« Communauté de communes de Nulle Part [CC] »" in message
    assert "[PETR]" not in message


def test_unknown_metropole_asks_for_its_siren():
    with pytest.raises(ParseError, match=r"Métropole inconnue : « Métropole de Nulle Part »"):
        code_of("Métropole de Nulle Part")


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("PETR du Pays de Retz", "PETR"),
        ("Pôle d'équilibre territorial et rural du Pays de Retz", "PETR"),
        ("Pôle métropolitain de l'Artois", "POLE"),
        ("Syndicat mixte du SCoT de l'agglomération tourangelle", "SM"),
        ("Parc naturel régional des Vosges du Nord", "PNR"),
        ("GIP Territoires numériques", "AUTRE"),
        ("Groupement d'intérêt public Territoires numériques", "AUTRE"),
        ("Association des maires ruraux", "AUTRE"),
    ],
)
def test_a_kind_written_in_words_creates_a_codeless_territory_of_that_kind(cell, kind):
    handle = index().resolve(parse_territory_ref(cell))
    assert handle == NewTerritory(kind, cell)
    assert str(handle).endswith("à créer, sans code officiel)")


def test_a_kind_word_never_creates_an_epci():
    with pytest.raises(ParseError):
        index().resolve(parse_territory_ref("CA de Nulle Part"))


# --- Real spellings and shipped aliases ----------------------------------------------------------


@pytest.fixture(scope="module")
def official_index():
    """The 2026 official list in memory, with the shipped aliases."""
    rows = read_fixture()
    territories = [(pk, row["kind"], row["code"], row["name"], "") for pk, row in enumerate(rows)]
    by_key = {(row["kind"], row["code"]): pk for pk, row in enumerate(rows)}
    aliases = [
        (fold(alias["alias"]), by_key[(alias["kind"], alias["code"])])
        for alias in read_alias_fixture()
    ]
    return rows, TerritoryIndex(territories, aliases)


def test_shipped_aliases_name_official_territories_once_with_a_public_source():
    aliases = read_alias_fixture()
    assert len(aliases) >= 20
    official = {(row["kind"], row["code"]) for row in read_fixture()}
    assert [a["alias"] for a in aliases if (a["kind"], a["code"]) not in official] == []
    folded = [fold(a["alias"]) for a in aliases]
    assert len(set(folded)) == len(folded)
    assert [a["alias"] for a in aliases if not re.match(r"https?://\S+$", a["source_url"])] == []


def test_real_spellings_resolve_without_any_wrong_match(official_index):
    rows, territories = official_index
    with open(REAL_SPELLINGS, encoding="utf-8", newline="") as handle:
        spellings = list(csv.DictReader(handle))
    assert len(spellings) >= 60
    assert all(re.match(r"https?://\S+$", s["source_url"]) for s in spellings)
    right, wrong, refused = [], [], []
    for spelling in spellings:
        try:
            handle = territories.resolve(parse_territory_ref(spelling["spelling"]))
        except ParseError:
            refused.append(spelling["spelling"])
            continue
        code = rows[handle]["code"] if isinstance(handle, int) else ""
        (right if code == spelling["expected_code"] else wrong).append(spelling["spelling"])
    assert wrong == []
    assert len(right) >= 0.9 * len(spellings), refused


# --- Loading the shipped aliases -----------------------------------------------------------------


def test_load_aliases_is_idempotent_and_keeps_staff_choices(db):
    lorient = get_or_make_territory(Territory.Kind.CA, "CA Lorient Agglomération", "200042174")
    other = make_territory(Territory.Kind.CA, "CA Autre")
    TerritoryAlias.objects.create(alias="Lorient Agglo", territory=other)
    rows = [
        {"alias": "Lorient Agglo", "code": "200042174", "kind": "CA", "source_url": "https://a.fr"},
        {"alias": "LA", "code": "200042174", "kind": "CA", "source_url": "https://b.fr"},
        {"alias": "Nulle", "code": "999999999", "kind": "CA", "source_url": "https://c.fr"},
    ]
    report = load_aliases(rows)
    assert (report.created, report.kept, report.missing) == (1, 1, ["Nulle"])
    assert TerritoryAlias.objects.get(alias="Lorient Agglo").territory == other
    added = TerritoryAlias.objects.get(alias="LA")
    assert (added.territory, added.source_url) == (lorient, "https://b.fr")
    again = load_aliases(rows)
    assert (again.created, again.kept) == (0, 2)
    assert TerritoryAlias.objects.count() == 2


def test_setup_catalogue_loads_the_shipped_aliases(db):
    capb = get_or_make_territory(Territory.Kind.CA, "CA du Pays Basque", "200067106")
    capb.vintage = CURRENT_VINTAGE  # the official list counts as loaded: no 36,000-row load
    capb.save()
    out = io.StringIO()
    call_command("setup_catalogue", "--skip-demo-data", stdout=out)
    assert TerritoryAlias.objects.get(alias="CAPB").territory == capb
    # One alias when only CAPB exists; all of them when an earlier test loaded the official list.
    added = TerritoryAlias.objects.count()
    assert added >= 1
    assert f"Alias de territoires : {added} ajouté(s), 0 déjà présent(s)" in out.getvalue()
    call_command("setup_catalogue", "--skip-demo-data", stdout=io.StringIO())
    assert TerritoryAlias.objects.count() == added


# --- Through the import --------------------------------------------------------------------------


def test_import_creates_codeless_territories_from_kind_words_and_lists_them(db):
    get_or_make_territory(Territory.Kind.METRO, "Nantes Métropole", "244400404")
    petr = make_territory(Territory.Kind.PETR, "Pays de Fiction", code="")
    sheet = Sheet(
        header=["Nom", "Métropoles", "Partenaires"],
        rows=[
            (2, ["A", "Nantes Métropole", "PETR du Pays de Fiction; Pôle métropolitain de Nulle"]),
        ],
    )
    plan = plan_import(sheet)
    assert plan.is_valid, plan.row_errors
    assert plan.rows[0].participations[Participation.Role.PARTNER][0] == petr.pk
    assert [str(t) for t in plan.new_territories] == [
        "Pôle métropolitain de Nulle (Pôle métropolitain, à créer, sans code officiel)"
    ]
    assert Territory.objects.filter(kind=Territory.Kind.POLE).count() == 0


def test_an_unknown_name_is_refused_with_the_closest_names_to_choose_from():
    with pytest.raises(ParseError) as error:
        code_of("Quimper Bretagne Ocidentale")
    assert str(error.value).endswith(
        "Territoires proches : CA Quimper Bretagne Occidentale (Communauté d'agglomération, "
        "200068120)."
    )


def test_nothing_close_means_no_suggestion():
    with pytest.raises(ParseError) as error:
        code_of("Pays de Nulle Part")
    assert "Territoires proches" not in str(error.value)
