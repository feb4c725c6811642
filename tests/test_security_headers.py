"""Content-Security-Policy and Permissions-Policy on public pages and in the admin."""

import pytest

pytestmark = pytest.mark.django_db

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def permissions(header: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in header.split(","))


@pytest.mark.parametrize("url", ["/", "/cooperations/", "/admin/login/"])
def test_pages_carry_the_content_security_policy(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy == EXPECTED_POLICY
    # No inline script can run anywhere, and no nonce is needed (cached pages could not hold one).
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "nonce" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("url", ["/", "/admin/login/"])
def test_pages_deny_device_and_tracking_features(client, url):
    response = client.get(url)
    assert response.status_code == 200
    denied = permissions(response.headers["Permissions-Policy"])
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert denied[feature] == "()", feature


def test_logged_in_admin_pages_carry_the_policy_too(admin_client):
    response = admin_client.get("/admin/cooperations/cooperation/import/")
    assert response.status_code == 200
    assert directives(response.headers["Content-Security-Policy"]) == EXPECTED_POLICY
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_favicon_redirects_to_the_dsfr_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response.headers["Location"] == "/static/dsfr/dist/favicon/favicon.ico"


# The malformed-input gate answers before any view (catalogue/malformed_input.py): its answers
# carry the same headers as every other, as a 404 from a view does.
@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        ("/cooperations/a%00b/", {}, 404),
        ("/api/v1/cooperations/%00", {}, 404),
        ("/cooperations/", {"cookie": "sessionid=abcdefgh\x00ijkl"}, 400),
        ("/cooperations/nexiste-pas/", {}, 404),
    ],
)
def test_error_answers_carry_the_security_headers(client, url, headers, status):
    response = client.get(url, headers=headers)
    assert response.status_code == status
    assert directives(response.headers["Content-Security-Policy"]) == EXPECTED_POLICY
    assert permissions(response.headers["Permissions-Policy"])["camera"] == "()"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
