"""Search support: the folded search text column on both engines and, on PostgreSQL only, the
`french_unaccent` text search configuration and the GIN index that serves the public search.
"""

from django.db import migrations, models
from django.db.models import Prefetch

INDEX = "coop_search_text_fts_idx"


def create_postgres_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute(
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
                CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
                ALTER TEXT SEARCH CONFIGURATION french_unaccent
                    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
            END IF;
        END $$;
        """
    )
    # Serves cooperations.search.search(): to_tsvector(...) @@ to_tsquery(...).
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON cooperations_cooperation USING gin "
        "(to_tsvector('french_unaccent'::regconfig, COALESCE(search_text, '')))"
    )


def drop_postgres_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent")


def fill_search_text(apps, schema_editor):
    from cooperations.search import document_for

    Cooperation = apps.get_model("cooperations", "Cooperation")
    Participation = apps.get_model("cooperations", "Participation")
    rows = (
        Cooperation.objects.using(schema_editor.connection.alias)
        .select_related("legal_form")
        .prefetch_related(
            "themes",
            Prefetch("participations", queryset=Participation.objects.select_related("territory")),
        )
    )
    changed = []
    for cooperation in rows:
        cooperation.search_text = document_for(cooperation)
        changed.append(cooperation)
    Cooperation.objects.using(schema_editor.connection.alias).bulk_update(
        changed, ["search_text"], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cooperations", "0002_vocabularies"),
    ]

    operations = [
        migrations.AddField(
            model_name="cooperation",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(create_postgres_search, drop_postgres_search),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
    ]
