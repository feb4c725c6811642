"""One gate for malformed input, in front of every view: no NUL byte reaches a query.

PostgreSQL refuses NUL in text (`DataError`), so a `%00` anywhere a view reads a value — a
path segment (`/territoires/epci/%00/`), a query parameter (`/comparer/?c=%00`), an admin
change-list filter (`?status__exact=%00`) — was a 500 on PostgreSQL and a silent mismatch on
SQLite. Fixing each view would leave the next one open; this middleware runs before any view
and any middleware that queries (sessions, authentication), and after those that set the
security headers, so that its answers carry them (settings.MIDDLEWARE):

- a path holding NUL names no page: French 404 (JSON under /api/), before URL resolution;
- in the query string, NUL becomes U+FFFD, the replacement character Django already puts for
  bytes that are not UTF-8: both kinds of garbage then reach the views as the same harmless
  text, which the list filters refuse with their usual notice (« la valeur « � » … ») and
  lookups simply do not find;
- a header holding NUL (a cookie, say, which the session middleware would look up) is a 400.

Bytes that are not UTF-8 need nothing here: Django re-percent-encodes them in the path and
replaces them in the query.
"""

import re

from .errors import error_response

# A percent-encoded NUL, in either case of hex digit, or a raw one.
_QUERY_NUL = re.compile(r"%00|\x00")
_REPLACEMENT = "%EF%BF%BD"  # U+FFFD, percent-encoded in UTF-8


class MalformedInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            return error_response(request, 404)
        if any(
            "\x00" in value
            for key, value in request.META.items()
            if key.startswith("HTTP_") and isinstance(value, str)
        ):
            return error_response(request, 400)
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            # Before anything reads request.GET, which Django parses from it at first use.
            request.META["QUERY_STRING"] = _QUERY_NUL.sub(_REPLACEMENT, query)
        return self.get_response(request)
