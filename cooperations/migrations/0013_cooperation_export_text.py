"""Each cooperation keeps its line of the CSV export (cooperations/derived.py).

On SQLite Django adds the column by rebuilding the table, which drops the indexes and triggers
that the model does not declare: the French name order's index of migration 0007 is made again
here; the full-text index's triggers are remade after every migrate (cooperations/search.py).
"""

from django.db import migrations, models


def french_order_index_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "coop_published_name_fr_idx" ON "cooperations_cooperation" '
            '("name" COLLATE french_fold, "id") WHERE "is_published"'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0012_cooperation_reserved_slugs"),
    ]

    operations = [
        migrations.AddField(
            model_name="cooperation",
            name="export_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(french_order_index_again, migrations.RunPython.noop),
    ]
