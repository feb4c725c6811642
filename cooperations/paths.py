"""Addresses of the catalogue's pages, kept per process, and the label of a source link.

Why kept: a list page writes some sixty addresses (its rows, their themes, the facets' links),
each a walk through the URL patterns with `reverse()`. The same addresses come back on every
page, so each is kept per process under what `reverse` reads besides the name and arguments:
the script prefix and the URLconf. A site mounted under `/catalogue/` therefore gets its prefix
on every link, and a test that changes the prefix gets fresh addresses.
"""

import functools
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Record, territory and theme addresses of a large catalogue, about 150 bytes each.
KEPT_PATHS = 200_000


def fixed_path(name: str, *args) -> str:
    """`reverse(name, args=args)` kept per process, script prefix and URLconf."""
    return _fixed_path(name, args, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=KEPT_PATHS)
def _fixed_path(name: str, args: tuple, _prefix: str, urlconf: str) -> str:
    return reverse(name, args=args, urlconf=urlconf)


def source_label(url: str) -> str:
    """The host of a source address, for a link whose document has no known title."""
    host = urlsplit(url or "").hostname or ""
    return host.removeprefix("www.")
