"""Rebuild fixtures/demo-cooperations.csv from the documented cooperations and illustrations.

Why: the demo data must stay a faithful copy of the sourced files; rerun this when one of them
changes, then commit the result. The conversion adds no fact (see cooperations/demo.py) and
refuses an illustration of a cooperation that the two cooperation files do not name.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.demo import DATA_DIR, DEMO_PATH, convert_data_dir
from cooperations.inventory import ParseError


class Command(BaseCommand):
    help = (
        "Fusionne cooperations-documentees.csv, cooperations-supplementaires.csv et "
        "facteurs-documentes.csv au format de l'inventaire (fixtures/demo-cooperations.csv)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "folder",
            type=Path,
            nargs="?",
            default=DATA_DIR,
            help="dossier des trois fichiers (par défaut fixtures/documented)",
        )
        parser.add_argument("--output", "-o", type=Path, default=DEMO_PATH)

    def handle(self, *args, **options):
        try:
            data = convert_data_dir(options["folder"])
        except (OSError, ParseError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['folder']} : {error}") from None
        options["output"].write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"{options['output']} écrit."))
