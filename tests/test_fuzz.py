"""Property-based tests: no query string and no path segment makes a URL answer 5xx — the
public pages in depth, then every pattern of the URL configuration (public, API and admin) as
an anonymous visitor, a reader and a superuser.

Hypothesis throws arbitrary text, raw bytes (percent-encoded, so often invalid UTF-8), NUL,
very long values and the same parameter repeated at every documented parameter of every public
page, in HTML and JSON. The examples share one small catalogue built once per test, and each
request runs in a rolled-back savepoint, so that a database error in one example (PostgreSQL
aborts the transaction) cannot leak into the next.

FUZZ_EXAMPLES sets the number of query-string examples (default 200, half as many paths):
`FUZZ_EXAMPLES=5000 python3 dev.py test tests/test_fuzz.py` for a longer local run.
"""

import os
import re
from urllib.parse import quote_from_bytes

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.urls import URLResolver, get_resolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cooperations.models import Cooperation, SuccessFactor, Territory, Theme

from .catalogue_data import build_catalogue

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The catalogue is built once per test and only read by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Path segments reach fewer branches than query strings: half as many examples.
path_settings = settings(fuzz_settings, max_examples=max(EXAMPLES // 2, 1))

# The parameters of docs/pages.md « Query-string parameters », plus what other public pages read.
PARAMETERS = [
    "q",
    "metropole",
    "thematique",
    "facteur",
    "forme",
    "statut",
    "nature_partenaire",
    "departement",
    "region",
    "annee_min",
    "annee_max",
    "plus_value",
    "tri",
    "page",
    "format",
    "next",
    "nom",
    "territoire",
]

# Valid values too, so that a bad value is also tried next to working filters and formats.
VALID_VALUES = [
    "242900314",
    "mobilites-transports",
    "gouvernance",
    "entente",
    "active",
    "CC",
    "29",
    "53",
    "2016",
    "echelles",
    "recent",
    "pertinence",
    "2",
    "json",
    "csv",
    "xlsx",
    "ods",
    "html",
    "brest",
    "commune:29019",
    "epci:242900314",
]

PAGES = [
    "/",
    "/cooperations/",
    "/cooperations/flux/",
    "/cooperations/brest-iroise/",
    "TERRITORY",
    "/thematiques/mobilites-transports/",
    "/thematiques/mobilites-transports/flux/",
    "/facteurs/gouvernance/",
    "/mon-territoire/",
    "/mon-territoire/suggestions/",
    "/accessibilite/",
    "/sante/",
    "/admin/login/",
    # The API reads the same parameters, validated by its schemas first.
    "/api/v1/cooperations",
    "/api/v1/territoires",
]

text_values = st.text(max_size=40)
byte_values = st.binary(max_size=40)
short_values = st.one_of(
    text_values.map(str.encode),
    byte_values,
    st.sampled_from(VALID_VALUES).map(str.encode),
    st.just(b"\x00"),
    st.builds(lambda a, b: a + b"\x00" + b, byte_values, byte_values),
)
values = st.one_of(
    short_values,
    # Very long values: a pasted text, a number past any integer type.
    st.integers(min_value=1, max_value=5000).map(lambda n: b"mobilite " * n),
    st.integers(min_value=1, max_value=4000).map(lambda n: b"9" * n),
    st.integers(min_value=200, max_value=3000).map(lambda n: bytes([0xC3]) * n),
)
# Any subset of the documented parameters at once, then a few arbitrary names.
documented = st.fixed_dictionaries({}, optional={name.encode(): values for name in PARAMETERS}).map(
    lambda chosen: list(chosen.items())
)
arbitrary = st.lists(
    st.tuples(st.one_of(text_values.map(str.encode), byte_values), values), max_size=3
)


def query_string(items) -> str:
    return "&".join(f"{quote_from_bytes(name)}={quote_from_bytes(value)}" for name, value in items)


@pytest.fixture
def world(db, settings):
    # The page cache on, so that its key and version code see the same inputs as production.
    settings.PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    catalogue = build_catalogue()
    yield {
        "TERRITORY": catalogue.brest.get_absolute_url(),
        # What a path segment may name and still answer 200: Hypothesis also tries the
        # string constants it finds in the code, slugs included.
        "cooperations": {c.slug for c in catalogue.published} | {"flux"},
        "territoires": {str(pk) for pk in Territory.objects.values_list("pk", flat=True)},
        "thematiques": set(Theme.objects.values_list("slug", flat=True)),
        "facteurs": set(SuccessFactor.objects.values_list("slug", flat=True)),
        "zz": set(),
    }
    cache.clear()


def fetch(client, url, **headers):
    """One request in a savepoint rolled back afterwards: every example sees the same data."""
    with transaction.atomic():
        response = client.get(url, headers=headers)
        if response.streaming:
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response


@fuzz_settings
@given(
    page=st.sampled_from(PAGES),
    items=documented,
    extra=arbitrary,
    repeated=st.tuples(
        st.sampled_from(PARAMETERS).map(str.encode), short_values, st.integers(0, 300)
    ),
    accept=st.one_of(
        st.sampled_from(["", "application/json", "text/html", "*/*"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    ),
)
# Found in production: NUL reached the facet queries (PostgreSQL refuses it in text).
@example("/cooperations/", [(b"departement", b"\x00")], [], (b"region", b"\x00", 1), "")
def test_no_query_string_gives_a_server_error(client, world, page, items, extra, repeated, accept):
    name, value, times = repeated
    items = items + extra + [(name, value)] * times
    url = world.get(page, page) + "?" + query_string(items)
    response = fetch(client, url, **({"accept": accept} if accept else {}))
    assert response.status_code < 500, url[:300]


segments = st.one_of(
    st.text(min_size=1, max_size=60).map(str.encode),
    st.binary(min_size=1, max_size=60),
    st.integers(min_value=10**6, max_value=10**40).map(lambda n: str(n).encode()),
    st.integers(min_value=100, max_value=5000).map(lambda n: b"x" * n),
)


@path_settings
@given(
    prefix=st.sampled_from(["cooperations", "territoires", "thematiques", "facteurs", "zz"]),
    segment=segments,
    json=st.booleans(),
)
def test_unknown_path_segments_are_404(client, world, prefix, segment, json):
    url = f"/{prefix}/{quote_from_bytes(segment, safe='')}/" + ("?format=json" if json else "")
    response = fetch(client, url)
    name = segment.decode("utf-8", "replace")
    if prefix == "territoires" and name.isascii() and name.isdigit():
        name = str(int(name))  # the <int:pk> converter reads 007 as 7
    exists = name in world[prefix]
    # A territory's first address, by id, moves to its address by kind and code.
    found = 301 if prefix == "territoires" else 200
    assert response.status_code == (found if exists else 404), url[:300]


# --- Every URL pattern, as anonymous visitor, reader and superuser -------------------------------

_PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\([^)]*\)")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern).replace("^", "").replace("$", "")
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def url_templates() -> list[list[str | None]]:
    """Every pattern of the URL configuration, public, API and admin alike, as its literal
    parts (strings) and placeholders (a 1-tuple of the parameter's name)."""
    templates = []
    for route in _routes(get_resolver().url_patterns):
        parts, position = [], 0
        for match in _PLACEHOLDER.finditer(route):
            parts.append(route[position : match.start()])
            parts.append((match.group(1) or match.group(2) or "value",))
            position = match.end()
        parts.append(route[position:])
        templates.append(parts)
    return templates


TEMPLATES = url_templates()
# Valid values per placeholder name, so that a bad segment or query is also tried next to
# good ones, on pages that exist.
PLACEHOLDER_VALUES = {
    "slug": ["brest-iroise", "mobilites-transports", "gouvernance", "echelles"],
    "segment": ["epci", "departement", "region", "commune"],
    "code": ["242900314", "29", "53", "echelles"],
    "app_label": ["cooperations", "auth"],
    "url": ["inconnue/"],
}
ADMIN_PARAMETERS = [
    "q",
    "o",
    "p",
    "e",
    "all",
    "_popup",
    "_to_field",
    "_changelist_filters",
    "status__exact",
    "kind__exact",
    "is_published__exact",
    "legal_form__id__exact",
    "themes__id__exact",
    "metropole",
    "app_label",
    "model_name",
    "field_name",
    "term",
]


@pytest.fixture
def visitors(world, client, django_user_model):
    """The clients of each kind of visitor: anonymous, a reader, a superuser."""
    from django.test import Client

    from cooperations.services import READERS

    reader = django_user_model.objects.create_user("lecteur", password="pw", is_staff=True)
    reader.groups.add(Group.objects.get(name=READERS))
    superuser = django_user_model.objects.create_superuser("admin", password="pw")
    clients = {"anonyme": client, "lecteur": Client(), "admin": Client()}
    clients["lecteur"].force_login(reader)
    clients["admin"].force_login(superuser)
    pks = {
        "object_id": [str(pk) for pk in Cooperation.objects.values_list("pk", flat=True)[:2]],
        "pk": [str(pk) for pk in Territory.objects.values_list("pk", flat=True)[:2]],
        "id": [str(superuser.pk)],
        "content_type_id": [str(ContentType.objects.get_for_model(Cooperation).pk)],
    }
    return clients, PLACEHOLDER_VALUES | pks


def fill(template, choose) -> str:
    return "/" + "".join(part if isinstance(part, str) else choose(part[0]) for part in template)


# The DSFR's own admin (its site settings) has URL fields left at Django 5's default scheme.
@pytest.mark.filterwarnings(
    "ignore:The default scheme will be changed:django.utils.deprecation.RemovedInDjango60Warning"
)
@fuzz_settings
@given(
    template=st.sampled_from(TEMPLATES),
    visitor=st.sampled_from(["anonyme", "lecteur", "admin"]),
    data=st.data(),
    items=st.lists(
        st.tuples(st.sampled_from(PARAMETERS + ADMIN_PARAMETERS).map(str.encode), values),
        max_size=4,
    ),
    extra=arbitrary,
    repeated=st.tuples(
        st.sampled_from(PARAMETERS + ADMIN_PARAMETERS).map(str.encode),
        short_values,
        st.integers(0, 300),
    ),
)
# Found in production: the admin export with any parameter that is not a filter.
@example(
    ["admin/cooperations/cooperation/export/"],
    "lecteur",
    None,
    [(b"page", b"2")],
    [],
    (b"p", b"", 0),
)
def test_no_url_of_any_pattern_gives_a_server_error(
    visitors, template, visitor, data, items, extra, repeated
):
    clients, valid = visitors

    def choose(name):
        if data is None:
            return ""
        good = st.sampled_from(valid.get(name, ["1"]))
        segment = data.draw(st.one_of(good.map(str.encode), segments), label=name)
        return quote_from_bytes(segment, safe="")

    name, value, times = repeated
    url = fill(template, choose) + "?" + query_string(items + extra + [(name, value)] * times)
    response = fetch(clients[visitor], url)
    assert response.status_code < 500, (visitor, url[:300])
