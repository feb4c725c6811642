"""Small chained factories shared by the whole suite.

Territories are made by hand here; tests that need the full official list use the
`official_territories` fixture, which loads it once per test session.
"""

import datetime
import io
import itertools
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from django.template.backends import jinja2 as jinja2_backend
from django.test import signals

from cooperations import facet_index, my_territory
from cooperations.derived import refresh_derived_text
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

_counter = itertools.count(1)


def _instrumented_jinja2_render(render):
    """Jinja2 templates announce their rendering as Django's test runner makes Django's do, so
    that `response.context` and `response.templates` work for the public pages too."""

    def rendered(self, context=None, request=None):
        signals.template_rendered.send(sender=self, template=self, context=dict(context or {}))
        return render(self, context, request)

    return rendered


jinja2_backend.Template.render = _instrumented_jinja2_render(jinja2_backend.Template.render)
jinja2_backend.Template.name = property(lambda self: self.template.name)


@pytest.fixture(autouse=True)
def fresh_facet_index():
    """Each test starts without the previous test's facet index: rolled-back transactions may
    give the next test's data the same history ids, hence the same catalogue version."""
    facet_index.reset()
    my_territory.forget_names()
    yield
    facet_index.reset()
    my_territory.forget_names()


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
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    cooperation.refresh_from_db(fields=["search_text"])
    return cooperation


def make_source(cooperation, url="https://example.org/source", **fields) -> Source:
    source = Source.objects.create(cooperation=cooperation, url=url, **fields)
    # As the admin does after saving a record's sources: its export text lists them.
    refresh_derived_text(Cooperation.objects.filter(pk=cooperation.pk))
    return source


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


ROOT = Path(__file__).resolve().parent.parent


# What the suite sets for itself (tests/settings.py, pytest-django): a subprocess that plays a
# production or a developer's process must not inherit it.
SUITE_VARIABLES = {
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "PUBLIC_CACHE_SECONDS",
}


def production_environment(**variables) -> dict:
    """The environment of a production process (DEBUG off, manifest static files) speaking
    plain HTTP on 127.0.0.1, for subprocesses; keyword arguments add or replace variables."""
    env = {key: value for key, value in os.environ.items() if key not in SUITE_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="catalogue.settings",
        SECRET_KEY="tests-only-production-key-not-for-deployment",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
    )
    env.update(variables)
    return env


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """`manage.py collectstatic` as production runs it, once per session, into a temporary
    STATIC_ROOT: the DSFR ships thousands of files, each compressed twice (Brotli and gzip),
    so every test that needs collected files shares this one collection — the storage tests,
    the production browser tests, nginx's tests and the benchmark harness's tiny run."""
    root = tmp_path_factory.mktemp("staticfiles")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=production_environment(STATIC_ROOT=str(root)),
        check=True,
    )
    return root


REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
# One prefix per test session: keys of concurrent runs (other developers, CI) never meet, and
# the clean-up deletes only this session's keys — never FLUSHDB on a shared Redis.
REDIS_TEST_PREFIX = f"catalogue-test-{uuid.uuid4().hex[:12]}"


def require_redis() -> str:
    """The Redis URL of the tests; skip when unreachable, or fail when REQUIRE_REDIS_TESTS=1."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
        return REDIS_TEST_URL
    except redis.RedisError:
        message = (
            f"Tests Redis ignorés : Redis ne répond pas sur {REDIS_TEST_URL} "
            "(REDIS_TEST_URL pour en choisir un autre)."
        )
        if os.environ.get("REQUIRE_REDIS_TESTS") == "1":
            pytest.fail(message + " REQUIRE_REDIS_TESTS=1 exige ces tests.", pytrace=False)
        pytest.skip(message)
    finally:
        client.close()


def delete_redis_prefix(url: str, prefix: str) -> int:
    """Delete the keys under `prefix` only (SCAN, never KEYS or FLUSHDB); return their count."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def make_zip_bomb() -> bytes:
    """A workbook-shaped archive whose sheet inflates about 1,000 times (20 MB of zeros), built
    in a fraction of a second; nothing big is committed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(20 << 20))
    return buffer.getvalue()


def make_sparse_xlsx(dimension: str | None = "A1:XFD1048576", far_cell: str = "A1048576") -> bytes:
    """A valid workbook of about 1 kB: a header row, the `dimension` its sheet declares (None:
    none) and one more cell at `far_cell`; nothing in it inflates, so the archive checks pass."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    row = "".join(ch for ch in far_cell if ch.isdigit())
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{declared}<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Métropoles</t></is></c></row>'
        f'<row r="{row}"><c r="{far_cell}" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    main = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{main}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{main}/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}/spreadsheetml/2006/main" '
            f'xmlns:r="{main}/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Inventaire" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{main}/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode())
    return buffer.getvalue()
