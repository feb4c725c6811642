"""Load the demo cooperations through the inventory import, as staff would.

Why: the README's start command shows a populated catalogue made of real, sourced records, and
loading them through the ordinary import proves the front door works. Idempotent: a second
run reports every row unchanged. Needs the official territories (load_territories).
"""

from django.core.management.base import BaseCommand, CommandError

from cooperations.demo import DEMO_PATH
from cooperations.management.commands.import_inventory import import_file


class Command(BaseCommand):
    help = "Importe les coopérations de démonstration (fixtures/demo-cooperations.csv)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Vérifie sans rien écrire.")

    def handle(self, *args, **options):
        plan, outcome = import_file(
            DEMO_PATH, not options["dry_run"], self.stdout, self.style, options["verbosity"] > 1
        )
        if not plan.is_valid:
            raise CommandError(
                "Données de démonstration refusées : chargez d'abord les territoires officiels "
                "(python3 manage.py load_territories)."
            )
        if outcome is not None:
            self.stdout.write(self.style.SUCCESS("Coopérations de démonstration chargées."))
