"""Each cooperation keeps its line of the CSV export (cooperations/derived.py).

On SQLite Django adds the column by rebuilding the table, which drops the indexes and triggers
that the model does not declare: the French name order's index of migration 0007 and the
full-text index's triggers are made again after every migrate (cooperations/apps.py).
"""

from django.db import migrations, models


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
    ]
