"""Planning: check and compare every row of a sheet against the database, writing nothing.

`plan_import` reads the database a fixed number of times per 2,000 rows and returns an
`ImportPlan` saying, row by row, what the import would do.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import inventory
from ..models import Cooperation, CooperationFactor, CooperationPlusValue, Participation, Source
from . import changes as describing
from .cells import ROLE_COLUMNS, Role, RowError, RowPlan, RowReader, Vocabularies
from .duplicates import CatalogueNames, sharing_sources
from .resolution import NewTerritory, TerritoryIndex, Unresolved

# progress(step, done, total): « check », « write » or « index », rows done of the step.
Progress = Callable[[str, int, int], None]

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
    "state",
]


@dataclass
class ImportPlan:
    """Everything the import would do; `errors` non-empty means nothing may be written."""

    rows: list[RowPlan] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    new_territories: list[NewTerritory] = field(default_factory=list)
    unresolved: list["Unresolved"] = field(default_factory=list)
    index: "TerritoryIndex | None" = None
    # What the file's content and the database state read made of it (see `fingerprint`).
    digest: str = ""

    @property
    def row_errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def ignored_summary(self) -> str:
        """The ignored headers as the report shows them: ten at most, each cut to 80 characters."""
        return inventory.summarise(self.ignored_headers)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.row_errors

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def typographic_rows(self) -> int:
        return sum(1 for row in self.rows if row.typographic_only)

    @property
    def warned_rows(self) -> list[RowPlan]:
        return [row for row in self.rows if row.warnings or row.lookalikes]

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


# --- Planning ------------------------------------------------------------------------------------


def plan_import(
    sheet: inventory.Sheet,
    can_publish: bool = True,
    lookalikes: bool = True,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check and compare every row of the sheet; writes nothing. Without `can_publish` (the
    reviewer's permission), a row that would publish or unpublish a record is refused.
    `lookalikes` (close names, shared sources: shown, never written) may be skipped when
    committing.

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
    reader = RowReader(mapping, vocabularies, territories)
    total = len(sheet.rows)
    plan.rows = []
    for line, cells in sheet.rows:
        plan.rows.append(reader.read(line, cells))
        if progress is not None:
            progress("check", len(plan.rows), total)
    _warn_extra_cells(plan.rows, sheet)

    seen = _check_unique_slugs(plan.rows, mapping)
    existing = _load_existing(list(seen))
    catalogue = CatalogueNames.load()
    matched = _match_same_records(plan.rows, existing, catalogue, seen, mapping)
    existing |= _load_existing(matched)
    for row in plan.rows:
        row.existing = existing.get(row.slug)
        _check_dates(row, mapping)
        _check_roles(row, territories, mapping)
        _settle_state(row, mapping, can_publish)
    _check_same_cooperation_twice(plan.rows, mapping)
    for row in plan.rows:
        if row.errors:
            row.action = RowPlan.INVALID
        elif row.existing is None:
            row.action = RowPlan.NEW
        else:
            row.details = describing.describe(row, vocabularies, territories, wanted_factors)
            row.changes = list(dict.fromkeys(change.group for change in row.details))
            row.action = RowPlan.UPDATE if row.changes else RowPlan.SKIP
    if lookalikes:
        _find_lookalikes([row for row in plan.rows if row.action == RowPlan.NEW], catalogue)
    plan.new_territories = list(territories.created.values())
    plan.unresolved = list(territories.unresolved.values())
    plan.index = territories
    plan.digest = fingerprint(sheet, plan)
    return plan


def _warn_extra_cells(rows: list[RowPlan], sheet: inventory.Sheet) -> None:
    """A row with filled cells right of the last header: a shifted row, or a value typed in
    the wrong column; they are read by nobody, so staff are told."""
    width = len(sheet.header)
    for row, (_line, cells) in zip(rows, sheet.rows, strict=True):
        extra = [cell for cell in cells[width:] if inventory.clean_text(cell)]
        if extra:
            row.warnings.append(
                f"{len(extra)} cellule(s) remplie(s) au-delà de la dernière colonne d'en-tête, "
                f"ignorée(s) : « {inventory.shorten(inventory.clean_text(extra[0]))} »"
                + (" …" if len(extra) > 1 else "")
                + "."
            )


def _check_unique_slugs(rows: list[RowPlan], mapping) -> dict[str, int]:
    """Identifier → first line using it; a later row with the same identifier is refused."""
    seen: dict[str, int] = {}
    for row in rows:
        if not row.slug:
            continue
        if row.slug in seen:
            row.errors.append(
                RowError(
                    row.line,
                    mapping.headers.get("slug") or mapping.headers["name"],
                    row.cells.get("slug") or row.cells.get("name", ""),
                    f"identifiant « {inventory.shorten(row.slug)} » déjà utilisé "
                    f"ligne {seen[row.slug]}.",
                )
            )
        else:
            seen[row.slug] = row.line
    return seen


def _row_metropoles(row: RowPlan) -> frozenset | None:
    if Role.METROPOLE not in row.participations:
        return None
    handles = row.participations[Role.METROPOLE]
    return frozenset(handles) if all(isinstance(h, int) for h in handles) else None


def _match_same_records(rows, existing, catalogue: CatalogueNames, seen, mapping) -> list[str]:
    """Rows with a new identifier that name a record of the catalogue (same folded name, same
    métropoles) take that record's identifier when theirs came from the name, and show the
    record as a lookalike when the file gave its own; the identifiers so taken."""
    taken = []
    for row in rows:
        if row.errors or not row.slug or row.slug in existing or "name" not in row.fields:
            continue
        metropoles = _row_metropoles(row)
        if metropoles is None:
            continue
        same = catalogue.same(row.folded_name, metropoles)
        if not same:
            continue
        column = mapping.headers["name"]
        if row.cells.get("slug"):
            # The file keys the row itself: its identifier decides, the likeness is shown.
            row.lookalikes.extend(same)
            continue
        if len(same) > 1:
            listed = " ; ".join(f"« {inventory.shorten(r.name)} » ({r.slug})" for r in same)
            row.errors.append(
                RowError(
                    row.line,
                    column,
                    row.cells["name"],
                    f"même nom et mêmes métropoles que {listed}, déjà au catalogue : indiquez "
                    "l'identifiant de celle à mettre à jour.",
                )
            )
            continue
        record = same[0]
        if record.slug in seen and seen[record.slug] != row.line:
            row.errors.append(
                RowError(
                    row.line,
                    column,
                    row.cells["name"],
                    f"cette ligne désigne la coopération « {inventory.shorten(record.name)} », "
                    f"déjà mise à jour ligne {seen[record.slug]}.",
                )
            )
            continue
        seen.pop(row.slug, None)
        seen[record.slug] = row.line
        row.derived_slug, row.slug = row.slug, record.slug
        row.matched = record
        taken.append(record.slug)
    return taken


def _check_same_cooperation_twice(rows: list[RowPlan], mapping) -> None:
    """Two new rows of the file with the same folded name and métropoles would make two
    records of one cooperation: the later one is refused, or only warned about when the file
    gives it its own identifier."""
    first: dict[tuple, int] = {}
    for row in rows:
        if row.errors or row.existing is not None or "name" not in row.fields:
            continue
        metropoles = _row_metropoles(row)
        if metropoles is None:
            continue
        key = (row.folded_name, metropoles)
        if key in first and row.cells.get("slug"):
            row.warnings.append(
                f"même nom et mêmes métropoles que la ligne {first[key]} (casse, accents et "
                "ponctuation ignorés), sous un autre identifiant : deux fiches seront créées."
            )
        elif key in first:
            row.errors.append(
                RowError(
                    row.line,
                    mapping.headers["name"],
                    row.cells["name"],
                    f"même nom et mêmes métropoles que la ligne {first[key]} (casse, accents "
                    "et ponctuation ignorés) : une seule ligne par coopération.",
                )
            )
        else:
            first[key] = row.line


def _find_lookalikes(new_rows: list[RowPlan], catalogue: CatalogueNames) -> None:
    """Records that new rows resemble (close name, shared source): shown, never decided."""
    shared = sharing_sources([url for row in new_rows for url in row.sources or []])
    for row in new_rows:
        found = {lookalike.pk: lookalike for lookalike in row.lookalikes}
        for url in row.sources or []:
            for lookalike in shared.get(url, []):
                found.setdefault(lookalike.pk, lookalike)
        if "name" in row.fields:
            for lookalike in catalogue.close(row.folded_name, _row_metropoles(row)):
                found.setdefault(lookalike.pk, lookalike)
        row.lookalikes = list(found.values())


def fingerprint(sheet: inventory.Sheet, plan: ImportPlan) -> str:
    """A digest of the file's cells and of what the plan would write from which current values:
    a confirmation whose digest differs from the preview's would not apply what staff saw."""
    digest = hashlib.sha256()
    digest.update(repr((sheet.header, sheet.rows)).encode())
    for row in plan.rows:
        existing = row.existing
        digest.update(
            repr(
                (
                    row.line,
                    row.action,
                    row.slug,
                    existing and (existing.pk, sorted(existing.fields.items()),
                                  _canonical(existing.snapshot)),
                    sorted(row.fields.items()),
                    row.themes,
                    sorted(row.participations.items()),
                    row.factors, row.factor_texts, row.factor_sources,
                    row.plus_value_notes, row.sources,
                )
            ).encode()
        )  # fmt: skip
    digest.update(repr(sorted(map(repr, plan.new_territories))).encode())
    return digest.hexdigest()


def _canonical(value):
    """Sets sorted, so that the same state always gives the same digest."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return sorted((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _settle_state(row: RowPlan, mapping, can_publish: bool) -> None:
    """The row's editorial state and public flag, made to agree as Cooperation.save() does (the
    import writes in bulk, without save()): « État » decides when given, else « Publiée »
    moves a record to published or, unpublished, back to draft."""
    State = Cooperation.State
    before_state = row.existing.fields["state"] if row.existing else State.DRAFT
    state = row.fields.get("state")
    published = row.fields.get("is_published")
    if state is not None:
        if published is not None and published != (state == State.PUBLISHED):
            row.errors.append(
                RowError(row.line, mapping.headers["state"], row.cells.get("state", ""),
                         f"contredit la colonne « {mapping.headers['is_published']} ».")
            )  # fmt: skip
            return
        row.fields["is_published"] = state == State.PUBLISHED
    elif published is not None:
        if published:
            row.fields["state"] = State.PUBLISHED
        elif before_state == State.PUBLISHED:
            row.fields["state"] = State.DRAFT
    after_state = row.fields.get("state", before_state)
    if (
        not can_publish
        and (State.PUBLISHED in {before_state, after_state})
        and (before_state != after_state)
    ):
        column = "state" if "state" in mapping.headers else "is_published"
        row.errors.append(
            RowError(row.line, mapping.headers[column], row.cells.get(column, ""),
                     "publier ou dépublier une fiche demande la permission de relecteur.")
        )  # fmt: skip


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


def wanted_factors(row: RowPlan, current: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
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
