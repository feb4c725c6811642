"""Result rows of the public lists and the bodies of the record pages, kept as HTML in the
database with each cooperation.

A row's HTML (`row_html`) depends only on its cooperation and its relations, like the search
and export texts, so it is written with them (`derived.refresh_derived_text`, called by every
writer) into `Cooperation.list_html`. A visitor's list page then reads its 20 rows in the same
query that checks the catalogue's version and which of its ids are still published
(`caching.published_rows`): one round trip, no participation or theme read, no rendering.

Reading and rendering the rows was about half of an uncached list request. Kept in each
process instead, as before, they had to be rendered again by every worker after every write
(a new catalogue version), and took 13 MB per process; in the database they are rendered once,
when written, and shared by every server. A row whose HTML is missing (written by hand) is
rendered on the spot.

A record page likewise reads its body — everything but the related cooperations, the citation
and the share links — from `Cooperation.detail_html`, and the ids that find its related
cooperations from `Cooperation.related_keys`: one query instead of six, and no rendering of
territories, factors and sources. Reading and rendering them was four fifths of the page.
"""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from .caching import published_rows
from .models import Participation
from .templatetags.catalogue import result_row
from .vocabularies import PLUS_VALUES

# The rows' headings: h3 under the list's h2 « Résultats ».
HEADING_LEVEL = 3


def row_html(cooperation) -> str:
    """The stored result row of `cooperation`, read with its legal form, themes and
    participations with their territory."""
    return result_row(cooperation, HEADING_LEVEL)


class Row(SafeString):
    """One rendered row: its HTML, marked safe as `result_row` escapes every value, and which
    cooperation it shows."""

    pk: int
    slug: str

    @classmethod
    def of(cls, pk: int, slug: str, html: str) -> "Row":
        row = cls(html)
        row.pk, row.slug = pk, slug
        return row


def fresh(cooperation) -> Row:
    """The row of `cooperation` rendered now from the record (read as `for_list` reads it)."""
    return Row.of(cooperation.pk, cooperation.slug, row_html(cooperation))


def rendered(ids: list[int], rows_queryset, version: str | None = None) -> list[Row]:
    """The rows of `ids` still published, in that order, from their stored HTML (rendered from
    `rows_queryset()` when missing).

    Asks for publication only, not for the page's own narrowing (a theme), which only a write
    with history changes: the SQL is the same for every page, built once. With `version`, the
    same query checks that the catalogue is still at that version (`caching.VersionMoved` if
    not)."""
    found = published_rows(ids, ("pk", "slug", "list_html"), version)
    rows = {pk: Row.of(pk, slug, html) for pk, slug, html in found if html}
    missing = [pk for pk, _slug, html in found if not html]
    if missing:
        for cooperation in rows_queryset().filter(pk__in=missing):
            rows[cooperation.pk] = fresh(cooperation)
    return [rows[pk] for pk in ids if pk in rows]


# The headings of a record's territories, by role.
ROLE_HEADINGS = [
    (Participation.Role.METROPOLE, "Métropoles"),
    (Participation.Role.PARTNER, "Partenaires"),
    (Participation.Role.ASSOCIATED, "Associés"),
]


def detail_html(cooperation) -> str:
    """The stored body of `cooperation`'s page, read as `Cooperation.objects.for_detail()`
    reads it."""
    illustrations = {link.plus_value: link for link in cooperation.plus_value_links.all()}
    plus_values = [
        {
            "label": label,
            "url": reverse("cooperations:plus_value", args=[code]),
            "illustration": illustrations.get(code),
        }
        for code, field, label, _definition in PLUS_VALUES
        if getattr(cooperation, field)
    ]
    return render_to_string(
        "cooperations/detail_body.html",
        {"cooperation": cooperation, "plus_values": plus_values, "role_headings": ROLE_HEADINGS},
    )


def related_keys(cooperation) -> dict[str, list[int]]:
    """The ids of the métropoles, other participants and themes of `cooperation`, sorted:
    what `facet_index.related` finds its related cooperations by."""
    participations = cooperation.participations.all()
    metropole = Participation.Role.METROPOLE
    return {
        "metropoles": sorted({p.territory_id for p in participations if p.role == metropole}),
        "partners": sorted({p.territory_id for p in participations if p.role != metropole}),
        "themes": sorted(theme.pk for theme in cooperation.themes.all()),
    }
