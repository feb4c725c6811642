"""JSON shapes of the public API (documented in docs/api.md, « Versioned API » and « JSON of
the pages »): plain dicts, no query of their own when the cooperation comes from the list or
detail querysets of cooperations/views.py; `list_data` feeds the versioned API (`api_v1.py`).
"""

import itertools
import json
from collections.abc import Iterator

from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import get_script_prefix

from .. import listing
from ..filters import build_facets
from ..models import Cooperation
from ..result_rows import kept_values

# Records read per query by the complete JSON: its prefetches stay two queries per chunk, and
# memory holds one chunk, whatever the selection's size.
COMPLETE_CHUNK = 500
# API list items kept per process and catalogue version, some 1,500 bytes each.
KEPT_ITEMS = 20_000
LICENCE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}


def _territory(participation) -> dict:
    territory = participation.territory
    return {
        "name": territory.name,
        "kind": territory.kind,
        "kind_label": territory.get_kind_display(),
        "code": territory.code or None,
        "role": participation.role,
        "url": territory.get_absolute_url(),
    }


def _iso(value):
    return value.isoformat() if value else None


def summary(request, cooperation) -> dict:
    """A list item: what a result row shows."""
    return absolute(request, summary_values(cooperation))


def summary_values(cooperation) -> dict:
    """A list item with its addresses as paths (under the script prefix of the moment): what
    does not depend on the request, kept per catalogue version for the API's list."""
    return {
        "slug": cooperation.slug,
        "name": cooperation.name,
        "url": cooperation.get_absolute_url(),
        "summary": cooperation.summary,
        "legal_form": cooperation.legal_form.label if cooperation.legal_form else None,
        "status": cooperation.status or None,
        "signed_on": _iso(cooperation.signed_on),
        "signed_on_precision": cooperation.signed_on_precision or None,
        "signature_display": cooperation.signature_display or None,
        "themes": [{"slug": t.slug, "label": t.label} for t in cooperation.themes.all()],
        "territories": [_territory(p) for p in cooperation.participations.all()],
        "plus_values": cooperation.plus_values,
    }


def absolute(request, item: dict) -> dict:
    """`summary_values` with its addresses made absolute for `request`'s host."""
    return {
        **item,
        "url": request.build_absolute_uri(item["url"]),
        "territories": [
            {**territory, "url": request.build_absolute_uri(territory["url"])}
            for territory in item["territories"]
        ],
    }


def record_payload(request, cooperation) -> dict:
    """Every public field of one cooperation."""
    data = summary(request, cooperation)
    data.update(
        {
            "description": cooperation.description,
            "legal_form": (
                {
                    "slug": cooperation.legal_form.slug,
                    "label": cooperation.legal_form.label,
                    "definition": cooperation.legal_form.definition,
                }
                if cooperation.legal_form
                else None
            ),
            "status_label": cooperation.get_status_display() if cooperation.status else None,
            "starts_on": _iso(cooperation.starts_on),
            "ends_on": _iso(cooperation.ends_on),
            "success_factors": [
                {
                    "slug": link.factor.slug,
                    "label": link.factor.label,
                    "text": link.text,
                    "source_url": link.source_url or None,
                }
                for link in cooperation.factor_links.all()
            ],
            "plus_value_illustrations": [
                {
                    "slug": link.plus_value,
                    "label": link.get_plus_value_display(),
                    "text": link.text,
                    "source_url": link.source_url or None,
                }
                for link in cooperation.plus_value_links.all()
            ],
            "governance": cooperation.governance,
            "funding": cooperation.funding,
            "staffing": cooperation.staffing,
            "sources": [
                {
                    "url": s.url,
                    "title": s.title,
                    "publisher": s.publisher,
                    "published_on": _iso(s.published_on),
                }
                for s in cooperation.sources.all()
            ],
            "provenance": cooperation.provenance,
            "last_verified_on": _iso(cooperation.last_verified_on),
            "updated_at": cooperation.updated_at.isoformat(),
        }
    )
    return data


def list_payload(request, page, paginator, notices, results: list | None = None) -> dict:
    """A page of a list, its links and notices; `results` when its items are made already."""

    def page_url(number):
        params = request.GET.copy()
        params["page"] = number
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    return {
        "count": paginator.count,
        "page": page.number,
        "num_pages": paginator.num_pages,
        "page_size": paginator.per_page,
        "next": page_url(page.next_page_number()) if page.has_next() else None,
        "previous": page_url(page.previous_page_number()) if page.has_previous() else None,
        "notices": notices,
        "results": (
            results if results is not None else [summary(request, c) for c in page.object_list]
        ),
    }


def facet_payload(facets) -> list[dict]:
    """The facet counts of a list, as the list page shows them (every value, with its count)."""
    return [
        {
            "name": facet.name,
            "label": facet.label,
            "options": [
                {
                    "value": option.value,
                    "label": option.label,
                    "count": option.count,
                    "selected": option.selected,
                }
                for option in facet.options
            ],
        }
        for facet in facets
    ]


def list_data(request, page_size: int, notices: list[str]) -> dict:
    """The list of `/api/v1/cooperations`: `list_payload` plus the facet counts, computed from
    the query string exactly as the public list does (its FilterSet, facet index, sorting,
    bad-value notices and pagination).

    The one seam between the versioned API and the list's filtering and facet machinery.
    """
    selection = listing.select(request, listing.Scope())
    shown = selection.page(request.GET.get("page"), rows="ids", page_size=page_size)
    # A visitor's items are kept with the facet index, under the script prefix their paths
    # carry; staff read the records as they are.
    visitor = settings.SESSION_COOKIE_NAME not in request.COOKIES
    kept = selection.index.api_items.setdefault(get_script_prefix(), {}) if visitor else None
    values = kept_values(
        list(shown.page.object_list),
        Cooperation.objects.published().for_list,
        summary_values,
        kept,
        KEPT_ITEMS,
    )
    results = [absolute(request, item) for item in values]
    data = list_payload(request, shown.page, shown.paginator, [*notices, *shown.notices], results)
    data["facets"] = facet_payload(build_facets(selection.filterset, selection.counts))
    return data


def complete_list_chunks(request, ids: list[int], queryset, notices) -> Iterator[bytes]:
    """The whole selection `ids` (in that order) as one JSON document, in UTF-8 chunks: `count`,
    `licence`, `notices` and `results`, every list item (`summary`) of the published records of
    `queryset` among `ids`. 3 queries per COMPLETE_CHUNK ids (the rows and their two
    prefetches); the document is never held whole."""
    head = {"count": len(ids), "licence": LICENCE, "notices": notices}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "results": [').encode()
    first = True
    for start in range(0, len(ids), COMPLETE_CHUNK):
        chunk = ids[start : start + COMPLETE_CHUNK]
        found = {c.pk: c for c in queryset.for_list().filter(pk__any_of=set(chunk))}
        items = [
            json.dumps(summary(request, found[pk]), ensure_ascii=False)
            for pk in chunk
            if pk in found
        ]
        if items:
            yield (("" if first else ",") + ",".join(items)).encode()
            first = False
    yield b"]}"


def complete_list_response(request, ids, queryset, notices) -> StreamingHttpResponse:
    """`complete_list_chunks` as a streamed response; its first chunk of records is read before
    the response exists, so that a failing query gives an error page, not a cut document."""
    chunks = complete_list_chunks(request, ids, queryset, notices)
    first = [next(chunks), next(chunks)]
    response = StreamingHttpResponse(
        itertools.chain(first, chunks), content_type="application/json"
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response
