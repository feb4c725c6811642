"""Load the six success factors and the starting themes and legal forms."""

from django.db import migrations


def load(apps, schema_editor):
    from cooperations.vocabularies import LEGAL_FORMS, SUCCESS_FACTORS, THEMES

    for model_name, rows in (
        ("SuccessFactor", SUCCESS_FACTORS),
        ("Theme", THEMES),
        ("LegalForm", LEGAL_FORMS),
    ):
        model = apps.get_model("cooperations", model_name)
        for position, (slug, label, definition) in enumerate(rows, start=1):
            model.objects.update_or_create(
                slug=slug,
                defaults={"label": label, "definition": definition, "position": position},
            )


class Migration(migrations.Migration):
    dependencies = [("cooperations", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
