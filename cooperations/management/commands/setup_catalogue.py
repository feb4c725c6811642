"""Bring a fresh database to a usable catalogue in one step.

Why: the README's start command must give a newcomer a working catalogue — reference data,
official territories, demo records and a staff account — without knowing the individual
commands. Every step is idempotent, so running it at each start costs little.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from cooperations.models import CURRENT_VINTAGE, Territory
from cooperations.services import EDITORS, ensure_staff_groups
from cooperations.territories import load_aliases, read_alias_fixture


def ensure_demo_account(username: str, password: str | None) -> tuple[bool, str | None]:
    """Create a superuser member of the editors group if missing.

    The password is random unless given, so no deployment ever carries a known password.
    Returns whether the account was created, and the random password drawn for it: None when
    the password was given (whoever chose it knows it; it must not reach a terminal log) or
    when the account already existed (its password is left alone).
    """
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        return False, None
    drawn = None if password else secrets.token_urlsafe(12)
    user = user_model.objects.create_superuser(
        username=username, email="", password=password or drawn
    )
    editors, _ = ensure_staff_groups()
    user.groups.add(editors)
    return True, drawn


class Command(BaseCommand):
    help = (
        "Prépare le catalogue : groupes du personnel, territoires officiels et leurs noms "
        "usuels, données de démonstration et, avec --demo-account, un compte d'administration."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-account",
            metavar="IDENTIFIANT",
            help="Crée ce compte (superutilisateur, groupe Éditeurs) s'il n'existe pas, avec un "
            "mot de passe aléatoire affiché une seule fois (ou celui de "
            "CATALOGUE_ADMIN_PASSWORD).",
        )
        parser.add_argument(
            "--skip-demo-data",
            action="store_true",
            help="Ne charge pas les coopérations de démonstration.",
        )

    def handle(self, *args, **options):
        ensure_staff_groups()
        self.stdout.write(f"Groupes « {EDITORS} » et « Lecteurs » à jour.")
        if Territory.objects.filter(vintage=CURRENT_VINTAGE).exists():
            self.stdout.write(f"Territoires officiels {CURRENT_VINTAGE} déjà chargés.")
        else:
            call_command("load_territories", stdout=self.stdout)
        self.stdout.write(load_aliases(read_alias_fixture()).line())
        if not options["skip_demo_data"] and _has_command("load_demo"):
            call_command("load_demo", stdout=self.stdout)
        username = options["demo_account"]
        if username:
            created, drawn = ensure_demo_account(
                username, os.environ.get("CATALOGUE_ADMIN_PASSWORD")
            )
            if drawn:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Compte « {username} » créé. Mot de passe (affiché une seule fois) : "
                        f"{drawn}"
                    )
                )
            elif created:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Compte « {username} » créé avec le mot de passe de "
                        "CATALOGUE_ADMIN_PASSWORD."
                    )
                )
            else:
                self.stdout.write(
                    f"Compte « {username} » existant. Mot de passe oublié : "
                    f"python3 dev.py manage changepassword {username}"
                )
        self.stdout.write(self.style.SUCCESS("Catalogue prêt."))


def _has_command(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()
