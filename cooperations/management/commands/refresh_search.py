"""Rebuild the search text of every cooperation.

Why: the public search reads a denormalised, accent-folded column (see cooperations/search.py).
The admin and the import refresh it for the records they write; after any other bulk change —
a raw SQL fix, a territory list reloaded with new names, a vocabulary label edited — this
command brings it back in line with the data.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from cooperations.models import Cooperation
from cooperations.search import document_for, refresh_search_text


def stale_count() -> int:
    """How many cooperations have an out-of-date search text (reads every row once)."""
    from django.db.models import Prefetch

    from cooperations.models import Participation

    rows = (
        Cooperation.objects.select_related("legal_form")
        .prefetch_related(
            "themes",
            Prefetch("participations", queryset=Participation.objects.select_related("territory")),
        )
        .iterator(chunk_size=500)
    )
    return sum(1 for c in rows if document_for(c) != c.search_text)


class Command(BaseCommand):
    help = "Reconstruit le texte de recherche de toutes les coopérations."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Compte les fiches à mettre à jour sans rien écrire.",
        )

    def handle(self, *args, **options):
        stale = stale_count()
        if options["dry_run"]:
            self.stdout.write(f"{stale} fiche(s) à mettre à jour (simulation, rien n'est écrit).")
            return
        with transaction.atomic():
            total = refresh_search_text()
        self.stdout.write(
            self.style.SUCCESS(f"Texte de recherche à jour : {stale} fiche(s) sur {total}.")
        )
