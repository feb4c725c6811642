"""Former slugs, and the slugs made from a name with « œ » or « æ » spelled as fold spells them.

Django's slugify dropped « œ » (« Cœur » → « cur »). A record whose slug is the one slugify made
from its name gets the slug the catalogue makes now (cooperations.text.slug), and keeps its old
one as a CooperationSlugAlias, which the record page redirects from (301). A slug chosen by staff
(not the one made from the name) is left as it is, and so is a record whose new slug another
record already has.
"""

import re
import unicodedata

import django.db.models.deletion
from django.db import migrations, models
from django.utils.text import slugify

# cooperations.text.slug as it was when this migration was written: a migration keeps its own.
_SPELLED_LETTERS = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
_DASHES = re.compile("[\u2010-\u2015\u2212]")


def new_slug(name: str) -> str:
    value = _DASHES.sub("-", name.translate(_SPELLED_LETTERS))
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    joined = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_only.lower()))
    return joined.strip("-_")[:200].strip("-")


def old_slug(name: str) -> str:
    return slugify(name)[:200].strip("-")


def rename_slugs(apps, schema_editor):
    Cooperation = apps.get_model("cooperations", "Cooperation")
    Alias = apps.get_model("cooperations", "CooperationSlugAlias")
    records = Cooperation.objects.using(schema_editor.connection.alias)
    taken = set(records.values_list("slug", flat=True))
    for pk, name, slug in records.values_list("pk", "name", "slug").order_by("pk"):
        if slug != old_slug(name):
            continue
        renamed = new_slug(name)
        if not renamed or renamed == slug or renamed in taken:
            continue
        # The export line holds the slug: emptied, it is rebuilt after migrate
        # (derived.fill_missing_derived_text).
        records.filter(pk=pk).update(slug=renamed, export_head="", export_text="")
        Alias.objects.using(schema_editor.connection.alias).create(slug=slug, cooperation_id=pk)
        taken.add(renamed)


def restore_slugs(apps, schema_editor):
    Cooperation = apps.get_model("cooperations", "Cooperation")
    Alias = apps.get_model("cooperations", "CooperationSlugAlias")
    using = schema_editor.connection.alias
    for slug, pk in Alias.objects.using(using).values_list("slug", "cooperation_id"):
        if not Cooperation.objects.using(using).filter(slug=slug).exists():
            Cooperation.objects.using(using).filter(pk=pk).update(
                slug=slug, export_head="", export_text=""
            )


class Migration(migrations.Migration):

    dependencies = [
        ('cooperations', '0022_search_stems'),
    ]

    operations = [
        migrations.CreateModel(
            name='CooperationSlugAlias',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=200, verbose_name="ancien identifiant d'URL")),
                ('cooperation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='former_slugs', to='cooperations.cooperation')),
            ],
            options={
                'verbose_name': "ancien identifiant d'URL",
                'verbose_name_plural': "anciens identifiants d'URL",
                'constraints': [models.UniqueConstraint(fields=('slug',), name='cooperationslugalias_unique_slug')],
            },
        ),
        migrations.RunPython(rename_slugs, restore_slugs),
    ]
