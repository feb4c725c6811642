"""The demo data set: the documented cooperations of fixtures/documented/
(cooperations-documentees.csv, cooperations-supplementaires.csv) with the illustrations of
facteurs-documentes.csv, in the inventory format. docs/data.md cites where they come from.

`convert_documented` only renames columns, places each illustration in its factor's or
plus-value's columns (text and source) and states the record-level choices below; it adds no
fact that the source files do not state. Their partner notation (`Name [SIREN]`, `[DEP:35]`,
`Name [PETR]`…) is already the inventory's territory notation. `load_demo` then reads the
converted file through the ordinary import (`importing.run_import`), the front door staff use.

Choices, documented in docs/import.md (« Demo data »):
- provenance « Ajout ultérieur »: the rows come from public sources gathered after the 2018
  inventory; nothing says which of them the 2018 spreadsheet contained;
- published: yes, every row is sourced;
- the source's `notes` become the summary (« Résumé »);
- partners stay partners: the source does not say which ones are merely associated;
- an illustration selects its factor or plus-value, with its own source: linking a fact to a
  factor is the catalogue's editorial classification, which the public pages say.
"""

import csv
import io
from pathlib import Path

from django.conf import settings

from .inventory import ParseError
from .text import slug
from .vocabularies import FACTOR_CODES, PLUS_VALUE_CODES

DEMO_PATH = Path(settings.BASE_DIR) / "fixtures" / "demo-cooperations.csv"
# In the repository, so that a clone alone rebuilds the demo (docs/data.md).
DATA_DIR = Path(settings.BASE_DIR) / "fixtures" / "documented"
DOCUMENTED, SUPPLEMENTARY, FACTORS = (
    "cooperations-documentees.csv",
    "cooperations-supplementaires.csv",
    "facteurs-documentes.csv",
)

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
FACTOR_COLUMNS = {"cooperation", "facteur", "texte", "source"}
# `facteur` values of facteurs-documentes.csv → the inventory's header stem of their columns.
ILLUSTRATION_STEMS = {
    **{code: f"Facteur {code}" for code in FACTOR_CODES},
    **{f"plus-value:{code}": f"Plus-value {code}" for code in PLUS_VALUE_CODES},
}
ILLUSTRATION_HEADERS = [
    f"{stem} ({part})" for stem in ILLUSTRATION_STEMS.values() for part in ("comment", "source")
]
HEADERS = [
    "Identifiant", *SOURCE_COLUMNS.values(), "Provenance", "Publiée", *ILLUSTRATION_HEADERS
]  # fmt: skip


def _rows(text: str, required: set[str], label: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise ParseError(f"Colonnes absentes de {label} : {', '.join(sorted(missing))}.")
    return [
        {key: (value or "").strip() for key, value in row.items()}
        for row in reader
        if any((value or "").strip() for value in row.values())
    ]


def read_illustrations(text: str, names: set[str]) -> dict[str, dict[str, str]]:
    """Cooperation name → {header: value} of its illustration columns; a ParseError names the
    line of any unknown cooperation, unknown factor, repeated pair or missing source."""
    found: dict[str, dict[str, str]] = {}
    for line, row in enumerate(_rows(text, FACTOR_COLUMNS, FACTORS), start=2):
        name, code = row["cooperation"], row["facteur"]
        where = f"{FACTORS}, ligne {line}"
        if name not in names:
            raise ParseError(f"{where} : coopération inconnue « {name} ».")
        if code not in ILLUSTRATION_STEMS:
            raise ParseError(f"{where} : facteur ou plus-value inconnu « {code} ».")
        if not row["texte"] or not row["source"].startswith(("https://", "http://")):
            raise ParseError(f"{where} : un texte et l'adresse de sa source sont requis.")
        cells = found.setdefault(name, {})
        stem = ILLUSTRATION_STEMS[code]
        if f"{stem} (comment)" in cells:
            raise ParseError(f"{where} : « {name} » illustre déjà « {code} ».")
        cells[f"{stem} (comment)"] = row["texte"]
        cells[f"{stem} (source)"] = row["source"]
    return found


def convert_documented(documented: str, supplementary: str = "", factors: str = "") -> bytes:
    """The documented CSVs (UTF-8, comma-separated) as one inventory CSV (UTF-8 with BOM,
    semicolons, as French Excel opens it)."""
    rows = _rows(documented, set(SOURCE_COLUMNS), DOCUMENTED)
    if supplementary:
        rows += _rows(supplementary, set(SOURCE_COLUMNS), SUPPLEMENTARY)
    names = [row["nom"] for row in rows]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ParseError(f"Coopération présente deux fois : {', '.join(repeated)}.")
    illustrations = read_illustrations(factors, set(names)) if factors else {}
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        cells = illustrations.get(row["nom"], {})
        writer.writerow(
            [slug(row["nom"]), *(row[key] for key in SOURCE_COLUMNS),
             "Ajout ultérieur", "oui", *(cells.get(header, "") for header in ILLUSTRATION_HEADERS)]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8-sig")


def convert_data_dir(folder: Path = DATA_DIR) -> bytes:
    """The three files of `folder` merged by `convert_documented`."""
    documented, supplementary, factors = (
        (folder / name).read_text(encoding="utf-8-sig")
        for name in (DOCUMENTED, SUPPLEMENTARY, FACTORS)
    )
    return convert_documented(documented, supplementary, factors)
