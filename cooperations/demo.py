"""The demo data set: the 40 documented cooperations of ../shared/data, in the inventory format.

`convert_documented` only renames columns and states the record-level choices below; it adds no
fact that the source file does not state. Its partner notation (`Name [SIREN]`, `[DEP:35]`,
`Name [PETR]`…) is already the inventory's territory notation. `load_demo` then reads the
converted file through the ordinary import (`importing.run_import`), the front door staff use.

Choices, documented in the README (« Demo data »):
- provenance « Ajout ultérieur »: the rows come from public sources gathered after the 2018
  inventory; nothing says which of them the 2018 spreadsheet contained;
- published: yes, every row is sourced;
- the source's `notes` become the summary (« Résumé »);
- partners stay partners: the source does not say which ones are merely associated.
"""

import csv
import io
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

from .inventory import ParseError, read_spreadsheet

DEMO_PATH = Path(settings.BASE_DIR) / "fixtures" / "demo-cooperations.csv"

SOURCE_COLUMNS = {
    "nom": "Nom",
    "metropoles": "Métropoles",
    "partenaires": "Territoires partenaires",
    "thematiques": "Thématiques",
    "forme": "Forme de coopération",
    "date_signature": "Date de signature",
    "statut": "Statut",
    "notes": "Résumé",
    "sources": "Sources",
}
HEADERS = ["Identifiant", *SOURCE_COLUMNS.values(), "Provenance", "Publiée"]


def convert_documented(text: str) -> bytes:
    """The documented CSV (UTF-8, comma-separated) as an inventory CSV (UTF-8 with BOM,
    semicolons, as French Excel opens it)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = set(SOURCE_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise ParseError(f"Colonnes absentes du fichier source : {', '.join(sorted(missing))}.")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in reader:
        if not any((value or "").strip() for value in row.values()):
            continue
        name = row["nom"].strip()
        writer.writerow(
            [slugify(name)[:200], *(row[key].strip() for key in SOURCE_COLUMNS),
             "Ajout ultérieur", "oui"]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8-sig")


def read_demo(path: Path = DEMO_PATH):
    return read_spreadsheet(path.read_bytes(), path.suffix)
