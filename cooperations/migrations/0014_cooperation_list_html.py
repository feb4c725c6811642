"""Each cooperation keeps its result row of the public lists as HTML (cooperations/rendered_rows.py).

As in migration 0013: on SQLite Django adds the column by rebuilding the table, which drops the
French name order's index (made again here) and the full-text index's triggers (remade after
every migrate, cooperations/search.py). The rows are filled after the migrate
(`derived.fill_missing_derived_text`).
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
        ("cooperations", "0013_cooperation_export_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="cooperation",
            name="list_html",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(french_order_index_again, migrations.RunPython.noop),
    ]
