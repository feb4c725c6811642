"""Check that the source addresses of the cooperations still answer.

Why: a record is only as good as its sources, and pages move or vanish. Meant to run on a
schedule (a cron line or a systemd timer, weekly); the admin then lists the records whose
source is unreachable (filter « Sources »). --dry-run prints without recording.
"""

from django.core.management.base import BaseCommand, CommandError

from cooperations.link_check import check_sources


class Command(BaseCommand):
    help = (
        "Vérifie que les adresses des sources répondent et enregistre le code HTTP et la date "
        "de la vérification sur chaque source."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=10, help="Secondes par requête.")
        parser.add_argument(
            "--concurrency", type=int, default=8, help="Requêtes simultanées au plus."
        )
        parser.add_argument(
            "--retries", type=int, default=2, help="Nouvelles tentatives après un échec passager."
        )
        parser.add_argument("--dry-run", action="store_true", help="Affiche sans rien enregistrer.")

    def handle(self, *args, **options):
        if options["timeout"] <= 0 or options["concurrency"] < 1 or options["retries"] < 0:
            raise CommandError("--timeout et --concurrency sont positifs, --retries ≥ 0.")
        checks = check_sources(
            timeout=options["timeout"],
            concurrency=options["concurrency"],
            retries=options["retries"],
            dry_run=options["dry_run"],
        )
        failing = [check for check in checks if not check.reachable]
        moved = [check for check in checks if check.status and 300 <= check.status < 400]
        for check in failing:
            detail = f"code {check.status}" if check.status else check.error
            self.stdout.write(self.style.WARNING(f"Injoignable : {check.url} ({detail})"))
        if options["verbosity"] > 1:
            for check in moved:
                self.stdout.write(f"Déplacée : {check.url} (code {check.status})")
        summary = (
            f"{len(checks)} adresse(s) vérifiée(s) : {len(checks) - len(failing)} joignable(s) "
            f"(dont {len(moved)} redirigée(s)), {len(failing)} injoignable(s)."
        )
        if options["dry_run"]:
            self.stdout.write(summary + " Essai à blanc : rien n'a été enregistré.")
        else:
            self.stdout.write(self.style.SUCCESS(summary))
