"""The index that serves the public list in French name order (`tri=nom`, the default):
WHERE is_published ORDER BY name in the French collation, id. Each engine names the collation
differently (cooperations/collation.py), hence raw SQL rather than a model index. Partial, like
coop_published_id_idx, because Django writes the published filter as a bare `WHERE is_published`,
which an index led by is_published cannot use for its order on SQLite.
"""

from django.db import migrations

INDEX = "coop_published_name_fr_idx"
TABLE = "cooperations_cooperation"


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_collation WHERE collname = 'fr-x-icu'")
            if cursor.fetchone() is None:
                raise RuntimeError(
                    "PostgreSQL has no ICU collation « fr-x-icu »: the catalogue needs a "
                    "PostgreSQL built with ICU (the official packages and images are)."
                )
        collation = '"fr-x-icu"'
    elif connection.vendor == "sqlite":
        collation = "french_fold"
    else:
        return
    schema_editor.execute(
        f'CREATE INDEX "{INDEX}" ON "{TABLE}" ("name" COLLATE {collation}, "id") '
        'WHERE "is_published"'
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0006_published_id_index"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
