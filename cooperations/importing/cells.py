"""Cell reading: one row of the sheet into the values of a cooperation, or French errors.

The vocabularies are loaded once per file; `RowReader` turns each cell into field values,
themes, factors, sources and territory handles (through the territory index).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from .. import inventory
from ..inventory import ParseError, clean_text
from ..models import (
    RESERVED_SLUGS,
    Cooperation,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)
from ..text import SLUG_LENGTH, fold
from ..text import slug as make_slug
from ..vocabularies import PLUS_VALUE_FIELD_BY_CODE, PLUS_VALUE_FIELDS
from .resolution import TerritoryIndex

if TYPE_CHECKING:
    from .changes import Change
    from .duplicates import Lookalike
    from .planning import ExistingRecord

Role = Participation.Role
ROLE_COLUMNS = {
    "metropoles": Role.METROPOLE,
    "partners": Role.PARTNER,
    "associated": Role.ASSOCIATED,
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
STATE_ALIASES = {
    Cooperation.State.DRAFT: ["brouillons", "ébauche"],
    Cooperation.State.REVIEW: ["à relire", "en relecture", "relecture"],
    Cooperation.State.PUBLISHED: ["publié", "en ligne"],
    Cooperation.State.ARCHIVED: ["archivé", "archive"],
}
# What the public pages and exports write for an unknown status (stored blank).
STATUS_UNKNOWN = {"non renseigne", "inconnu", "non connu", "nc"}

PROVENANCE_ALIASES = {
    Cooperation.Provenance.INVENTORY_2018: ["Inventaire 2018", "inventaire", "CGET 2018"],
    Cooperation.Provenance.FABRIQUE: ["Fabrique prospective", "Fabrique", "ANCT"],
    Cooperation.Provenance.LATER: ["Ajout ultérieur", "ajout", "ultérieur"],
}


@dataclass
class RowError:
    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"Ligne {self.line}"
        if self.column:
            where += f", colonne « {inventory.shorten(self.column)} »"
        if self.value:
            where += f", valeur « {inventory.shorten(self.value)} »"
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
    changes: list[str] = field(default_factory=list)  # labels of the changed fields
    details: list["Change"] = field(default_factory=list)  # each change, old → new
    warnings: list[str] = field(default_factory=list)  # shown, never blocking
    # The record this row turned out to name (same folded name and métropoles), with the
    # identifier its name gave, or None.
    matched: "Lookalike | None" = None
    derived_slug: str = ""
    lookalikes: list["Lookalike"] = field(default_factory=list)  # new rows only
    # How each territory of the row was read: (column, text as typed, territory found).
    resolutions: list[tuple[str, str, str]] = field(default_factory=list)
    _folded_name: str | None = field(default=None, repr=False)

    NEW, UPDATE, SKIP, INVALID = "new", "update", "skip", "invalid"

    @property
    def folded_name(self) -> str:
        """The name as duplicates are compared (cooperations.text.fold), folded once."""
        if self._folded_name is None:
            self._folded_name = fold(self.fields.get("name", ""))
        return self._folded_name

    @property
    def typographic_only(self) -> bool:
        """An update whose every change is one of typography (dashes, quotes, spaces)."""
        return bool(self.details) and all(change.typographic for change in self.details)


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
    states: inventory.VocabularyMatcher

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
            states=inventory.VocabularyMatcher(
                [
                    (value, label, [value, *STATE_ALIASES.get(value, [])])
                    for value, label in Cooperation.State.choices
                ],
                "Valeur d'état",
            ),  # fmt: skip
        )


_url_validator = URLValidator(schemes=["http", "https"])


def _checked_url(text: str) -> str:
    """One http(s) address of at most 500 characters, or a ParseError saying what is wrong."""
    try:
        _url_validator(text)
    except ValidationError:
        raise ParseError(
            f"« {inventory.shorten(text)} » n'est pas une adresse web valide."
        ) from None
    if len(text) > 500:
        raise ParseError(f"« {inventory.shorten(text)} » dépasse 500 caractères.")
    return text


class RowReader:
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
                row.slug = make_slug(text)
                if not row.slug:
                    raise ParseError("impossible d'en dériver un identifiant : ajoutez-en un.")
                if row.slug in RESERVED_SLUGS:
                    row.slug += "-cooperation"
        elif key == "slug":
            if text:
                if make_slug(text) != text or len(text) > SLUG_LENGTH:
                    raise ParseError(
                        "un identifiant ne contient que des minuscules sans accent, des chiffres "
                        "et des tirets (200 au plus), par exemple "
                        f"« {inventory.shorten(make_slug(text))} »."
                    )
                if text in RESERVED_SLUGS:
                    raise ParseError(
                        f"l'identifiant « {text} » est réservé à une adresse du site : "
                        "choisissez-en un autre."
                    )
                row.slug = text
        elif key in ROLE_COLUMNS:
            role = ROLE_COLUMNS[key]
            allowed = Territory.METROPOLE_KINDS if role == Role.METROPOLE else ()
            handles, messages = [], []
            for typed, handle in self._territories(value, tuple(allowed), messages):
                row.resolutions.append(
                    (self.mapping.headers[key], typed, self.territories.label(handle))
                )
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
            known = text and fold(text) not in STATUS_UNKNOWN
            row.fields["status"] = vocab.statuses.match(text) if known else ""
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
            row.sources = [_checked_url(url) for url in urls]
        elif key == "is_published":
            row.fields["is_published"] = inventory.parse_bool(value)
        elif key == "state" and text:  # blank: decided by « Publiée » (planning)
            row.fields["state"] = vocab.states.match(text)

    def _territories(self, value, allowed: tuple[str, ...], messages: list[str]):
        """(text as typed, territory handle) of each territory of a cell. Some official names
        contain a comma (« CC Chinon, Vienne et Loire »), so comma-separated pieces are re-joined
        when together they name an existing territory; a joined piece never creates one."""
        text = clean_text(value)
        if not text:
            return
        chunks = inventory.split_values(text) if (";" in text or "\n" in text) else [text]
        for chunk in chunks:
            for run, handle in inventory.rejoin_commas(
                chunk, lambda run: self._joined(run, allowed)
            ):
                if handle is not None:
                    yield run, handle
                    continue
                try:
                    ref = inventory.parse_territory_ref(run)
                    yield run, self.territories.resolve(ref, allowed)
                except ParseError as error:
                    messages.append(str(error))

    def _joined(self, text: str, allowed: tuple[str, ...]):
        """The territory that comma-joined pieces name, or None; never one to create."""
        try:
            ref = inventory.parse_territory_ref(text)
            return self.territories.resolve(ref, allowed, create=False)
        except ParseError:
            return None
