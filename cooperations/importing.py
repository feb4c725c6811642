"""The inventory import service: read a sheet, check every row, then write all of it or nothing.

`plan_import` reads the database a fixed number of times per 2,000 rows (vocabularies, one
in-memory territory index, the existing cooperations of the file and their relations as plain
values), checks and compares every row, and writes nothing. `apply_import` writes a clean plan
in one transaction with bulk statements. The admin (through resources.py) and the
`import_inventory` command both call these two functions, so they report the same thing.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from . import inventory
from .inventory import ParseError, TerritoryRef, clean_text
from .models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    TerritoryAlias,
    Theme,
)
from .search import refresh_search_text
from .text import fold
from .vocabularies import PLUS_VALUE_FIELD_BY_CODE, PLUS_VALUE_FIELDS

Role = Participation.Role
ROLE_COLUMNS = {
    "metropoles": Role.METROPOLE,
    "partners": Role.PARTNER,
    "associated": Role.ASSOCIATED,
}

# Kinds whose official list is complete: a name missing from it is a typo, never a new territory.
NOT_CREATABLE_KINDS = {"METRO", "MET69", "COM", "DEP", "REG"}

SCALAR_FIELDS = [
    "name",
    "summary",
    "description",
    "legal_form_id",
    "status",
    "signed_on",
    "signed_on_precision",
    "starts_on",
    "ends_on",
    "adds_scale",
    "adds_value_chain",
    "adds_pooling",
    "governance",
    "funding",
    "staffing",
    "provenance",
    "last_verified_on",
    "is_published",
]

FIELD_LABELS = {
    "name": "Nom",
    "summary": "Résumé",
    "description": "Description",
    "legal_form_id": "Forme de coopération",
    "status": "Statut",
    "signed_on": "Date de signature",
    "signed_on_precision": "Date de signature",
    "starts_on": "Date de début",
    "ends_on": "Date de fin",
    "adds_scale": "Plus-value",
    "adds_value_chain": "Plus-value",
    "adds_pooling": "Plus-value",
    "governance": "Gouvernance",
    "funding": "Financements",
    "staffing": "Moyens humains",
    "provenance": "Provenance",
    "last_verified_on": "Dernière vérification",
    "is_published": "Publiée",
}

PLUS_VALUE_ALIASES = {
    "adds_scale": ["échelle", "enjeu d'échelle", "échelles", "scale"],
    "adds_value_chain": ["filière", "chaîne de valeur", "value chain"],
    "adds_pooling": ["mutualisations", "pooling"],
}
PLUS_VALUES = [(field, label, PLUS_VALUE_ALIASES[field]) for field, label in PLUS_VALUE_FIELDS]

STATUS_ALIASES = {
    Cooperation.Status.PROJECT: ["projet", "en cours de projet"],
    Cooperation.Status.ACTIVE: ["actif", "en cours"],
    Cooperation.Status.ENDED: ["terminé", "termine", "achevée", "achevé", "finie"],
    Cooperation.Status.ABANDONED: ["abandonné", "abandonne", "abandon"],
}

PROVENANCE_ALIASES = {
    Cooperation.Provenance.INVENTORY_2018: ["Inventaire 2018", "inventaire", "CGET 2018"],
    Cooperation.Provenance.FABRIQUE: ["Fabrique prospective", "Fabrique", "ANCT"],
    Cooperation.Provenance.LATER: ["Ajout ultérieur", "ajout", "ultérieur"],
}


@dataclass(frozen=True)
class NewTerritory:
    """A territory without official code that the file asks to create."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({Territory.Kind(self.kind).label}, sans code, à créer)"


@dataclass
class RowError:
    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"Ligne {self.line}"
        if self.column:
            where += f", colonne « {self.column} »"
        if self.value:
            where += f", valeur « {self.value} »"
        return f"{where} : {self.message}"


@dataclass
class RowPlan:
    line: int
    cells: dict[str, str]
    slug: str = ""
    fields: dict = field(default_factory=dict)
    themes: list[int] | None = None
    participations: dict[str, list] = field(default_factory=dict)  # role → territory handles
    factors: dict[int, str] | None = None
    factor_texts: dict[int, str] = field(default_factory=dict)
    factor_sources: dict[int, str] = field(default_factory=dict)
    # Plus-value illustrations, code → (text, source URL); None when the file has no such column.
    plus_value_notes: dict[str, tuple[str, str]] | None = None
    sources: list[str] | None = None
    errors: list[RowError] = field(default_factory=list)
    action: str = ""  # new, update, skip or invalid
    existing: "ExistingRecord | None" = None
    instance: Cooperation | None = None  # set once written
    changes: list[str] = field(default_factory=list)

    NEW, UPDATE, SKIP, INVALID = "new", "update", "skip", "invalid"


@dataclass
class ImportPlan:
    """Everything the import would do; `errors` non-empty means nothing may be written."""

    rows: list[RowPlan] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    new_territories: list[NewTerritory] = field(default_factory=list)
    index: "TerritoryIndex | None" = None

    @property
    def row_errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.row_errors

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        return (
            f"{len(self.rows)} ligne(s) : {self.count(RowPlan.NEW)} nouvelle(s), "
            f"{self.count(RowPlan.UPDATE)} modifiée(s), {self.count(RowPlan.SKIP)} inchangée(s), "
            f"{self.count(RowPlan.INVALID)} rejetée(s)"
            + (
                f" ; {len(self.new_territories)} territoire(s) sans code à créer"
                if self.new_territories
                else ""
            )
            + "."
        )


# The usual short names of the 22 métropoles (SIREN of the 2026 list), read only in the
# « Métropoles » column: there « Lille » can only mean the Métropole européenne de Lille, while
# among partners it is the commune. Folded spellings.
METROPOLE_SHORT_NAMES = {
    "rouen": "200023414",
    "nice": "200030195",
    "metz": "200039865",
    "grenoble": "200040715",
    "grenoble alpes": "200040715",
    "paris": "200054781",
    "grand paris": "200054781",
    "mgp": "200054781",
    "marseille": "200054807",
    "aix marseille": "200054807",
    "aix marseille provence": "200054807",
    "amp": "200054807",
    "lille": "200093201",
    "mel": "200093201",
    "dijon": "242100410",
    "brest": "242900314",
    "toulouse": "243100518",
    "bordeaux": "243300316",
    "montpellier": "243400017",
    "rennes": "243500139",
    "tours": "243700754",
    "saint etienne": "244200770",
    "nantes": "244400404",
    "orleans": "244500468",
    "nancy": "245400676",
    "grand nancy": "245400676",
    "clermont": "246300701",
    "clermont ferrand": "246300701",
    "clermont auvergne": "246300701",
    "strasbourg": "246700488",
    "eurometropole": "246700488",
    "toulon": "248300543",
    "tpm": "248300543",
    "lyon": "200046977",
    "grand lyon": "200046977",
}


# --- Territory index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _T:
    pk: int
    kind: str
    code: str
    name: str


class TerritoryIndex:
    """Every territory in memory (two queries), so that 10,000 rows cost no query each.

    Resolution never guesses: a code designates its territory; a name must match exactly one
    territory (after folding case, accents and punctuation), an alias wins over names, and the
    shorter « core » name (« Pays d'Iroise » for « CC du Pays d'Iroise ») is only tried when the
    cell or the column says which kind of territory is meant.
    """

    def __init__(self, territories: Iterable[tuple], aliases: Iterable[tuple[str, int]]):
        self.by_pk: dict[int, _T] = {}
        self.by_code: dict[str, list[_T]] = defaultdict(list)
        self.by_name: dict[str, list[_T]] = defaultdict(list)
        self.by_core: dict[str, list[_T]] = defaultdict(list)
        for pk, kind, code, name, search_name in territories:
            territory = _T(pk, kind, code, name)
            self.by_pk[pk] = territory
            if code:
                self.by_code[code.upper()].append(territory)
            folded = search_name or fold(name)
            self.by_name[folded].append(territory)
            _, core = inventory.split_kind_prefix(folded)
            if core != folded:
                self.by_core[core].append(territory)
        self.aliases = {search_alias: self.by_pk[pk] for search_alias, pk in aliases}
        self.created: dict[tuple[str, str], NewTerritory] = {}

    @classmethod
    def load(cls) -> "TerritoryIndex":
        """Two queries: all territories (values only) and all aliases."""
        rows = Territory.objects.values_list("pk", "kind", "code", "name", "search_name")
        aliases = TerritoryAlias.objects.values_list("search_alias", "territory_id")
        return cls(rows.iterator(chunk_size=5000), aliases)

    def resolve(self, ref: TerritoryRef, allowed_kinds: tuple[str, ...] = (), create=True):
        """The territory's pk or a NewTerritory; ParseError with a French message otherwise.
        With create=False, a territory the file would create counts as not found."""
        if ref.code:
            return self._by_code(ref, allowed_kinds)
        folded = fold(ref.name)
        if not folded:
            raise ParseError("Nom de territoire vide.")
        prefix_kinds, core = inventory.split_kind_prefix(folded)
        kinds = (ref.kind,) if ref.kind else prefix_kinds
        if allowed_kinds:
            kinds = tuple(k for k in (kinds or allowed_kinds) if k in allowed_kinds)
            if not kinds:
                raise ParseError(self._not_allowed(ref.name, allowed_kinds))

        def keep(candidates):
            return [t for t in candidates if not kinds or t.kind in kinds]

        alias = self.aliases.get(folded)
        if alias is not None and (not kinds or alias.kind in kinds):
            return alias.pk
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            short = [
                t
                for t in self.by_code.get(METROPOLE_SHORT_NAMES.get(folded, ""), [])
                if t.kind in allowed_kinds
            ]
            if len(short) == 1:
                return short[0].pk
        candidates = keep(self.by_name.get(folded, []))
        if not candidates and kinds:
            candidates = keep(self.by_name.get(core, []) + self.by_core.get(core, []))
            if not candidates and folded != core:
                candidates = keep(self.by_core.get(folded, []))
        candidates = list(dict.fromkeys(candidates))
        if len(candidates) == 1:
            return candidates[0].pk
        if len(candidates) > 1:
            raise ParseError(self._ambiguous(ref.name, candidates))
        if create and ref.kind and ref.kind not in NOT_CREATABLE_KINDS:
            if len(ref.name.strip()) > 200:
                raise ParseError("un nom de territoire compte 200 caractères au plus.")
            key = (ref.kind, folded)
            if key not in self.created:
                self.created[key] = NewTerritory(ref.kind, ref.name.strip())
            return self.created[key]
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            raise ParseError(
                f"Métropole inconnue : « {ref.name} ». Indiquez son nom officiel ou son SIREN "
                "(voir le modèle), ou ajoutez un alias dans l'administration."
            )
        raise ParseError(
            f"Territoire inconnu : « {ref.name} ». Indiquez son code officiel (SIREN ou INSEE), "
            "ajoutez un alias dans l'administration, ou, pour un territoire sans code, précisez "
            f"sa nature entre crochets : « {ref.name} [PETR] »."
        )

    def _by_code(self, ref: TerritoryRef, allowed_kinds: tuple[str, ...]):
        candidates = self.by_code.get(ref.code.upper(), [])
        if ref.kind:
            candidates = [t for t in candidates if t.kind == ref.kind]
        if not candidates:
            raise ParseError(
                f"Aucun territoire n'a le code officiel « {ref.code} »"
                + (f" parmi les {Territory.Kind(ref.kind).label.lower()}s" if ref.kind else "")
                + " dans la liste chargée."
            )
        if len(candidates) > 1:
            raise ParseError(self._ambiguous(ref.code, candidates))
        territory = candidates[0]
        if allowed_kinds and territory.kind not in allowed_kinds:
            raise ParseError(self._not_allowed(territory.name, allowed_kinds))
        return territory.pk

    @staticmethod
    def _ambiguous(text: str, candidates: list[_T]) -> str:
        listed = " ; ".join(
            f"{t.name} ({t.kind}, {t.code or 'sans code'})"
            for t in sorted(candidates, key=lambda t: (t.name, t.kind, t.code))[:10]
        )
        more = f" et {len(candidates) - 10} autres" if len(candidates) > 10 else ""
        return (
            f"« {text} » désigne plusieurs territoires : {listed}{more}. "
            "Indiquez le code officiel entre crochets, par exemple « Nom [SIREN] »."
        )

    @staticmethod
    def _not_allowed(text: str, allowed_kinds: tuple[str, ...]) -> str:
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            return f"« {text} » n'est pas une des 22 métropoles."
        return f"« {text} » n'a pas la nature attendue."

    def label(self, handle) -> str:
        if isinstance(handle, NewTerritory):
            return str(handle)
        territory = self.by_pk[handle]
        return f"{territory.name} ({territory.code})" if territory.code else territory.name


# --- Vocabularies --------------------------------------------------------------------------------


@dataclass
class Vocabularies:
    themes: inventory.VocabularyMatcher
    legal_forms: inventory.VocabularyMatcher
    factors: inventory.VocabularyMatcher
    factor_ids: dict[str, int]
    statuses: inventory.VocabularyMatcher
    plus_values: inventory.VocabularyMatcher
    provenances: inventory.VocabularyMatcher

    @classmethod
    def load(cls) -> "Vocabularies":
        """Three queries: themes, legal forms, factors."""
        themes = list(Theme.objects.values_list("pk", "label", "slug"))
        forms = list(LegalForm.objects.values_list("pk", "label", "slug"))
        factors = list(SuccessFactor.objects.values_list("pk", "label", "slug"))
        return cls(
            themes=inventory.VocabularyMatcher(
                [(pk, label, [slug]) for pk, label, slug in themes], "Thématique"
            ),
            legal_forms=inventory.VocabularyMatcher(
                [(pk, label, [slug]) for pk, label, slug in forms], "Forme de coopération"
            ),
            factors=inventory.VocabularyMatcher(
                [(pk, label, [slug]) for pk, label, slug in factors], "Facteur de réussite"
            ),
            factor_ids={slug: pk for pk, _label, slug in factors},
            statuses=inventory.VocabularyMatcher(
                [
                    (value, label, [value, *STATUS_ALIASES.get(value, [])])
                    for value, label in Cooperation.Status.choices
                ],
                "Valeur de statut",
            ),
            plus_values=inventory.VocabularyMatcher(PLUS_VALUES, "Plus-value"),
            provenances=inventory.VocabularyMatcher(
                [
                    (value, label, [value, *PROVENANCE_ALIASES.get(value, [])])
                    for value, label in Cooperation.Provenance.choices
                ],
                "Provenance",
            ),
        )


# --- Planning ------------------------------------------------------------------------------------

_url_validator = URLValidator(schemes=["http", "https"])


def _checked_url(text: str) -> str:
    """One http(s) address of at most 500 characters, or a ParseError saying what is wrong."""
    try:
        _url_validator(text)
    except ValidationError:
        raise ParseError(f"« {text[:60]} » n'est pas une adresse web valide.") from None
    if len(text) > 500:
        raise ParseError(f"« {text[:60]}… » dépasse 500 caractères.")
    return text


def plan_import(sheet: inventory.Sheet) -> ImportPlan:
    """Check and compare every row of the sheet; writes nothing.

    Queries: 3 for vocabularies, 2 for the territory index, then 5 per 2,000 distinct slugs
    for the existing cooperations and their themes, participations, factors and sources.
    """
    plan = ImportPlan()
    mapping = inventory.map_headers(sheet.header)
    plan.headers = mapping.headers
    plan.ignored_headers = mapping.ignored
    if not sheet.header:
        plan.file_errors.append("Le fichier ne contient aucune ligne d'en-tête ni aucune donnée.")
        return plan
    plan.file_errors.extend(mapping.errors)
    if plan.file_errors:
        return plan
    if not sheet.rows:
        plan.file_errors.append("Le fichier ne contient aucune coopération sous ses en-têtes.")
        return plan

    vocabularies = Vocabularies.load()
    territories = TerritoryIndex.load()
    reader = _RowReader(mapping, vocabularies, territories)
    plan.rows = [reader.read(line, cells) for line, cells in sheet.rows]

    seen: dict[str, int] = {}
    for row in plan.rows:
        if not row.slug:
            continue
        if row.slug in seen:
            row.errors.append(
                RowError(
                    row.line,
                    mapping.headers.get("slug") or mapping.headers["name"],
                    row.cells.get("slug") or row.cells.get("name", ""),
                    f"identifiant « {row.slug} » déjà utilisé ligne {seen[row.slug]}.",
                )
            )
        else:
            seen[row.slug] = row.line

    existing = _load_existing(list(seen))
    for row in plan.rows:
        row.existing = existing.get(row.slug)
        _check_dates(row, mapping)
        _check_roles(row, territories, mapping)
        if row.errors:
            row.action = RowPlan.INVALID
        elif row.existing is None:
            row.action = RowPlan.NEW
        else:
            row.changes = _changes(row)
            row.action = RowPlan.UPDATE if row.changes else RowPlan.SKIP
    plan.new_territories = list(territories.created.values())
    plan.index = territories
    return plan


class _RowReader:
    def __init__(self, mapping, vocabularies: Vocabularies, territories: TerritoryIndex):
        self.mapping = mapping
        self.vocabularies = vocabularies
        self.territories = territories

    def read(self, line: int, raw_cells: list) -> RowPlan:
        cells = {
            key: raw_cells[position] if position < len(raw_cells) else None
            for key, position in self.mapping.positions.items()
        }
        row = RowPlan(line=line, cells={key: clean_text(value) for key, value in cells.items()})
        for key, value in cells.items():
            try:
                self._read_cell(row, key, value)
            except ParseError as error:
                row.errors.append(
                    RowError(line, self.mapping.headers[key], row.cells[key], str(error))
                )
        if row.factors is not None or row.factor_texts or row.factor_sources:
            # A filled text or source cell also selects its factor; only the keys matter here.
            row.factors = dict.fromkeys([*(row.factors or {}), *row.factor_texts,
                                         *row.factor_sources], "")  # fmt: skip
        if row.plus_value_notes:
            # An illustrated plus-value is selected, whatever the « Plus-value » column says.
            for code in row.plus_value_notes:
                row.fields[PLUS_VALUE_FIELD_BY_CODE[code]] = True
        return row

    def _read_cell(self, row: RowPlan, key: str, value) -> None:
        text = row.cells[key]
        vocab = self.vocabularies
        if key == "name":
            if not text:
                raise ParseError("le nom est obligatoire.")
            if len(text) > 300:
                raise ParseError("le nom dépasse 300 caractères.")
            row.fields["name"] = text
            if not row.slug:
                row.slug = slugify(text)[:200].strip("-")
                if not row.slug:
                    raise ParseError("impossible d'en dériver un identifiant : ajoutez-en un.")
        elif key == "slug":
            if text:
                if slugify(text) != text or len(text) > 200:
                    raise ParseError(
                        "un identifiant ne contient que des minuscules sans accent, des chiffres "
                        f"et des tirets (200 au plus), par exemple « {slugify(text)[:200]} »."
                    )
                row.slug = text
        elif key in ROLE_COLUMNS:
            role = ROLE_COLUMNS[key]
            allowed = Territory.METROPOLE_KINDS if role == Role.METROPOLE else ()
            handles, messages = [], []
            for handle in self._territories(value, tuple(allowed), messages):
                if handle not in handles:
                    handles.append(handle)
            if messages:
                raise ParseError(" ".join(messages))
            if role == Role.METROPOLE and not handles:
                raise ParseError("au moins une métropole est obligatoire.")
            row.participations[role] = handles
        elif key == "legal_form":
            row.fields["legal_form_id"] = vocab.legal_forms.match(text) if text else None
        elif key == "status":
            row.fields["status"] = vocab.statuses.match(text) if text else ""
        elif key == "signed_on":
            parsed = inventory.parse_partial_date(value)
            if parsed is None:
                row.fields["signed_on"], row.fields["signed_on_precision"] = None, ""
            else:
                row.fields["signed_on"], row.fields["signed_on_precision"] = parsed
        elif key in {"starts_on", "ends_on", "last_verified_on"}:
            parsed = inventory.parse_partial_date(value)
            row.fields[key] = parsed[0] if parsed else None
        elif key == "themes":
            row.themes = vocab.themes.match_many(value)
        elif key == "factors":
            row.factors = {pk: "" for pk in vocab.factors.match_many(value)}
        elif key.startswith(inventory.FACTOR_TEXT_PREFIX):
            if text:
                code = key.removeprefix(inventory.FACTOR_TEXT_PREFIX)
                row.factor_texts[vocab.factor_ids[code]] = text
        elif key.startswith(inventory.FACTOR_SOURCE_PREFIX):
            if text:
                code = key.removeprefix(inventory.FACTOR_SOURCE_PREFIX)
                row.factor_sources[vocab.factor_ids[code]] = _checked_url(text)
        elif key.startswith((inventory.PLUS_VALUE_TEXT_PREFIX, inventory.PLUS_VALUE_SOURCE_PREFIX)):
            notes = row.plus_value_notes if row.plus_value_notes is not None else {}
            row.plus_value_notes = notes
            if text:
                code = key.split(":", 1)[1]
                note_text, note_source = notes.get(code, ("", ""))
                if key.startswith(inventory.PLUS_VALUE_TEXT_PREFIX):
                    note_text = text
                else:
                    note_source = _checked_url(text)
                notes[code] = (note_text, note_source)
        elif key == "plus_value":
            chosen = set(vocab.plus_values.match_many(value))
            for field_name, _label, _aliases in PLUS_VALUES:
                row.fields[field_name] = field_name in chosen
        elif key in {"summary", "description", "governance", "funding", "staffing"}:
            row.fields[key] = text
        elif key == "provenance":
            row.fields["provenance"] = (
                vocab.provenances.match(text) if text else Cooperation.Provenance.LATER
            )
        elif key == "sources":
            urls = inventory.split_urls(value)
            for url in urls:
                try:
                    _url_validator(url)
                except ValidationError:
                    raise ParseError(f"« {url} » n'est pas une adresse web valide.") from None
                if len(url) > 500:
                    raise ParseError(f"« {url[:60]}… » dépasse 500 caractères.")
            row.sources = urls
        elif key == "is_published":
            row.fields["is_published"] = inventory.parse_bool(value)

    def _territories(self, value, allowed: tuple[str, ...], messages: list[str]):
        """Territories of a cell. Some official names contain a comma (« CC Chinon, Vienne et
        Loire »), so comma-separated pieces are re-joined when together they name an existing
        territory; a joined piece never creates one."""
        text = clean_text(value)
        if not text:
            return
        chunks = inventory.split_values(text) if (";" in text or "\n" in text) else [text]
        for chunk in chunks:
            pieces = [piece.strip() for piece in chunk.split(",") if piece.strip()]
            i = 0
            while i < len(pieces):
                for j in range(len(pieces), i + 1, -1):
                    try:
                        ref = inventory.parse_territory_ref(", ".join(pieces[i:j]))
                        handle = self.territories.resolve(ref, allowed, create=False)
                    except ParseError:
                        continue
                    yield handle
                    i = j
                    break
                else:
                    try:
                        ref = inventory.parse_territory_ref(pieces[i])
                        yield self.territories.resolve(ref, allowed)
                    except ParseError as error:
                        messages.append(str(error))
                    i += 1


def _check_dates(row: RowPlan, mapping) -> None:
    def current(name):
        if name in row.fields:
            return row.fields[name]
        return row.existing.fields.get(name) if row.existing else None

    starts, ends = current("starts_on"), current("ends_on")
    if starts and ends and ends < starts:
        column = "ends_on" if "ends_on" in mapping.headers else "starts_on"
        row.errors.append(
            RowError(
                row.line,
                mapping.headers[column],
                row.cells.get(column, ""),
                "la date de fin précède la date de début.",
            )
        )


def _check_roles(row: RowPlan, territories: TerritoryIndex, mapping) -> None:
    """A territory takes part once: it cannot be both métropole and partner of one cooperation."""
    seen: dict = {}
    kept_roles = set()
    if row.existing is not None:
        kept_roles = {
            (territory_id, role)
            for role, territory_ids in row.existing.snapshot["participations"].items()
            if role not in row.participations
            for territory_id in territory_ids
        }
    for territory_id, role in kept_roles:
        seen[territory_id] = role
    for key, role in ROLE_COLUMNS.items():
        for handle in row.participations.get(role, []):
            if handle in seen:
                row.errors.append(
                    RowError(
                        row.line,
                        mapping.headers[key],
                        row.cells.get(key, ""),
                        f"« {territories.label(handle)} » figure déjà comme "
                        f"{Role(seen[handle]).label.lower()} de cette coopération.",
                    )
                )
            else:
                seen[handle] = role


@dataclass
class ExistingRecord:
    """A cooperation already in the database, as plain values for comparison."""

    pk: int
    fields: dict
    snapshot: dict


def _load_existing(slugs: list[str]) -> dict[str, ExistingRecord]:
    """Value queries rather than model instances and prefetches: 5 queries per 2,000 slugs and
    no object construction, which matters for a 10,000-row re-import."""
    found: dict[str, ExistingRecord] = {}
    for start in range(0, len(slugs), 2000):
        rows = Cooperation.objects.filter(slug__in=slugs[start : start + 2000]).values(
            "pk", "slug", *SCALAR_FIELDS
        )
        by_pk: dict[int, ExistingRecord] = {}
        for values in rows:
            record = ExistingRecord(
                pk=values["pk"],
                fields={name: values[name] for name in SCALAR_FIELDS},
                snapshot={
                    "themes": set(),
                    "participations": {role: set() for role in Role.values},
                    "factors": {},
                    "plus_values": {},
                    "sources": [],
                },
            )
            by_pk[record.pk] = record
            found[values["slug"]] = record
        pks = list(by_pk)
        if not pks:
            continue
        themes = Cooperation.themes.through.objects.filter(cooperation_id__in=pks)
        for cooperation_id, theme_id in themes.values_list("cooperation_id", "theme_id"):
            by_pk[cooperation_id].snapshot["themes"].add(theme_id)
        participations = Participation.objects.filter(cooperation_id__in=pks).values_list(
            "cooperation_id", "territory_id", "role"
        )
        for cooperation_id, territory_id, role in participations:
            by_pk[cooperation_id].snapshot["participations"][role].add(territory_id)
        factors = CooperationFactor.objects.filter(cooperation_id__in=pks).values_list(
            "cooperation_id", "factor_id", "text", "source_url"
        )
        for cooperation_id, factor_id, text, source_url in factors:
            by_pk[cooperation_id].snapshot["factors"][factor_id] = (text, source_url)
        plus_values = CooperationPlusValue.objects.filter(cooperation_id__in=pks).values_list(
            "cooperation_id", "plus_value", "text", "source_url"
        )
        for cooperation_id, code, text, source_url in plus_values:
            by_pk[cooperation_id].snapshot["plus_values"][code] = (text, source_url)
        sources = (
            Source.objects.filter(cooperation_id__in=pks)
            .order_by("position", "pk")
            .values_list("cooperation_id", "url")
        )
        for cooperation_id, url in sources:
            by_pk[cooperation_id].snapshot["sources"].append(url)
    return found


def _changes(row: RowPlan) -> list[str]:
    existing = row.existing
    snapshot = existing.snapshot
    changes: list[str] = []

    def note(label):
        if label not in changes:
            changes.append(label)

    for name, value in row.fields.items():
        if existing.fields[name] != value:
            note(FIELD_LABELS[name])
    if row.themes is not None and set(row.themes) != snapshot["themes"]:
        note("Thématiques")
    labels = {
        Role.METROPOLE: "Métropoles",
        Role.PARTNER: "Territoires partenaires",
        Role.ASSOCIATED: "Territoires associés",
    }
    for role, handles in row.participations.items():
        if set(handles) != snapshot["participations"][role]:
            note(labels[role])
    if row.factors is not None:
        wanted = _wanted_factors(row, snapshot["factors"])
        if wanted != snapshot["factors"]:
            note("Facteurs de réussite")
    if row.plus_value_notes is not None and row.plus_value_notes != snapshot["plus_values"]:
        note("Plus-value")
    if row.sources is not None and row.sources != snapshot["sources"]:
        note("Sources")
    return changes


def _wanted_factors(
    row: RowPlan, current: dict[int, tuple[str, str]]
) -> dict[int, tuple[str, str]]:
    """Factors after the import, factor → (text, source URL): the listed ones (or the current
    ones plus those with a filled cell when the file has no factor list), each with the file's
    text and source when their columns are present, else the current ones."""
    has_list = "factors" in row.cells
    keys = list(row.factors or {}) if has_list else [*current, *(row.factors or {})]
    text_columns = any(key.startswith(inventory.FACTOR_TEXT_PREFIX) for key in row.cells)
    source_columns = any(key.startswith(inventory.FACTOR_SOURCE_PREFIX) for key in row.cells)
    wanted = {}
    for pk in keys:
        text, source_url = current.get(pk, ("", ""))
        if pk in row.factor_texts:
            text = row.factor_texts[pk]
        elif has_list and text_columns:
            text = ""
        if pk in row.factor_sources:
            source_url = row.factor_sources[pk]
        elif has_list and source_columns:
            source_url = ""
        wanted[pk] = (text, source_url)
    return wanted


# --- Applying ------------------------------------------------------------------------------------


class ImportRejected(Exception):
    """Raised when asked to apply a plan that has errors."""


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    territories_created: int = 0
    cooperations: dict[str, int] = field(default_factory=dict)  # slug → pk, for the admin log


@transaction.atomic
def apply_import(plan: ImportPlan, user=None) -> ImportOutcome:
    """Write a clean plan in one transaction. Bulk statements for inserts, deletions and history
    (a few per table and per batch of rows), plus one UPDATE per changed cooperation; unchanged
    rows cost nothing."""
    if not plan.is_valid:
        raise ImportRejected(plan.summary())
    outcome = ImportOutcome()

    territory_ids: dict[NewTerritory, int] = {}
    if plan.new_territories:
        objects = [
            Territory(kind=t.kind, name=t.name, code="", search_name=fold(t.name))
            for t in plan.new_territories
        ]
        for new, obj in zip(
            plan.new_territories, Territory.objects.bulk_create(objects), strict=True
        ):
            territory_ids[new] = obj.pk
        outcome.territories_created = len(objects)

    def territory_pk(handle) -> int:
        return territory_ids[handle] if isinstance(handle, NewTerritory) else handle

    new_rows = [row for row in plan.rows if row.action == RowPlan.NEW]
    update_rows = [row for row in plan.rows if row.action == RowPlan.UPDATE]
    outcome.unchanged = plan.count(RowPlan.SKIP)

    new_objects = []
    for row in new_rows:
        cooperation = Cooperation(slug=row.slug, **row.fields)
        new_objects.append(cooperation)
    now_rows = []
    histories = []
    if new_objects:
        created = Cooperation.objects.bulk_create(new_objects, batch_size=500)
        if any(obj.pk is None for obj in created):  # backends without RETURNING
            by_slug = dict(
                Cooperation.objects.filter(slug__in=[o.slug for o in created]).values_list(
                    "slug", "pk"
                )
            )
            for obj in created:
                obj.pk = by_slug[obj.slug]
        for row, obj in zip(new_rows, created, strict=True):
            row.instance = obj
            now_rows.append((row, {}, True))
        histories += Cooperation.history.bulk_history_create(
            created, batch_size=500, default_user=user
        )
        outcome.created = len(created)

    if update_rows:
        objects = []
        now = timezone.now()
        pks = [row.existing.pk for row in update_rows]
        instances = {}
        for start in range(0, len(pks), 2000):
            instances.update(Cooperation.objects.in_bulk(pks[start : start + 2000]))
        for row in update_rows:
            row.instance = instances[row.existing.pk]
            row.instance.updated_at = now
            for name, value in row.fields.items():
                setattr(row.instance, name, value)
            objects.append(row.instance)
            now_rows.append((row, row.existing.snapshot, False))
        # One UPDATE per changed row, of its changed columns only: Django's bulk_update builds
        # a CASE per column and row, which costs far more at 10,000 rows.
        for row in update_rows:
            changed = {
                name: value
                for name, value in row.fields.items()
                if row.existing.fields[name] != value
            }
            Cooperation.objects.filter(pk=row.instance.pk).update(updated_at=now, **changed)
        histories += Cooperation.history.bulk_history_create(
            objects, batch_size=500, update=True, default_user=user
        )
        outcome.updated = len(update_rows)

    _write_relations(now_rows, territory_pk, user)
    _record_theme_history(histories)
    # The public search reads a text built from names, themes and participants, all just
    # written; 4 queries per 500 cooperations.
    written = [row.instance.pk for row, _, _ in now_rows]
    for start in range(0, len(written), 2000):
        refresh_search_text(Cooperation.objects.filter(pk__in=written[start : start + 2000]))
    outcome.cooperations = {row.slug: row.instance.pk for row, _, _ in now_rows}
    return outcome


def _record_theme_history(histories: list) -> None:
    """The themes of each new history record, which simple-history only writes itself on
    save(): its admin then shows themes in the versions made by an import. One query and a
    bulk insert per 2,000 records."""
    historical_themes = Cooperation.history.model._meta.get_field(
        "historicalcooperation_themes"
    ).related_model
    through = Cooperation.themes.through
    for start in range(0, len(histories), 2000):
        chunk = histories[start : start + 2000]
        links = defaultdict(list)
        rows = through.objects.filter(cooperation_id__in=[h.id for h in chunk]).values_list(
            "id", "cooperation_id", "theme_id"
        )
        for link_id, cooperation_id, theme_id in rows:
            links[cooperation_id].append((link_id, theme_id))
        historical_themes.objects.bulk_create(
            [
                historical_themes(
                    history=history, id=link_id, cooperation_id=history.id, theme_id=theme_id
                )
                for history in chunk
                for link_id, theme_id in links[history.id]
            ],
            batch_size=1000,
        )


def _write_relations(rows, territory_pk, user) -> None:
    Through = Cooperation.themes.through
    theme_adds, theme_removals = [], []
    part_adds, part_removals = [], []
    factor_adds, factor_updates, factor_removals = [], [], []
    plus_value_adds, plus_value_removals = [], []
    source_adds, source_removals = [], []

    for row, snapshot, is_new in rows:
        pk = row.instance.pk
        if row.themes is not None:
            current = set() if is_new else snapshot["themes"]
            wanted = set(row.themes)
            theme_adds += [Through(cooperation_id=pk, theme_id=t) for t in wanted - current]
            theme_removals += [(pk, t) for t in current - wanted]
        for role, handles in row.participations.items():
            current = set() if is_new else snapshot["participations"][role]
            wanted = {territory_pk(h) for h in handles}
            part_adds += [
                Participation(cooperation_id=pk, territory_id=t, role=role)
                for t in sorted(wanted - current)
            ]
            part_removals += [(pk, t) for t in current - wanted]
        if row.factors is not None:
            current = {} if is_new else snapshot["factors"]
            wanted = _wanted_factors(row, current)
            factor_adds += [
                CooperationFactor(cooperation_id=pk, factor_id=f, text=text, source_url=url)
                for f, (text, url) in wanted.items()
                if f not in current
            ]
            factor_updates += [
                (pk, f, note) for f, note in wanted.items() if f in current and current[f] != note
            ]
            factor_removals += [(pk, f) for f in current if f not in wanted]
        if row.plus_value_notes is not None:
            current = {} if is_new else snapshot["plus_values"]
            if current != row.plus_value_notes:
                if current:
                    plus_value_removals.append(pk)
                plus_value_adds += [
                    CooperationPlusValue(cooperation_id=pk, plus_value=code, text=text,
                                         source_url=url)
                    for code, (text, url) in sorted(row.plus_value_notes.items())
                ]  # fmt: skip
        if row.sources is not None:
            current = [] if is_new else snapshot["sources"]
            if current != row.sources:
                if current:
                    source_removals.append(pk)
                source_adds += [
                    Source(cooperation_id=pk, url=url, position=position)
                    for position, url in enumerate(row.sources, start=1)
                ]

    stale_themes = _matching(Through, theme_removals, "theme_id")
    for start in range(0, len(stale_themes), 2000):
        Through.objects.filter(pk__in=[t.pk for t in stale_themes[start : start + 2000]]).delete()
    Through.objects.bulk_create(theme_adds, batch_size=1000)
    _delete_with_history(
        Participation, _matching(Participation, part_removals, "territory_id"), user
    )
    bulk_create_with_history(part_adds, Participation, batch_size=1000, default_user=user)
    _delete_with_history(
        CooperationFactor, _matching(CooperationFactor, factor_removals, "factor_id"), user
    )
    notes = {(pk, factor_id): note for pk, factor_id, note in factor_updates}
    changed_links = _matching(CooperationFactor, list(notes), "factor_id")
    for link in changed_links:
        link.text, link.source_url = notes[(link.cooperation_id, link.factor_id)]
    if changed_links:
        bulk_update_with_history(
            changed_links,
            CooperationFactor,
            ["text", "source_url"],
            batch_size=1000,
            default_user=user,
        )
    bulk_create_with_history(factor_adds, CooperationFactor, batch_size=1000, default_user=user)
    # A few rows per cooperation at most: replaced as a whole, like sources.
    stale = [
        link
        for start in range(0, len(plus_value_removals), 2000)
        for link in CooperationPlusValue.objects.filter(
            cooperation_id__in=plus_value_removals[start : start + 2000]
        )
    ]
    _delete_with_history(CooperationPlusValue, stale, user)
    bulk_create_with_history(
        plus_value_adds, CooperationPlusValue, batch_size=1000, default_user=user
    )
    _replace_sources(source_removals, source_adds, user)


def _delete_with_history(model, objects: list, user) -> None:
    """Delete the rows with history INSERTs and DELETEs in batches.

    QuerySet.delete() would let simple-history write one history row per object through its
    post_delete handler (50,000 INSERTs for a 10,000-row update); the same « - » rows are
    written here in bulk, then the rows are deleted without signals. Only for models with no
    dependent rows (participations, factor links, sources).
    """
    if not objects:
        return
    historical = model.history.model
    now = timezone.now()
    historical.objects.bulk_create(
        [
            historical(
                history_date=now,
                history_user=user,
                history_change_reason="",
                history_type="-",
                **{
                    field.attname: getattr(obj, field.attname)
                    for field in historical.tracked_fields
                },
            )
            for obj in objects
        ],
        batch_size=500,
    )
    pks = [obj.pk for obj in objects]
    for start in range(0, len(pks), 2000):
        queryset = model.objects.filter(pk__in=pks[start : start + 2000])
        queryset._raw_delete(queryset.db)


def _matching(model, pairs: list[tuple[int, int]], second: str) -> list:
    """Rows of `model` whose (cooperation_id, second) is one of the pairs: the cooperations'
    rows are read by chunks of ids and filtered here, cheaper than thousands of OR-ed terms."""
    if not pairs:
        return []
    wanted = set(pairs)
    ids = sorted({pk for pk, _ in pairs})
    found = []
    for start in range(0, len(ids), 2000):
        for obj in model.objects.filter(cooperation_id__in=ids[start : start + 2000]):
            if (obj.cooperation_id, getattr(obj, second)) in wanted:
                found.append(obj)
    return found


def _replace_sources(cooperation_ids: list[int], additions: list[Source], user) -> None:
    """Sources are matched by URL: titles, publishers and dates typed in the admin survive a
    re-import that keeps the URL."""
    kept: dict[tuple[int, str], Source] = {}
    for start in range(0, len(cooperation_ids), 2000):
        chunk = cooperation_ids[start : start + 2000]
        for source in Source.objects.filter(cooperation_id__in=chunk):
            kept[(source.cooperation_id, source.url)] = source
    fresh, moved = [], []
    reused_pks = set()
    for source in additions:
        old = kept.get((source.cooperation_id, source.url))
        if old is None:
            fresh.append(source)
        else:
            reused_pks.add(old.pk)
            if old.position != source.position:
                old.position = source.position
                moved.append(old)
    stale = [source for source in kept.values() if source.pk not in reused_pks]
    _delete_with_history(Source, stale, user)
    if moved:
        bulk_update_with_history(moved, Source, ["position"], batch_size=1000, default_user=user)
    bulk_create_with_history(fresh, Source, batch_size=1000, default_user=user)


def run_import(
    sheet: inventory.Sheet, commit: bool, user=None
) -> tuple[ImportPlan, ImportOutcome | None]:
    """Plan, then apply when asked and the plan is clean: the one code path of every import."""
    plan = plan_import(sheet)
    if commit and plan.is_valid:
        return plan, apply_import(plan, user=user)
    return plan, None
