"""The accessibility statement's facts: the sample of pages it covers and the self-assessment
against the RGAA 4.1 criteria, read from `catalogue/data/rgaa_self_assessment.toml`.

The sample is written here once: the statement lists it and the browser test that runs axe on
every page kind checks that it visits exactly these kinds, so that the statement cannot claim a
page that no test looks at.
"""

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

ASSESSMENT_FILE = Path(__file__).resolve().parent / "data" / "rgaa_self_assessment.toml"

# Page kinds of the sample, in the statement's order: (key, how the statement names it).
SAMPLE = [
    ("home", "L'accueil"),
    ("list", "La liste de toutes les coopérations"),
    ("filtered_list", "Une liste filtrée par métropole et par thématique"),
    ("search", "Les résultats d'une recherche"),
    ("record", "La fiche d'une coopération"),
    ("comparison", "La comparaison de plusieurs coopérations"),
    ("theme", "La page d'une thématique"),
    ("factors", "Les facteurs de réussite"),
    ("factor", "La page d'un facteur de réussite"),
    ("plus_values", "Les plus-values"),
    ("plus_value", "La page d'une plus-value"),
    ("metropole", "La page d'une métropole, avec son réseau de partenaires"),
    ("epci", "La page d'une intercommunalité"),
    ("commune", "La page d'une commune"),
    ("departement", "La page d'un département"),
    ("region", "La page d'une région"),
    ("my_territory", "« Ma commune » : le formulaire"),
    ("my_territory_result", "« Ma commune » : le résultat pour une commune"),
    ("statistics", "Les statistiques"),
    ("api", "La présentation de l'API"),
    ("open_data", "Les données ouvertes"),
    ("accessibility", "Cette déclaration"),
    ("legal_notice", "Les mentions légales"),
    ("personal_data", "Les données personnelles"),
    ("site_map", "Le plan du site"),
    ("not_found", "La page d'erreur « Page introuvable »"),
]

STATUS_LABELS = {"C": "Conforme", "NC": "Non conforme", "NA": "Non applicable"}


@dataclass(frozen=True)
class Criterion:
    number: str
    subject: str
    status: str
    note: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Theme:
    number: int
    name: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class SelfAssessment:
    assessed_on: object
    method: str
    themes: tuple[Theme, ...]

    @property
    def criteria(self) -> list[Criterion]:
        return [c for theme in self.themes for c in theme.criteria]

    def count(self, status: str) -> int:
        return sum(1 for c in self.criteria if c.status == status)

    @property
    def rate(self) -> float:
        """The RGAA's rate: criteria met among the applicable ones, in per cent."""
        met, failed = self.count("C"), self.count("NC")
        return 100 * met / (met + failed)

    @property
    def failures(self) -> list[Criterion]:
        return [c for c in self.criteria if c.status == "NC"]


@functools.cache
def self_assessment() -> SelfAssessment:
    """Read once per process; a wrong status is an error at the first request, not a page that
    quietly counts it as met."""
    data = tomllib.loads(ASSESSMENT_FILE.read_text(encoding="utf-8"))
    themes = []
    for theme in data["theme"]:
        criteria = []
        for item in theme["criteria"]:
            if item["status"] not in STATUS_LABELS:
                raise ValueError(f"RGAA {item['n']}: unknown status {item['status']!r}")
            criteria.append(
                Criterion(item["n"], item["subject"], item["status"], item.get("note", ""))
            )
        themes.append(Theme(theme["number"], theme["name"], tuple(criteria)))
    return SelfAssessment(data["assessed_on"], data["method"], tuple(themes))
