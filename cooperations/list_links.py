"""The links of a list page that change one parameter of its address: sorts, exports, pages.

Written in Python rather than with Django's `{% querystring %}` tag and an included pagination
template: each tag copied the query string and encoded every parameter again, and the fifteen
to twenty links of a list page with the pagination's loop cost about a tenth of its time. The
addresses are the ones the tag writes (same parameter order, same encoding, escaped for an
attribute); tests/test_list_links.py compares them.
"""

import html
from urllib.parse import urlencode

from django.utils.safestring import SafeString, mark_safe


class QueryLinks:
    """`links(page=2)` is `{% querystring page=2 %}` for the query string given once."""

    def __init__(self, query_dict):
        # Each parameter encoded once per page, in the query string's order.
        self.pairs = [
            (key, urlencode([(key, value)]))
            for key, values in query_dict.lists()
            for value in values
        ]

    def __call__(self, **changes) -> SafeString:
        """The query string with `changes` (None removes a parameter), escaped for HTML."""
        parts, changed = [], set()
        for key, encoded in self.pairs:
            if key not in changes:
                parts.append(encoded)
            elif key not in changed:
                # As QueryDict: a changed parameter keeps the place of its first value.
                changed.add(key)
                if changes[key] is not None:
                    parts.append(urlencode([(key, changes[key])]))
        parts += [
            urlencode([(key, value)])
            for key, value in changes.items()
            if key not in changed and value is not None
        ]
        if not parts and not self.pairs:
            return mark_safe("")
        return mark_safe(html.escape("?" + "&".join(parts)))  # noqa: S308 — escaped here.


def pagination(links: QueryLinks, page, page_range) -> SafeString:
    """The DSFR pagination of `page`: first, previous, the elided page numbers, next, last;
    nothing when everything fits on one page."""
    if not page.has_other_pages():
        return mark_safe("")
    link = '<li><a class="fr-pagination__link{}"{}>{}</a></li>'

    def edge(kind: str, label: str, number: int | None) -> str:
        target = f' href="{links(page=number)}"' if number else ' aria-disabled="true" role="link"'
        return link.format(f" fr-pagination__link--{kind}", target, label)

    previous = page.previous_page_number() if page.has_previous() else None
    following = page.next_page_number() if page.has_next() else None
    items = [
        edge("first", "Première page", 1 if previous else None),
        edge("prev fr-pagination__link--lg-label", "Page précédente", previous),
    ]
    for number in page_range:
        if number == page.number:
            items.append(link.format("", f' aria-current="page" title="Page {number}"', number))
        elif number == page.paginator.ELLIPSIS:
            items.append('<li><span class="fr-pagination__link fr-displayed-lg">…</span></li>')
        else:
            items.append(
                link.format("", f' href="{links(page=number)}" title="Page {number}"', number)
            )
    items += [
        edge("next fr-pagination__link--lg-label", "Page suivante", following),
        edge("last", "Dernière page", page.paginator.num_pages if following else None),
    ]
    return mark_safe(  # noqa: S308 — only numbers, fixed labels and escaped query strings.
        '<nav role="navigation" class="fr-pagination fr-mt-3w" aria-label="Pagination">\n'
        '  <ul class="fr-pagination__list">\n    ' + "\n    ".join(items) + "\n  </ul>\n</nav>"
    )
