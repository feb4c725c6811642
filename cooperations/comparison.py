"""Side-by-side comparison of 2 to 4 published cooperations (`/comparer/?c=slug&c=slug`), as a
page and as an XLSX file with one row per attribute and one column per cooperation.

The selection lives in the URL, so a comparison can be bookmarked and shared like any list.
A selection of the wrong size is a visitor's slip, not a bad address: the page says the rule,
keeps the records chosen and leads back to the list they came from (`retour`, a path of this
site), where they are still checked. An unknown or unpublished slug is a bad address: 400.
"""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .models import Cooperation, Participation, format_date_fr
from .paths import source_label
from .publishing.exports import filename
from .publishing.spreadsheets import FORMATS, Sheet, write_xlsx
from .vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY

MIN_COMPARED, MAX_COMPARED = 2, 4
# Values read from the query string: enough to report « 7 choisies » without reading a crafted
# URL of thousands of values.
MAX_READ = 50
SHOWN_SLUG = 80
# Longer than any list's address with its filters: a longer `retour` was not made by a list.
MAX_BACK = 2000


def requested_slugs(request) -> list[str]:
    """The `c` values in the order given, without blanks or duplicates."""
    slugs = []
    for value in request.GET.getlist("c")[:MAX_READ]:
        value = value.strip()
        if value and value not in slugs:
            slugs.append(value)
    return slugs


def back_path(raw: str) -> str:
    """The list the visitor came from when `raw` is a path of this site (never another site,
    nor a scheme such as javascript:), else the catalogue's list."""
    local = (
        raw.startswith("/")
        and not raw.startswith(("//", "/\\"))
        and len(raw) <= MAX_BACK
        and url_has_allowed_host_and_scheme(raw, allowed_hosts=None)
    )
    return raw if local else reverse("cooperations:list")


def with_selection(path: str, slugs: list[str]) -> str:
    """`path` with the chosen records as `c` values, so that the list shows them checked."""
    if not slugs:
        return path
    return path + ("&" if "?" in path else "?") + urlencode([("c", slug) for slug in slugs])


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


def _lines(values) -> str:
    return "\n".join(values)


def _factors_text(c: dict) -> str:
    return _lines(
        _with_source(f"{link.factor.label} : {link.text}".strip(" :"), link.source_url)
        for link in c["factors"]
    )


def _plus_values_text(c: dict) -> str:
    return _lines(
        _with_source(
            f"{p['label']} : {p['illustration'].text}".strip(" :"), p["illustration"].source_url
        )
        if p["illustration"]
        else p["label"]
        for p in c["plus_values"]
    )


# The comparison's rows, in order: (key, heading, the cell as text, empty when the record gives
# nothing). The page draws each cell from its key, with links, in the `cell` macro of
# templates/jinja2/cooperations/compare.html; the sheet writes the text; both leave out a row
# that no record fills.
ROWS = [
    (
        "legal_form",
        "Forme de coopération",
        lambda c: getattr(c["cooperation"].legal_form, "label", ""),
    ),
    (
        "signed_on",
        "Signature",
        lambda c: format_date_fr(c["cooperation"].signed_on, c["cooperation"].signed_on_precision),
    ),
    ("starts_on", "Début", lambda c: format_date_fr(c["cooperation"].starts_on)),
    ("ends_on", "Fin", lambda c: format_date_fr(c["cooperation"].ends_on)),
    ("status", "Statut", lambda c: c["cooperation"].get_status_display()),
    ("metropoles", "Métropoles", lambda c: _lines(t.name for t in c["metropoles"])),
    ("partners", "Partenaires", lambda c: _lines(t.name for t in c["partners"])),
    ("associated", "Territoires associés", lambda c: _lines(t.name for t in c["associated"])),
    ("themes", "Thématiques", lambda c: _lines(t.label for t in c["themes"])),
    ("factors", "Facteurs de réussite", _factors_text),
    ("plus_values", "Plus-values", _plus_values_text),
    ("sources", "Sources", lambda c: _lines(_source_text(s) for s in c["sources"])),
]


def filled_rows(columns: list[dict]) -> list[tuple[str, str, list[str]]]:
    """(key, heading, cells) of the rows where at least one record gives a value: a row that is
    « — » for every record compared tells nothing."""
    rows = [(key, heading, [text(c) for c in columns]) for key, heading, text in ROWS]
    return [row for row in rows if any(row[2])]


def spreadsheet_rows(columns: list[dict], absolute_url) -> list[list[str]]:
    """One row per attribute given by at least one record, one cell per cooperation."""
    return [
        ["Adresse", *(absolute_url(c["cooperation"].get_absolute_url()) for c in columns)],
        *([heading, *cells] for _key, heading, cells in filled_rows(columns)),
    ]


def size_refusal(slugs: list[str]) -> str:
    """The French rule for a selection of the wrong size, or empty when it can be compared."""
    if len(slugs) < MIN_COMPARED:
        chosen = "aucune n'a été choisie" if not slugs else "une seule a été choisie"
    elif len(slugs) > MAX_COMPARED:
        chosen = f"{len(slugs)} ont été choisies"
    else:
        return ""
    return f"Choisissez de {MIN_COMPARED} à {MAX_COMPARED} coopérations à comparer : {chosen}."


def unknown_refusal(slugs: list[str], found: dict) -> str:
    """The French message naming the slugs that are no published record, or empty."""
    missing = [slug for slug in slugs if slug not in found]
    if not missing:
        return ""
    names = ", ".join(f"« {slug[:SHOWN_SLUG]} »" for slug in missing)
    return (
        "Ces coopérations sont introuvables ou ne sont pas publiées, la comparaison n'est "
        f"pas possible : {names}."
    )


def compare(request):
    slugs = requested_slugs(request)
    back = back_path(request.GET.get("retour", ""))
    # Up to MAX_READ records, one query and its prefetches whatever their number.
    found = {}
    if slugs:
        found = {
            c.slug: c for c in Cooperation.objects.published().for_detail().filter(slug__in=slugs)
        }
    columns = [column(found[slug]) for slug in slugs if slug in found]
    refused = {
        "columns": columns,
        "back": back,
        "back_with_selection": with_selection(back, [c["cooperation"].slug for c in columns]),
    }
    unknown = unknown_refusal(slugs, found)
    if unknown:
        # 400: this address names no comparison; the page says why and offers the records that
        # were found, to choose again.
        return render(
            request,
            "cooperations/compare.html",
            {**refused, "error": unknown},
            status=400,
        )
    rule = size_refusal(slugs)
    if rule:
        # A visitor who ticked too few or too many: the rule, their choice kept, no error.
        return render(request, "cooperations/compare.html", {**refused, "rule": rule})
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
            "rows": [(key, heading) for key, heading, _cells in filled_rows(columns)],
            "back": back,
            "back_with_selection": refused["back_with_selection"],
            "xlsx_query": urlencode([("c", slug) for slug in slugs] + [("format", "xlsx")]),
        },
    )
