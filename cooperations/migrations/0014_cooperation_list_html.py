"""Each cooperation keeps its result row of the public lists as HTML (cooperations/rendered_rows.py).

As in migration 0013, what the SQLite table rebuild drops is made again after every migrate
(cooperations/apps.py), and the rows are filled then (`derived.fill_missing_derived_text`).
"""

from django.db import migrations, models


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
    ]
