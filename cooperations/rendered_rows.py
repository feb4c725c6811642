"""Result rows of the lists, rendered once per catalogue version in each process.

A row's HTML (`result_row`) depends only on its cooperation, so it can be kept as long as the
catalogue does not change: each facet index (one per catalogue version, rebuilt after any
write) carries its own store, which goes away with it. A list page whose 20 rows were all shown
before reads only which of them are still published and renders none; reading and rendering
them was about half of an uncached list request (5 queries with their prefetches, then the
markup).

This is not the page cache: it is keyed by cooperation, not by address, so 500 different filter
combinations showing the same records share it. Its size is bounded (LIST_ROW_CACHE_SIZE rows,
about 1.3 kB each); past it the oldest rows are dropped first.
"""

import threading

from django.conf import settings
from django.utils.safestring import SafeString

from .templatetags.catalogue import result_row


class Row(SafeString):
    """One rendered row: its HTML, marked safe as `result_row` escapes every value, and which
    cooperation it shows."""

    pk: int
    slug: str

    @classmethod
    def of(cls, cooperation, html: str) -> "Row":
        row = cls(html)
        row.pk, row.slug = cooperation.pk, cooperation.slug
        return row


class RenderedRows:
    """HTML by (cooperation id, heading level), first in first out past `capacity` rows."""

    def __init__(self, capacity: int | None = None):
        self.capacity = settings.LIST_ROW_CACHE_SIZE if capacity is None else capacity
        self._html: dict[tuple[int, int], Row] = {}
        # Request threads of one worker share the store; eviction walks the dict.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._html)

    def get(self, key: tuple[int, int]) -> Row | None:
        return self._html.get(key)

    def put(self, key: tuple[int, int], html: Row) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            while len(self._html) >= self.capacity:
                del self._html[next(iter(self._html))]
            self._html[key] = html


def rendered(store: RenderedRows, ids: list[int], queryset, level: int = 3) -> list[Row]:
    """The HTML rows of `ids` still in `queryset`, in that order: those already rendered from
    the store, the others read from `queryset` (one query and its prefetches), rendered and
    kept. One query always asks which ids `queryset` still holds, so that a row unpublished by
    a write that keeps no history (and so leaves the version as it was) is never shown."""
    shown = set(
        queryset.prefetch_related(None).order_by().values_list("pk", flat=True).filter(pk__in=ids)
    )
    found = {}
    for pk in ids:
        html = store.get((pk, level))
        if html is not None and pk in shown:
            found[pk] = html
    missing = [pk for pk in ids if pk in shown and pk not in found]
    if missing:
        for cooperation in queryset.filter(pk__in=missing):
            html = Row.of(cooperation, result_row(cooperation, level))
            store.put((cooperation.pk, level), html)
            found[cooperation.pk] = html
    return [found[pk] for pk in ids if pk in found]
