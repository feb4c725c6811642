"""Add the legal form « Groupement européen de coopération territoriale », which documented
cross-border cooperations need (the Lille–Kortrijk–Tournai eurometropolis, the
Strasbourg–Ortenau eurodistrict).

Fresh databases already get it from 0002, which reads the same list: update_or_create makes both
paths one row. The forms after it move down one place only where they still hold the place 0002
gave them, so that an order chosen by staff in the admin is kept."""

from django.db import migrations

SLUG = "groupement-europeen-cooperation-territoriale"


def add(apps, schema_editor):
    from cooperations.vocabularies import LEGAL_FORMS

    LegalForm = apps.get_model("cooperations", "LegalForm")
    slugs = [slug for slug, _label, _definition in LEGAL_FORMS]
    place = slugs.index(SLUG) + 1
    if not LegalForm.objects.filter(slug=SLUG).exists():
        for position, slug in enumerate(slugs[place:], start=place + 1):
            LegalForm.objects.filter(slug=slug, position=position - 1).update(position=position)
    _slug, label, definition = LEGAL_FORMS[place - 1]
    LegalForm.objects.update_or_create(
        slug=SLUG, defaults={"label": label, "definition": definition, "position": place}
    )


def remove(apps, schema_editor):
    apps.get_model("cooperations", "LegalForm").objects.filter(slug=SLUG).delete()


class Migration(migrations.Migration):
    dependencies = [("cooperations", "0017_drop_stored_pages")]

    operations = [migrations.RunPython(add, remove)]
