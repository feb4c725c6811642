"""Regenerate the committed list of official territories from the Etalab npm package.

The package is the authoritative source, but it is a Node artefact of several megabytes. Its
useful part is distilled once into `fixtures/territoires-2026.csv.gz`, committed, so that
running, deploying and testing the catalogue never needs Node nor the network; this command
is only run again when a new vintage of the package comes out.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.territories import FIXTURE_PATH, build_rows, write_fixture


class Command(BaseCommand):
    help = (
        "Régénère la liste officielle des territoires (fixtures/territoires-2026.csv.gz) à "
        "partir du paquet npm @etalab/decoupage-administratif. Pour obtenir le paquet : "
        "« npm pack @etalab/decoupage-administratif@6.0.0 && tar xzf "
        "etalab-decoupage-administratif-6.0.0.tgz », puis --source package/data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            required=True,
            type=Path,
            help="Dossier data/ du paquet (regions.json, departements.json, communes.json, "
            "epci.json, ept.json).",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=FIXTURE_PATH,
            help="Fichier à écrire (par défaut : %(default)s).",
        )

    def handle(self, *args, source, output, **options):
        try:
            rows = build_rows(source)
        except FileNotFoundError as error:
            raise CommandError(f"Fichier du paquet introuvable : {error.filename}") from None
        write_fixture(rows, output)
        self.stdout.write(self.style.SUCCESS(f"{len(rows)} territoires écrits dans {output}."))
