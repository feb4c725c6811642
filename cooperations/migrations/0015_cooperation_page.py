"""The body of each cooperation's page, stored in a table of its own
(`models.CooperationPage`). The rows are filled after the migrations
(`derived.fill_missing_derived_text`, from cooperations/apps.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cooperations', '0014_cooperation_list_html'),
    ]

    operations = [
        migrations.CreateModel(
            name='CooperationPage',
            fields=[
                ('cooperation', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='stored_page', serialize=False, to='cooperations.cooperation')),
                ('html', models.TextField(editable=False)),
                ('related_keys', models.JSONField(default=dict, editable=False)),
                ('built_from', models.DateTimeField(editable=False)),
            ],
            options={
                'verbose_name': 'page enregistrée',
                'verbose_name_plural': 'pages enregistrées',
            },
        ),
    ]
