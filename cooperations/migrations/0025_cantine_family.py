"""« restauration » leaves the cantines' word family of the food theme: the records also use it
for the restoration of rivers and marshes, which a search for « cantines » must not find. Only a
theme still holding the family as first shipped is changed; staff edits stay."""

from django.db import migrations

THEME = "alimentation-agriculture"
SHIPPED = "cantine cantines restauration"
NARROWED = "cantine cantines"


def narrow(apps, schema_editor):
    _replace_line(apps, SHIPPED, NARROWED)


def widen(apps, schema_editor):
    _replace_line(apps, NARROWED, SHIPPED)


def _replace_line(apps, old, new):
    Theme = apps.get_model("cooperations", "Theme")
    for theme in Theme.objects.filter(slug=THEME):
        lines = theme.word_families.splitlines()
        if old in lines:
            theme.word_families = "\n".join(new if line == old else line for line in lines)
            theme.save(update_fields=["word_families"])


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0024_import_job"),
    ]

    operations = [migrations.RunPython(narrow, widen)]
