"""Property-based tests: no query string and no path segment makes a public URL answer 5xx.

Hypothesis throws arbitrary text, raw bytes (percent-encoded, so often invalid UTF-8), NUL,
very long values and the same parameter repeated at every documented parameter of every public
page, in HTML and JSON. The examples share one small catalogue built once per test, and each
request runs in a rolled-back savepoint, so that a database error in one example (PostgreSQL
aborts the transaction) cannot leak into the next.

FUZZ_EXAMPLES sets the number of query-string examples (default 200, half as many paths):
`FUZZ_EXAMPLES=5000 python3 dev.py test tests/test_fuzz.py` for a longer local run.
"""

import os
from urllib.parse import quote_from_bytes

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cooperations.models import SuccessFactor, Territory, Theme

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
    assert response.status_code == (200 if exists else 404), url[:300]
