"""Template helpers that only read what the views already loaded (never a query)."""

import functools

from django import template
from django.conf import settings
from django.core.files.storage import storages
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

register = template.Library()


def fixed_path(name: str, *args) -> str:
    """`reverse(name, args=args)` kept per process: a list page asks for a few addresses on
    every request, each a walk through the URL patterns. Kept per script prefix and URLconf,
    the two things besides the name and arguments that `reverse` reads."""
    return _fixed_path(name, args, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=128)
def _fixed_path(name: str, args: tuple, _prefix: str, urlconf: str) -> str:
    return reverse(name, args=args, urlconf=urlconf)


@register.simple_tag
def path(name):
    """`{% url name %}` for an address without arguments, kept per process (`fixed_path`)."""
    return fixed_path(name)


@register.simple_tag
def asset(name):
    """`{% static name %}` kept per process, for the list pages' own scripts: the collected
    files' hashed names do not change while it runs. Kept per storage, which tests swap."""
    return _asset(name, storages["staticfiles"])


@functools.lru_cache(maxsize=64)
def _asset(name: str, _storage) -> str:
    return static(name)


@register.simple_tag
def territory_search(prefix, name=""):
    """The « Votre commune… » search form of the home, list and « Ma commune » pages, with
    its element ids under `prefix`; territory-search.js suggests names as the visitor types.
    Written here rather than as an included template: on the list page, the include and its
    two address lookups were a tenth of the page's own template work."""

    prefix, name = escape(prefix), escape(name or "")
    action = escape(fixed_path("cooperations:my_territory"))
    suggestions = escape(fixed_path("cooperations:territory_suggestions"))
    return mark_safe(  # noqa: S308 — every value is escaped.
        f'<form class="cat-territory-search fr-mb-4w" action="{action}" method="get" '
        f'role="search" aria-labelledby="{prefix}-titre" data-territory-search '
        f'data-suggestions="{suggestions}">\n'
        '  <div class="fr-input-group">\n'
        f'    <label class="fr-label" for="{prefix}-nom" id="{prefix}-titre">'
        "Votre commune, intercommunalité, département ou région\n"
        '      <span class="fr-hint-text">Son nom suffit, avec ou sans accents : Brest, Plouzané, '
        "Finistère, Bretagne…</span>\n"
        "    </label>\n"
        '    <div class="cat-combobox">\n'
        '      <div class="fr-search-bar">\n'
        f'        <input class="fr-input" type="text" id="{prefix}-nom" name="nom" value="{name}" '
        'autocomplete="off" role="combobox" aria-autocomplete="list" aria-expanded="false" '
        f'aria-controls="{prefix}-suggestions" aria-describedby="{prefix}-etat">\n'
        '        <button class="fr-btn" type="submit" '
        'title="Voir les coopérations de ce territoire">Voir ses coopérations</button>\n'
        "      </div>\n"
        f'      <ul class="cat-suggestions" id="{prefix}-suggestions" role="listbox" '
        'aria-label="Territoires suggérés" hidden></ul>\n'
        "    </div>\n"
        f'    <p class="fr-sr-only" id="{prefix}-etat" aria-live="polite"></p>\n'
        "  </div>\n"
        "</form>\n"
    )


@register.filter
def role_label(value):
    from cooperations.models import Participation

    try:
        return Participation.Role(value).label
    except ValueError:
        return ""


@register.filter
def pluriel(count, suffix="s"):
    """French plural: « 0 coopération », « 1 coopération », « 2 coopérations »."""
    try:
        return suffix if abs(int(count)) > 1 else ""
    except (TypeError, ValueError):
        return ""


@register.filter
def filter_tags(active_filters):
    """The valid filters as removable DSFR tags, as the list pages show them."""
    from cooperations.list_page import active_filter_tags

    return active_filter_tags(active_filters)


@register.filter
def date_fr(value, precision="day"):
    """A date in words at its precision (« 1er mars 2016 », « avril 2019 », « 2017 »): the one
    way pages write dates."""
    from cooperations.models import format_date_fr

    return format_date_fr(value, precision)


@register.filter
def source_label(url):
    """The host of a source address, for a link whose document has no known title."""
    from urllib.parse import urlsplit

    host = urlsplit(url or "").hostname or ""
    return host.removeprefix("www.")


@register.simple_tag
def result_row(cooperation, level=3):
    """One result of a list: its title, métropoles, form, signature, status, summary, the
    comparison checkbox and its themes. Written in Python rather than as an included template:
    the include cost a third of a list page's time for its 20 rows."""
    from cooperations.models import Participation

    heading = f"h{int(level)}"
    metropoles = [
        p.territory.name
        for p in cooperation.participations.all()
        if p.role == Participation.Role.METROPOLE
    ]
    meta = [escape(", ".join(metropoles)) if metropoles else "Métropole non renseignée"]
    if cooperation.legal_form:
        meta.append(escape(cooperation.legal_form.label))
    if cooperation.signed_on:
        meta.append(escape(cooperation.signature_sentence))
    if cooperation.status:
        meta.append(escape(cooperation.get_status_display()))
    name, slug = escape(cooperation.name), escape(cooperation.slug)
    parts = [
        f'<li>\n  <{heading} class="fr-h6"><a href="{escape(cooperation.get_absolute_url())}">'
        f"{name}</a></{heading}>\n",
        f'  <p class="cat-meta">{" · ".join(meta)}</p>\n',
    ]
    if cooperation.summary:
        summary = escape(Truncator(cooperation.summary).words(40))
        parts.append(f'  <p class="fr-text--sm fr-mb-1w">{summary}</p>\n')
    parts.append(
        '  <div class="fr-checkbox-group fr-checkbox-group--sm fr-mb-1w">\n'
        f'    <input type="checkbox" id="comparer-{slug}" name="c" value="{slug}">\n'
        f'    <label class="fr-label" for="comparer-{slug}">Comparer'
        f'<span class="fr-sr-only"> {name}</span></label>\n  </div>\n'
    )
    themes = cooperation.themes.all()
    if themes:
        parts.append(
            f'  <ul class="fr-tags-group">{theme_tags(themes, "fr-tag fr-tag--sm")}</ul>\n'
        )
    parts.append("</li>")
    return mark_safe("".join(parts))  # noqa: S308 — every value above is escaped.


def theme_tags(themes, tag_class: str = "fr-tag") -> str:
    """The items of a DSFR tags group, one link per theme, every value escaped."""
    return "".join(
        f'<li><a class="{tag_class}" href="{escape(_theme_url(theme.slug))}">'
        f"{escape(theme.label)}</a></li>"
        for theme in themes
    )


def _theme_url(slug: str) -> str:
    """A theme's address without a reverse() per tag (a few dozen per page)."""
    return fixed_path("cooperations:theme", "-").replace("/-/", f"/{slug}/")
