"""Département and région names with the article the COG gives them."""

import pytest

from catalogue.templating import of_territory
from cooperations.articles import DEPARTEMENT_TNCC, REGION_TNCC, of_name
from cooperations.models import Territory


@pytest.mark.parametrize(
    ("kind", "code", "name", "expected"),
    [
        ("DEP", "29", "Finistère", "du Finistère"),
        ("DEP", "44", "Loire-Atlantique", "de la Loire-Atlantique"),
        ("DEP", "13", "Bouches-du-Rhône", "des Bouches-du-Rhône"),
        ("DEP", "01", "Ain", "de l'Ain"),
        ("DEP", "35", "Ille-et-Vilaine", "d'Ille-et-Vilaine"),
        ("DEP", "75", "Paris", "de Paris"),
        ("REG", "52", "Pays de la Loire", "des Pays de la Loire"),
        # As the COG says them (type 0 and 1), not « de la Bretagne ».
        ("REG", "53", "Bretagne", "de Bretagne"),
        ("REG", "11", "Île-de-France", "d'Île-de-France"),
        # Other territories: elision only.
        ("COM", "49007", "Angers", "d'Angers"),
        ("METRO", "242900314", "Brest Métropole", "de Brest Métropole"),
    ],
)
def test_of_name(kind, code, name, expected):
    assert of_name(kind, code, name) == expected


def test_every_departement_and_region_has_a_name_type():
    # The package's lists (overseas collectivités included).
    assert len(DEPARTEMENT_TNCC) == 109 and len(REGION_TNCC) == 26
    assert set(DEPARTEMENT_TNCC.values()) | set(REGION_TNCC.values()) <= set(range(9))


def test_template_filter_reads_the_territory():
    finistere = Territory(kind=Territory.Kind.DEPARTEMENT, code="29", name="Finistère")
    assert of_territory(finistere) == "du Finistère"
