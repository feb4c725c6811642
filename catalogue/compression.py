"""Compressed HTML for pages that carry no secret, and cache lifetimes of the DSFR's assets.

Why not Django's GZipMiddleware as it is: BREACH. A compressed HTTPS response that holds a
secret (a CSRF token, a session's data) and reflects what the request sent (a search) lets an
observer who can make the browser send many requests guess the secret from the sizes. The
public pages hold no secret — their forms are GET forms, they are the same for every visitor
and cached as such — so they are compressed (the list page 52.7 kB → about 10 kB); a response
that put a CSRF token in the page, sets a cookie, answers a signed-in person or belongs to the
admin is sent as it is. docs/compression.md says more.
"""

from django.conf import settings
from django.middleware.gzip import GZipMiddleware

# The DSFR stylesheets load their fonts and icons by plain names (catalogue/storage.py says
# why), which WhiteNoise would cache for 60 s only: about 170 kB of fonts fetched again each
# minute. They change only with an upgrade of django-dsfr, so a month is safe enough; hashed
# files keep WhiteNoise's ten years.
DSFR_ASSET_PREFIXES = ("dsfr/dist/fonts/", "dsfr/dist/icons/")
DSFR_ASSET_MAX_AGE = 30 * 24 * 3600


def carries_a_secret(request, response) -> bool:
    """Whether compressing this response could leak a secret to a BREACH attacker."""
    match = getattr(request, "resolver_match", None)
    return bool(
        # get_token() was called: the page holds a CSRF token.
        request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        or response.cookies
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or (match is not None and match.namespace == "admin")
    )


class PublicGZipMiddleware(GZipMiddleware):
    """GZipMiddleware for the responses that hold no secret only."""

    def process_response(self, request, response):
        if carries_a_secret(request, response):
            return response
        return super().process_response(request, response)


def add_static_headers(headers, path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: a long lifetime for the DSFR's fonts and icons."""
    # `url` is the address under STATIC_URL (and a script prefix, if any).
    dsfr_asset = any(f"/{prefix}" in url for prefix in DSFR_ASSET_PREFIXES)
    if dsfr_asset and "immutable" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"public, max-age={DSFR_ASSET_MAX_AGE}"
