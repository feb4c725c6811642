"""Side-by-side comparison of 2 to 4 published cooperations (`/comparer/?c=slug&c=slug`), as a
page and as an XLSX file with one row per attribute and one column per cooperation.

The selection lives in the URL, so a comparison can be bookmarked and shared like any list.
"""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from .exports import filename
from .models import Cooperation, Participation, format_date_fr
from .paths import source_label
from .spreadsheets import FORMATS, Sheet, write_xlsx
from .vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY

MIN_COMPARED, MAX_COMPARED = 2, 4
# Values read from the query string: enough to report « 7 choisies » without reading a crafted
# URL of thousands of values.
MAX_READ = 50
SHOWN_SLUG = 80


def requested_slugs(request) -> list[str]:
    """The `c` values in the order given, without blanks or duplicates."""
    slugs = []
    for value in request.GET.getlist("c")[:MAX_READ]:
        value = value.strip()
        if value and value not in slugs:
            slugs.append(value)
    return slugs


def column(cooperation: Cooperation) -> dict:
    """What one column shows, from the prefetched relations only."""
    participations = cooperation.participations.all()

    def territories(role):
        return [p.territory for p in participations if p.role == role]

    illustrations = {link.plus_value: link for link in cooperation.plus_value_links.all()}
    return {
        "cooperation": cooperation,
        "metropoles": territories(Participation.Role.METROPOLE),
        "partners": territories(Participation.Role.PARTNER),
        "associated": territories(Participation.Role.ASSOCIATED),
        "themes": list(cooperation.themes.all()),
        "factors": list(cooperation.factor_links.all()),
        "plus_values": [
            {
                "label": label,
                "url": reverse("cooperations:plus_value", args=[code]),
                "illustration": illustrations.get(code),
            }
            for code, field, label, _definition in PLUS_VALUE_VOCABULARY
            if getattr(cooperation, field)
        ],
        "sources": list(cooperation.sources.all()),
    }


def _with_source(text: str, url: str) -> str:
    return "\n".join(part for part in (text, f"Source : {url}" if url else "") if part)


def _source_text(source) -> str:
    words = [source.title or source_label(source.url)]
    if source.publisher:
        words.append(source.publisher)
    if source.published_on:
        words.append(format_date_fr(source.published_on))
    return f"{', '.join(words)} — {source.url}"


def spreadsheet_rows(columns: list[dict], absolute_url) -> list[list[str]]:
    """One row per attribute, one cell per cooperation; lists become lines of one cell."""

    def lines(per_column) -> list[str]:
        return ["\n".join(values) for values in per_column]

    def each(function) -> list[str]:
        return [function(c) for c in columns]

    return [
        ["Adresse", *each(lambda c: absolute_url(c["cooperation"].get_absolute_url()))],
        [
            "Forme de coopération",
            *each(lambda c: getattr(c["cooperation"].legal_form, "label", "")),
        ],
        [
            "Signature",
            *each(
                lambda c: format_date_fr(
                    c["cooperation"].signed_on, c["cooperation"].signed_on_precision
                )
            ),
        ],
        ["Début", *each(lambda c: format_date_fr(c["cooperation"].starts_on))],
        ["Fin", *each(lambda c: format_date_fr(c["cooperation"].ends_on))],
        ["Statut", *each(lambda c: c["cooperation"].get_status_display())],
        ["Métropoles", *lines([t.name for t in c["metropoles"]] for c in columns)],
        ["Partenaires", *lines([t.name for t in c["partners"]] for c in columns)],
        ["Territoires associés", *lines([t.name for t in c["associated"]] for c in columns)],
        ["Thématiques", *lines([t.label for t in c["themes"]] for c in columns)],
        [
            "Facteurs de réussite",
            *lines(
                [
                    _with_source(f"{link.factor.label} : {link.text}".strip(" :"), link.source_url)
                    for link in c["factors"]
                ]
                for c in columns
            ),
        ],
        [
            "Plus-values",
            *lines(
                [
                    _with_source(
                        f"{p['label']} : {p['illustration'].text}".strip(" :")
                        if p["illustration"]
                        else p["label"],
                        p["illustration"].source_url if p["illustration"] else "",
                    )
                    for p in c["plus_values"]
                ]
                for c in columns
            ),
        ],
        ["Sources", *lines([_source_text(s) for s in c["sources"]] for c in columns)],
    ]


def refusal(slugs: list[str], found: dict) -> str:
    """The French message for a selection that cannot be compared, or empty when it can."""
    if len(slugs) < MIN_COMPARED:
        chosen = "aucune n'a été choisie" if not slugs else "une seule a été choisie"
        return f"Choisissez de 2 à 4 coopérations à comparer : {chosen}."
    if len(slugs) > MAX_COMPARED:
        return f"Choisissez de 2 à 4 coopérations à comparer : {len(slugs)} ont été choisies."
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        names = ", ".join(f"« {slug[:SHOWN_SLUG]} »" for slug in missing)
        return (
            "Ces coopérations sont introuvables ou ne sont pas publiées, la comparaison n'est "
            f"pas possible : {names}."
        )
    return ""


def compare(request):
    slugs = requested_slugs(request)
    found = {}
    if MIN_COMPARED <= len(slugs) <= MAX_COMPARED:
        found = {
            c.slug: c for c in Cooperation.objects.published().for_detail().filter(slug__in=slugs)
        }
    message = refusal(slugs, found)
    columns = [column(found[slug]) for slug in slugs if slug in found]
    if message:
        # 400: this address names no comparison; the page says why and offers the records that
        # were found, to choose again.
        return render(
            request,
            "cooperations/compare.html",
            {"message": message, "columns": columns},
            status=400,
        )
    if request.GET.get("format") == "xlsx":
        names = [c["cooperation"].name for c in columns]
        sheet = Sheet(
            "Comparaison",
            ["Rubrique", *names],
            spreadsheet_rows(columns, request.build_absolute_uri),
            autofilter=False,
        )
        response = HttpResponse(write_xlsx([sheet]), content_type=FORMATS["xlsx"])
        response["Content-Disposition"] = (
            f'attachment; filename="{filename("comparaison", "xlsx")}"'
        )
        return response
    return render(
        request,
        "cooperations/compare.html",
        {
            "columns": columns,
            "xlsx_query": urlencode([("c", slug) for slug in slugs] + [("format", "xlsx")]),
        },
    )
