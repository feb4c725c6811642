"""The selection of a list: a page's scope read against its query string, once.

`select()` parses the filters with the list's FilterSet, notes in French every value it ignores,
chooses the sort and intersects the bitmaps of the facet index; the `Selection` it returns is
immutable and holds all a reader needs: the ids in order, one page of them, the facet counts,
and the filters in words for titles, tags, feeds and export sheets.
"""

from dataclasses import dataclass, replace

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import F
from pyroaring import BitMap

from catalogue.typography import french_spacing

from .. import facet_index, result_rows, search
from ..collation import FrenchOrder
from ..filters import PLUS_VALUES, SORTS, STATUS_CHOICES, CooperationFilter
from ..list_links import QueryLinks
from ..models import Territory
from ..text import shown
from .scopes import Scope

PAGE_SIZE = 20


class IndexedResults:
    """A selection of the facet index in the page's order, read from the database only for the
    slice shown: what the Paginator pages through (it needs `count()` and slicing)."""

    def __init__(self, index, segments, sort, ranks, rows_queryset, rows="records"):
        self.index, self.segments, self.sort, self.ranks = index, segments, sort, ranks
        # Makes the queryset that reads records, only when some must be read: most list pages
        # find all their rows kept.
        self.rows_queryset = rows_queryset
        # What a slice gives: "records" (the cooperations), "ids" (theirs only), or the values
        # of their result rows (`result_rows.RowData`), "kept" with the index for a visitor or
        # "fresh" from the records for staff.
        self.rows = rows

    def count(self) -> int:
        return sum(len(segment) for segment in self.segments)

    def __len__(self) -> int:
        return self.count()

    def ids(self, start: int = 0, stop: int | None = None) -> list[int]:
        """The cooperation ids at [start, stop) of the selection in its order (all by default)."""
        stop = self.count() if stop is None else stop
        return facet_index.ordered_page(
            self.index, self.segments, self.sort, self.ranks, start, stop
        )

    def __getitem__(self, key):
        if isinstance(key, int):
            return self[key : key + 1][0]
        start, stop, _step = key.indices(self.count())
        ids = self.ids(start, stop)
        if self.rows == "ids":
            return ids
        if self.rows != "records":
            kept = self.index.rows if self.rows == "kept" else None
            return result_rows.rows(ids, self.rows_queryset, kept)
        # One query and its prefetches for the 20 rows, put back in the index's order; a row
        # unpublished since the index was built is simply left out.
        records = {record.pk: record for record in self.rows_queryset().filter(pk__in=ids)}
        return [records[pk] for pk in ids if pk in records]

    def __iter__(self):
        return iter(self[:])


@dataclass(frozen=True)
class ListPage:
    """One page of a selection: the paginator, the page (its `object_list` the rows shown) and
    every notice of the request, the page number's included."""

    paginator: Paginator
    page: Page
    notices: tuple[str, ...]


@dataclass(frozen=True)
class Selection:
    scope: Scope
    # The FilterSet of the query string: its `valid_data` are the filters applied.
    filterset: CooperationFilter
    # One French sentence per value ignored (a bad filter, sort or format value…).
    notices: tuple[str, ...]
    sort: str
    # Whether the query string searches for at least one significant word.
    searching: bool
    index: facet_index.FacetIndex
    # The scope's bitmap, the bitmap each valid filter keeps, the search ranks (or None), and
    # their intersection: the selected cooperations.
    base: BitMap
    kept: dict
    ranks: np.ndarray | None
    bitmap: BitMap

    @property
    def valid(self) -> dict:
        return self.filterset.valid_data

    @property
    def count(self) -> int:
        return len(self.bitmap)

    def noting(self, *notices: str) -> "Selection":
        """The same selection with more notices (a reader's own, such as an unknown format)."""
        return replace(self, notices=(*self.notices, *notices))

    def results(self, rows: str = "records", sort: str | None = None) -> IndexedResults:
        """The selection in the page's order: its segments (roles first on a territory page),
        each sorted by the selection's sort (or `sort`)."""
        return IndexedResults(
            self.index,
            self.scope.segments(self.index, self.bitmap),
            sort or self.sort,
            self.ranks,
            lambda: self.scope.queryset().for_list(),
            rows,
        )

    def ids(self) -> list[int]:
        """Every selected id in the page's order."""
        return self.results().ids()

    def last_changed(self, limit: int) -> list[int]:
        """The ids of the `limit` cooperations changed last, newest first, whatever the
        scope's groups: what a feed holds."""
        return facet_index.ordered_page(self.index, [self.bitmap], "modifiee", None, 0, limit)

    def counts(self, facet: str) -> dict:
        """The facet's option counts: each option against the other valid filters."""
        return facet_index.facet_counts(self.index, self.base, self.kept, facet)

    def page(self, raw_number, rows: str = "records", page_size: int = PAGE_SIZE) -> ListPage:
        """The page asked for by the query string's raw `page` value, with a French notice and
        the first or last page when it names none; `page_size` rows a page (the API's
        `page_size`)."""
        paginator = Paginator(self.results(rows), page_size)
        number, notice = _page_number(raw_number, paginator)
        notices = (*self.notices, notice) if notice else self.notices
        return ListPage(paginator, paginator.page(number), notices)

    # --- the filters in words -----------------------------------------------------------------

    def state_labels(self) -> list[str]:
        """The filters as a title states them: « recherche « port » », « signées à partir de
        2015 », « Brest Métropole »."""
        return [self._state_label(name, value) for name, value in self.valid.items()]

    def heading(self, title: str, filtered_title: str | None = None, page_number: int = 1) -> str:
        """The title and h1 state the filters and the page (RGAA 8.6): « Coopérations — Brest
        Métropole, Mobilités et transports — page 2 »; `filtered_title` replaces `title`
        when some filter applies."""
        states = self.state_labels()
        parts = [(filtered_title or title) if states else title]
        if states:
            parts.append(", ".join(states))
        if page_number > 1:
            parts.append(f"page {page_number}")
        # Made here, outside the templates that the French spacing rewrites: a line of the h1
        # must not break inside « brest » or before the colon of « Statut : Active ».
        return french_spacing(" — ".join(parts))

    def filter_labels(self) -> list[str]:
        """« Label : value » of each valid filter."""
        return [
            f"{self.filterset.filters[name].label} : {value_label(name, value)}"
            for name, value in self.valid.items()
        ]

    def active_filters(self, links: QueryLinks) -> list[dict]:
        """A removable tag per valid filter: its label and the URL without it."""
        return [
            {"label": label, "remove_url": links(**{name: None, "page": None}) or "?"}
            for name, label in zip(self.valid, self.filter_labels(), strict=True)
        ]

    def plain_filters(self) -> str:
        """The scope, the filters and the sort in one French line, for an export's sheet."""
        parts = [self.scope.description] if self.scope.description else []
        parts += self.filter_labels()
        if not parts:
            parts = ["Aucun filtre : toutes les coopérations publiées"]
        return " ; ".join(parts) + f" — tri : {SORTS[self.sort].lower()}"

    def export_name(self) -> str:
        """The scope's name, or else the first of the métropole, theme, factor, département,
        région or form filters, to name an export file."""
        if self.scope.export_name:
            return self.scope.export_name
        for name in ("metropole", "thematique", "facteur", "departement", "region", "forme"):
            value = self.valid.get(name)
            if value is not None:
                return getattr(value, "slug", "") or getattr(value, "name", "") or str(value)
        return ""

    def _state_label(self, name, value) -> str:
        if name == "q":
            return f"recherche « {value} »"
        if name == "annee_min":
            return f"signées à partir de {value}"
        if name == "annee_max":
            return f"signées jusqu'en {value}"
        if name in ("statut", "nature_partenaire"):
            return f"{self.filterset.filters[name].label} : {value_label(name, value)}"
        return value_label(name, value)


def select(request, scope: Scope, *, sorting: bool = True) -> Selection:
    """The selection of `request`'s query string within `scope`, from the request's facet
    index. Without `sorting` (a page that lists no rows) the sort is the default one and its
    value is not checked."""
    notices = []
    filterset = CooperationFilter(request.GET, queryset=scope.queryset(), request=request)
    for name in filterset.form.errors:
        label = filterset.filters[name].label if name in filterset.filters else name
        raw = request.GET.get(name, "")
        notices.append(
            f"Le filtre « {label} » avec la valeur « {shown(raw, 60)} » n'a pas été compris : "
            "il a été ignoré."
        )
    valid = filterset.valid_data
    if filterset.years_swapped:
        notices.append(
            "L'année de début était postérieure à l'année de fin : elles ont été inversées."
        )
    searching = "q" in valid and bool(search.search_words(valid["q"]))
    if "q" in valid and not searching:
        notices.append(
            f"La recherche « {shown(valid['q'], 60)} » ne contient aucun mot significatif : "
            "aucune coopération ne peut lui correspondre."
        )
    sort = chosen_sort(request.GET.get("tri", "") if sorting else "", searching, notices)
    index = facet_index.for_request(request)
    base = scope.bitmap(index)
    kept, ranks = facet_index.filter_bitmaps(index, valid)
    return Selection(
        scope=scope,
        filterset=filterset,
        notices=tuple(notices),
        sort=sort,
        searching=searching,
        index=index,
        base=base,
        kept=kept,
        ranks=ranks,
        bitmap=facet_index.intersect(base, kept.values()),
    )


def value_label(name: str, value) -> str:
    """A valid filter's value in words."""
    if name == "q":
        return f"« {value} »"
    if name == "statut":
        return dict(STATUS_CHOICES)[value]
    if name == "plus_value":
        return PLUS_VALUES[value][1]
    if name == "nature_partenaire":
        return Territory.Kind(value).label
    if isinstance(value, Territory):
        return value.name
    return str(value)


def ordering(sort: str) -> list:
    """The sort's ORDER BY terms, after the scope's (`Scope.ordering`): what the facet index's
    order reproduces."""
    by_name = [FrenchOrder("name"), "pk"]
    if sort == "pertinence":
        return [F("search_rank").desc(), *by_name]
    if sort == "recent":
        return [F("signed_on").desc(nulls_last=True), *by_name]
    if sort == "ancien":
        return [F("signed_on").asc(nulls_last=True), *by_name]
    return by_name


def chosen_sort(raw: str, searching: bool, notices: list) -> str:
    default = "pertinence" if searching else "nom"
    if not raw:
        return default
    if raw not in SORTS:
        notices.append(f"Le tri « {shown(raw, 30)} » n'existe pas : tri par défaut appliqué.")
        return default
    if raw == "pertinence" and not searching:
        return "nom"
    return raw


def _page_number(raw, paginator) -> tuple[int, str]:
    if raw in (None, ""):
        return 1, ""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1, f"La page « {shown(str(raw), 20)} » n'existe pas : première page."
    if number < 1:
        return 1, f"La page {number} n'existe pas : première page affichée."
    if number > paginator.num_pages:
        return (
            paginator.num_pages,
            f"La page {number} n'existe pas : dernière page ({paginator.num_pages}) affichée.",
        )
    return number, ""
