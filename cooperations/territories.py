"""Official territories (régions, départements, EPCI, EPT, communes) from the
`@etalab/decoupage-administratif` npm package, and their idempotent load into `Territory`.

Three steps, each a plain function so that commands and tests share them:
`build_rows` reads the package's JSON files into compact rows, `write_fixture`/`read_fixture`
keep those rows in a small committed file, and `load_territories` upserts them.
"""

import csv
import gzip
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from .derived import refresh_derived_text
from .models import CURRENT_VINTAGE, Cooperation, ReferenceEdit, Territory, TerritoryAlias
from .text import fold

Kind = Territory.Kind

FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "territoires-2026.csv.gz"
ALIAS_FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "alias-territoires.csv"
ALIAS_COLUMNS = ["alias", "code", "kind", "source_url"]
COLUMNS = ["kind", "code", "name", "population", "departement", "region", "epci"]

GROUPING_KINDS = (*Territory.EPCI_KINDS, Kind.EPT)
# Parents before children, so that every link points at a row that already has an id.
LOAD_LEVELS = ((Kind.REGION,), (Kind.DEPARTEMENT,), GROUPING_KINDS, (Kind.COMMUNE,))
KIND_ORDER = [kind for level in LOAD_LEVELS for kind in level]

BATCH_SIZE = 1000
COMPARED_FIELDS = ["name", "population", "departement_id", "region_id", "epci_id", "vintage"]


class TerritoryDataError(ValueError):
    """The rows are inconsistent (unknown kind, dangling link); nothing has been written."""


def _row(kind, code, name, population=None, departement="", region="", epci=""):
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "population": population,
        "departement": departement,
        "region": region,
        "epci": epci,
    }


def _read_json(data_dir: Path, name: str) -> list[dict]:
    # By path on purpose: the package's index.js only resolves its data from its own folder.
    with open(Path(data_dir) / name, encoding="utf-8") as handle:
        return json.load(handle)


def _main_departement(members, commune_departement) -> str:
    """The département whose member communes hold the largest share of the grouping's
    population. Some groupings straddle a boundary (91 EPCI/EPT in 2026); attaching them to
    the département where most of their inhabitants live matches how people name them, and
    keeps one département per grouping, which list filters need. Ties go to the lowest code
    so that the fixture stays deterministic.
    """
    totals = Counter()
    for member in members:
        totals[commune_departement[member["code"]]] += member.get("populationMunicipale") or 0
    if not totals:
        return ""
    return min(totals, key=lambda code: (-totals[code], code))


def build_rows(data_dir) -> list[dict]:
    """Compact rows (see COLUMNS) for every région, département, EPCI, EPT and current
    commune of the package's data folder, sorted by kind then code."""
    regions = _read_json(data_dir, "regions.json")
    departements = _read_json(data_dir, "departements.json")
    communes = _read_json(data_dir, "communes.json")
    epcis = _read_json(data_dir, "epci.json")
    epts = _read_json(data_dir, "ept.json")

    # A commune code is not unique across types (a commune nouvelle shares its code with the
    # commune déléguée of the same name); current communes alone have unique codes, and the
    # other types are not collectivities that can cooperate.
    current = [c for c in communes if c["type"] == "commune-actuelle"]
    commune_departement = {c["code"]: c["departement"] for c in current}
    departement_region = {d["code"]: d["region"] for d in departements}

    rows = [_row(Kind.REGION, r["code"], r["nom"]) for r in regions]
    rows += [_row(Kind.DEPARTEMENT, d["code"], d["nom"], region=d["region"]) for d in departements]

    epci_of_commune = {}
    for grouping in [*epcis, *epts]:
        departement = _main_departement(grouping["membres"], commune_departement)
        rows.append(
            _row(
                # The package already says MET69 for Lyon and EPT for the Grand Paris territories.
                grouping["type"],
                grouping["code"],
                grouping["nom"],
                population=grouping.get("populationMunicipale"),
                departement=departement,
                region=departement_region.get(departement, ""),
            )
        )
        if grouping["type"] != Kind.EPT:
            # A Grand Paris commune belongs to both the Métropole and an EPT; the `epci` link
            # is the EPCI à fiscalité propre, which is the Métropole.
            for member in grouping["membres"]:
                epci_of_commune[member["code"]] = grouping["code"]

    rows += [
        _row(
            Kind.COMMUNE,
            c["code"],
            c["nom"],
            population=c.get("population"),
            departement=c["departement"],
            region=c["region"],
            # A few island communes and the overseas collectivities belong to no EPCI.
            epci=epci_of_commune.get(c["code"], ""),
        )
        for c in current
    ]
    unknown = {row["kind"] for row in rows} - set(KIND_ORDER)
    if unknown:
        raise TerritoryDataError(f"Nature de territoire inconnue : {', '.join(sorted(unknown))}.")
    return sort_rows(rows)


def sort_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (KIND_ORDER.index(row["kind"]), row["code"]))


def write_fixture(rows: list[dict], path) -> None:
    """Write rows as gzip CSV; the same rows always give the same bytes (sorted, no gzip
    timestamp nor file name), so a regenerated fixture only shows up in git when data changed."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sort_rows(rows):
        writer.writerow(["" if row[column] is None else row[column] for column in COLUMNS])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as handle,
    ):
        handle.write(text.getvalue().encode("utf-8"))


def read_fixture(path=FIXTURE_PATH) -> list[dict]:
    """The rows written by `write_fixture`, population as int or None."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise TerritoryDataError(
                f"En-tête inattendu dans {path} : {reader.fieldnames} (attendu : {COLUMNS})."
            )
        rows = list(reader)
    for row in rows:
        row["population"] = int(row["population"]) if row["population"] else None
    return rows


@dataclass
class LoadReport:
    """Counts per kind of what `load_territories` did (or would do, in a dry run)."""

    dry_run: bool = False
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    updated_ids: list[int] = field(default_factory=list)

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())

    @property
    def total_unchanged(self) -> int:
        return sum(self.unchanged.values())

    def lines(self) -> list[str]:
        kinds = [k for k in KIND_ORDER if self.created[k] or self.updated[k] or self.unchanged[k]]
        lines = [
            f"{Kind(kind).label} : {self.created[kind]} créé(s), {self.updated[kind]} mis à "
            f"jour, {self.unchanged[kind]} inchangé(s)"
            for kind in kinds
        ]
        lines.append(
            f"Total : {self.total_created} créé(s), {self.total_updated} mis à jour, "
            f"{self.total_unchanged} inchangé(s)"
            + (" — simulation, rien n'a été enregistré." if self.dry_run else ".")
        )
        return lines


def _ids_by_code(kinds) -> dict[str, int]:
    # Keyed by code alone: within one level (all groupings share SIREN space) codes are unique.
    return dict(Territory.objects.filter(kind__in=kinds).exclude(code="").values_list("code", "id"))


def _resolve(code: str, ids: dict[str, int], row: dict, column: str) -> int | None:
    if not code:
        return None
    try:
        return ids[code]
    except KeyError:
        raise TerritoryDataError(
            f"{row['kind']} {row['code']} ({row['name']}) : {column} {code} introuvable."
        ) from None


def load_territories(rows, vintage=CURRENT_VINTAGE, dry_run=False) -> LoadReport:
    """Upsert rows keyed on (kind, code): create the missing, update those whose name,
    population, links or vintage differ, leave the others alone, and never delete (cooperations
    hold PROTECT references). All or nothing; a dry run rolls back.

    Cost: per level (régions, départements, groupings, communes) a few SELECTs of existing
    rows and parents' ids, then INSERTs in batches of 1,000 rows and one UPDATE per changed
    row (sent with executemany); a reload that changes nothing is SELECTs only.
    """
    report = LoadReport(dry_run=dry_run)
    by_level = defaultdict(list)
    level_of_kind = {kind: n for n, level in enumerate(LOAD_LEVELS) for kind in level}
    for row in rows:
        if row["kind"] not in level_of_kind:
            raise TerritoryDataError(f"Nature de territoire inconnue : {row['kind']}.")
        by_level[level_of_kind[row["kind"]]].append(row)

    with transaction.atomic():
        for n, kinds in enumerate(LOAD_LEVELS):
            if by_level[n]:
                _load_level(by_level[n], kinds, vintage, report)
        if report.updated_ids:
            # Territory names are part of the cooperations' search text.
            refresh_derived_text(
                Cooperation.objects.filter(participations__territory_id__in=report.updated_ids)
            )
            ReferenceEdit.record(f"Territoires : {len(report.updated_ids)} mis à jour ({vintage})")
        elif report.total_created:
            # New territories are searchable in « Ma commune » from the next catalogue version.
            ReferenceEdit.record(f"Territoires : {report.total_created} créés ({vintage})")
        if dry_run:
            transaction.set_rollback(True)
    return report


def _load_level(rows, kinds, vintage, report) -> None:
    # Links are resolved against the database rather than the rows, so that a partial list
    # (one commune, say) can be loaded on top of a full one.
    departements = _ids_by_code([Kind.DEPARTEMENT])
    regions = _ids_by_code([Kind.REGION])
    epcis = _ids_by_code(Territory.EPCI_KINDS) if Kind.COMMUNE in kinds else {}
    existing = {
        (t["kind"], t["code"]): t
        for t in Territory.objects.filter(kind__in=kinds)
        .exclude(code="")
        .values("id", "kind", "code", *COMPARED_FIELDS)
    }

    to_create, to_update = [], []
    for row in rows:
        wanted = {
            "name": row["name"],
            "population": row["population"],
            "departement_id": _resolve(row["departement"], departements, row, "département"),
            "region_id": _resolve(row["region"], regions, row, "région"),
            "epci_id": _resolve(row["epci"], epcis, row, "EPCI"),
            "vintage": vintage,
        }
        current = existing.get((row["kind"], row["code"]))
        if current is None:
            to_create.append(
                Territory(
                    kind=row["kind"], code=row["code"], search_name=fold(row["name"]), **wanted
                )
            )
            report.created[row["kind"]] += 1
        elif any(current[name] != value for name, value in wanted.items()):
            to_update.append(Territory(id=current["id"], search_name=fold(row["name"]), **wanted))
            report.updated[row["kind"]] += 1
            if current["name"] != row["name"]:
                report.updated_ids.append(current["id"])
        else:
            report.unchanged[row["kind"]] += 1

    # bulk_create skips save(), hence search_name filled above.
    Territory.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    _update_rows(to_update)


def _update_rows(territories) -> None:
    """One parameterised UPDATE per row, sent with executemany.

    Not bulk_update: it builds a CASE WHEN expression per field and row in Python, about 1 ms
    per row, so a new vintage (every row's vintage and most populations change) took over
    30 s on SQLite; executemany does the same work in about a second on both engines.
    """
    if not territories:
        return
    fields = [Territory._meta.get_field(name) for name in [*COMPARED_FIELDS, "search_name"]]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"UPDATE {quote(Territory._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(Territory._meta.pk.column)} = %s"
    )
    params = [[getattr(t, f.attname) for f in fields] + [t.pk] for t in territories]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH_SIZE):
            cursor.executemany(sql, params[start : start + BATCH_SIZE])


# --- Usual names ---------------------------------------------------------------------------------


def read_alias_fixture(path=ALIAS_FIXTURE_PATH) -> list[dict]:
    """The shipped usual names (alias, official code, kind, public page using the name)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ALIAS_COLUMNS:
            raise TerritoryDataError(
                f"En-tête inattendu dans {path} : {reader.fieldnames} (attendu : {ALIAS_COLUMNS})."
            )
        return list(reader)


@dataclass
class AliasReport:
    created: int = 0
    kept: int = 0
    missing: list[str] = field(default_factory=list)  # aliases whose territory is not loaded

    def line(self) -> str:
        text = f"Alias de territoires : {self.created} ajouté(s), {self.kept} déjà présent(s)"
        if self.missing:
            text += f", {len(self.missing)} sans territoire chargé ({', '.join(self.missing)})"
        return text + "."


@transaction.atomic
def load_aliases(rows) -> AliasReport:
    """Add the aliases of `rows` that are missing; idempotent.

    An alias whose folded spelling is already in the table is kept as it is, whatever territory
    staff made it point to: the admin has the last word. Three queries and one bulk insert.
    """
    report = AliasReport()
    ids = {
        (kind, code): pk
        for pk, kind, code in Territory.objects.filter(
            code__in={row["code"] for row in rows}
        ).values_list("pk", "kind", "code")
    }
    existing = set(TerritoryAlias.objects.values_list("search_alias", flat=True))
    new = []
    for row in rows:
        search_alias = fold(row["alias"])
        if search_alias in existing:
            report.kept += 1
            continue
        territory_id = ids.get((row["kind"], row["code"]))
        if territory_id is None:
            report.missing.append(row["alias"])
            continue
        existing.add(search_alias)
        new.append(
            TerritoryAlias(
                alias=row["alias"],
                search_alias=search_alias,
                territory_id=territory_id,
                source_url=row["source_url"],
            )
        )
    TerritoryAlias.objects.bulk_create(new)
    report.created = len(new)
    return report
