"""Every endpoint of /api/v1/ against its own OpenAPI document (schemathesis): generated
requests, valid and invalid, must get a documented status, a response that conforms to the
schema, and never a server error. The catalogue of the public-page tests is the data; Django
answers in-process through its WSGI application, on the test database.
"""

import re
from urllib.parse import quote

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.core.parameters import EncodedPath

from cooperations.publishing.api_v1 import api_v1

from .catalogue_data import build_catalogue

# Enough to cover every enum value and the bounds of each parameter; 13 to 16 s per engine on
# the development machine.
CONFIG = schemathesis.Config.from_dict({"generation": {"max-examples": 30}})


# The document that /api/v1/openapi.json serves (the same call), loaded at collection: the lazy
# loader (`schemathesis.pytest.from_fixture`) fails under pytest 9.
schema = schemathesis.openapi.from_dict(api_v1.get_openapi_schema(path_params={}), config=CONFIG)
# Django's WSGI application, called in-process by schemathesis's WSGI transport.
schema.app = WSGIHandler()


@pytest.fixture
def catalogue_over_wsgi(db, settings):
    """The test catalogue, served to the WSGI transport (host `localhost`) on the test
    database: requests must not close the connection that holds the test's transaction, so
    the connection-closing signal handlers are off meanwhile, as Django's test client does."""
    settings.ALLOWED_HOSTS = ["localhost"]
    build_catalogue()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
# No deadline: a first request compiles templates and fills caches; the data fixture is
# shared by the examples on purpose (the API only reads).
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_endpoint_conforms_to_its_schema(case, catalogue_over_wsgi):
    # The WSGI transport reads the body as sent: ask for it uncompressed (compression has its
    # own tests, tests/test_compression.py).
    case.call_and_validate(headers={"Accept-Encoding": "identity"})


def test_the_tested_document_is_the_one_served(client, db):
    assert client.get("/api/v1/openapi.json").json() == schema.raw_schema


# Schemathesis draws path parameters as valid URL text; what a hostile client sends as well:
# NUL (PostgreSQL refuses it in text), bytes that are not UTF-8, a very long value.
HOSTILE_SEGMENTS = ["%00", "a%00b", "%C3%28", "%FF", "x" * 5000, "9" * 400]
TEMPLATED_PATHS = [path for path in schema.raw_schema["paths"] if "{" in path]


@pytest.mark.parametrize("path", TEMPLATED_PATHS)
@pytest.mark.parametrize("segment", HOSTILE_SEGMENTS)
def test_hostile_path_parameters_get_a_json_client_error(client, db, path, segment):
    build_catalogue()
    url = re.sub(r"\{\w+\}", segment, path)
    response = client.get(url)
    assert 400 <= response.status_code < 500, url[:200]
    assert response.json()["error"]["status"] == response.status_code


def hostile_segment() -> st.SearchStrategy[str]:
    """What a hostile client puts in a path segment, built so that every draw is one (no
    filter): NUL among other text, bytes that are not UTF-8 (0xFF never is), several kB."""
    with_nul = st.tuples(st.text(max_size=12), st.text(max_size=12)).map("\x00".join)
    # Schemathesis decodes then re-encodes each path value, which would turn these bytes into
    # U+FFFD; EncodedPath is its mark for a value already percent-encoded, sent as it is.
    not_utf8 = st.binary(max_size=8).map(lambda raw: EncodedPath(quote(raw + b"\xff", safe="")))
    very_long = st.integers(1_000, 8_000).map(lambda size: "x" * size)
    return st.one_of(with_nul, not_utf8, very_long)


def flatmap_path_parameters(context, path_parameters):
    """One path parameter of each generated case, drawn among them, becomes hostile."""
    return st.sampled_from(sorted(path_parameters)).flatmap(
        lambda name: hostile_segment().map(lambda value: {**path_parameters, name: value})
    )


# The same document, generated only by the fuzzing phase, the one that runs the hooks: the
# examples and coverage phases send the schema's own values, which the test above checks.
# Two operations; a few examples each keep the run as short as the hand-picked values above.
hostile_schema = schemathesis.openapi.from_dict(
    schema.raw_schema,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": 12},
            "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
        }
    ),
)
hostile_schema.app = schema.app


@hostile_schema.hooks.apply(flatmap_path_parameters)
@hostile_schema.include(path_regex=r"\{").parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_generated_hostile_path_parameters_get_a_json_client_error(case, catalogue_over_wsgi):
    response = case.call(headers={"Accept-Encoding": "identity"})
    assert 400 <= response.status_code < 500, case.formatted_path[:200]
    # The gate's own answer (catalogue/malformed_input.py) or the API's, both JSON.
    assert response.headers["content-type"][0].startswith("application/json")
    assert response.json()["error"]["status"] == response.status_code
