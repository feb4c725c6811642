"""Write a synthetic inventory file for tests and benchmarks.

Why: the real 2018 spreadsheet is not public, yet the import must be exercised at its size
(173 rows) and beyond (10,000 rows for benchmarks). Cooperations are fictitious and say so;
métropoles and partner EPCI are real ones from the loaded territories. Never loaded by default.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.synthetic import EXTENSIONS, FORMATS, generate_rows, write_inventory


class Command(BaseCommand):
    help = (
        "Écrit un inventaire synthétique (coopérations fictives entre vraies métropoles et EPCI "
        "voisins), déterministe pour une graine donnée."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=173, help="Nombre de lignes (173).")
        parser.add_argument("--seed", type=int, default=2018, help="Graine (2018).")
        parser.add_argument(
            "--messy",
            action="store_true",
            help="Intitulés, libellés, noms et dates écrits comme dans un tableur de bureau.",
        )
        parser.add_argument("--format", choices=FORMATS, default="xlsx", help="Format (xlsx).")
        parser.add_argument(
            "--output", "-o", help="Fichier à écrire (défaut : inventaire-synthetique.<ext>)."
        )

    def handle(self, *args, **options):
        if options["rows"] < 1:
            raise CommandError("--rows doit être au moins 1.")
        try:
            headers, rows = generate_rows(options["rows"], options["seed"], options["messy"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        data = write_inventory(headers, rows, options["format"])
        output = Path(
            options["output"] or f"inventaire-synthetique.{EXTENSIONS[options['format']]}"
        )
        output.write_bytes(data)
        self.stdout.write(
            self.style.SUCCESS(f"{options['rows']} coopérations fictives écrites dans {output}.")
        )
