"""French spacing: no-break spaces inside « » and before : ; ! ? in the public pages."""

import pytest
from jinja2 import Environment

from catalogue.typography import FrenchSpacing, french_spacing

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("« Comparer »", f"«{NBSP}Comparer{NBSP}»"),
        ("Trier par : nom", f"Trier par{NBSP}: nom"),
        ("Vraiment ? Oui ; non !", f"Vraiment{NBSP}? Oui{NBSP}; non{NBSP}!"),
        # Nothing glued: addresses and times keep their characters.
        ("/cooperations/?q=a:b 10:30", "/cooperations/?q=a:b 10:30"),
        (f"déjà{NBSP}: fait", f"déjà{NBSP}: fait"),
    ],
)
def test_french_spacing(text, expected):
    assert french_spacing(text) == expected


def test_extension_changes_the_template_text_but_not_its_tags():
    env = Environment(extensions=[FrenchSpacing])  # noqa: S701 - no markup involved
    source = 'Statut : {{ "a : b" }} {% if x == "c ?" %}oui ?{% endif %} « {{ y }} »'
    template = env.from_string(source)
    assert template.render(x="c ?", y="z") == f"Statut{NBSP}: a : b oui{NBSP}? «{NBSP}z{NBSP}»"


def test_public_pages_carry_the_no_break_spaces(client, db):
    response = client.get("/cooperations/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Trier par{NBSP}:" in html
    assert "Trier par :" not in html


def test_text_typed_by_staff_gets_the_no_break_spaces_where_it_is_shown(client, db):
    from cooperations.derived import refresh_derived_text

    from .conftest import make_cooperation, make_metropole

    metropole = make_metropole("Brest Métropole", code="242900314")
    make_cooperation(
        "Pacte « Terre et mer »",
        slug="pacte",
        metropoles=[metropole],
        summary="Deux volets : l'eau ; les ports !",
        description="Objectif : « zéro rejet »",
    )
    refresh_derived_text()
    spaced = f"Deux volets{NBSP}: l'eau{NBSP}; les ports{NBSP}!"
    record = client.get("/cooperations/pacte/").content.decode()
    assert spaced.replace("'", "&#39;") in record
    assert f"Objectif{NBSP}: «{NBSP}zéro rejet{NBSP}»" in record
    listing = client.get("/cooperations/").content.decode()
    assert spaced.replace("'", "&#39;") in listing
    # The text is escaped after the spaces are put in: nothing typed becomes markup.
    assert "Deux volets :" not in listing
