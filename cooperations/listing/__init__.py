"""The list query: what every list of cooperations shows, computed once for all its readers.

A page's *scope* (`scopes.py`: the whole catalogue, a theme, a success factor, a plus-value, a
territory) says which cooperations it narrows the catalogue to, as a bitmap of the facet index
and as a queryset. `select(request, scope)` (`selection.py`) reads the query string against that
scope and returns an immutable `Selection`: the valid filters, the French notices of what was
ignored, the sort, the selected bitmap, the facet counts, the labels; `Selection.page()` cuts it
into the page asked for.

The list pages, their exports and JSON, the Atom feeds, the API's list and the statistics page
all read their cooperations through this package; none of them reaches a selection through a
view.
"""

from .scopes import (
    ROLE_ORDER,
    FactorScope,
    PlusValueScope,
    Scope,
    TerritoryScope,
    ThemeScope,
)
from .selection import PAGE_SIZE, IndexedResults, ListPage, Selection, ordering, select

__all__ = [
    "PAGE_SIZE",
    "ROLE_ORDER",
    "FactorScope",
    "IndexedResults",
    "ListPage",
    "PlusValueScope",
    "Scope",
    "Selection",
    "TerritoryScope",
    "ThemeScope",
    "ordering",
    "select",
]
