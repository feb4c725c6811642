"""Outage drill: stop the database under load, restart it, report what visitors and staff got.

Why: docs/operations.md « Outage drill » — anyone can check, on a private throw-away copy of the
catalogue, that a database restart loses no acknowledged write and how long the site takes to
recover. The work lives in benchmarks/drill.py; this command only reads the options.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks.drill import PG_BIN, DrillOptions, run


class Command(BaseCommand):
    help = (
        "Exercice de coupure : une grappe PostgreSQL privée, le catalogue servi par gunicorn "
        "sous charge, la base arrêtée puis redémarrée ; affiche les réponses pendant et hors "
        "de la coupure, le temps de reprise et les écritures acquittées perdues."
    )

    def add_arguments(self, parser):
        parser.add_argument("--outage", type=float, default=15, help="Secondes de coupure (15).")
        parser.add_argument(
            "--before", type=float, default=5, help="Secondes de charge avant la coupure (5)."
        )
        parser.add_argument(
            "--after", type=float, default=5, help="Secondes de charge après la reprise (5)."
        )
        parser.add_argument(
            "--freeze",
            action="store_true",
            help="Figer la base (SIGSTOP, puis SIGCONT) au lieu de l'arrêter : elle accepte les "
            "connexions et ne répond plus.",
        )
        parser.add_argument("--readers", type=int, default=4, help="Lecteurs simultanés (4).")
        parser.add_argument("--workers", type=int, default=3, help="Processus gunicorn (3).")
        parser.add_argument(
            "--pg-bin", default=str(PG_BIN), help=f"Dossier de initdb et pg_ctl ({PG_BIN})."
        )

    def handle(self, *args, **options):
        for name in ("outage", "before", "after"):
            if options[name] < 0:
                raise CommandError(f"--{name} doit être positif ou nul.")
        if options["readers"] < 1 or options["workers"] < 1:
            raise CommandError("--readers et --workers doivent valoir au moins 1.")
        pg_bin = Path(options["pg_bin"])
        if not (pg_bin / "initdb").exists():
            raise CommandError(f"initdb est introuvable dans {pg_bin} (option --pg-bin).")
        try:
            status = run(
                DrillOptions(
                    outage=options["outage"],
                    before=options["before"],
                    after=options["after"],
                    readers=options["readers"],
                    workers=options["workers"],
                    freeze=options["freeze"],
                    pg_bin=pg_bin,
                    log=lambda line: self.stdout.write(line, ending="\n") or self.stdout.flush(),
                )
            )
        except KeyboardInterrupt:
            raise CommandError(
                "Exercice interrompu : grappe et gunicorn arrêtés, dossier temporaire supprimé."
            ) from None
        if status:
            raise CommandError("Exercice de coupure : écritures perdues ou site non rétabli.")
        self.stdout.write(self.style.SUCCESS("Exercice de coupure terminé."))
