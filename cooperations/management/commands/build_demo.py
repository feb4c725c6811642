"""Rebuild fixtures/demo-cooperations.csv from the documented cooperations CSV.

Why: the demo data must stay a faithful copy of the sourced file; rerun this when that file
changes, then commit the result. The conversion adds no fact (see cooperations/demo.py).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.demo import DEMO_PATH, convert_documented
from cooperations.inventory import ParseError


class Command(BaseCommand):
    help = (
        "Convertit le CSV des coopérations documentées au format de l'inventaire "
        "(fixtures/demo-cooperations.csv)."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="cooperations-documentees.csv")
        parser.add_argument("--output", "-o", type=Path, default=DEMO_PATH)

    def handle(self, *args, **options):
        try:
            data = convert_documented(options["source"].read_text(encoding="utf-8-sig"))
        except (OSError, ParseError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['source']} : {error}") from None
        options["output"].write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"{options['output']} écrit."))
