"""What a result row of the public lists shows, as plain values, kept per process.

A row (templates/jinja2/includes/result_row.html) shows a cooperation's name, métropoles, form,
signature, status, summary and themes: read for 20 rows, these are a query and two prefetches.
Each process keeps the values it read with its facet index, that is for one catalogue version
(any recorded write makes a new one, `caching.catalogue_version`), so that a page whose rows
were shown before reads none. Only values are kept, never markup: a new template shows at the
next request, under whatever script prefix the request has.
"""

from dataclasses import dataclass

from django.utils.text import Truncator

from .models import Participation

# Rows kept in each process per catalogue version, some 400 bytes each.
KEPT_ROWS = 20_000
SUMMARY_WORDS = 40


@dataclass(frozen=True, slots=True)
class RowData:
    pk: int
    slug: str
    name: str
    # The names of its métropoles, in the record's order.
    metropoles: tuple[str, ...]
    # Form, signature sentence and status, each only when known.
    meta: tuple[str, ...]
    summary: str
    # (slug, label) of each theme.
    themes: tuple[tuple[str, str], ...]


def row_data(cooperation) -> RowData:
    """The row of `cooperation`, read as `CooperationQuerySet.for_list` reads it."""
    metropole = Participation.Role.METROPOLE
    meta = []
    if cooperation.legal_form:
        meta.append(cooperation.legal_form.label)
    if cooperation.signed_on:
        meta.append(cooperation.signature_sentence)
    if cooperation.status:
        meta.append(cooperation.get_status_display())
    return RowData(
        pk=cooperation.pk,
        slug=cooperation.slug,
        name=cooperation.name,
        metropoles=tuple(
            p.territory.name for p in cooperation.participations.all() if p.role == metropole
        ),
        meta=tuple(meta),
        summary=Truncator(cooperation.summary).words(SUMMARY_WORDS) if cooperation.summary else "",
        themes=tuple((theme.slug, theme.label) for theme in cooperation.themes.all()),
    )


def rows(ids: list[int], rows_queryset, kept: dict | None) -> list[RowData]:
    """The rows of `ids` still published, in that order.

    `kept` holds the rows already read for the same catalogue version (the facet index's
    `rows`), or is None for a reader who must see the database as it is (staff): only the
    others are read, through `rows_queryset()` (`for_list`: one query and two prefetches)."""
    return kept_values(ids, rows_queryset, row_data, kept, KEPT_ROWS)


def kept_values(ids: list[int], records, values, kept: dict | None, most: int) -> list:
    """`values(record)` for each of `ids` that `records()` still holds, in that order: those in
    `kept` (values of this catalogue version, or None to read them all) taken from it, the
    others read in one filter of `records()` and kept, up to `most` in all."""
    found = {} if kept is None else {pk: kept[pk] for pk in ids if pk in kept}
    wanted = [pk for pk in ids if pk not in found]
    if wanted:
        read = {record.pk: values(record) for record in records().filter(pk__in=wanted)}
        if kept is not None and len(kept) < most:
            kept.update(read)
        found.update(read)
    return [found[pk] for pk in ids if pk in found]
