"""Each cooperation keeps the first cells of its CSV line too (cooperations/derived.py), so that
PostgreSQL writes the whole line of an export. The column is filled after the migrations
(`derived.fill_missing_derived_text`, from cooperations/apps.py).

On SQLite Django adds the column by rebuilding the table, which drops the indexes and triggers
that the model does not declare: they are made again after every migrate (cooperations/apps.py).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0015_cooperation_page"),
    ]

    operations = [
        migrations.AddField(
            model_name="cooperation",
            name="export_head",
            field=models.TextField(blank=True, default="", editable=False),
        ),
    ]
