"""Atom feeds of the public lists: a saved search becomes an alert in any feed reader.

Each list page (the whole catalogue, a theme, a success factor, a plus-value, a territory) has a
feed at its own address plus `flux/`, reading the same query string through the same view: the
page's scope, FilterSet and bad-value handling are the list's own, so the feed holds exactly the
list's records, the newest `FEED_SIZE` by last change.

Entry ids: a tag URI holding the record's id and the time of its last change, not the permalink.
Feed readers show an entry once per id and most never show it again when only its `updated` date
moves, so with the permalink as id a changed cooperation would alert nobody; with the change time
in the id each change arrives as a new entry (linking to the same permalink), which is what a
visitor following a selection asks for.
"""

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.template import engines
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .. import listing
from ..models import ROLE_HEADINGS, Participation
from ..paths import fixed_path
from ..result_rows import kept_values

FEED_SIZE = 50
SITE_NAME = "Catalogue des coopérations interterritoriales"
# XML 1.0 refuses these characters (Django's feed writer raises on them): a record imported with
# one must not break the feed of every list it belongs to.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _summary_template():
    return engines["jinja2"].get_template("feeds/summary.html")


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub(" ", text or "")


@dataclass(frozen=True)
class FeedContent:
    """What one request's feed holds: the list's selection and its newest records' entries."""

    request: HttpRequest
    selection: listing.Selection
    items: list


class CatalogueFeed(Feed):
    """The feed of one list page kind, by its scope: `CatalogueFeed(ThemeScope)` serves
    `/thematiques/x/flux/`.

    Costs the scope's and filter values' queries, then, for the entries not kept yet, 3
    (records, themes, participations with their territories) whatever the number of rows.
    """

    feed_type = Atom1Feed
    language = "fr"
    author_name = SITE_NAME

    def __init__(self, scope_class):
        super().__init__()
        self.scope_class = scope_class

    def get_object(self, request, **kwargs):
        """The list's selection on this request (404 if its scope is unknown) and the newest
        records of it: their entries kept with the facet index for a visitor, the others read
        from the database for these rows only (staff get them as the database holds them)."""
        scope = self.scope_class.from_url(**kwargs)
        selection = listing.select(request, scope)
        ids = selection.last_changed(FEED_SIZE)
        kept = None if request.user.is_authenticated else selection.index.feed_entries
        host = request.get_host().rsplit(":", 1)[0]
        items = [
            FeedItem(entry, entry_id(host, entry))
            for entry in entries(ids, lambda: scope.queryset().for_list(), kept)
        ]
        return FeedContent(request, selection, items)

    def title(self, feed):
        labels = feed.selection.filter_labels()
        title = feed.selection.scope.title + (f" ({' ; '.join(labels)})" if labels else "")
        return xml_safe(f"{title} — {SITE_NAME}")

    def subtitle(self, feed):
        return subtitle(len(feed.items), feed.selection.count)

    def link(self, feed):
        return feed.request.path.removesuffix("flux/") + feed_query(feed.selection.filterset)

    def feed_url(self, feed):
        return feed.request.path + feed_query(feed.selection.filterset)

    def author_link(self, feed):
        return feed.request.build_absolute_uri(reverse("cooperations:home"))

    def items(self, feed):
        return feed.items

    def item_title(self, item):
        return xml_safe(item.entry.name)

    def item_description(self, item):
        # Atom's summary is written as type="html": the template escapes the record's text, so
        # that a « < » in a record reads as text, never as markup.
        return xml_safe(_summary_template().render({"lines": item.entry.lines}))

    def item_link(self, item):
        return fixed_path("cooperations:detail", item.entry.slug)

    def item_guid(self, item):
        return item.guid

    def item_pubdate(self, item):
        return item.entry.created_at

    def item_updateddate(self, item):
        return item.entry.updated_at

    def item_categories(self, item):
        return [xml_safe(label) for label in item.entry.themes]


@dataclass(frozen=True, slots=True)
class Entry:
    """What a feed entry shows of one cooperation, as values: a visitor's feed keeps them with
    the facet index, for one catalogue version (as the result rows are kept), so that entries
    shown before are not read again; the markup is made at each request."""

    pk: int
    slug: str
    name: str
    # The summary, then one line per role naming its territories.
    lines: tuple[str, ...]
    # The labels of its themes.
    themes: tuple[str, ...]
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    """An entry in one request's feed, with its id, which names the request's host."""

    entry: Entry
    guid: str


# Entries kept in each process per catalogue version, some 500 bytes each.
KEPT_ENTRIES = 20_000


def entry(cooperation) -> Entry:
    """The entry of `cooperation`, read as `CooperationQuerySet.for_list` reads it."""
    lines = [cooperation.summary] if cooperation.summary else []
    for role in Participation.Role:
        names = [p.territory.name for p in cooperation.participations.all() if p.role == role]
        if names:
            lines.append(f"{ROLE_HEADINGS[role]} : {', '.join(names)}.")
    return Entry(
        pk=cooperation.pk,
        slug=cooperation.slug,
        name=cooperation.name,
        lines=tuple(lines),
        themes=tuple(theme.label for theme in cooperation.themes.all()),
        created_at=cooperation.created_at,
        updated_at=cooperation.updated_at,
    )


def entries(ids: list[int], records, kept: dict | None) -> list[Entry]:
    """The entries of `ids` still in the scope, in that order: those `kept` for this catalogue
    version (None for staff, who read them all), the others read through `records()` (one
    query and two prefetches)."""
    return kept_values(ids, records, entry, kept, KEPT_ENTRIES)


def subtitle(shown: int, total: int) -> str:
    """What the feed holds, counted: `shown` entries of a selection of `total` cooperations."""
    if shown == 0:
        return "Aucune coopération publiée dans cette sélection pour le moment."
    if shown == 1 and total == 1:
        return "La seule coopération publiée de cette sélection."
    if shown == total:
        return (
            f"Les {shown} coopérations publiées de cette sélection, les plus récemment "
            "ajoutées ou modifiées en premier."
        )
    # Only when the feed is cut at FEED_SIZE, hence always plural.
    return (
        f"Les {shown} coopérations publiées de cette sélection (sur {total}) les plus "
        "récemment ajoutées ou modifiées."
    )


def feed_query(filterset) -> str:
    """The query string of a list's feed: its valid filters only, by their URL values (sort,
    page and format do not apply to a feed), or "" without filters."""
    chosen = filterset.chosen
    return f"?{urlencode(chosen)}" if chosen else ""


def entry_id(host: str, item) -> str:
    """`tag:<host>,<creation date>:cooperation/<id>/<time of the last change>` (RFC 4151): a
    new id at each change of the record (see the module docstring)."""
    changed = item.updated_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"tag:{host},{item.created_at:%Y-%m-%d}:cooperation/{item.pk}/{changed}"
