"""Result rows of the public lists and the bodies of the record pages, kept as HTML in the
database with each cooperation.

A row's HTML (`row_html`) depends only on its cooperation and its relations, like the search
and export texts, so it is written with them (`derived.refresh_derived_text`, called by every
writer) into `Cooperation.list_html`. A visitor's list page then reads its 20 rows in one
query (`caching.published_rows`), no participation or theme read, no rendering; and each
process keeps the rows it read for the catalogue's version with its facet index, so that a
page whose rows were shown before sends only the version's query.

Reading and rendering the rows was about half of an uncached list request. Rendered in each
process instead, as before, they had to be rendered again by every worker after every write
(a new catalogue version); in the database they are rendered once, when written, and shared by
every server, and a worker only reads them again. A row whose HTML is missing (written by
hand) is rendered on the spot.

A record page likewise reads its body — everything but the related cooperations, the citation
and the share links — from its `CooperationPage`, with the ids that find its related
cooperations: one query instead of six, and no rendering of territories, factors and sources.
Reading and rendering them was about two thirds of the page's time.
"""

import functools

from django.urls import reverse
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString

from .caching import published_rows
from .models import ROLE_HEADINGS, Participation, Territory, format_date_fr
from .templatetags.catalogue import result_row, source_label, theme_tags
from .vocabularies import PLUS_VALUES

# The rows' headings: h3 under the list's h2 « Résultats ».
HEADING_LEVEL = 3
# Rows kept in each process per catalogue version, about 1.2 kB each: 12 MB at most. A list
# page whose rows were all read before for the same version then sends one query only, the
# version's; a write drops them with the facet index.
KEPT_ROWS = 10_000


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


def rendered(ids: list[int], rows_queryset, kept: dict) -> list[Row]:
    """The rows of `ids` still published, in that order, from their stored HTML (rendered from
    `rows_queryset()` when missing).

    `kept` holds the rows already read for the same catalogue version (the facet index's
    `rows`): only the others are read, in one query that asks for publication only, not for the
    page's own narrowing (a theme), so that its SQL is the same for every page, built once. A
    row read is kept there, up to `KEPT_ROWS` rows."""
    rows = {pk: kept[pk] for pk in ids if pk in kept}
    wanted = [pk for pk in ids if pk not in rows]
    if wanted:
        found = published_rows(wanted, ("pk", "slug", "list_html"))
        read = {pk: Row.of(pk, slug, html) for pk, slug, html in found if html}
        missing = [pk for pk, _slug, html in found if not html]
        if missing:
            for cooperation in rows_queryset().filter(pk__in=missing):
                read[cooperation.pk] = fresh(cooperation)
        if len(kept) < KEPT_ROWS:
            kept.update(read)
        rows.update(read)
    return [rows[pk] for pk in ids if pk in rows]


@functools.lru_cache(maxsize=8192)
def _url(name: str, *args) -> str:
    # The same territories, themes and factors come back on every record of an import:
    # reverse() was a third of writing a page.
    return reverse(name, args=args)


def _territory_url(territory) -> str:
    return _territory_url_of(territory.pk, territory.kind, territory.code)


@functools.lru_cache(maxsize=8192)
def _territory_url_of(pk: int, kind: str, code: str) -> str:
    # What `Territory.get_absolute_url` depends on, once per territory.
    return Territory(pk=pk, kind=kind, code=code).get_absolute_url()


def _source_link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}" rel="noopener external">{escape(text)}</a>'


def detail_html(cooperation) -> str:
    """The stored body of `cooperation`'s page — the badges, the « En bref » box and the
    article down to its sources — read as `Cooperation.objects.with_relations()` reads it.

    Written in Python, like the list rows, every value escaped: through the template engine it
    took 0.85 ms per record, most of an import's time spent on derived texts."""
    form = cooperation.legal_form
    status = cooperation.get_status_display() if cooperation.status else ""
    badges = []
    if status:
        badges.append(
            '<li><p class="fr-badge fr-badge--sm fr-badge--no-icon fr-badge--info">'
            f"{escape(status)}</p></li>"
        )
    if form:
        badges.append(
            f'<li><p class="fr-badge fr-badge--sm fr-badge--no-icon">{escape(form.label)}</p></li>'
        )
    brief = []
    if form:
        definition = (
            f'<br><span class="cat-meta">{escape(form.definition)}</span>'
            if form.definition
            else ""
        )
        brief.append(_term("Forme de coopération", escape(form.label) + definition))
    if status:
        brief.append(_term("Statut", escape(status)))
    if cooperation.signed_on:
        signed = format_date_fr(cooperation.signed_on, cooperation.signed_on_precision)
        brief.append(_term("Signature", escape(signed)))
    if cooperation.starts_on:
        brief.append(_term("Début", escape(format_date_fr(cooperation.starts_on))))
    if cooperation.ends_on:
        brief.append(_term("Fin", escape(format_date_fr(cooperation.ends_on))))
    brief.append(
        _term(
            "Provenance",
            f"{escape(cooperation.get_provenance_display())}<br>"
            f'<span class="cat-meta">{escape(cooperation.provenance_explanation)}</span>',
        )
    )
    if cooperation.last_verified_on:
        verified = format_date_fr(cooperation.last_verified_on)
        brief.append(_term("Dernière vérification", escape(verified)))
    return "".join(
        [
            f'<ul class="fr-badges-group fr-mb-2w">{"".join(badges)}</ul>\n',
            '<div class="fr-grid-row fr-grid-row--gutters">\n',
            '<aside class="fr-col-12 fr-col-md-4 cat-brief" aria-labelledby="titre-fiche">\n',
            '<div class="fr-background-alt--grey fr-p-3w">\n',
            '<h2 class="fr-h5" id="titre-fiche">En bref</h2>\n',
            f'<dl class="fr-text--sm">\n{"".join(brief)}</dl>\n</div>\n</aside>\n',
            '<article class="fr-col-12 fr-col-md-8">\n',
            *_article(cooperation),
            "</article>\n</div>\n",
        ]
    )


def _term(term: str, definition_html: str) -> str:
    return f'<dt class="fr-text--bold">{term}</dt><dd>{definition_html}</dd>\n'


def _article(cooperation):
    if cooperation.summary:
        yield f'<p class="fr-text--lead">{escape(cooperation.summary)}</p>\n'
    if cooperation.description:
        yield '<h2 class="fr-h4">Description</h2>\n'
        yield linebreaks(cooperation.description, autoescape=True) + "\n"
    yield '<h2 class="fr-h4">Territoires</h2>\n'
    participations = cooperation.participations.all()
    for role, heading in ROLE_HEADINGS.items():
        rows = [p.territory for p in participations if p.role == role]
        if rows:
            items = "".join(
                f'<li><a href="{escape(_territory_url(territory))}">{escape(territory.name)}'
                f"</a> — {escape(territory.get_kind_display())}"
                f"{f', code {escape(territory.code)}' if territory.code else ''}</li>\n"
                for territory in rows
            )
            yield f'<h3 class="fr-h6">{heading}</h3>\n<ul>\n{items}</ul>\n'
    themes = cooperation.themes.all()
    if themes:
        tags = theme_tags(themes)
        yield f'<h2 class="fr-h4">Thématiques</h2>\n<ul class="fr-tags-group">{tags}</ul>\n'
    yield from _factors_and_plus_values(cooperation)
    for field, heading in (
        ("governance", "Gouvernance"),
        ("funding", "Financements"),
        ("staffing", "Moyens humains"),
    ):
        if text := getattr(cooperation, field):
            yield f'<h2 class="fr-h4">{heading}</h2>\n{linebreaks(text, autoescape=True)}\n'
    sources = cooperation.sources.all()
    if sources:
        yield '<h2 class="fr-h4">Sources</h2>\n<ul>\n'
        for source in sources:
            item = _source_link(source.url, source.title or source_label(source.url))
            if source.publisher:
                item += f", {escape(source.publisher)}"
            if source.published_on:
                item += f", {escape(format_date_fr(source.published_on))}"
            yield f"<li>{item}</li>\n"
        yield "</ul>\n"


def _factors_and_plus_values(cooperation):
    links = cooperation.factor_links.all()
    illustrations = {link.plus_value: link for link in cooperation.plus_value_links.all()}
    plus_values = [
        (code, label)
        for code, field, label, _definition in PLUS_VALUES
        if getattr(cooperation, field)
    ]
    if not links and not plus_values:
        return
    yield (
        '<h2 class="fr-h4">Facteurs de réussite et plus-values</h2>\n'
        '<p class="fr-text--xs cat-meta">Classement éditorial du catalogue, d\'après la '
        f'source citée. <a href="{_url("cooperations:factors")}">Les six facteurs de '
        f'réussite</a> · <a href="{_url("cooperations:plus_values")}">les trois '
        "plus-values</a></p>\n"
    )
    for link in links:
        url = _url("cooperations:factor", link.factor.slug)
        yield (
            f'<h3 class="fr-h6 fr-mb-1w"><a href="{escape(url)}">{escape(link.factor.label)}'
            "</a></h3>\n"
        )
        yield from _illustration(link.text, link.source_url)
    for code, label in plus_values:
        url = _url("cooperations:plus_value", code)
        yield (
            f'<h3 class="fr-h6 fr-mb-1w">Plus-value : <a href="{escape(url)}">{escape(label)}'
            "</a></h3>\n"
        )
        illustration = illustrations.get(code)
        if illustration:
            yield from _illustration(illustration.text, illustration.source_url)


def _illustration(text: str, source_url: str):
    if text:
        yield f'<p class="fr-mb-1v">{escape(text)}</p>\n'
    if source_url:
        link = _source_link(source_url, source_label(source_url))
        yield f'<p class="cat-meta">Source : {link}</p>\n'


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
