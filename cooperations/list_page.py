"""The filter panel and the results' tools of the list pages, written in Python.

Why: every list page (the catalogue, a theme, a factor, a territory) shows the same filter form
and the same links above its results, some sixty template nodes of variables, conditions and
loops. Rendered by Django's template engine they cost about 0.65 ms of a 4 ms page, more than
the nine facets they hold; written here, where each value is escaped once, about a tenth of it.
The markup is the one the list template wrote (DSFR accordion, search bar, selects, tags).
"""

# Escapes what is not already safe HTML (the addresses of `list_links.QueryLinks` are).
from django.utils.html import conditional_escape as escaped
from django.utils.safestring import SafeString, mark_safe

from .filters import YEAR_MAX, YEAR_MIN
from .templatetags.catalogue import pluriel


def filter_panel(context: dict, path: str) -> SafeString:
    """The « Affiner » accordion: the search bar, the facets, the years and the buttons.

    An accordion that folds the filters away on a phone; from the medium width on, the
    catalogue's stylesheet keeps it open and hides its button, like the DSFR breadcrumb."""
    count = context["paginator"].count
    active = len(context["active_filters"])
    state = f" ({active} filtre{pluriel(active)} actif{pluriel(active)})" if active else ""
    skip = (
        "Aller directement au résultat"
        if count == 1
        else f"Aller directement aux {count} résultats"
    )
    valid = context["filterset"].valid_data
    facets = "\n      ".join(str(facet.html) for facet in context["facets"])
    sort = context["sort"]
    hidden_sort = (
        f'<input type="hidden" name="tri" value="{escaped(sort)}">'
        if sort not in ("nom", "pertinence")
        else ""
    )
    reset = (
        f'<li><a class="fr-btn fr-btn--secondary" href="{escaped(path)}">Réinitialiser</a></li>'
        if context["has_filters"]
        else ""
    )
    return mark_safe(  # noqa: S308 — every value is escaped or a number.
        '<section class="fr-accordion cat-filters fr-mb-3w">\n'
        '    <h2 class="fr-accordion__title" id="titre-filtres"><button type="button" '
        'class="fr-accordion__btn" aria-expanded="false" aria-controls="panneau-filtres">'
        f"Affiner{state}</button>"
        '<span class="cat-filters__title fr-h4">Affiner</span></h2>\n'
        '    <div class="fr-collapse" id="panneau-filtres">\n'
        '    <form id="filtres" method="get" action="" aria-labelledby="titre-filtres">\n'
        '      <p class="fr-hidden-md"><a class="fr-link fr-icon-arrow-down-line '
        f'fr-link--icon-right" href="#resultats">{skip}</a></p>\n'
        '      <div class="fr-search-bar fr-mb-3w" role="search" '
        'aria-label="Rechercher dans ces coopérations">\n'
        '        <label class="fr-label" for="filtre-q">Rechercher dans ces coopérations</label>\n'
        '        <input class="fr-input" type="search" id="filtre-q" name="q" '
        f'value="{escaped(context["query"])}" '
        'placeholder="ex. mobilité, Brest, contrat de réciprocité">\n'
        '        <button class="fr-btn" type="submit" title="Rechercher">Rechercher</button>\n'
        "      </div>\n"
        f"      {facets}\n"
        '      <fieldset class="fr-fieldset" aria-labelledby="legende-annees">\n'
        '        <legend class="fr-fieldset__legend fr-text--regular" id="legende-annees">'
        "Année de signature</legend>\n"
        f"{_year_input('annee_min', 'De', valid.get('annee_min'))}"
        f"{_year_input('annee_max', 'à', valid.get('annee_max'))}"
        "      </fieldset>\n"
        f"      {hidden_sort}\n"
        '      <ul class="fr-btns-group">\n'
        '        <li><button class="fr-btn" type="submit">Appliquer les filtres</button></li>\n'
        f"        {reset}\n"
        "      </ul>\n"
        "    </form>\n"
        "    </div>\n"
        "    </section>"
    )


def _year_input(name: str, label: str, year: int | None) -> str:
    field_id = "filtre-" + name.replace("_", "-")
    value = "" if year is None else int(year)
    return (
        '        <div class="fr-fieldset__element fr-fieldset__element--inline">\n'
        '          <div class="fr-input-group">\n'
        f'            <label class="fr-label" for="{field_id}">{label}</label>\n'
        '            <input class="fr-input" type="number" inputmode="numeric" '
        f'min="{YEAR_MIN}" max="{YEAR_MAX}" id="{field_id}" name="{name}" value="{value}">\n'
        "          </div>\n"
        "        </div>\n"
    )


def results_tools(context: dict, path: str) -> SafeString:
    """What comes above the results: the active filters as removable tags, the sorts, the
    downloads of the selection, its statistics and its feed."""
    parts = []
    if context["active_filters"]:
        parts.append(
            f"{active_filter_tags(context['active_filters'])}\n"
            f'<p class="fr-text--sm"><a class="fr-link fr-link--sm" href="{escaped(path)}">'
            "Réinitialiser : retirer tous les filtres</a></p>\n"
        )
    sort = context["sort"]
    sorts = " · ".join(
        f'<strong aria-current="true">{escaped(label)}</strong>'
        if key == sort
        else f'<a class="fr-link fr-link--sm" href="{escaped(href)}">{escaped(label)}</a>'
        for key, label, href in context["sorts"]
    )
    parts.append(
        f'<div class="fr-mb-2w">\n<p class="fr-text--sm fr-mb-1w">Trier par : {sorts}</p>\n'
    )
    count = context["paginator"].count
    if count:
        exports = "".join(
            f'<a class="fr-link fr-link--sm fr-link--download" href="{escaped(href)}" download>'
            f"{escaped(label)}</a> · "
            for label, href in context["export_links"]
        )
        parts.append(
            f'<p class="fr-text--sm">Télécharger cette sélection ({count} ligne{pluriel(count)})'
            f" : {exports}"
            f'<a class="fr-link fr-link--sm" href="{escaped(context["json_link"])}">JSON</a></p>\n'
        )
    if context["statistics_url"]:
        parts.append(
            f'<p class="fr-text--sm"><a class="fr-link fr-link--sm" '
            f'href="{escaped(context["statistics_url"])}">Statistiques de cette sélection</a></p>\n'
        )
    parts.append(
        '<p class="fr-text--sm"><a class="fr-link fr-link--sm fr-icon-rss-line '
        f'fr-link--icon-left" href="{escaped(context["feed_url"])}">Suivre cette sélection</a> '
        "(flux Atom des ajouts et modifications, pour un lecteur de flux)</p>\n</div>"
    )
    return mark_safe("".join(parts))  # noqa: S308 — every value is escaped or a number.


def active_filter_tags(active_filters: list[dict]) -> SafeString:
    """The valid filters as DSFR tags, each a link to the same page without it (the list's
    `active_filters`: label and `remove_url`)."""
    tags = "".join(
        '\n  <li><a class="fr-tag fr-tag--sm fr-tag--icon-left fr-icon-close-line" '
        f'href="{escaped(tag["remove_url"])}" aria-label="Retirer le filtre {label}">'
        f"{label}</a></li>"
        for tag in active_filters
        for label in [escaped(tag["label"])]
    )
    return mark_safe(  # noqa: S308 — every value is escaped.
        '<p class="fr-text--sm fr-mb-1w">Filtres actifs (cliquer pour retirer) :</p>\n'
        f'<ul class="fr-tags-group">{tags}\n</ul>'
    )
