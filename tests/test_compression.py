"""Compressed HTML for the public pages only (BREACH), long cache for the DSFR's assets."""

import gzip
from wsgiref.headers import Headers

from catalogue.compression import DSFR_ASSET_MAX_AGE, add_static_headers

from .catalogue_data import build_catalogue


def test_public_pages_are_compressed(client, db):
    build_catalogue()
    response = client.get("/cooperations/", {"q": "brest"}, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert "2 coopérations" in gzip.decompress(response.content).decode()


def test_pages_with_a_csrf_token_or_a_session_are_not(client, admin_user):
    login = client.get("/admin/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert login.status_code == 200
    assert "csrfmiddlewaretoken" in login.content.decode()
    assert not login.has_header("Content-Encoding")
    client.force_login(admin_user)
    for path in ("/", "/admin/"):
        response = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert not response.has_header("Content-Encoding"), path


def test_dsfr_fonts_and_icons_are_cached_for_a_month():
    headers = Headers([("Cache-Control", "max-age=60, public")])
    add_static_headers(headers, "/x", "/static/dsfr/dist/fonts/Marianne-Bold.woff2")
    assert headers["Cache-Control"] == f"public, max-age={DSFR_ASSET_MAX_AGE}"
    hashed = Headers([("Cache-Control", "max-age=315360000, public, immutable")])
    add_static_headers(hashed, "/x", "/static/dsfr/dist/icons/a.1234567890ab.svg")
    assert "immutable" in hashed["Cache-Control"]
    other = Headers([("Cache-Control", "max-age=60, public")])
    add_static_headers(other, "/x", "/static/css/catalogue.css")
    assert other["Cache-Control"] == "max-age=60, public"
