"""Rebuild the search text and the export text of every cooperation.

Why: the public search and the CSV export read denormalised data (see
cooperations/derived.py). The admin and the import refresh them for the records they write;
after any other bulk change — a raw SQL fix, a territory list reloaded with new names, a
vocabulary label edited — this command brings them back in line with the data.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from cooperations.derived import refresh_derived_text, stale_count


class Command(BaseCommand):
    help = "Reconstruit le texte de recherche et la ligne d'export de toutes les coopérations."

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
            total = refresh_derived_text()
        self.stdout.write(
            self.style.SUCCESS(
                f"Textes de recherche et d'export à jour : {stale} fiche(s) sur {total}."
            )
        )
