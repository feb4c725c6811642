"""Measure the open-data package at 100,000 synthetic cooperations on PostgreSQL.

Why: the package is rebuilt inside a web worker on the first request after each change of the
catalogue; its build must stay within 30 s at the size of every cooperation in France, and its
ZIP must be streamed from disk, not loaded into memory. The logic is `benchmarks/open_data.py`;
it only ever writes the database bench_open_data (created, then dropped) and a temporary
folder. The figures are recorded in docs/open-data.md by hand: the run takes minutes, not a
commit hook's seconds.
"""

from django.core.management.base import BaseCommand, CommandError

from benchmarks import open_data
from benchmarks.runner import POSTGRES_URL


class Command(BaseCommand):
    help = (
        "Construit le paquet de données ouvertes de N coopérations synthétiques sur PostgreSQL "
        "(base bench_open_data, supprimée à la fin) : durée, pic de mémoire, service du ZIP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=100_000, help="Coopérations (100000).")
        parser.add_argument(
            "--postgres-url",
            default=POSTGRES_URL,
            help="Serveur PostgreSQL où créer bench_open_data (%(default)s).",
        )

    def handle(self, *args, size, postgres_url, **options):
        if size < 1:
            raise CommandError("--size doit être positif.")
        if not postgres_url.startswith(("postgres://", "postgresql://")):
            raise CommandError("--postgres-url doit être une adresse postgres://.")
        results = open_data.run(size, postgres_url, log=self.stdout.write)
        self.stdout.write(open_data.report(results))
        target = "atteinte" if results["build"]["seconds"] <= 30 else "MANQUÉE"
        self.stdout.write(self.style.SUCCESS(f"Cible de construction ≤ 30 s : {target}."))
