"""Pure text helpers: folding and the slugs made from names."""

import pytest
from django.utils.text import slugify

from cooperations.text import fold, slug


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Cœur et Coteaux du Comminges", "coeur-et-coteaux-du-comminges"),
        ("ŒUVRE commune", "oeuvre-commune"),
        ("Ex æquo", "ex-aequo"),
        ("Nantes—Saint-Nazaire", "nantes-saint-nazaire"),
        ("Brest métropole – Quimper", "brest-metropole-quimper"),
        ("ﬁlière bois", "filiere-bois"),
    ],
)
def test_slug_spells_the_letters_and_dashes_fold_spells(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize(
    "name",
    ["Pays d'Iroise", "Contrat de réciprocité Toulouse Métropole – Pays d'Armagnac", "CoNECT"],
)
def test_slug_keeps_the_addresses_slugify_made_without_those_letters(name):
    assert slug(name) == slugify(name)


def test_slug_is_at_most_200_characters_without_a_trailing_dash():
    made = slug("mot " * 80)
    assert len(made) <= 200
    assert not made.endswith("-")


def test_oe_and_its_plain_spelling_fold_and_slug_alike():
    assert fold("Cœur") == fold("Coeur")
    assert slug("Cœur") == slug("Coeur")
