"""The inventory spreadsheet format and the pure functions that read loose office input.

Nothing here touches the database: headers, lists, dates, booleans, vocabulary labels and
territory references are parsed into plain values, so each rule has its own small unit test.
The import service (the importing package) combines them with the database; resources.py
plugs the service into django-import-export.
"""

import csv
import datetime
import difflib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

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
    Column(
        "state",
        "État de la fiche",
        ("état éditorial", "statut éditorial", "étape de publication", "workflow"),
        "Brouillon, À relire, Publiée ou Archivée (vide : d'après « Publiée »)",
        "Publiée",
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
                f"Les colonnes « {shorten(mapping.headers[key])} » et « {shorten(text)} » "
                f"désignent toutes deux « {COLUMNS_BY_KEY[key].header} » : gardez-en une seule."
            )
        else:
            mapping.positions[key] = position
            mapping.headers[key] = text
    for column in COLUMNS:
        if column.required and column.key not in mapping.positions:
            mapping.errors.append(f"Colonne obligatoire absente : « {column.header} ».")
    return mapping


# --- Cells ----------------------------------------------------------------------------------------

QUOTE_LIMIT = 80


def shorten(value, limit: int = QUOTE_LIMIT) -> str:
    """A value as quoted in a message: at most `limit` characters, « … » marking a cut, so that
    a 20,000-character cell never floods the report."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summarise(values: Sequence[str], shown: int = 10) -> str:
    """« a, b, c » for a list, the first `shown` only then « et N autres »; each value cut."""
    listed = ", ".join(f"« {shorten(value)} »" for value in values[:shown])
    rest = len(values) - shown
    return listed + (f" et {rest} autre{'s' if rest > 1 else ''}" if rest > 0 else "")


def clean_text(value) -> str:
    """A cell as text: None and blanks become "", numbers lose a useless « .0 », the apostrophe
    added by `spreadsheets.neutralise` is removed, spaces around lines are trimmed."""
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


def rejoin_commas(chunk: str, find) -> Iterator[tuple[str, object]]:
    """The comma-separated pieces of `chunk`, re-joined when together they name something, since
    labels and official names may contain a comma (« Culture, patrimoine et sport », « CC Chinon,
    Vienne et Loire »). Longest runs first: yields (run, what `find` returned) for a run of two
    or more pieces that `find` accepts (anything but None), and (piece, None) for a piece that
    starts no such run, for the caller to read on its own."""
    pieces = [piece.strip() for piece in chunk.split(",") if piece.strip()]
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):
            run = ", ".join(pieces[i:j])
            found = find(run)
            if found is not None:
                yield run, found
                i = j
                break
        else:
            yield pieces[i], None
            i += 1


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
        raise ParseError(f"« {shorten(leftover)} » n'est pas une adresse http(s).")
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
    raise ParseError(f"« {shorten(clean_text(value))} » : répondez « oui » ou « non ».")


# --- Dates --------------------------------------------------------------------------------------

DAY, MONTH, YEAR = "day", "month", "year"
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_HELP = "formats acceptés : 2017, 07/2017, 10/07/2017, 2017-07-10"
# Cooperations between territories of today's kinds date from the 1950s at the earliest; a
# year outside this range is a typing error or a number that was never a date.
FIRST_YEAR, LAST_YEAR = 1950, 2100

_YEAR_RE = re.compile(r"^(\d{4})$")
_MONTH_RE = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_ISO_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DAY_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?$")
_NUMBER_RE = re.compile(r"^\d+(?:[.,]\d+)?$")
# « avril 2019 », as the public pages and exports write a date known to the month.
_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("janvier", "janv"),
            ("fevrier", "fevr", "fev"),
            ("mars",),
            ("avril", "avr"),
            ("mai",),
            ("juin",),
            ("juillet", "juil"),
            ("aout",),
            ("septembre", "sept"),
            ("octobre", "oct"),
            ("novembre", "nov"),
            ("decembre", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAME_RE = re.compile(r"^([a-z]+) (\d{4})$")


def parse_partial_date(value) -> tuple[datetime.date, str] | None:
    """A date and its precision (`day`, `month`, `year`) from a year, MM/AAAA, « avril 2019 »,
    JJ/MM/AAAA, ISO text or a spreadsheet date cell; None for an empty cell.

    A number is read as an Excel serial only when it comes as a number, which XLSX and ODS
    cells do; in text (every CSV cell) a number is a year or an error: « 20189 » is a typo,
    not 10 April 1955. Dates outside 1950–2100 are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return _in_range(value.date(), value), DAY
    if isinstance(value, datetime.date):
        return _in_range(value, value), DAY
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 1000 <= value <= 2999:
            return _in_range(datetime.date(int(value), 1, 1), int(value)), YEAR
        return _from_serial(value), DAY
    text = clean_text(value)
    if not text:
        return None
    try:
        if match := _YEAR_RE.match(text):
            parsed = datetime.date(int(match[1]), 1, 1), YEAR
        elif match := _MONTH_RE.match(text):
            parsed = datetime.date(int(match[2]), int(match[1]), 1), MONTH
        elif match := _ISO_MONTH_RE.match(text):
            parsed = datetime.date(int(match[1]), int(match[2]), 1), MONTH
        elif match := _DAY_RE.match(text):
            parsed = datetime.date(int(match[3]), int(match[2]), int(match[1])), DAY
        elif match := _ISO_DAY_RE.match(text):
            parsed = datetime.date(int(match[1]), int(match[2]), int(match[3])), DAY
        elif (match := _MONTH_NAME_RE.match(fold(text))) and match[1] in _MONTH_NAMES:
            parsed = datetime.date(int(match[2]), _MONTH_NAMES[match[1]], 1), MONTH
        else:
            parsed = None
    except ValueError:
        raise ParseError(f"« {shorten(text)} » n'est pas une date qui existe.") from None
    if parsed is not None:
        return _in_range(parsed[0], text), parsed[1]
    if _NUMBER_RE.match(text):
        raise ParseError(
            f"« {shorten(text)} » : un nombre écrit comme texte n'est lu que comme une année "
            f"({_DATE_HELP})."
        )
    raise ParseError(f"« {shorten(text)} » n'est pas une date lisible ({_DATE_HELP}).")


def _in_range(date: datetime.date, raw) -> datetime.date:
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise ParseError(
            f"« {shorten(raw)} » : une date doit tomber entre {FIRST_YEAR} et {LAST_YEAR}."
        )
    return date


def _from_serial(serial) -> datetime.date:
    """The date of an Excel serial number (days since 30/12/1899, the fraction being the time
    of day)."""
    shown = clean_text(serial)
    try:
        date = _EXCEL_EPOCH + datetime.timedelta(days=int(serial))
    except (OverflowError, ValueError):
        raise ParseError(
            f"« {shorten(shown)} » n'est pas une date lisible ({_DATE_HELP})."
        ) from None
    return _in_range(date, shown)


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
        self.label_of: dict[object, str] = {}  # value → label, for the preview's wording
        self._by_key: dict[str, object] = {}
        self._label_by_key: dict[str, str] = {}
        for value, label, aliases in entries:
            self.labels.append(label)
            self.label_of[value] = label
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
        suggestions = " ; ".join(f"« {label} »" for label in self.closest(text[:200]))
        return f"{self.what} inconnue : « {shorten(text)} ». Valeurs proches : {suggestions}."

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
            for run, match in rejoin_commas(chunk, self.get):
                match = self.get(run) if match is None else match
                if match is None:
                    errors.append(self.unknown_message(run))
                elif match not in found:
                    found.append(match)
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
# `Name (code)`, the public pages' and exports' notation: a SIREN, or an INSEE code of a
# commune, département or région (the name then tells a département from a région).
_PAREN_CODE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>\d{9}|\d{5}|2[AB]\d{3}|\d{2,3}|2[AB])\)$")
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
        if _INSEE_COMMUNE.match(tag) or _INSEE_DEP_OR_REG.match(tag):
            # « Paris [75056] »: an INSEE code without its kind, found by code (the name then
            # tells a département from a région of the same number).
            return TerritoryRef(text, name=name, code=tag)
        kind_token, _, code = tag.partition(":")
        kind = KIND_TOKENS.get(fold(kind_token).upper().replace(" ", ""))
        if kind is None:
            raise ParseError(
                f"« [{shorten(match['tag'])}] » : entre crochets, indiquez un SIREN, une nature "
                f"({', '.join(sorted(set(KIND_TOKENS.values())))}) ou nature:code (DEP:35)."
            )
        if not name and not code:
            raise ParseError(f"« {shorten(text)} » : indiquez le nom ou le code du territoire.")
        return TerritoryRef(text, name=name, kind=kind, code=code)
    if match := _PAREN_CODE.match(text):
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
# Words people write for a kind (« PETR », « pôle métropolitain », « GIP »…) are prefixes too:
# a cell that starts with one names a territory of that kind.
NAME_PREFIXES: list[tuple[str, tuple[str, ...]]] = [
    ("communaute de communes", ("CC",)),
    ("communaute d agglomeration", ("CA",)),
    ("communaute de l agglomeration", ("CA",)),
    ("communaute d agglo", ("CA",)),
    ("communaute urbaine", ("CU",)),
    ("etablissement public territorial", ("EPT",)),
    ("pole d equilibre territorial et rural", ("PETR",)),
    ("pole metropolitain", ("POLE",)),
    ("parc naturel regional", ("PNR",)),
    ("syndicat mixte", ("SM",)),
    ("groupement d interet public", ("AUTRE",)),
    ("association", ("AUTRE",)),
    ("departement", ("DEP",)),
    ("conseil departemental", ("DEP",)),
    ("region", ("REG",)),
    ("conseil regional", ("REG",)),
    ("metropole", ("METRO", "MET69")),
    ("agglomeration", ("CA", "CU")),
    ("agglo", ("CA", "CU")),
    ("commune", ("COM",)),
    ("ville", ("COM",)),
    ("petr", ("PETR",)),
    ("gip", ("AUTRE",)),
    ("cdc", ("CC",)),
    ("cc", ("CC",)),
    ("ca", ("CA",)),
    ("cu", ("CU",)),
    ("ept", ("EPT",)),
    ("pnr", ("PNR",)),
    ("sm", ("SM",)),
]
_ARTICLES = ("de la ", "de l ", "des ", "du ", "de ", "d ", "l ", "la ", "le ", "les ")
# One regular expression for all prefixes (longest first, as listed): the index reads 36,000
# names through it.
_PREFIX_RE = re.compile("^(" + "|".join(re.escape(p) for p, _ in NAME_PREFIXES) + ") ")
_PREFIX_KINDS = dict(NAME_PREFIXES)

# Kinds a cell creates, without official code, when it starts with their word and names no
# existing territory: their registers (BANATIC) are not packaged, so a missing one is new, not
# a typo. EPCI, communes, départements and régions are all in the official list.
CREATED_BY_WORD = {"PETR", "POLE", "SM", "PNR", "AUTRE"}

# Words dropped from the loose key: articles and « et » (also written `&`).
_LOOSE_DROPPED = frozenset({"de", "du", "des", "d", "l", "la", "le", "les", "et", "au", "aux"})
_LOOSE_SYNONYMS = {"agglo": "agglomeration", "st": "saint", "ste": "sainte"}
# Words that say a grouping's kind inside its usual name (« Lorient Agglomération », « Le Mans
# Métropole », « Vitré Communauté »), dropped from the core key.
_KIND_WORDS = frozenset(
    {"agglomeration", "communaute", "communes", "urbaine", "metropole", "intercommunalite"}
)
_TRAILING_ACRONYM = re.compile(r"^(?P<name>.+?)\s*\((?P<acronym>[^()\s]{2,15})\)$")


def split_kind_prefix(folded: str) -> tuple[tuple[str, ...], str]:
    """(kinds the prefix designates, core name) for a folded name: « cc du pays d iroise » →
    (("CC",), "pays d iroise"); « petr du pays de retz » → (("PETR",), "pays de retz"); no
    prefix → ((), name). A trailing « Métropole » is not a prefix: communautés urbaines and
    d'agglomération carry it too (« Le Mans Métropole », « Nîmes Métropole »)."""
    match = _PREFIX_RE.match(folded)
    if match is None:
        return (), folded
    core = folded[match.end() :]
    for article in _ARTICLES:
        if core.startswith(article):
            core = core[len(article) :]
            break
    return _PREFIX_KINDS[match[1]], core


def fold_name(text: str) -> str:
    """`fold` with `&` read as « et »."""
    return fold((text or "").replace("&", " et "))


def split_acronym(text: str) -> tuple[str, str]:
    """(name, acronym) for « Communauté d'agglomération du Pays Basque (CAPB) »; (text, "")
    when the cell does not end with one word in brackets."""
    text = text.strip()
    match = _TRAILING_ACRONYM.match(text) if text.endswith(")") else None
    if match and re.search(r"[A-Za-z]", match["acronym"]) and match["name"].strip():
        return match["name"].strip(), match["acronym"]
    return text, ""


def loose_key(folded: str) -> str:
    """A folded name without its kind prefix, its articles nor « et », « agglo » read as
    « agglomération » and « St » as « Saint »: « CA du Pays de Saint-Malo Agglomération » and
    « Pays de St Malo agglo » share « pays saint malo agglomeration »."""
    _, core = split_kind_prefix(folded)
    _, core = split_kind_prefix(core)  # « CA Agglo du Pays de Dreux »
    words = [_LOOSE_SYNONYMS.get(word, word) for word in core.split()]
    return " ".join(word for word in words if word not in _LOOSE_DROPPED)


def core_key(folded: str) -> str:
    """The loose key without the words that only say the kind: « lorient » for « Lorient
    Agglomération ». Only compared among groupings, and only when the cell says it names one."""
    return " ".join(word for word in loose_key(folded).split() if word not in _KIND_WORDS)


def names_a_grouping(folded: str) -> bool:
    """Whether a folded name says it is an intercommunal grouping (a prefix or a kind word)."""
    kinds, _ = split_kind_prefix(folded)
    if kinds and set(kinds) <= {"CC", "CA", "CU", "METRO", "MET69", "EPT"}:
        return True
    words = set(loose_key(folded).split())
    return bool(words & _KIND_WORDS) or "agglopole" in words


# --- Files --------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """Rows of cells as read from a file, with their line numbers in the spreadsheet."""

    header: list
    rows: list[tuple[int, list]]
    header_line: int = 1


# Bounds of a sheet, checked before and while it is read so that memory stays bounded whatever
# a file that passes the size limit declares: the inventory has 24 columns and a few hundred
# rows; 10,000 rows is the largest import measured (benchmarks/REPORT.md), and a 5 MB CSV of
# short rows holds about 200,000. A sparse XLSX of 2 kB that declared its sheet as
# A1:XFD1048576, or held one cell in row 1,048,576, had the reader fill in a billion empty
# cells (4 GB in 14 s).
SHEET_MAX_ROWS = 250_000
SHEET_MAX_COLUMNS = 200


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")  # French thousands: a narrow no-break space


def _too_large(rows: int | None = None, columns: int | None = None) -> ParseError:
    """The refusal of a sheet past the bounds: its declared size when known."""
    size = (
        f"s'étend sur {_number(rows)} lignes et {_number(columns)} colonnes"
        if rows is not None
        else "a une ligne au-delà de ces bornes"
    )
    return ParseError(
        f"Cette feuille {size} (au plus {_number(SHEET_MAX_ROWS)} lignes et "
        f"{SHEET_MAX_COLUMNS} colonnes) : elle n'est pas lue. Copiez les lignes de l'inventaire "
        "dans une feuille neuve, ou enregistrez-la en CSV."
    )


def _sheet_from_rows(rows: Iterable[Sequence]) -> Sheet:
    """The first non-blank row as header, the other non-blank rows numbered; blank rows are
    dropped as they come, and a row past the bounds stops the reading."""
    header, header_line, body = None, 0, []
    for number, row in enumerate(rows, start=1):
        if number > SHEET_MAX_ROWS or len(row) > SHEET_MAX_COLUMNS:
            raise _too_large()
        if not any(clean_text(cell) for cell in row):
            continue
        if header is None:
            header, header_line = list(row), number
        else:
            body.append((number, list(row)))
    if header is None:
        return Sheet(header=[], rows=[])
    return Sheet(header=header, rows=body, header_line=header_line)


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM, else Windows-1252 (French Excel's « CSV (séparateur : point-
    virgule) »)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's « Texte Unicode » (tab-separated); the BOM says the byte order.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError("Le fichier texte UTF-16 est illisible (octets invalides).") from None
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
        # Streamed: blank and surplus rows are never kept.
        return _sheet_from_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ParseError(f"Fichier CSV illisible : {error}.") from None


def read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ParseError("Ce fichier n'est pas un classeur Excel (.xlsx) lisible.") from None
    try:
        sheet = workbook.worksheets[0]
        # The dimension the sheet declares, read from the head of its XML before any row.
        rows, columns = sheet.max_row or 0, sheet.max_column or 0
        if rows > SHEET_MAX_ROWS or columns > SHEET_MAX_COLUMNS:
            raise _too_large(rows, columns)
        # Then rows as they are: the declared size would pad every row to its width and add
        # the rows it claims; a row numbered past the bounds is caught while streaming.
        sheet.reset_dimensions()
        return _sheet_from_rows(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _ods_text(node) -> str:
    """A paragraph's text as LibreOffice shows it: runs of spaces (`text:s`), tabs and line
    breaks written as elements, spans and links read through."""
    parts = [node.text or ""]
    for child in node:
        if child.tag == _ODS_TEXT + "s":
            parts.append(" " * int(child.get(_ODS_TEXT + "c") or 1))
        elif child.tag == _ODS_TEXT + "tab":
            parts.append("\t")
        elif child.tag == _ODS_TEXT + "line-break":
            parts.append("\n")
        else:
            parts.append(_ods_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _ods_cell(cell):
    value_type = cell.get(_ODS_OFFICE + "value-type")
    if value_type == "float":
        return float(cell.get(_ODS_OFFICE + "value"))
    if value_type == "date":
        return datetime.datetime.fromisoformat(cell.get(_ODS_OFFICE + "date-value"))
    if value_type == "boolean":
        return cell.get(_ODS_OFFICE + "boolean-value") == "true"
    return "\n".join(_ods_text(p) for p in cell if p.tag == _ODS_TEXT + "p")


def _ods_rows(content) -> Iterator[list]:
    """The rows of the first sheet of `content.xml`, streamed: each row is read, then dropped
    from the tree, so memory holds one row whatever the sheet's length (a whole-document reader
    took 350 MB for 10,000 rows)."""
    cell_tags = {_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell"}
    stack, in_sheet, seen_sheet = [], False, False
    # The standard library's parser: ElementTree resolves no external entity, and the expat it
    # is built on (2.4 and later) refuses entity-expansion bombs.
    for event, element in ElementTree.iterparse(content, events=("start", "end")):  # noqa: S314
        if event == "start":
            stack.append(element)
            if element.tag == _ODS_TABLE + "table" and not seen_sheet:
                in_sheet = seen_sheet = True
            continue
        stack.pop()
        if element.tag == _ODS_TABLE + "table" and in_sheet:
            return
        if not in_sheet or element.tag != _ODS_TABLE + "table-row":
            continue
        cells = []
        for cell in element:
            if cell.tag in cell_tags:
                repeat = int(cell.get(_ODS_TABLE + "number-columns-repeated") or 1)
                cells.extend([_ods_cell(cell)] * min(repeat, 200))
        while cells and cells[-1] in ("", None):
            cells.pop()
        repeat_rows = int(element.get(_ODS_TABLE + "number-rows-repeated") or 1)
        if stack:
            stack[-1].remove(element)
        yield [cells, repeat_rows]
    if not seen_sheet:
        raise ParseError("Ce fichier n'est pas un classeur OpenDocument (.ods) lisible.")


def read_ods(data: bytes) -> Sheet:
    def rows():
        count = 0
        for cells, repeat_rows in _ods_rows(content):
            # LibreOffice writes the empty rows down to the sheet's end as one repeated row.
            repeat_rows = min(repeat_rows, 2) if not cells else repeat_rows
            count += repeat_rows
            if count > SHEET_MAX_ROWS:
                raise _too_large()  # before making the repeated rows
            yield from [cells] * repeat_rows

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as content:
            return _sheet_from_rows(rows())
    except ParseError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, ElementTree.ParseError):
        raise ParseError("Ce fichier n'est pas un classeur OpenDocument (.ods) lisible.") from None


# Limits of a spreadsheet archive, checked on its directory before anything is inflated: a
# 10,000-row inventory inflates to about 15 MB in about 10 entries, compressed about 8 times.
# A « zip bomb » (a few MB that inflate to GB) is refused in milliseconds.
ARCHIVE_MAX_ENTRIES = 200
ARCHIVE_MAX_INFLATED = 150 * 1024 * 1024
ARCHIVE_MAX_RATIO = 200


def check_archive(data: bytes) -> None:
    """Refuse an XLSX/ODS whose declared sizes are too large: the zip readers then never
    inflate an entry past its declared size, so these checks bound memory and time."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not an archive at all: the reader says which kind of file it expected
    if len(entries) > ARCHIVE_MAX_ENTRIES:
        raise ParseError(
            f"Ce classeur contient {len(entries)} éléments (au plus {ARCHIVE_MAX_ENTRIES}) : "
            "il n'est pas lu."
        )
    inflated = sum(entry.file_size for entry in entries)
    if inflated > ARCHIVE_MAX_INFLATED:
        raise ParseError(
            f"Ce classeur se décompresse en {inflated // (1024 * 1024)} Mo (au plus "
            f"{ARCHIVE_MAX_INFLATED // (1024 * 1024)} Mo) : il n'est pas lu."
        )
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > ARCHIVE_MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise ParseError(
                "Ce classeur est anormalement compressé (un élément gonfle plus de "
                f"{ARCHIVE_MAX_RATIO} fois) : il n'est pas lu."
            )


def read_spreadsheet(data: bytes, extension: str = "") -> Sheet:
    """Read XLSX, ODS or CSV bytes; the content decides, the file name only breaks ties."""
    if not data or not data.strip():
        raise ParseError("Le fichier est vide.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return read_csv(data)
    if data[:4] == b"PK\x03\x04":
        check_archive(data)
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
