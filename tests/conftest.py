"""Small chained factories shared by the whole suite.

Territories are made by hand here; tests that need the full official list use the
`official_territories` fixture, which loads it once per test session.
"""

import datetime
import io
import itertools
import zipfile

import pytest

from cooperations.models import (
    Cooperation,
    CooperationFactor,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    Theme,
)
from cooperations.search import refresh_search_text

_counter = itertools.count(1)


def make_territory(kind=Territory.Kind.CC, name=None, code=None, **fields) -> Territory:
    if code:
        # The official list may already be loaded in this test database: reuse its row.
        existing = Territory.objects.filter(kind=kind, code=code).first()
        if existing is not None:
            return existing
    n = next(_counter)
    if code is None:
        code = f"{990000000 + n}" if kind in Territory.EPCI_KINDS else ""
    territory = Territory(kind=kind, name=name or f"Territoire {n}", code=code, **fields)
    territory.save()
    return territory


def make_metropole(name=None, code=None, **fields) -> Territory:
    return make_territory(
        Territory.Kind.METRO, name=name or f"Métropole {next(_counter)}", code=code, **fields
    )


def make_cooperation(
    name=None,
    *,
    metropoles=(),
    partners=(),
    themes=(),
    factors=(),
    legal_form=None,
    is_published=True,
    **fields,
) -> Cooperation:
    n = next(_counter)
    name = name or f"Coopération {n}"
    fields.setdefault("slug", f"cooperation-{n}")
    cooperation = Cooperation.objects.create(
        name=name, legal_form=legal_form, is_published=is_published, **fields
    )
    for territory in metropoles:
        Participation.objects.create(
            cooperation=cooperation, territory=territory, role=Participation.Role.METROPOLE
        )
    for territory in partners:
        Participation.objects.create(
            cooperation=cooperation, territory=territory, role=Participation.Role.PARTNER
        )
    cooperation.themes.set(themes)
    for factor in factors:
        CooperationFactor.objects.create(
            cooperation=cooperation, factor=factor, text=f"Illustration de {factor.slug}"
        )
    refresh_search_text(Cooperation.objects.filter(pk=cooperation.pk))
    cooperation.refresh_from_db(fields=["search_text"])
    return cooperation


def make_source(cooperation, url="https://example.org/source", **fields) -> Source:
    return Source.objects.create(cooperation=cooperation, url=url, **fields)


@pytest.fixture
def theme(db) -> Theme:
    return Theme.objects.get(slug="mobilites-transports")


@pytest.fixture
def legal_form(db) -> LegalForm:
    return LegalForm.objects.get(slug="contrat-de-reciprocite")


@pytest.fixture
def factor(db) -> SuccessFactor:
    return SuccessFactor.objects.get(slug="gouvernance")


@pytest.fixture
def metropole(db) -> Territory:
    return make_metropole("Brest Métropole", code="242900314")


@pytest.fixture
def partner(db) -> Territory:
    return make_territory(Territory.Kind.CC, "CC du Pays d'Iroise", code="242900074")


@pytest.fixture
def cooperation(metropole, partner, theme, factor, legal_form) -> Cooperation:
    return make_cooperation(
        "Contrat de réciprocité Brest – Iroise",
        metropoles=[metropole],
        partners=[partner],
        themes=[theme],
        factors=[factor],
        legal_form=legal_form,
        signed_on=datetime.date(2016, 1, 1),
        signed_on_precision=Cooperation.DatePrecision.YEAR,
    )


@pytest.fixture(scope="session")
def official_territories(django_db_setup, django_db_blocker):
    """The full official list (2026 vintage, about 36,000 rows) loaded once per session.

    Being session-scoped, it is set up before the requesting test's own `db` transaction, so
    the rows are committed to the test database and every test's rollback leaves them in
    place; request it together with `db`.
    Transactional tests (`transactional_db`, `live_server`) flush the tables when they end, so
    they must not rely on it. With --reuse-db the load finds the rows already there and writes
    nothing. Returns the load report.
    """
    from cooperations.territories import load_territories, read_fixture

    with django_db_blocker.unblock():
        return load_territories(read_fixture())


def get_or_make_territory(kind, name, code) -> Territory:
    """The official territory when the session's official list is loaded, else a hand-made one:
    tests naming real territories work in both cases."""
    existing = Territory.objects.filter(kind=kind, code=code).first()
    return existing or make_territory(kind, name, code=code)


def make_territory_world(metropoles=4, neighbours=6) -> list[Territory]:
    """Métropoles, each with its département and neighbouring EPCI of that département: enough
    for the synthetic inventory without loading the official list. Codes start with 9 or D, which
    no official code does, so the world coexists with the official list."""
    made = []
    for _ in range(metropoles):
        n = next(_counter)
        departement = make_territory(Territory.Kind.DEPARTEMENT, f"Département {n}", code=f"D{n}")
        metropole = make_metropole(f"Métropole n{n}", code=f"9{n:08d}"[:9], departement=departement)
        for e in range(neighbours):
            kind = [Territory.Kind.CC, Territory.Kind.CA, Territory.Kind.CU][e % 3]
            make_territory(
                kind,
                f"{kind} Voisine {n}-{e}",
                code=f"9{n:04d}{e:04d}"[:9],
                departement=departement,
            )
        made.append(metropole)
    return made


def make_zip_bomb() -> bytes:
    """A workbook-shaped archive whose sheet inflates about 1,000 times (20 MB of zeros), built
    in a fraction of a second; nothing big is committed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(20 << 20))
    return buffer.getvalue()
