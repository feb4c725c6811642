"""Data migrations run against rows a migration test builds in the schema they expect."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cooperations.collation import ensure_sqlite_french_order_index
from cooperations.search import ensure_sqlite_index
from cooperations.text import fold

BEFORE_MERGE = [("cooperations", "0007_french_name_order_index")]
AFTER_MERGE = [("cooperations", "0009_territory_unique_codeless_name")]


@pytest.fixture
def migrator(transactional_db):
    """Migrates the test database back and forth; leaves it migrated to the latest state."""
    yield lambda targets: _migrate(targets)
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # What `migrate` does after migrating: SQLite's table rebuilds dropped the undeclared index
    # and triggers.
    ensure_sqlite_french_order_index()
    ensure_sqlite_index()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


# The migrations' vocabularies and staff groups come back after the flush (serialized_rollback).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_duplicate_codeless_territories_are_merged_keeping_links_and_aliases(migrator):
    apps = migrator(BEFORE_MERGE)
    Territory = apps.get_model("cooperations", "Territory")
    Cooperation = apps.get_model("cooperations", "Cooperation")
    Participation = apps.get_model("cooperations", "Participation")
    TerritoryAlias = apps.get_model("cooperations", "TerritoryAlias")

    def territory(kind, name, code="", search_name=None):
        return Territory.objects.create(
            kind=kind,
            name=name,
            code=code,
            search_name=fold(name) if search_name is None else search_name,
        )

    # A métropole of no official list: the session's official territories may be loaded.
    metropole = territory("METRO", "Métropole Témoin des fusions", code="999999314")
    kept = territory("PETR", "Pays de Retz")
    twin = territory("PETR", "PAYS DE RETZ")
    stale = territory("PETR", "Pays-de-Retz", search_name="")  # folded name never written
    other_kind = territory("SM", "Pays de Retz")
    both = Cooperation.objects.create(name="Liée aux deux", slug="liee-aux-deux")
    twin_only = Cooperation.objects.create(name="Liée au double", slug="liee-au-double")
    for cooperation in (both, twin_only):
        Participation.objects.create(cooperation=cooperation, territory=metropole, role="metropole")
    Participation.objects.create(cooperation=both, territory=kept, role="partenaire")
    Participation.objects.create(cooperation=both, territory=twin, role="associe")
    Participation.objects.create(cooperation=twin_only, territory=stale, role="associe")
    TerritoryAlias.objects.create(alias="Retz", search_alias="retz", territory=twin)

    apps = migrator(AFTER_MERGE)
    Territory = apps.get_model("cooperations", "Territory")
    Participation = apps.get_model("cooperations", "Participation")
    TerritoryAlias = apps.get_model("cooperations", "TerritoryAlias")

    petr = Territory.objects.filter(pk__in=[kept.pk, twin.pk, stale.pk])
    assert list(petr.values_list("pk", flat=True)) == [kept.pk]
    assert Territory.objects.filter(pk=other_kind.pk).exists()
    # The cooperation linked to both keeps the link of the territory that stays, with its role.
    assert list(
        Participation.objects.filter(cooperation_id=both.pk, territory_id=kept.pk).values_list(
            "role", flat=True
        )
    ) == ["partenaire"]
    assert Participation.objects.filter(cooperation_id=both.pk).count() == 2
    assert Participation.objects.get(cooperation_id=twin_only.pk, role="associe").territory_id == (
        kept.pk
    )
    assert TerritoryAlias.objects.get(alias="Retz").territory_id == kept.pk


BEFORE_GECT = [("cooperations", "0017_drop_stored_pages")]
AFTER_GECT = [("cooperations", "0019_legal_form_gect")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_gect_form_joins_an_existing_catalogue_in_place_keeping_staff_order(migrator):
    from cooperations.vocabularies import LEGAL_FORMS

    apps = migrator(BEFORE_GECT)
    LegalForm = apps.get_model("cooperations", "LegalForm")
    # A catalogue made before the form existed: the 12 starting forms at 0002's places, one of
    # them moved by staff in the admin.
    LegalForm.objects.filter(slug="groupement-europeen-cooperation-territoriale").delete()
    old = [slug for slug, _label, _definition in LEGAL_FORMS if not slug.startswith("groupement-e")]
    for position, slug in enumerate(old, start=1):
        LegalForm.objects.filter(slug=slug).update(position=position)
    LegalForm.objects.filter(slug="charte").update(position=50)

    apps = migrator(AFTER_GECT)
    LegalForm = apps.get_model("cooperations", "LegalForm")
    gect = LegalForm.objects.get(slug="groupement-europeen-cooperation-territoriale")
    assert gect.label == "Groupement européen de coopération territoriale"
    assert "frontière" in gect.definition
    positions = dict(LegalForm.objects.values_list("slug", "position"))
    assert positions["syndicat-mixte"] == 8
    assert positions["groupement-europeen-cooperation-territoriale"] == 9
    assert positions["groupement-interet-public"] == 10
    assert positions["conference-cooperation-informelle"] == 13
    assert positions["charte"] == 50  # the staff's order is kept


BEFORE_SLUG_ALIASES = [("cooperations", "0022_search_stems")]
AFTER_SLUG_ALIASES = [("cooperations", "0023_cooperation_slug_alias")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_slugs_that_dropped_oe_are_renamed_keeping_the_old_one_as_an_alias(migrator):
    apps = migrator(BEFORE_SLUG_ALIASES)
    Cooperation = apps.get_model("cooperations", "Cooperation")
    made = Cooperation.objects.create(
        name="Contrat Toulouse Métropole – Cœur et Coteaux",
        slug="contrat-toulouse-metropole-cur-et-coteaux",
    )
    chosen = Cooperation.objects.create(name="Pacte du Cœur", slug="pacte-coeur-de-ville")
    Cooperation.objects.create(name="Œuvre commune", slug="oeuvre-commune")
    clash = Cooperation.objects.create(name="Œuvre commune ", slug="uvre-commune")
    plain = Cooperation.objects.create(name="Pays d'Iroise", slug="pays-diroise")

    apps = migrator(AFTER_SLUG_ALIASES)
    Cooperation = apps.get_model("cooperations", "Cooperation")
    Alias = apps.get_model("cooperations", "CooperationSlugAlias")
    slugs = dict(Cooperation.objects.values_list("pk", "slug"))
    assert slugs[made.pk] == "contrat-toulouse-metropole-coeur-et-coteaux"
    assert slugs[chosen.pk] == "pacte-coeur-de-ville"  # chosen by staff: left as it is
    assert slugs[clash.pk] == "uvre-commune"  # its new slug is another record's
    assert slugs[plain.pk] == "pays-diroise"  # apostrophes are dropped as before
    assert list(Alias.objects.values_list("slug", "cooperation_id")) == [
        ("contrat-toulouse-metropole-cur-et-coteaux", made.pk)
    ]

    apps = migrator(BEFORE_SLUG_ALIASES)
    Cooperation = apps.get_model("cooperations", "Cooperation")
    assert Cooperation.objects.get(pk=made.pk).slug == "contrat-toulouse-metropole-cur-et-coteaux"
