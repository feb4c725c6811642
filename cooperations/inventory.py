"""The inventory spreadsheet format and the pure functions that read loose office input.

Nothing here touches the database: headers, lists, dates, booleans, vocabulary labels and
territory references are parsed into plain values, so each rule has its own small unit test.
The import service (importing.py) combines them with the database; resources.py plugs the
service into django-import-export.
"""

import csv
import datetime
import difflib
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .text import fold
from .vocabularies import FACTOR_CODES, PLUS_VALUE_CODES


class ParseError(ValueError):
    """A cell that cannot be read; the message is French and shown to staff as is."""


# --- Columns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    accepted: str = ""
    example: str = ""
    required: bool = False


FACTOR_TEXT_PREFIX = "factor_text:"
FACTOR_SOURCE_PREFIX = "factor_source:"
PLUS_VALUE_TEXT_PREFIX = "plus_value_text:"
PLUS_VALUE_SOURCE_PREFIX = "plus_value_source:"

COLUMNS: list[Column] = [
    Column(
        "slug",
        "Identifiant",
        # Not « id » nor « N° »: office files number their rows in such columns.
        ("slug", "identifiant d'URL", "clé d'import"),
        "lettres minuscules, chiffres et tirets ; vide : dérivé du nom à la création, stable "
        "ensuite (clé d'import)",
        "contrat-reciprocite-brest-iroise",
    ),
    Column(
        "name",
        "Nom",
        ("nom de la coopération", "intitulé", "titre", "coopération", "libellé"),
        "texte, obligatoire",
        "Contrat de réciprocité Brest métropole – Pays d'Iroise",
        required=True,
    ),
    Column(
        "metropoles",
        "Métropoles",
        ("métropole", "métropole(s)", "métropoles concernées", "métropole signataire"),
        "une ou plusieurs des 22 métropoles, par nom ou SIREN",
        "Brest Métropole [242900314]",
        required=True,
    ),
    Column(
        "partners",
        "Territoires partenaires",
        (
            "partenaires",
            "partenaire",
            "partenaire(s)",
            "territoire(s) partenaire(s)",
            "territoire partenaire",
            "territoires",
        ),
        "territoires par nom ou code ; « Nom [PETR] » crée un territoire sans code de cette "
        "nature s'il n'existe pas",
        "CC du Pays d'Iroise [242900074]; Pays du Centre Ouest Bretagne [PETR]",
    ),
    Column(
        "associated",
        "Territoires associés",
        (
            "associés",
            "associé",
            "associé(s)",
            "territoire(s) associé(s)",
            "territoire associé",
            "partenaires associés",
        ),
        "comme les partenaires (l'État, un département, une région…)",
        "Finistère [DEP:29]",
    ),
    Column(
        "legal_form",
        "Forme de coopération",
        ("forme", "forme juridique", "type de coopération", "formes de coopération"),
        "une forme de la liste",
        "Contrat de réciprocité",
    ),
    Column(
        "status",
        "Statut",
        ("état", "statuts"),
        "En projet, Active, Terminée, Abandonnée, ou vide (inconnu)",
        "Active",
    ),
    Column(
        "signed_on",
        "Date de signature",
        ("signature", "date", "signée le", "signé le", "date signature"),
        "année (2017), mois (07/2017), jour (10/07/2017 ou 2017-07-10) ; la précision est gardée",
        "04/11/2016",
    ),
    Column(
        "starts_on",
        "Date de début",
        ("début", "date début", "commence le"),
        "comme la date de signature (enregistrée au premier jour de la période)",
        "2016",
    ),
    Column(
        "ends_on",
        "Date de fin",
        ("fin", "date fin", "échéance", "se termine le"),
        "comme la date de signature ; pas avant le début",
        "2020",
    ),
    Column(
        "themes",
        "Thématiques",
        ("thématique", "thématique(s)", "thèmes", "thème", "thème(s)"),
        "une ou plusieurs thématiques de la liste",
        "Mobilités et transports; Culture, patrimoine et sport",
    ),
    Column(
        "factors",
        "Facteurs de réussite",
        ("facteurs", "facteur de réussite", "facteur(s) de réussite", "facteurs clés"),
        "un ou plusieurs des six facteurs (libellé ou code)",
        "La mise en place d'espaces de gouvernance adaptés",
    ),
    Column(
        "plus_value",
        "Plus-value",
        ("plus-values", "plus value", "apport", "apports"),
        "Enjeux d'échelles, Filières, Mutualisation",
        "Enjeux d'échelles; Mutualisation",
    ),
    Column("summary", "Résumé", ("résumé court", "synthèse"), "texte", "Un contrat pour…"),
    Column("description", "Description", ("description longue", "présentation"), "texte", ""),
    Column("governance", "Gouvernance", ("instances", "pilotage"), "texte", "Comité annuel"),
    Column("funding", "Financements", ("financement", "budget"), "texte", ""),
    Column(
        "staffing",
        "Moyens humains",
        ("moyens humains dédiés", "ingénierie", "personnel", "ressources humaines"),
        "texte",
        "",
    ),
    Column(
        "provenance",
        "Provenance",
        ("origine", "source de l'enregistrement"),
        "Inventaire 2018, Fabrique prospective ou Ajout ultérieur (par défaut)",
        "Ajout ultérieur",
    ),
    Column(
        "sources",
        "Sources",
        ("source", "sources (url)", "liens", "url", "urls"),
        "une ou plusieurs adresses http(s), séparées par des espaces, des ; ou des retours à la "
        "ligne",
        "https://www.example.org/contrat",
    ),
    Column(
        "last_verified_on",
        "Dernière vérification",
        ("vérifiée le", "vérifié le", "date de vérification", "mise à jour"),
        "une date",
        "15/01/2026",
    ),
    Column(
        "is_published",
        "Publiée",
        ("publié", "publication", "en ligne"),
        "oui ou non (vide : non)",
        "oui",
    ),
]

for _code in FACTOR_CODES:
    COLUMNS.append(
        Column(
            FACTOR_TEXT_PREFIX + _code,
            f"Facteur {_code} (comment)",
            (f"facteur {_code}", f"comment {_code}"),
            "texte disant comment la coopération illustre ce facteur ; rempli : facteur retenu",
            "",
        )
    )
    COLUMNS.append(
        Column(
            FACTOR_SOURCE_PREFIX + _code,
            f"Facteur {_code} (source)",
            (f"source {_code}", f"source facteur {_code}"),
            "adresse http(s) du document qui établit ce texte",
            "",
        )
    )
for _code in PLUS_VALUE_CODES:
    COLUMNS.append(
        Column(
            PLUS_VALUE_TEXT_PREFIX + _code,
            f"Plus-value {_code} (comment)",
            (f"plus-value {_code}", f"comment plus-value {_code}"),
            "texte disant comment la coopération illustre cette plus-value ; rempli : "
            "plus-value retenue",
            "",
        )
    )
    COLUMNS.append(
        Column(
            PLUS_VALUE_SOURCE_PREFIX + _code,
            f"Plus-value {_code} (source)",
            (f"source plus-value {_code}",),
            "adresse http(s) du document qui établit ce texte",
            "",
        )
    )

COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}


def header_key(header: str) -> str:
    """Folded header with plural marks removed: « Territoire(s) partenaire(s) » → « territoire
    partenaire », « Métropoles » → « metropole »."""
    return " ".join(_singular(word) for word in fold(header).split())


def _singular(word: str) -> str:
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word


_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_INDEX.setdefault(header_key(_name), _column.key)


@dataclass
class HeaderMapping:
    """Which file column feeds which field, plus what was ignored."""

    positions: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # key → header as written in the file
    ignored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def map_headers(headers: Sequence) -> HeaderMapping:
    """Match the file's headers to columns whatever their case, accents, spacing or plural."""
    mapping = HeaderMapping()
    for position, raw in enumerate(headers):
        text = clean_text(raw)
        if not text:
            continue
        key = _HEADER_INDEX.get(header_key(text))
        if key is None:
            mapping.ignored.append(text)
        elif key in mapping.positions:
            mapping.errors.append(
                f"Les colonnes « {mapping.headers[key]} » et « {text} » désignent toutes deux "
                f"« {COLUMNS_BY_KEY[key].header} » : gardez-en une seule."
            )
        else:
            mapping.positions[key] = position
            mapping.headers[key] = text
    for column in COLUMNS:
        if column.required and column.key not in mapping.positions:
            mapping.errors.append(f"Colonne obligatoire absente : « {column.header} ».")
    return mapping


# --- Cells ----------------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe (OWASP advice);
    `clean_text` removes it again, so export then import gives back the same text."""
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def clean_text(value) -> str:
    """A cell as text: None and blanks become "", numbers lose a useless « .0 », the apostrophe
    added by `neutralise_formula` is removed, spaces around lines are trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        value = value.date() if value.time() == datetime.time() else value
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = "\n".join(line.strip() for line in text.split("\n")).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t":
        text = text[1:].strip()
    return text


_SPLIT_STRONG = re.compile(r"\s*(?:;|\n)\s*")


def split_values(value) -> list[str]:
    """Split a multi-value cell on `;` or line breaks, or on `,` when neither is present."""
    text = clean_text(value)
    if not text:
        return []
    parts = _SPLIT_STRONG.split(text) if (";" in text or "\n" in text) else text.split(",")
    return [part.strip() for part in parts if part.strip()]


_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def split_urls(value) -> list[str]:
    """Every http(s) address in the cell, in order, without duplicates; a URL may contain `;`
    or `,`, so addresses are found rather than split."""
    text = clean_text(value)
    urls: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(";,.)")
        if url not in urls:
            urls.append(url)
    leftover = _URL.sub(" ", text)
    leftover = re.sub(r"[\s;,]+", " ", leftover).strip()
    if leftover:
        raise ParseError(f"« {leftover} » n'est pas une adresse http(s).")
    return urls


_TRUE = {"oui", "o", "vrai", "x", "1", "yes", "y", "true", "publiee", "publie"}
_FALSE = {"non", "n", "faux", "0", "no", "false", "", "non publiee", "non publie"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = fold(clean_text(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParseError(f"« {clean_text(value)} » : répondez « oui » ou « non ».")


# --- Dates --------------------------------------------------------------------------------------

DAY, MONTH, YEAR = "day", "month", "year"
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_HELP = "formats acceptés : 2017, 07/2017, 10/07/2017, 2017-07-10"

_YEAR_RE = re.compile(r"^(\d{4})$")
_MONTH_RE = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_ISO_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DAY_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?$")
_SERIAL_RE = re.compile(r"^(\d{5})(?:[.,]\d+)?$")


def parse_partial_date(value) -> tuple[datetime.date, str] | None:
    """A date and its precision (`day`, `month`, `year`) from a year, MM/AAAA, JJ/MM/AAAA,
    ISO text, a spreadsheet date cell or an Excel serial number; None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date(), DAY
    if isinstance(value, datetime.date):
        return value, DAY
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 1000 <= value <= 2999:
            return datetime.date(int(value), 1, 1), YEAR
        return _from_serial(int(value), value), DAY
    text = clean_text(value)
    if not text:
        return None
    try:
        if match := _YEAR_RE.match(text):
            return datetime.date(int(match[1]), 1, 1), YEAR
        if match := _MONTH_RE.match(text):
            return datetime.date(int(match[2]), int(match[1]), 1), MONTH
        if match := _ISO_MONTH_RE.match(text):
            return datetime.date(int(match[1]), int(match[2]), 1), MONTH
        if match := _DAY_RE.match(text):
            return datetime.date(int(match[3]), int(match[2]), int(match[1])), DAY
        if match := _ISO_DAY_RE.match(text):
            return datetime.date(int(match[1]), int(match[2]), int(match[3])), DAY
    except ValueError:
        raise ParseError(f"« {text} » n'est pas une date qui existe.") from None
    if match := _SERIAL_RE.match(text):
        return _from_serial(int(match[1]), text), DAY
    raise ParseError(f"« {text} » n'est pas une date lisible ({_DATE_HELP}).")


def _from_serial(serial: int, raw) -> datetime.date:
    # Serials below 3000 would be dates of 1900-1908; such numbers are years or mistakes.
    if not 3000 <= serial <= 80000:
        raise ParseError(f"« {raw} » n'est pas une date lisible ({_DATE_HELP}).")
    return _EXCEL_EPOCH + datetime.timedelta(days=serial)


def format_date(value: datetime.date | None, precision: str = DAY) -> str:
    """The inverse of `parse_partial_date`, used by the export."""
    if value is None:
        return ""
    if precision == YEAR:
        return f"{value.year:04d}"
    if precision == MONTH:
        return f"{value.month:02d}/{value.year:04d}"
    return value.strftime("%d/%m/%Y")


# --- Vocabularies -------------------------------------------------------------------------------


def vocabulary_key(label: str) -> str:
    """Case, accents, punctuation and plural marks ignored: « Mobilité et transport » and
    « MOBILITÉS ET TRANSPORTS » share a key."""
    return header_key(label)


class VocabularyMatcher:
    """Match loose labels to one value of a controlled vocabulary; never guesses: an unknown
    label raises ParseError naming the closest valid labels."""

    def __init__(self, entries: Iterable[tuple[object, str, Iterable[str]]], what: str):
        self.what = what
        self.labels: list[str] = []
        self._by_key: dict[str, object] = {}
        self._label_by_key: dict[str, str] = {}
        for value, label, aliases in entries:
            self.labels.append(label)
            for name in (label, *aliases):
                key = vocabulary_key(name)
                if key and key not in self._by_key:
                    self._by_key[key] = value
                    self._label_by_key[key] = label

    def get(self, text: str):
        return self._by_key.get(vocabulary_key(text))

    def match(self, text: str):
        value = self.get(text)
        if value is None:
            raise ParseError(self.unknown_message(text))
        return value

    def closest(self, text: str, n: int = 3) -> list[str]:
        keys = difflib.get_close_matches(vocabulary_key(text), self._by_key, n=n * 3, cutoff=0)
        labels: list[str] = []
        for key in keys:
            label = self._label_by_key[key]
            if label not in labels:
                labels.append(label)
        return labels[:n]

    def unknown_message(self, text: str) -> str:
        suggestions = " ; ".join(f"« {label} »" for label in self.closest(text))
        return f"{self.what} inconnue : « {text} ». Valeurs proches : {suggestions}."

    def match_many(self, value) -> list:
        """Several labels in one cell. Labels may contain commas (« Culture, patrimoine et
        sport »), so comma-separated pieces are re-joined when together they form a label."""
        text = clean_text(value)
        if not text:
            return []
        chunks = _SPLIT_STRONG.split(text) if (";" in text or "\n" in text) else [text]
        found: list = []
        errors: list[str] = []
        for chunk in filter(None, (c.strip() for c in chunks)):
            pieces = [p.strip() for p in chunk.split(",") if p.strip()]
            i = 0
            while i < len(pieces):
                for j in range(len(pieces), i, -1):
                    candidate = ", ".join(pieces[i:j])
                    match = self.get(candidate)
                    if match is not None:
                        if match not in found:
                            found.append(match)
                        i = j
                        break
                else:
                    errors.append(self.unknown_message(pieces[i]))
                    i += 1
        if errors:
            raise ParseError(" ".join(errors))
        return found


# --- Territory references -----------------------------------------------------------------------

KIND_TOKENS = {
    "COM": "COM",
    "COMMUNE": "COM",
    "CC": "CC",
    "CA": "CA",
    "CU": "CU",
    "METRO": "METRO",
    "MET69": "MET69",
    "EPT": "EPT",
    "PETR": "PETR",
    "PAYS": "PETR",
    "POLE": "POLE",
    "SM": "SM",
    "SYNDICAT": "SM",
    "PNR": "PNR",
    "DEP": "DEP",
    "REG": "REG",
    "ETAT": "ETAT",
    "ETR": "ETR",
    "AUTRE": "AUTRE",
}


@dataclass(frozen=True)
class TerritoryRef:
    """What a cell says about one territory: a name, and maybe a kind and an official code."""

    text: str
    name: str = ""
    kind: str = ""
    code: str = ""


_BRACKET = re.compile(r"^(?P<name>.*?)\s*\[(?P<tag>[^\[\]]*)\]$")
_PAREN_SIREN = re.compile(r"^(?P<name>.*?)\s*\((?P<code>\d{9})\)$")
_SIREN = re.compile(r"^\d{9}$")
_INSEE_COMMUNE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_INSEE_DEP_OR_REG = re.compile(r"^(?:\d{2,3}|2[AB])$", re.IGNORECASE)


def parse_territory_ref(text: str) -> TerritoryRef:
    """Read `Name`, `Name [SIREN]`, `Name (SIREN)`, `Name [DEP:35]`, `[COM:75056]`, `Name [PETR]`
    or a bare code."""
    text = clean_text(text)
    if match := _BRACKET.match(text):
        name, tag = match["name"].strip(), re.sub(r"\s+", "", match["tag"]).upper()
        if _SIREN.match(tag):
            return TerritoryRef(text, name=name, code=tag)
        kind_token, _, code = tag.partition(":")
        kind = KIND_TOKENS.get(fold(kind_token).upper().replace(" ", ""))
        if kind is None:
            raise ParseError(
                f"« [{match['tag']}] » : entre crochets, indiquez un SIREN, une nature "
                f"({', '.join(sorted(set(KIND_TOKENS.values())))}) ou nature:code (DEP:35)."
            )
        if not name and not code:
            raise ParseError(f"« {text} » : indiquez le nom ou le code du territoire.")
        return TerritoryRef(text, name=name, kind=kind, code=code)
    if match := _PAREN_SIREN.match(text):
        return TerritoryRef(text, name=match["name"].strip(), code=match["code"])
    compact = text.replace(" ", "")
    if _SIREN.match(compact) or _INSEE_COMMUNE.match(text) or _INSEE_DEP_OR_REG.match(text):
        return TerritoryRef(text, code=compact.upper())
    return TerritoryRef(text, name=text)


def format_territory_ref(name: str, kind: str, code: str) -> str:
    """The export notation, read back by `parse_territory_ref` to the same territory."""
    if code and _SIREN.match(code) and kind in {"CC", "CA", "CU", "METRO", "MET69", "EPT"}:
        return f"{name} [{code}]"
    if code:
        return f"{name} [{kind}:{code}]"
    return f"{name} [{kind}]"


# Kind prefixes, folded, longest first; each gives the kinds a prefixed name may designate.
NAME_PREFIXES: list[tuple[str, tuple[str, ...]]] = [
    ("communaute de communes", ("CC",)),
    ("communaute d agglomeration", ("CA",)),
    ("communaute urbaine", ("CU",)),
    ("etablissement public territorial", ("EPT",)),
    ("pole metropolitain", ("POLE",)),
    ("parc naturel regional", ("PNR",)),
    ("syndicat mixte", ("SM",)),
    ("departement", ("DEP",)),
    ("conseil departemental", ("DEP",)),
    ("region", ("REG",)),
    ("conseil regional", ("REG",)),
    ("metropole", ("METRO", "MET69")),
    ("commune", ("COM",)),
    ("ville", ("COM",)),
    ("petr", ("PETR",)),
    ("cc", ("CC",)),
    ("ca", ("CA",)),
    ("cu", ("CU",)),
    ("ept", ("EPT",)),
    ("pnr", ("PNR",)),
]
_ARTICLES = ("de la ", "de l ", "des ", "du ", "de ", "d ", "l ", "la ", "le ", "les ")


def split_kind_prefix(folded: str) -> tuple[tuple[str, ...], str]:
    """(kinds the prefix designates, core name) for a folded name: « cc du pays d iroise » →
    (("CC",), "pays d iroise"); « brest metropole » → (("METRO", "MET69"), "brest"); no
    prefix → ((), name)."""
    for prefix, kinds in NAME_PREFIXES:
        if folded.startswith(prefix + " "):
            core = folded[len(prefix) + 1 :]
            for article in _ARTICLES:
                if core.startswith(article):
                    core = core[len(article) :]
                    break
            return kinds, core
    if folded.endswith(" metropole"):
        return ("METRO", "MET69"), folded[: -len(" metropole")]
    return (), folded


# --- Files --------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """Rows of cells as read from a file, with their line numbers in the spreadsheet."""

    header: list
    rows: list[tuple[int, list]]
    header_line: int = 1


def _sheet_from_rows(rows: Iterable[Sequence]) -> Sheet:
    numbered = [(n, list(row)) for n, row in enumerate(rows, start=1)]
    for index, (number, row) in enumerate(numbered):
        if any(clean_text(cell) for cell in row):
            body = [(n, r) for n, r in numbered[index + 1 :] if any(clean_text(c) for c in r)]
            return Sheet(header=row, rows=body, header_line=number)
    return Sheet(header=[], rows=[])


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM, else Windows-1252 (French Excel's « CSV (séparateur : point-
    virgule) »)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ParseError(
            "Le fichier CSV n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le en « CSV UTF-8 »."
        ) from None


def read_csv(data: bytes) -> Sheet:
    text = decode_text(data)
    if "\x00" in text:
        raise ParseError("Ce fichier n'est pas un fichier CSV lisible (contenu binaire).")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    if first_line.count("\t") > max(first_line.count(";"), first_line.count(",")):
        delimiter = "\t"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ParseError(f"Fichier CSV illisible : {error}.") from None
    return _sheet_from_rows(rows)


def read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ParseError("Ce fichier n'est pas un classeur Excel (.xlsx) lisible.") from None
    try:
        sheet = workbook.worksheets[0]
        return _sheet_from_rows(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def read_ods(data: bytes) -> Sheet:
    from odf import opendocument, table, teletype
    from odf.namespaces import OFFICENS, TABLENS

    try:
        document = opendocument.load(io.BytesIO(data))
    except Exception:  # odfpy raises anything from zipfile to xml errors on a bad file
        raise ParseError("Ce fichier n'est pas un classeur OpenDocument (.ods) lisible.") from None
    sheets = document.spreadsheet.getElementsByType(table.Table) if document.spreadsheet else []
    if not sheets:
        raise ParseError("Ce fichier n'est pas un classeur OpenDocument (.ods) lisible.")

    def read_cell(cell):
        value_type = cell.getAttrNS(OFFICENS, "value-type")
        if value_type == "float":
            return float(cell.getAttrNS(OFFICENS, "value"))
        if value_type == "date":
            raw = cell.getAttrNS(OFFICENS, "date-value")
            return datetime.datetime.fromisoformat(raw)
        if value_type == "boolean":
            return cell.getAttrNS(OFFICENS, "boolean-value") == "true"
        paragraphs = [teletype.extractText(p) for p in cell.childNodes if p.qname[1] == "p"]
        return "\n".join(paragraphs)

    rows = []
    for row in sheets[0].getElementsByType(table.TableRow):
        cells = []
        for cell in row.childNodes:
            if cell.qname[1] not in {"table-cell", "covered-table-cell"}:
                continue
            repeat = int(cell.getAttrNS(TABLENS, "number-columns-repeated") or 1)
            value = read_cell(cell)
            cells.extend([value] * min(repeat, 200))
        while cells and cells[-1] in ("", None):
            cells.pop()
        repeat_rows = int(row.getAttrNS(TABLENS, "number-rows-repeated") or 1)
        rows.extend([cells] * (min(repeat_rows, 2) if not cells else repeat_rows))
    return _sheet_from_rows(rows)


def read_spreadsheet(data: bytes, extension: str = "") -> Sheet:
    """Read XLSX, ODS or CSV bytes; the content decides, the file name only breaks ties."""
    if not data or not data.strip():
        raise ParseError("Le fichier est vide.")
    if data[:4] == b"PK\x03\x04":
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in data[:200]:
            return read_ods(data)
        if extension.lower().lstrip(".") == "ods":
            return read_ods(data)
        return read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ParseError(
            "Les classeurs Excel 97-2003 (.xls) ne sont pas lus : enregistrez le fichier en .xlsx."
        )
    if data[:5] == b"%PDF-" or b"\x00" in data[:2048]:
        raise ParseError("Ce fichier n'est pas un tableur : envoyez un fichier XLSX, ODS ou CSV.")
    return read_csv(data)
