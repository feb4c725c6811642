"""Merge territories without official code that share a kind and a folded name.

Two imports confirmed at the same moment could each create the same uncoded territory (« Pays
de Retz [PETR] »), after which every import naming it was refused as ambiguous. Migration 0009
forbids it; this one first merges what such races left: for each (kind, folded name) the oldest
territory stays, the others' participations and aliases move to it, and the others are deleted.
A cooperation linked to two of them keeps its link to the one that stays, with its role.
Participation history is not written: the rows it records keep their territory ids.
"""

from collections import defaultdict

from django.db import migrations

from cooperations.text import fold


def merge_duplicate_codeless_territories(apps, schema_editor):
    Territory = apps.get_model("cooperations", "Territory")
    Participation = apps.get_model("cooperations", "Participation")
    TerritoryAlias = apps.get_model("cooperations", "TerritoryAlias")
    db = schema_editor.connection.alias
    codeless = Territory.objects.using(db).filter(code="")

    # The folded name is the key: make sure every row agrees with fold() as it is today.
    groups = defaultdict(list)
    for pk, kind, name, search_name in codeless.order_by("pk").values_list(
        "pk", "kind", "name", "search_name"
    ):
        key = fold(name)
        if key != search_name:
            Territory.objects.using(db).filter(pk=pk).update(search_name=key)
        groups[(kind, key)].append(pk)

    for pks in groups.values():
        if len(pks) < 2:
            continue
        kept, extras = pks[0], pks[1:]
        linked = set(
            Participation.objects.using(db)
            .filter(territory_id=kept)
            .values_list("cooperation_id", flat=True)
        )
        for participation in (
            Participation.objects.using(db).filter(territory_id__in=extras).order_by("pk")
        ):
            if participation.cooperation_id in linked:
                participation.delete()  # participation_unique_territory allows one link
            else:
                participation.territory_id = kept
                participation.save(update_fields=["territory"])
                linked.add(participation.cooperation_id)
        TerritoryAlias.objects.using(db).filter(territory_id__in=extras).update(territory_id=kept)
        for field in ("departement", "region", "epci"):
            Territory.objects.using(db).filter(**{f"{field}_id__in": extras}).update(
                **{f"{field}_id": kept}
            )
        Territory.objects.using(db).filter(pk__in=extras).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0007_french_name_order_index"),
    ]

    operations = [
        migrations.RunPython(merge_duplicate_codeless_territories, migrations.RunPython.noop),
    ]
