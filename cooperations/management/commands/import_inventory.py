"""Import an inventory file from the command line, through the same code as the admin.

Why: scripted loads and servers without a browser. Dry run by default: it prints the report
the admin preview shows; --commit writes, all or nothing. The admin's size limit
(IMPORT_MAX_UPLOAD_SIZE) applies here too, since the same reader holds the whole file in memory;
--max-size raises it for a file known to be larger (0: none).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cooperations.admin_import import human_size
from cooperations.concurrency import ImportBusy
from cooperations.importing import run_import
from cooperations.inventory import ParseError, read_spreadsheet

ACTIONS = {"new": "nouvelle", "update": "modifiée"}


def import_file(
    path: Path, commit: bool, stdout, style, verbose: bool = False, max_size: int | None = None
):
    """Read, check and (if asked and clean) write one file; returns the plan and outcome.
    A file over `max_size` bytes (default: the admin's limit; 0: none) is not read."""
    limit = settings.IMPORT_MAX_UPLOAD_SIZE if max_size is None else max_size
    try:
        size = path.stat().st_size
        if limit and size > limit:
            raise CommandError(
                f"{path} pèse {human_size(size)} : la limite est de {human_size(limit)} "
                "(IMPORT_MAX_UPLOAD_SIZE, comme dans l'administration). Découpez-le, ou "
                "relancez avec --max-size=<octets> si ce fichier est sûr."
            )
        sheet = read_spreadsheet(path.read_bytes(), path.suffix)
    except OSError as error:
        raise CommandError(f"Lecture impossible de {path} : {error.strerror}.") from None
    except ParseError as error:
        raise CommandError(f"{path} : {error}") from None
    try:
        plan, outcome = run_import(sheet, commit=commit)
    except ImportBusy as busy:
        raise CommandError(str(busy)) from None
    for message in plan.file_errors:
        stdout.write(style.ERROR(message))
    for error in plan.row_errors:
        stdout.write(style.ERROR(str(error)))
    if plan.ignored_headers:
        stdout.write(f"Colonnes ignorées : {plan.ignored_summary}.")
    for territory in plan.new_territories:
        stdout.write(f"Territoire à créer : {territory}")
    for row in plan.rows:
        for warning in row.warnings:
            stdout.write(style.WARNING(f"Ligne {row.line} : {warning}"))
        for lookalike in row.lookalikes:
            stdout.write(
                style.WARNING(
                    f"Ligne {row.line} : ressemble à « {lookalike.name} » ({lookalike.slug}) : "
                    f"{lookalike.reason}."
                )
            )
    if verbose:
        for row in plan.rows:
            if row.action in ACTIONS:
                matched = " (fiche reconnue par son nom et ses métropoles)" if row.matched else ""
                stdout.write(f"Ligne {row.line} : {ACTIONS[row.action]} — {row.slug}{matched}")
                for change in row.details:
                    stdout.write(f"  {change}")
    stdout.write(plan.summary())
    return plan, outcome


class Command(BaseCommand):
    help = (
        "Vérifie un fichier d'inventaire (XLSX, ODS ou CSV) et affiche le rapport ; avec "
        "--commit, l'importe (tout ou rien)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Fichier XLSX, ODS ou CSV.")
        parser.add_argument(
            "--commit", action="store_true", help="Écrit les changements (sinon : essai à blanc)."
        )
        parser.add_argument(
            "--max-size",
            type=int,
            default=None,
            metavar="OCTETS",
            help="Taille maximale du fichier, en octets (par défaut IMPORT_MAX_UPLOAD_SIZE, la "
            "limite de l'administration ; 0 : aucune).",
        )

    def handle(self, *args, **options):
        if options["max_size"] is not None and options["max_size"] < 0:
            raise CommandError("--max-size doit être positif ou nul.")
        plan, outcome = import_file(
            options["path"],
            options["commit"],
            self.stdout,
            self.style,
            options["verbosity"] > 1,
            max_size=options["max_size"],
        )
        if not plan.is_valid:
            raise CommandError("Fichier refusé : rien n'a été importé.")
        if outcome is None:
            self.stdout.write(
                "Essai à blanc : rien n'a été écrit (ajoutez --commit pour importer)."
            )
        else:
            self.stdout.write(self.style.SUCCESS("Import terminé."))
