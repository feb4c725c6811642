"""Load the official territories (régions, départements, EPCI, EPT, communes) into the
database, from the committed fixture, so that cooperations can point at official codes.

Idempotent: run it after each deployment or new vintage; it creates what is missing, updates
what changed and never deletes, since cooperations reference territories.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.territories import (
    FIXTURE_PATH,
    TerritoryDataError,
    load_territories,
    read_fixture,
)


class Command(BaseCommand):
    help = (
        "Charge ou met à jour les territoires officiels (millésime 2026) depuis "
        "fixtures/territoires-2026.csv.gz ; ne supprime jamais rien."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=FIXTURE_PATH,
            help="Fichier CSV gzip à charger (par défaut : %(default)s).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Affiche ce qui serait fait, puis annule tout.",
        )

    def handle(self, *args, file, dry_run, **options):
        try:
            report = load_territories(read_fixture(file), dry_run=dry_run)
        except FileNotFoundError:
            raise CommandError(f"Fichier introuvable : {file}") from None
        except TerritoryDataError as error:
            raise CommandError(f"{error} Aucune modification enregistrée.") from None
        for line in report.lines():
            self.stdout.write(self.style.SUCCESS(line))
