"""Version 1 of the documented, read-only JSON API, served at `/api/v1/` by django-ninja.

The response schemas below are what the OpenAPI document (`/api/v1/openapi.json`) publishes:
types, nullable fields and the closed vocabularies (statuses, roles, kinds, sorts) as enums.
The payloads themselves come from `cooperations/publishing/api.py`, the same functions as the
`?format=json` answers of the pages, so that both always agree; the list goes through
`api.list_data`, the one seam to the list's filtering and facet machinery.

Errors are JSON in the shape every JSON client of the site gets (`catalogue/errors.py`):
`{"error": {"status": …, "message": "…"}}`, in French. A query parameter that does not match
its declared type (a page that is not a number, an unknown sort) is a 400; a value the schema
cannot enumerate (a theme slug, a métropole's SIREN) that names nothing is ignored with a
notice, exactly as on the list page.
"""

import datetime
import functools
import re
from typing import Literal

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from ninja import Field, NinjaAPI, Query, Schema
from ninja.decorators import decorate_view
from ninja.errors import ValidationError

from ..caching import cache_public_page
from ..collation import FrenchOrder
from ..filters import PARTNER_KINDS, PLUS_VALUES, SEARCH_MAX_LENGTH, SORTS, YEAR_MAX, YEAR_MIN
from ..models import (
    KINDS_BY_URL_SEGMENT,
    URL_SEGMENT_BY_KIND,
    Cooperation,
    LegalForm,
    Participation,
    SuccessFactor,
    Territory,
    TerritoryKind,
    Theme,
)
from ..text import fold
from ..vocabularies import PLUS_VALUES as PLUS_VALUE_VOCABULARY
from . import api

VERSION = "1"
# Results per page of the cooperations' list: 20 as on the site unless `page_size` asks for
# 1 to 100; more would make one answer as heavy as an export, which `?format=json-complet` on
# the list is for.
PAGE_SIZE = 20
PAGE_SIZE_MAX = 100
TERRITORY_PAGE_SIZE = 50
TERRITORY_NAME_MAX_LENGTH = 100

# The closed vocabularies, as OpenAPI enums (Literal types) built from the models' choices.
StatusCode = Literal[tuple(Cooperation.Status.values)]
PrecisionCode = Literal[tuple(Cooperation.DatePrecision.values)]
RoleCode = Literal[tuple(Participation.Role.values)]
KindCode = Literal[tuple(TerritoryKind.values)]
PartnerKindCode = Literal[tuple(value for value, _label in PARTNER_KINDS)]
PlusValueCode = Literal[tuple(PLUS_VALUES)]
SortCode = Literal[tuple(SORTS)]
ProvenanceCode = Literal[tuple(Cooperation.Provenance.values)]
# The territory addresses: one segment per kind (the EPCI kinds share `epci`), and `autre`
# followed by the id for a territory without an official code, as on the pages.
UrlSegment = Literal[(*KINDS_BY_URL_SEGMENT, "autre")]

api_v1 = NinjaAPI(
    title="API du catalogue des coopérations interterritoriales",
    version=VERSION,
    description=(
        "Lecture seule, sans authentification. Les coopérations publiées, leurs territoires et "
        "les vocabulaires du catalogue, avec les mêmes filtres que la liste publique "
        '(`/cooperations/`). Erreurs : `{"error": {"status", "message"}}`, en français.'
    ),
    urls_namespace="api-v1",
    # No Swagger UI nor Redoc page: axe-core finds violations in Swagger UI that no setting
    # fixes (nested interactive controls, no language, no main landmark, contrast), Redoc needs
    # inline script and injected <style> elements, and both speak English. The documentation
    # is `reference` below, a page of the site generated from this same document.
    docs_url=None,
    openapi_url="/openapi.json",
    # What data.gouv.fr and a reuser look for first: who answers, and under which licence.
    openapi_extra={
        "info": {
            "contact": {
                "name": "Agence nationale de la cohésion des territoires (ANCT)",
                "email": settings.CONTACT_EMAIL,
            },
            # OpenAPI 3.1: `identifier` (SPDX) and `url` exclude each other; the URL is the
            # one a reader can open, the SPDX id (etalab-2.0) is in the name.
            "license": {
                "name": f"{api.LICENCE['title']} ({api.LICENCE['name']})",
                "url": api.LICENCE["url"],
            },
        }
    },
)


# --- response schemas -----------------------------------------------------------------------


class ErrorDetail(Schema):
    status: int = Field(description="Le code HTTP de la réponse.")
    message: str = Field(description="Ce qui n'a pas été compris, en français.")


class ErrorOut(Schema):
    error: ErrorDetail


class ThemeRef(Schema):
    slug: str
    label: str


class TerritoryRef(Schema):
    name: str
    kind: KindCode
    kind_label: str
    code: str | None = Field(description="Code officiel (SIREN ou INSEE) ; null s'il n'y en a pas.")
    role: RoleCode
    url: str = Field(description="Adresse de la page du territoire.")


class CooperationSummary(Schema):
    slug: str
    name: str
    url: str = Field(description="Adresse permanente de la fiche.")
    summary: str
    legal_form: str | None = Field(description="Libellé de la forme de coopération.")
    status: StatusCode | None = Field(description="null : statut inconnu.")
    signed_on: datetime.date | None = Field(
        description="Premier jour de la période de signature : à lire avec sa précision."
    )
    signed_on_precision: PrecisionCode | None
    signature_display: str | None = Field(description="« 2016 », « avril 2019 », « 29/01/2016 ».")
    themes: list[ThemeRef]
    territories: list[TerritoryRef]
    plus_values: list[str] = Field(description="Libellés des plus-values de la coopération.")


class FacetOptionOut(Schema):
    value: str = Field(description="La valeur à passer dans le paramètre du même nom.")
    label: str
    count: int = Field(description="Coopérations qu'on obtiendrait en choisissant cette valeur.")
    selected: bool


class FacetOut(Schema):
    name: str = Field(description="Le paramètre de requête de ce filtre.")
    label: str
    options: list[FacetOptionOut]


class PageOut(Schema):
    """What every paginated answer carries before its results."""

    count: int
    page: int
    num_pages: int
    page_size: int
    next: str | None
    previous: str | None
    notices: list[str] = Field(description="Les paramètres ignorés, expliqués en français.")


class CooperationList(PageOut):
    results: list[CooperationSummary]
    facets: list[FacetOut] = Field(
        description="Pour chaque filtre, chaque valeur avec le nombre de coopérations que les "
        "autres filtres actifs donneraient avec elle, comme sur la liste."
    )


class LegalFormOut(Schema):
    slug: str
    label: str
    definition: str


class Illustration(Schema):
    slug: str
    label: str
    text: str
    source_url: str | None


class SourceOut(Schema):
    url: str
    title: str
    publisher: str
    published_on: datetime.date | None


class CooperationRecord(CooperationSummary):
    legal_form: LegalFormOut | None
    description: str
    status_label: str | None
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    success_factors: list[Illustration]
    plus_value_illustrations: list[Illustration]
    governance: str
    funding: str
    staffing: str
    sources: list[SourceOut]
    provenance: ProvenanceCode
    last_verified_on: datetime.date | None
    # Kept as the record JSON of the page writes it (microseconds, +00:00), not re-encoded.
    updated_at: str = Field(
        json_schema_extra={"format": "date-time"}, description="Dernière modification."
    )


class TerritoryItem(Schema):
    name: str
    kind: KindCode
    kind_label: str
    code: str | None
    url: str = Field(description="Adresse de la page du territoire.")
    api_url: str = Field(description="Adresse du territoire dans l'API.")


class TerritoryList(PageOut):
    results: list[TerritoryItem]


class AreaRef(Schema):
    code: str
    name: str


class RoleCount(Schema):
    role: RoleCode
    label: str
    count: int


class TerritoryDetail(TerritoryItem):
    population: int | None
    departement: AreaRef | None
    region: AreaRef | None
    cooperation_count: int = Field(
        description="Coopérations publiées auxquelles le territoire participe lui-même."
    )
    roles: list[RoleCount]
    cooperations_api_url: str | None = Field(
        description="La liste de l'API filtrée sur ce territoire, quand un filtre l'exprime "
        "(métropole, département, région)."
    )


class VocabularyItem(Schema):
    slug: str
    label: str
    definition: str
    url: str | None = Field(description="Sa page, s'il en a une.")


class ChoiceOut(Schema):
    value: str
    label: str


class KindOut(ChoiceOut):
    url_segment: str | None = Field(
        description="Segment des adresses par code officiel de cette nature."
    )


class Vocabularies(Schema):
    themes: list[VocabularyItem]
    legal_forms: list[VocabularyItem]
    success_factors: list[VocabularyItem]
    plus_values: list[VocabularyItem]
    statuses: list[ChoiceOut]
    roles: list[ChoiceOut]
    territory_kinds: list[KindOut]
    provenances: list[ChoiceOut]
    sorts: list[ChoiceOut]


# --- query parameters -------------------------------------------------------------------------


class CooperationQuery(Schema):
    """The list's query string (docs/pages.md « Query-string parameters »)."""

    q: str | None = Field(
        None, max_length=SEARCH_MAX_LENGTH, description="Recherche (au plus 20 mots)."
    )
    metropole: str | None = Field(None, max_length=9, description="SIREN d'une métropole.")
    thematique: str | None = Field(None, max_length=60, description="Identifiant de thématique.")
    facteur: str | None = Field(None, max_length=60, description="Identifiant de facteur.")
    forme: str | None = Field(None, max_length=60, description="Identifiant de forme.")
    statut: StatusCode | None = Field(None, description="Statut de la coopération.")
    nature_partenaire: PartnerKindCode | None = Field(
        None, description="Nature d'un partenaire ou associé."
    )
    departement: str | None = Field(None, max_length=3, description="Code INSEE.")
    region: str | None = Field(None, max_length=2, description="Code INSEE.")
    annee_min: int | None = Field(
        None, ge=YEAR_MIN, le=YEAR_MAX, description="Signée à partir de cette année (incluse)."
    )
    annee_max: int | None = Field(
        None, ge=YEAR_MIN, le=YEAR_MAX, description="Signée jusqu'à cette année (incluse)."
    )
    plus_value: PlusValueCode | None = Field(None, description="Plus-value apportée.")
    tri: SortCode | None = Field(None, description="`pertinence` par défaut avec `q`, sinon `nom`.")
    page: int | None = Field(None, ge=1, description="Numéro de page, à partir de 1.")
    # Out of bounds is a 400, like a page below 1: what the document declares, the API keeps
    # (tests/test_api_schema.py checks that it refuses what the schema rules out).
    page_size: int | None = Field(
        None,
        ge=1,
        le=PAGE_SIZE_MAX,
        description=f"Résultats par page, de 1 à {PAGE_SIZE_MAX} ({PAGE_SIZE} par défaut).",
        json_schema_extra={"default": PAGE_SIZE},
    )


class TerritoryQuery(Schema):
    q: str | None = Field(
        None,
        max_length=TERRITORY_NAME_MAX_LENGTH,
        description="Début d'un mot du nom ; accents, casse et tirets indifférents.",
    )
    nature: KindCode | None = Field(None, description="Nature du territoire.")
    page: int | None = Field(None, ge=1, description=f"{TERRITORY_PAGE_SIZE} par page.")


# --- errors -----------------------------------------------------------------------------------


class NotFound(Exception):
    """A 404 with its own French message."""


def error(request, status: int, message: str):
    return api_v1.create_response(
        request, {"error": {"status": status, "message": message}}, status=status
    )


@api_v1.exception_handler(NotFound)
def not_found(request, exc):
    return error(request, 404, str(exc))


@api_v1.exception_handler(Http404)
def http_not_found(request, exc):
    return error(request, 404, "Cette ressource n'existe pas dans l'API.")


def _problem(detail: dict) -> str:
    """One validation error of pydantic, in French."""
    kind, ctx = detail.get("type", ""), detail.get("ctx", {})
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "un nombre entier est attendu"
    if kind == "greater_than_equal":
        return f"la valeur doit être au moins {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"la valeur doit être au plus {ctx.get('le')}"
    if kind == "string_too_long":
        return f"au plus {ctx.get('max_length')} caractères"
    if kind == "literal_error":
        return f"valeurs possibles : {ctx.get('expected', '').replace(' or ', ', ')}"
    if kind == "missing":
        return "ce paramètre est obligatoire"
    return "valeur non comprise"


@api_v1.exception_handler(ValidationError)
def bad_parameters(request, exc):
    """Ninja's 422 with pydantic's English details becomes the site's 400, in French."""
    problems = []
    for detail in exc.errors:
        name = str(detail.get("loc", ("", "?"))[-1])
        problems.append(f"paramètre « {name} » : {_problem(detail)}")
    return error(request, 400, "Requête incorrecte : " + " ; ".join(problems) + ".")


ERRORS = {400: ErrorOut}
ERRORS_AND_404 = {400: ErrorOut, 404: ErrorOut}


# --- endpoints --------------------------------------------------------------------------------


@api_v1.get(
    "/cooperations",
    response={200: CooperationList, **ERRORS},
    summary="Liste des coopérations publiées, filtrée",
    description=(
        "Les mêmes filtres, le même tri et la même pagination que la liste publique "
        "`/cooperations/` ; une valeur inconnue est ignorée et expliquée dans `notices`. "
        "Avec le nombre de coopérations de chaque valeur de chaque filtre (`facets`)."
    ),
    tags=["Coopérations"],
)
@decorate_view(cache_public_page)
def list_cooperations(request, filters: Query[CooperationQuery]):
    notices = unknown_parameters(request, CooperationQuery)
    size = PAGE_SIZE if filters.page_size is None else filters.page_size
    # Rendered as built, not validated again per request: the payload is plain values in the
    # schema's shape (tests/test_api_v1.py validates it against `CooperationList`), and ninja's
    # validation reads every nested record through its getters, which costs more than
    # building the page.
    return api_v1.create_response(request, api.list_data(request, size, notices), status=200)


# Names other APIs use for what this one calls otherwise: named in the notice.
_SYNONYMS = {"limit": "page_size", "per_page": "page_size", "size": "page_size",
             "offset": "page", "search": "q"}  # fmt: skip


def unknown_parameters(request, query: type[Schema]) -> list[str]:
    """A French notice per query-string parameter that `query` does not declare: ignored, and
    said so, so that `limit=100` does not silently give 20 rows."""
    notices = []
    for name in request.GET:
        if name in query.model_fields:
            continue
        hint = _SYNONYMS.get(name)
        notices.append(
            f"Le paramètre « {name[:40]} » n'existe pas dans cette API : il a été ignoré"
            + (f" (voir « {hint} »)." if hint else ".")
        )
    return notices


@api_v1.get(
    "/cooperations/{slug}",
    response={200: CooperationRecord, **ERRORS_AND_404},
    summary="Une coopération publiée",
    description="Tous les champs publics de la fiche `/cooperations/{slug}/`.",
    tags=["Coopérations"],
)
@decorate_view(cache_public_page)
def get_cooperation(request, slug: str):
    cooperation = Cooperation.objects.published().for_detail().filter(slug=slug).first()
    if cooperation is None:
        raise NotFound(f"Aucune coopération publiée n'a l'identifiant « {slug[:100]} ».")
    return api.record_payload(request, cooperation)


def territory_api_path(territory: Territory) -> str:
    """`/api/v1/territoires/epci/242900314`, or `/api/v1/territoires/autre/12` without code."""
    if territory.code and territory.kind in URL_SEGMENT_BY_KIND:
        segment, key = URL_SEGMENT_BY_KIND[territory.kind], territory.code
    else:
        segment, key = "autre", territory.pk
    return reverse("api-v1:get_territory", kwargs={"segment": segment, "code": key})


def territory_item(request, territory: Territory) -> dict:
    return {
        "name": territory.name,
        "kind": territory.kind,
        "kind_label": territory.get_kind_display(),
        "code": territory.code or None,
        "url": request.build_absolute_uri(territory.get_absolute_url()),
        "api_url": request.build_absolute_uri(territory_api_path(territory)),
    }


def _page_url(request, number: int) -> str:
    params = request.GET.copy()
    params["page"] = number
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


@api_v1.get(
    "/territoires",
    response={200: TerritoryList, **ERRORS},
    summary="Territoires, par nom et par nature",
    description=(
        "Tous les territoires connus du catalogue (communes, intercommunalités, départements, "
        "régions, groupements sans code officiel…). Avec `q`, ceux dont un mot du nom commence "
        "par le texte donné, le nom exact d'abord, puis par population ; sans `q`, par nom. "
        f"{TERRITORY_PAGE_SIZE} par page."
    ),
    tags=["Territoires"],
)
@decorate_view(cache_public_page)
def list_territories(request, filters: Query[TerritoryQuery]):
    territories = Territory.objects.all()
    if filters.nature:
        territories = territories.filter(kind=filters.nature)
    ordering = [FrenchOrder("name"), "kind", "pk"]
    folded = fold(filters.q or "")
    if folded:
        territories = territories.filter(
            Q(search_name__startswith=folded) | Q(search_name__contains=f" {folded}")
        ).annotate(
            rank=Case(
                When(search_name=folded, then=Value(0)),
                When(search_name__startswith=folded, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        ordering = ["rank", F("population").desc(nulls_last=True), *ordering]
    paginator = Paginator(territories.order_by(*ordering), TERRITORY_PAGE_SIZE)
    notices = unknown_parameters(request, TerritoryQuery)
    number = filters.page or 1
    if number > paginator.num_pages:
        notices.append(
            f"La page {number} n'existe pas : dernière page ({paginator.num_pages}) affichée."
        )
        number = paginator.num_pages
    page = paginator.page(number)
    return {
        "count": paginator.count,
        "page": page.number,
        "num_pages": paginator.num_pages,
        "page_size": paginator.per_page,
        "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
        "previous": (
            _page_url(request, page.previous_page_number()) if page.has_previous() else None
        ),
        "notices": notices,
        "results": [territory_item(request, t) for t in page.object_list],
    }


@api_v1.get(
    "/territoires/{segment}/{code}",
    response={200: TerritoryDetail, **ERRORS_AND_404},
    url_name="get_territory",
    summary="Un territoire et ses coopérations publiées",
    description=(
        "Par nature et code officiel, comme les pages : `epci/242900314`, `departement/29`, "
        "`region/53`, `commune/29019` ; `autre/<id>` pour un territoire sans code officiel."
    ),
    tags=["Territoires"],
)
@decorate_view(cache_public_page)
def get_territory(request, segment: UrlSegment, code: str):
    territories = Territory.objects.select_related("departement", "region")
    if segment == "autre":
        territory = territories.filter(pk=int(code)).first() if code.isdigit() else None
    else:
        territory = (
            territories.with_code(KINDS_BY_URL_SEGMENT[segment], code)
            .order_by("kind", "pk")
            .first()
        )
    if territory is None:
        raise NotFound(f"Aucun territoire « {segment}/{code[:20]} » dans le catalogue.")
    role_counts = dict(
        Participation.objects.filter(territory=territory, cooperation__is_published=True)
        .order_by()
        .values_list("role")
        .annotate(n=Count("cooperation", distinct=True))
    )
    area_filter = (
        "metropole"
        if territory.is_metropole
        else {TerritoryKind.DEPARTEMENT: "departement", TerritoryKind.REGION: "region"}.get(
            territory.kind
        )
    )
    return {
        **territory_item(request, territory),
        "population": territory.population,
        "departement": _area(territory.departement),
        "region": _area(territory.region),
        "cooperation_count": sum(role_counts.values()),
        "roles": [
            {"role": role.value, "label": role.label, "count": role_counts[role.value]}
            for role in Participation.Role
            if role_counts.get(role.value)
        ],
        "cooperations_api_url": (
            request.build_absolute_uri(
                reverse("api-v1:list_cooperations") + f"?{area_filter}={territory.code}"
            )
            if area_filter and territory.code
            else None
        ),
    }


def _area(territory: Territory | None) -> dict | None:
    return {"code": territory.code, "name": territory.name} if territory else None


@api_v1.get(
    "/vocabulaires",
    response={200: Vocabularies},
    summary="Les vocabulaires du catalogue",
    description=(
        "Les valeurs des filtres avec leurs libellés et leurs définitions : thématiques, "
        "formes de coopération, les six facteurs de réussite, les trois plus-values, statuts, "
        "rôles, natures de territoires, provenances et tris."
    ),
    tags=["Vocabulaires"],
)
@decorate_view(cache_public_page)
def vocabularies(request):
    def items(queryset, with_url):
        return [
            {
                "slug": item.slug,
                "label": item.label,
                "definition": item.definition,
                "url": request.build_absolute_uri(item.get_absolute_url()) if with_url else None,
            }
            for item in queryset
        ]

    def choices(pairs):
        return [{"value": value, "label": label} for value, label in pairs]

    return {
        "themes": items(Theme.objects.all(), True),
        "legal_forms": items(LegalForm.objects.all(), False),
        "success_factors": items(SuccessFactor.objects.order_by("position"), True),
        "plus_values": [
            {
                "slug": code,
                "label": label,
                "definition": definition,
                "url": request.build_absolute_uri(reverse("cooperations:plus_value", args=[code])),
            }
            for code, _field, label, definition in PLUS_VALUE_VOCABULARY
        ],
        "statuses": choices(Cooperation.Status.choices),
        "roles": choices(Participation.Role.choices),
        "territory_kinds": [
            {"value": value, "label": label, "url_segment": URL_SEGMENT_BY_KIND.get(value)}
            for value, label in TerritoryKind.choices
        ],
        "provenances": choices(Cooperation.Provenance.choices),
        "sorts": choices(SORTS.items()),
    }


# --- methods, the French reference page and the other addresses under /api/ ----------------

READ_METHODS = "GET, HEAD, OPTIONS"


def read_only(view):
    """Around each view of the API: HEAD answered as GET without the body (Content-Length kept),
    OPTIONS with the methods allowed (CORS preflights are answered before, by the middleware),
    any other method a French JSON 405, where ninja would answer in English plain text."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = HttpResponse()
        elif request.method not in ("GET", "HEAD"):
            response = JsonResponse(
                {
                    "error": {
                        "status": 405,
                        "message": "L'API se consulte seulement (GET ou HEAD) : "
                        f"la méthode {request.method[:10]} n'est pas permise.",
                    }
                },
                status=405,
            )
        elif request.method == "HEAD":
            request.method = "GET"
            response = view(request, *args, **kwargs)
            request.method = "HEAD"
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        else:
            return view(request, *args, **kwargs)
        response["Allow"] = READ_METHODS
        return response

    wrapper.csrf_exempt = True
    return wrapper


def urls():
    """The URL patterns of the version, each view wrapped by `read_only`."""
    patterns, app_name, namespace = api_v1.urls
    for pattern in patterns:
        pattern.callback = read_only(pattern.callback)
    return patterns, app_name, namespace


def api_not_found(request):
    """Any address under /api/ that no version serves: a JSON 404, never the HTML page."""
    return JsonResponse(
        {"error": {"status": 404, "message": "Cette adresse n'existe pas dans l'API."}},
        status=404,
    )


STATUS_LABELS = {200: "succès", 400: "paramètre incorrect", 404: "introuvable"}
INLINE_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> list[tuple[str, bool]]:
    """A description of the document as (text, is code) parts: its Markdown `code` spans, that
    the page writes as <code>, and the text between them."""
    parts = INLINE_CODE.split(text)
    # split() with one group alternates text and code: even indexes are text.
    return [(part, index % 2 == 1) for index, part in enumerate(parts) if part]


def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_label(schema: dict) -> dict:
    """A schema fragment in French: `text`, plus `ref` (a schema of the page to link to) and
    `nullable`."""
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        label = type_label(options[0]) if len(options) == 1 else {"text": "valeur"}
        return {**label, "nullable": len(options) < len(schema["anyOf"])}
    if "$ref" in schema:
        return {"text": "", "ref": _schema_name(schema["$ref"]), "nullable": False}
    if "enum" in schema:
        return {"text": "une valeur parmi : " + ", ".join(map(str, schema["enum"]))}
    kind = schema.get("type")
    if kind == "array":
        item = type_label(schema.get("items", {}))
        return {"text": "liste de " + (item["text"] or ""), "ref": item.get("ref")}
    if kind == "integer":
        bounds = [
            f"au moins {schema['minimum']}" if "minimum" in schema else "",
            f"au plus {schema['maximum']}" if "maximum" in schema else "",
        ]
        bounds = [b for b in bounds if b]
        return {"text": "entier" + (f" ({', '.join(bounds)})" if bounds else "")}
    if kind == "string":
        text = {"date": "date (AAAA-MM-JJ)", "date-time": "date et heure (ISO 8601)"}.get(
            schema.get("format"), "texte"
        )
        if "maxLength" in schema:
            text += f" ({schema['maxLength']} caractères au plus)"
        return {"text": text}
    return {"text": {"boolean": "booléen", "object": "objet"}.get(kind, "valeur")}


def reference_context(request) -> dict:
    """The operations and response schemas of the OpenAPI document, for the French page."""
    schema = api_v1.get_openapi_schema(path_params={})
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = []
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json", {})
                ref = content.get("schema", {}).get("$ref", "")
                responses.append(
                    {
                        "status": status,
                        "label": STATUS_LABELS.get(int(status), response.get("description")),
                        "ref": _schema_name(ref) if ref else "",
                    }
                )
            operations.append(
                {
                    "id": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": inline_code(operation.get("description", "")),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": "chemin" if p["in"] == "path" else "requête",
                            "required": p.get("required", False),
                            "description": inline_code(p.get("description", "")),
                            "type": type_label(p["schema"]),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "responses": responses,
                }
            )
    schemas = [
        {
            "name": name,
            "fields": [
                {
                    "name": field,
                    "type": type_label(definition),
                    "description": inline_code(definition.get("description", "")),
                    "required": field in component.get("required", []),
                }
                for field, definition in component.get("properties", {}).items()
            ],
        }
        for name, component in schema["components"]["schemas"].items()
        if not name.endswith("Query")
    ]
    return {
        "page_title": "API de données",
        "title": schema["info"]["title"],
        "version": schema["info"]["version"],
        "operations": operations,
        "schemas": schemas,
        "openapi_url": reverse("api-v1:openapi-json"),
        "base_url": request.build_absolute_uri("/api/v1"),
        "examples": [
            reverse("api-v1:list_cooperations") + "?thematique=mobilites-transports&tri=recent",
            reverse("api-v1:list_territories") + "?q=brest",
            reverse("api-v1:get_territory", kwargs={"segment": "departement", "code": "29"}),
            reverse("api-v1:vocabularies"),
        ],
        "nav": "",
    }


def reference(request):
    """`/api/`: the API described in French from its own OpenAPI document, a page of the site
    (no script, so the site's CSP and accessibility hold), linking to that document."""
    return render(request, "api/reference.html", reference_context(request))
