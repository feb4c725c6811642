"""A synthetic inventory for tests and benchmarks: real métropoles and real neighbouring EPCI from
the loaded territories, fictitious cooperations (every name ends with « (fictif) »).

Deterministic for a given seed and a given territory list. The « messy » variant writes what
office files contain: header aliases, loose vocabulary spellings, names with kind prefixes,
dates in every accepted form, blank lines and stray spaces.
"""

import datetime
import random
from collections import Counter, defaultdict

from . import inventory
from .importing import TerritoryIndex
from .models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    Theme,
)
from .publishing.spreadsheets import Sheet, write_csv, write_ods, write_xlsx
from .text import fold
from .vocabularies import PLUS_VALUE_FIELDS

FORMATS = ["xlsx", "ods", "csv-utf8", "csv-cp1252"]
EXTENSIONS = {"xlsx": "xlsx", "ods": "ods", "csv-utf8": "csv", "csv-cp1252": "csv"}

CLEAN_HEADERS = [
    "Identifiant", "Nom", "Métropoles", "Territoires partenaires", "Territoires associés",
    "Forme de coopération", "Statut", "Date de signature", "Thématiques",
    "Facteurs de réussite", "Facteur gouvernance (comment)", "Plus-value", "Résumé",
    "Provenance", "Sources", "Publiée",
]  # fmt: skip
MESSY_HEADERS = [
    "slug", "NOM DE LA COOPERATION", "Métropole(s)", "Territoire(s) partenaire(s)",
    "associés", "forme juridique", "statut ", "Date", "thematique", "facteurs",
    "facteur gouvernance", "plus values", "resume", "origine", "Source", "publie",
]  # fmt: skip

PLUS_VALUES = [label for _field, label in PLUS_VALUE_FIELDS]
PROVENANCES = ["Inventaire 2018", "Fabrique prospective", "Ajout ultérieur"]


def _neighbours() -> tuple[list[Territory], dict[int, list[Territory]], dict[int, Territory]]:
    """The métropoles, their neighbouring EPCI (same département, else same région) and their
    département."""
    metropoles = list(Territory.objects.metropoles().order_by("code", "pk"))
    epci = list(
        Territory.objects.filter(kind__in=["CC", "CA", "CU"]).exclude(code="").order_by("code")
    )
    # An EPCI's département: its own field, else the most common one among its communes.
    by_epci: dict[int, Counter] = defaultdict(Counter)
    for epci_id, dep_id in Territory.objects.filter(
        kind=Territory.Kind.COMMUNE, epci__isnull=False, departement__isnull=False
    ).values_list("epci_id", "departement_id"):
        by_epci[epci_id][dep_id] += 1

    def departement_of(territory):
        if territory.departement_id:
            return territory.departement_id
        counts = by_epci.get(territory.pk)
        return counts.most_common(1)[0][0] if counts else None

    departements = {t.pk: t for t in Territory.objects.filter(kind=Territory.Kind.DEPARTEMENT)}
    by_departement: dict[int | None, list[Territory]] = defaultdict(list)
    by_region: dict[int | None, list[Territory]] = defaultdict(list)
    for territory in epci:
        by_departement[departement_of(territory)].append(territory)
        by_region[territory.region_id].append(territory)
    neighbours, metro_departements = {}, {}
    for metropole in metropoles:
        dep = departement_of(metropole)
        # Same département; the Grand Paris has no other EPCI in Paris, so same région then.
        neighbours[metropole.pk] = (
            by_departement.get(dep) or by_region.get(metropole.region_id) or epci
        )
        if dep in departements:
            metro_departements[metropole.pk] = departements[dep]
    return metropoles, neighbours, metro_departements


def generate_rows(rows: int = 173, seed: int = 2018, messy: bool = False):
    """(headers, rows) of a synthetic inventory; cells are text, or dates in messy files."""
    rng = random.Random(seed)
    metropoles, neighbours, departements = _neighbours()
    if not metropoles:
        raise ValueError("Aucune métropole chargée : lancez d'abord load_territories.")
    index = TerritoryIndex.load() if messy else None
    themes = list(Theme.objects.order_by("position", "pk").values_list("label", flat=True))
    forms = list(LegalForm.objects.order_by("position", "pk").values_list("label", flat=True))
    factors = list(SuccessFactor.objects.order_by("position").values_list("label", flat=True))
    statuses = ["", *[label for _v, label in Cooperation.Status.choices]]

    def spell_label(label):
        if not messy:
            return label
        choice = rng.random()
        if choice < 0.3:
            return fold(label)
        if choice < 0.5:
            return label.upper()
        return label

    def spell_territory(territory, allowed=()):
        clean = inventory.format_territory_ref(territory.name, territory.kind, territory.code)
        if not messy:
            return clean
        folded = fold(territory.name)
        kinds, core = inventory.split_kind_prefix(folded)
        options = [territory.code, territory.name.upper(), f"  {territory.name}  "]
        if territory.kind == "CC" and kinds == ("CC",):
            options.append(f"Communauté de communes {core}")
        spelling = rng.choice(options)
        try:
            found = index.resolve(inventory.parse_territory_ref(spelling), allowed)
        except inventory.ParseError:
            found = None
        return spelling if found == territory.pk else clean

    def join(values):
        if not messy or len(values) < 2:
            return "; ".join(values)
        return rng.choice(["; ", "\n", ";"]).join(values)

    def date_cell():
        year = rng.randint(2008, 2025)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        precision = rng.choice(["year", "month", "day"])
        if precision == "year":
            return str(year) if not messy or rng.random() < 0.5 else year
        if precision == "month":
            return (
                f"{month:02d}/{year}" if not messy or rng.random() < 0.5 else f"{year}-{month:02d}"
            )
        value = datetime.date(year, month, day)
        if not messy:
            return value.strftime("%d/%m/%Y")
        return rng.choice(
            [value.isoformat(), value.strftime("%d/%m/%Y"), datetime.datetime(year, month, day),
             ExcelSerial((value - datetime.date(1899, 12, 30)).days)]
        )  # fmt: skip

    out = []
    for number in range(1, rows + 1):
        metropole_set = [rng.choice(metropoles)]
        if rng.random() < 0.12:
            other = rng.choice(metropoles)
            if other not in metropole_set:
                metropole_set.append(other)
        pool = [t for t in neighbours[metropole_set[0].pk] if t not in metropole_set]
        partners = rng.sample(pool, k=min(len(pool), rng.randint(1, 4)))
        associated = []
        dep = departements.get(metropole_set[0].pk)
        if dep is not None and rng.random() < 0.25:
            associated.append(dep)
        first_partner = partners[0].name if partners else ""
        name = f"Coopération n° {number} {metropole_set[0].name} – {first_partner} (fictif)"
        chosen_factors = rng.sample(factors, k=rng.randint(0, 3))
        row = [
            f"synthetique-{seed}-{number:05d}",
            name,
            join([spell_territory(m, Territory.METROPOLE_KINDS) for m in metropole_set]),
            join([spell_territory(t) for t in partners]),
            join([spell_territory(t) for t in associated]),
            spell_label(rng.choice(forms)),
            spell_label(rng.choice(statuses)),
            date_cell(),
            join([spell_label(t) for t in rng.sample(themes, k=rng.randint(1, 4))]),
            join([spell_label(f) for f in chosen_factors]),
            "Comité de pilotage commun (fictif)." if chosen_factors and rng.random() < 0.5 else "",
            join(rng.sample(PLUS_VALUES, k=rng.randint(0, 2))),
            "Coopération fictive générée pour les essais ; elle n'existe pas.",
            rng.choice(PROVENANCES),
            f"https://exemple.invalid/fictif/{seed}/{number}",
            rng.choice(["oui", "non"]) if not messy else rng.choice(["oui", "Oui", "x", "non", ""]),
        ]
        if messy:
            row = [f"{cell} " if isinstance(cell, str) and cell and rng.random() < 0.1 else cell
                   for cell in row]  # fmt: skip
        out.append(row)
    headers = MESSY_HEADERS if messy else CLEAN_HEADERS
    if messy:
        # Derive slugs from names on half of the messy files, as staff files rarely carry them.
        if seed % 2:
            headers = headers[1:]
            out = [row[1:] for row in out]
        with_blanks = []
        for row in out:
            with_blanks.append(row)
            if rng.random() < 0.05:
                with_blanks.append([""] * len(row))
        out = with_blanks
    return list(headers), out


def write_inventory(headers, rows, file_format: str) -> bytes:
    """The rows in one of FORMATS; XLSX keeps dates as dates, the others hold text."""
    if file_format == "xlsx":
        return write_xlsx([Sheet("Inventaire", list(headers), rows)])
    text = [
        [cell.strftime("%d/%m/%Y") if isinstance(cell, datetime.date)
         else cell.as_text() if isinstance(cell, ExcelSerial) else str(cell)
         for cell in row]
        for row in rows
    ]  # fmt: skip
    if file_format == "ods":
        return write_ods([Sheet("Inventaire", list(headers), text)])
    if file_format == "csv-utf8":
        return write_csv(list(headers), text, encoding="utf-8", delimiter=",")
    if file_format == "csv-cp1252":
        return write_csv(list(headers), text, encoding="cp1252", delimiter=";")
    raise ValueError(f"Format inconnu : {file_format} ({', '.join(FORMATS)}).")


class ExcelSerial(int):
    """A date written as Excel's day number: a numeric cell in XLSX only, since the import reads
    numbers in text as years; text formats get the date itself."""

    def as_text(self) -> str:
        return (datetime.date(1899, 12, 30) + datetime.timedelta(days=self)).strftime("%d/%m/%Y")


# Rows per bulk INSERT: a few queries per thousand rows, and within SQLite's variable limit.
_BATCH = 2000


def write_catalogue(size: int, seed: int = 2018, prefix: str = "synthetique") -> int:
    """Write `size` published synthetic cooperations straight into the database, in bulk (a
    few queries per 2,000 rows, no import plan, no history, no derived text): for tests and
    benchmarks that need a large catalogue quickly rather than the import's path. Each one has
    one or two métropoles and one to four neighbouring EPCI (as `generate_rows`), one to three
    themes, factor and plus-value illustrations with their sources, and a source. Returns the
    number written; slugs are `<prefix>-<seed>-<number>`."""
    rng = random.Random(seed)
    metropoles, neighbours, _departements = _neighbours()
    if not metropoles:
        raise ValueError("Aucune métropole chargée : lancez d'abord load_territories.")
    themes = list(Theme.objects.order_by("position", "pk"))
    forms = [None, *LegalForm.objects.order_by("position", "pk")]
    factors = list(SuccessFactor.objects.order_by("position"))
    statuses = ["", *Cooperation.Status.values]
    provenances = Cooperation.Provenance.values
    plus_values = CooperationPlusValue.PlusValue.values
    through = Cooperation.themes.through
    written = 0
    for start in range(1, size + 1, _BATCH):
        numbers = range(start, min(size, start + _BATCH - 1) + 1)
        cooperations, links = [], []
        for number in numbers:
            chosen = rng.sample(plus_values, k=rng.randint(0, 2))
            cooperations.append(
                Cooperation(
                    slug=f"{prefix}-{seed}-{number:06d}",
                    name=f"Coopération n° {number} (fictif)",
                    summary="Coopération fictive générée pour les essais ; elle n'existe pas.",
                    legal_form=rng.choice(forms),
                    status=rng.choice(statuses),
                    signed_on=datetime.date(rng.randint(2008, 2025), rng.randint(1, 12), 1),
                    signed_on_precision=rng.choice(Cooperation.DatePrecision.values),
                    adds_scale="echelles" in chosen,
                    adds_value_chain="filieres" in chosen,
                    adds_pooling="mutualisation" in chosen,
                    provenance=rng.choice(provenances),
                    state=Cooperation.State.PUBLISHED,
                    is_published=True,
                )
            )
            links.append(chosen)
        Cooperation.objects.bulk_create(cooperations, batch_size=_BATCH)
        if not all(cooperation.pk for cooperation in cooperations):
            # Backends that do not return ids from a bulk insert: read them back.
            ids = dict(
                Cooperation.objects.filter(slug__in=[c.slug for c in cooperations]).values_list(
                    "slug", "pk"
                )
            )
            for cooperation in cooperations:
                cooperation.pk = ids[cooperation.slug]
        participations, theme_rows, factor_rows, plus_value_rows, sources = [], [], [], [], []
        for cooperation, chosen in zip(cooperations, links, strict=True):
            metropole_set = [rng.choice(metropoles)]
            if rng.random() < 0.12 and (other := rng.choice(metropoles)) not in metropole_set:
                metropole_set.append(other)
            pool = [t for t in neighbours[metropole_set[0].pk] if t not in metropole_set]
            partners = rng.sample(pool, k=min(len(pool), rng.randint(1, 4)))
            participations += [
                Participation(cooperation=cooperation, territory=t, role="metropole")
                for t in metropole_set
            ] + [
                Participation(cooperation=cooperation, territory=t, role="partenaire")
                for t in partners
            ]
            theme_rows += [
                through(cooperation=cooperation, theme=theme)
                for theme in rng.sample(themes, k=rng.randint(1, 3))
            ]
            source = f"https://exemple.invalid/fictif/{seed}/{cooperation.slug}"
            factor_rows += [
                CooperationFactor(
                    cooperation=cooperation,
                    factor=factor,
                    text=f"Comment la coopération illustre « {factor.label} » (fictif).",
                    source_url=source,
                )
                for factor in rng.sample(factors, k=rng.randint(0, 3))
            ]
            plus_value_rows += [
                CooperationPlusValue(
                    cooperation=cooperation,
                    plus_value=code,
                    text="Illustration fictive de la plus-value.",
                    source_url=source,
                )
                for code in chosen
            ]
            sources.append(Source(cooperation=cooperation, url=source, title="Source fictive"))
        for model, objects in (
            (Participation, participations),
            (through, theme_rows),
            (CooperationFactor, factor_rows),
            (CooperationPlusValue, plus_value_rows),
            (Source, sources),
        ):
            model.objects.bulk_create(objects, batch_size=_BATCH)
        written += len(cooperations)
    return written
