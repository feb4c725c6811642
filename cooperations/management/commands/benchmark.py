"""Measure the catalogue at 1,000, 10,000 and 100,000 cooperations and write benchmarks/REPORT.md.

Why: issue 11's targets (pages, facets, search, exports, load against the template-only floor,
SQLite against PostgreSQL, cost growth) and those of issue 5 still meaningful (queries, imports)
must be checked on data the size of every cooperation in France, on both engines, and re-checked
after each change; `--servers` compares gunicorn worker set-ups under the same load.
The logic lives in the `benchmarks` package (runner, worker, report); docs/performance.md
(« The benchmark ») says how long it takes and what it needs (PostgreSQL, wrk). It only ever
writes the databases bench_<size> and the files under benchmarks/out/, plus the report.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks import runner


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise CommandError(f"Liste de nombres attendue, pas « {text} ».") from None
    if any(value < 1 for value in values):
        raise CommandError("Les tailles doivent être positives.")
    return values


class Command(BaseCommand):
    help = (
        "Construit des jeux de données synthétiques (PostgreSQL bench_<n>, SQLite "
        "benchmarks/out/), mesure pages, exports, imports et charge, et écrit "
        "benchmarks/REPORT.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="1000,10000,100000", help="Tailles (%(default)s).")
        parser.add_argument(
            "--engines", default="postgres,sqlite", help="Moteurs : postgres, sqlite."
        )
        parser.add_argument("--repeat", type=int, default=15, help="Mesures par page (15).")
        parser.add_argument(
            "--heavy-repeat", type=int, default=3, help="Mesures par export et import (3)."
        )
        parser.add_argument(
            "--skip-load",
            action="store_true",
            help="Réutilise les jeux de données déjà construits (reconstruits s'ils sont "
            "incomplets).",
        )
        parser.add_argument(
            "--no-wrk", action="store_true", help="Sans l'essai de charge gunicorn + wrk."
        )
        parser.add_argument(
            "--load-size", type=int, default=10_000, help="Jeu servi à wrk (10000)."
        )
        parser.add_argument(
            "--duration", type=int, default=30, help="Durée de l'essai de charge en s (30)."
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=15,
            help="Secondes de vues tournantes envoyées avant la mesure de charge (15).",
        )
        parser.add_argument(
            "--connections", type=int, default=20, help="Connexions simultanées de wrk (20)."
        )
        parser.add_argument(
            "--load-urls",
            type=int,
            default=500,
            help="Vues filtrées distinctes de la liste que wrk fait tourner (500).",
        )
        parser.add_argument(
            "--servers",
            default="",
            help="Configurations gunicorn à comparer sous charge, par ex. "
            "« sync:5,gthread:5x4 » (workers, ou workers x fils) ; vide : gunicorn.conf.py.",
        )
        parser.add_argument(
            "--no-cached-load",
            action="store_true",
            help="Sans l'essai de charge avec le cache des pages.",
        )
        parser.add_argument(
            "--no-datasette",
            action="store_true",
            help="Sans la page d'une coopération face à la page d'une ligne de Datasette "
            "(installé dans son propre virtualenv sous --out).",
        )
        parser.add_argument(
            "--import-sizes", default="173,10000", help="Lignes importées (%(default)s)."
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="Essai éclair : 50 coopérations, SQLite, 3 mesures, imports de 20 lignes, "
            "sans wrk ni Datasette ; le rapport va dans benchmarks/out/.",
        )
        parser.add_argument(
            "--postgres-url",
            default=runner.POSTGRES_URL,
            help="Serveur PostgreSQL (la base nommée sert à créer les bases bench_<n>).",
        )
        parser.add_argument("--out", type=Path, default=runner.OUT, help="Dossier de travail.")
        parser.add_argument("--report", type=Path, help="Rapport (benchmarks/REPORT.md).")

    def handle(self, *args, **options):
        engines = tuple(e.strip() for e in options["engines"].split(",") if e.strip())
        unknown = set(engines) - set(runner.ENGINES)
        if unknown or not engines:
            raise CommandError(f"Moteurs possibles : {', '.join(runner.ENGINES)}.")
        servers = tuple(spec.strip() for spec in options["servers"].split(",") if spec.strip())
        for spec in servers:
            try:
                runner.parse_server(spec)
            except ValueError as error:
                raise CommandError(str(error)) from None
        settings = runner.Options(
            sizes=_ints(options["sizes"]),
            engines=engines,
            repeat=max(1, options["repeat"]),
            heavy_repeat=max(1, options["heavy_repeat"]),
            reuse=options["skip_load"],
            load=not options["no_wrk"],
            load_size=options["load_size"],
            duration=options["duration"],
            warmup=max(0, options["warmup"]),
            connections=options["connections"],
            load_urls=max(1, options["load_urls"]),
            servers=servers,
            load_cached=not options["no_cached_load"],
            datasette=not options["no_datasette"],
            import_sizes=_ints(options["import_sizes"]),
            postgres_url=options["postgres_url"],
            out=options["out"],
            report=options["report"] or runner.REPORT,
            log=lambda message: self.stdout.write(message),
        )
        if options["quick"]:
            settings.sizes, settings.engines = (50,), ("sqlite",)
            settings.repeat, settings.heavy_repeat = 3, 1
            settings.import_sizes, settings.load = (20,), False
            settings.datasette = False
            settings.report = options["report"] or settings.out / "REPORT-quick.md"
        try:
            results = runner.run(settings)
        except (RuntimeError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Rapport écrit dans {settings.report} ({results['total_s'] / 60:.1f} min)."
            )
        )
