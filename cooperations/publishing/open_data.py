"""The whole published catalogue as open data: a Frictionless data package and its DCAT record.

Why: researchers want the data itself, and data.gouv.fr harvests catalogues that publish a
Table Schema per file and a DCAT description. One column specification (`RESOURCES`) makes the
CSV files, their Table Schemas in `datapackage.json` and the « Données » page, so the three
cannot disagree.

The package is rebuilt when the catalogue's version changes (`caching.catalogue_version`, which
moves with every write through the admin or the import), never by hand: the first request after
a change builds it into OPEN_DATA_ROOT/<version>/ (CSV files, datapackage.json, the ZIP), written
to a temporary folder and renamed, so that a half-written package is never served. Rows are read
from the database in chunks and written as they come, and files are served from disk by
FileResponse, so neither building nor serving holds the whole dataset in memory.

CSV as data.gouv.fr asks: UTF-8 without BOM, comma separator, ISO dates, `true`/`false`. Free
text cells go through `spreadsheets.neutralise` like every export (a cell starting with `=`
gets an apostrophe), since researchers open these files in a spreadsheet too.
"""

import csv
import datetime
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.urls import reverse

from ..caching import catalogue_version
from ..models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    Theme,
)
from ..vocabularies import FACTOR_CODES, PLUS_VALUE_CODES
from .spreadsheets import neutralise

# Semantic version of the files' schemas: major when a column goes or changes meaning, minor
# when one is added. Its history is on the « Données » page (SCHEMA_CHANGES).
SCHEMA_VERSION = "1.0.0"
SCHEMA_CHANGES = [
    ("1.0.0", "2026-12-07", "Première publication : huit fichiers, un schéma par fichier."),
]
PACKAGE_NAME = "catalogue-cooperations-interterritoriales"
TITLE = "Catalogue des coopérations interterritoriales"
DESCRIPTION = (
    "Les coopérations entre métropoles et territoires voisins recensées par l'ANCT, France "
    "urbaine et Intercommunalités de France : territoires participants et leurs rôles, "
    "thématiques, formes juridiques, facteurs de réussite et plus-values illustrés, sources."
)
PUBLISHER = "Agence nationale de la cohésion des territoires (ANCT)"
LICENCE_ID = "etalab-2.0"
LICENCE_TITLE = "Licence Ouverte / Open Licence version 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
ZIP_NAME = f"{PACKAGE_NAME}.zip"
CHUNK = 2000


@dataclass(frozen=True)
class Column:
    """One column of one file: its Table Schema field, and whether it is free text (escaped)."""

    name: str
    type: str
    description: str
    example: str = ""
    constraints: dict = field(default_factory=dict)
    text: bool = False
    format: str = ""

    def schema(self) -> dict:
        described = {"name": self.name, "type": self.type, "description": self.description}
        if self.format:
            described["format"] = self.format
        if self.example:
            described["example"] = self.example
        if self.constraints:
            described["constraints"] = self.constraints
        return described


@dataclass(frozen=True)
class Resource:
    name: str
    title: str
    description: str
    columns: list[Column]
    primary_key: list[str]
    # Called with `absolute_url` (a path → an absolute URL) by the resources that need it.
    rows: Callable[..., Iterator[tuple]]
    foreign_keys: list[tuple[list[str], str, list[str]]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def schema(self) -> dict:
        return {
            "fields": [column.schema() for column in self.columns],
            "primaryKey": self.primary_key,
            "foreignKeys": [
                {"fields": fields, "reference": {"resource": resource, "fields": target}}
                for fields, resource, target in self.foreign_keys
            ],
            "missingValues": [""],
        }


def _choices(choices) -> dict:
    return {"enum": [value for value, _label in choices]}


def _values(queryset, *fields) -> Iterator[tuple]:
    return queryset.values_list(*fields).iterator(chunk_size=CHUNK)


def _published():
    return Cooperation.objects.published()


def _vocabulary_rows(model):
    def rows():
        return _values(model.objects.order_by("position", "label"), "slug", "label", "definition")

    return rows


def _cooperation_rows(absolute_url) -> Iterator[tuple]:
    template = absolute_url(reverse("cooperations:detail", args=["__slug__"]))
    fields = (
        "slug", "name", "summary", "description", "legal_form__slug", "status", "signed_on",
        "signed_on_precision", "starts_on", "ends_on", "adds_scale", "adds_value_chain",
        "adds_pooling", "governance", "funding", "staffing", "provenance", "last_verified_on",
    )  # fmt: skip
    for slug, *rest in _values(_published().order_by("slug"), *fields):
        yield (slug, rest[0], template.replace("__slug__", slug), *rest[1:])


def _territory_rows() -> Iterator[tuple]:
    used = Territory.objects.filter(participations__cooperation__is_published=True).distinct()
    return _values(
        used.order_by("pk"),
        "pk", "kind", "code", "name", "vintage", "departement__code", "region__code", "epci__code",
    )  # fmt: skip


def _participation_rows() -> Iterator[tuple]:
    return _values(
        Participation.objects.filter(cooperation__is_published=True).order_by(
            "cooperation__slug", "role", "territory__name", "territory_id"
        ),
        "cooperation__slug", "territory_id", "role", "territory__kind", "territory__code",
        "territory__name",
    )  # fmt: skip


def _cooperation_theme_rows() -> Iterator[tuple]:
    through = Cooperation.themes.through.objects
    return _values(
        through.filter(cooperation__is_published=True).order_by(
            "cooperation__slug", "theme__position", "theme__slug"
        ),
        "cooperation__slug",
        "theme__slug",
    )


def _illustration_rows() -> Iterator[tuple]:
    factors = CooperationFactor.objects.filter(cooperation__is_published=True).order_by(
        "cooperation__slug", "factor__position"
    )
    for slug, code, text, source in _values(
        factors, "cooperation__slug", "factor__slug", "text", "source_url"
    ):
        yield (slug, "facteur", code, text, source)
    plus_values = CooperationPlusValue.objects.filter(cooperation__is_published=True).order_by(
        "cooperation__slug", "plus_value"
    )
    for slug, code, text, source in _values(
        plus_values, "cooperation__slug", "plus_value", "text", "source_url"
    ):
        yield (slug, "plus-value", code, text, source)


def _source_rows() -> Iterator[tuple]:
    rank, previous = 0, None
    for slug, url, title, publisher, published_on in _values(
        Source.objects.filter(cooperation__is_published=True).order_by(
            "cooperation__slug", "position", "pk"
        ),
        "cooperation__slug", "url", "title", "publisher", "published_on",
    ):  # fmt: skip
        rank = rank + 1 if slug == previous else 1
        previous = slug
        yield (slug, rank, url, title, publisher, published_on)


_SLUG = {"required": True, "pattern": "[-a-zA-Z0-9_]+"}
_COOPERATION = Column(
    "cooperation", "string", "Identifiant de la coopération (fichier cooperations).",
    "pole-metropolitain-loire-bretagne", _SLUG,
)  # fmt: skip


def _vocabulary(name, title, description, example, rows) -> Resource:
    return Resource(
        name, title, description,
        [
            Column("identifiant", "string", "Identifiant stable du terme.", example, _SLUG),
            Column("libelle", "string", "Libellé affiché.", constraints={"required": True},
                   text=True),
            Column("definition", "string", "Définition courte.", text=True),
        ],
        ["identifiant"], rows,
    )  # fmt: skip


def _date_column(name, description, example="2017-07-10") -> Column:
    return Column(name, "date", description + " Format AAAA-MM-JJ.", example)


RESOURCES = [
    Resource(
        "cooperations",
        "Coopérations",
        "Une ligne par coopération publiée.",
        [
            Column("identifiant", "string", "Identifiant stable de la coopération, celui de "
                   "l'adresse de sa fiche.", "pole-metropolitain-loire-bretagne",
                   {**_SLUG, "unique": True}),
            Column("nom", "string", "Nom de la coopération.", "Pôle métropolitain Loire-Bretagne",
                   {"required": True}, text=True),
            Column("adresse_fiche", "string", "Adresse de la fiche sur le catalogue.",
                   "https://exemple.gouv.fr/cooperations/pole-metropolitain-loire-bretagne/",
                   format="uri"),
            Column("resume", "string", "Résumé en quelques lignes.", text=True),
            Column("description", "string", "Description détaillée.", text=True),
            Column("forme_cooperation", "string", "Forme juridique (fichier formes_cooperation) ; "
                   "vide si inconnue.", "contrat-de-reciprocite"),
            Column("statut", "string", "Statut : " + ", ".join(
                f"« {value} » ({label})" for value, label in Cooperation.Status.choices
            ) + " ; vide si inconnu.", "active", _choices(Cooperation.Status.choices)),
            _date_column("date_signature", "Date de signature, précisée par la colonne "
                         "suivante (le 1er du mois ou de l'année quand seul le mois ou l'année "
                         "est connu)."),
            Column("precision_date_signature", "string", "Précision de la date de signature : "
                   "day (jour), month (mois), year (année).", "year",
                   _choices(Cooperation.DatePrecision.choices)),
            _date_column("date_debut", "Début de la coopération."),
            _date_column("date_fin", "Fin de la coopération."),
            Column("plus_value_echelles", "boolean", "Répond à des enjeux d'échelles.", "true"),
            Column("plus_value_filieres", "boolean", "Structure des filières.", "false"),
            Column("plus_value_mutualisation", "boolean", "Mutualise des moyens.", "false"),
            Column("gouvernance", "string", "Notes sur la gouvernance.", text=True),
            Column("financements", "string", "Notes sur les financements.", text=True),
            Column("moyens_humains", "string", "Notes sur les moyens humains.", text=True),
            Column("provenance", "string", "Origine de la fiche : " + ", ".join(
                f"« {value} » ({label})" for value, label in Cooperation.Provenance.choices
            ) + ".", "inventaire-2018", _choices(Cooperation.Provenance.choices)),
            _date_column("date_derniere_verification", "Dernière vérification de la fiche.",
                         "2026-03-01"),
        ],
        ["identifiant"],
        _cooperation_rows,
        [(["forme_cooperation"], "formes_cooperation", ["identifiant"])],
    ),
    Resource(
        "territoires",
        "Territoires",
        "Les territoires qui participent à au moins une coopération publiée.",
        [
            Column("identifiant", "integer", "Identifiant du territoire dans le catalogue "
                   "(stable ; les codes officiels changent avec les fusions).", "1234",
                   {"required": True, "unique": True}),
            Column("nature", "string", "Nature du territoire : " + ", ".join(
                f"{value} ({label})" for value, label in Territory.Kind.choices) + ".",
                "CA", {"required": True, **_choices(Territory.Kind.choices)}),
            Column("code_officiel", "string", "SIREN (9 chiffres) des groupements, code Insee "
                   "des communes, départements et régions ; vide si aucun n'est connu.",
                   "200067205", {"pattern": "[0-9AB]{2,9}"}),
            Column("nom", "string", "Nom du territoire.", "Lorient Agglomération",
                   {"required": True}, text=True),
            Column("millesime", "integer", "Année de la liste officielle d'où vient le code ; "
                   "vide pour un territoire saisi à la main.", "2026"),
            Column("departement", "string", "Code Insee du département.", "56"),
            Column("region", "string", "Code Insee de la région.", "53"),
            Column("epci", "string", "SIREN de l'EPCI d'une commune.", "200067205"),
        ],
        ["identifiant"],
        _territory_rows,
    ),
    Resource(
        "participations",
        "Participations",
        "Une ligne par territoire et par coopération, avec son rôle ; nature, code et nom du "
        "territoire sont repris du fichier territoires pour la commodité.",
        [
            _COOPERATION,
            Column("territoire", "integer", "Identifiant du territoire (fichier territoires).",
                   "1234", {"required": True}),
            Column("role", "string", "Rôle : metropole, partenaire ou associe.", "partenaire",
                   {"required": True, **_choices(Participation.Role.choices)}),
            Column("nature", "string", "Nature du territoire.", "CA",
                   _choices(Territory.Kind.choices)),
            Column("code_officiel", "string", "Code officiel du territoire.", "200067205"),
            Column("nom", "string", "Nom du territoire.", "Lorient Agglomération", text=True),
        ],
        ["cooperation", "territoire"],
        _participation_rows,
        [
            (["cooperation"], "cooperations", ["identifiant"]),
            (["territoire"], "territoires", ["identifiant"]),
        ],
    ),
    Resource(
        "cooperations_thematiques",
        "Thématiques des coopérations",
        "Une ligne par coopération et par thématique.",
        [
            _COOPERATION,
            Column("thematique", "string", "Identifiant de la thématique (fichier thematiques).",
                   "mobilites-et-transports", _SLUG),
        ],
        ["cooperation", "thematique"],
        _cooperation_theme_rows,
        [
            (["cooperation"], "cooperations", ["identifiant"]),
            (["thematique"], "thematiques", ["identifiant"]),
        ],
    ),
    Resource(
        "illustrations",
        "Facteurs de réussite et plus-values illustrés",
        "Comment une coopération illustre un facteur de réussite ou une plus-value, avec la "
        "source qui l'établit. Classement éditorial du catalogue, d'après la source citée.",
        [
            _COOPERATION,
            Column("type", "string", "facteur (facteur de réussite) ou plus-value.", "facteur",
                   {"required": True, "enum": ["facteur", "plus-value"]}),
            Column("code", "string", "Code du facteur (fichier facteurs_reussite) ou de la "
                   "plus-value (" + ", ".join(PLUS_VALUE_CODES) + ").", "gouvernance",
                   {"required": True, "enum": [*FACTOR_CODES, *PLUS_VALUE_CODES]}),
            Column("texte", "string", "Comment la coopération l'illustre.", text=True),
            Column("source", "string", "Adresse de la source de ce texte.",
                   "https://exemple.fr/communique", format="uri"),
        ],
        ["cooperation", "type", "code"],
        _illustration_rows,
        [(["cooperation"], "cooperations", ["identifiant"])],
    ),
    Resource(
        "sources",
        "Sources",
        "Les documents publics d'où viennent les fiches, dans l'ordre de la fiche.",
        [
            _COOPERATION,
            Column("rang", "integer", "Rang de la source sur la fiche, à partir de 1.", "1",
                   {"required": True, "minimum": 1}),
            Column("adresse", "string", "Adresse du document.", "https://exemple.fr/communique",
                   {"required": True}, format="uri"),
            Column("titre", "string", "Titre du document.", text=True),
            Column("editeur", "string", "Éditeur du document.", text=True),
            _date_column("date_publication", "Date de publication du document."),
        ],
        ["cooperation", "rang"],
        _source_rows,
        [(["cooperation"], "cooperations", ["identifiant"])],
    ),
    _vocabulary("thematiques", "Thématiques", "Vocabulaire des thématiques.",
                "mobilites-et-transports", _vocabulary_rows(Theme)),
    _vocabulary("formes_cooperation", "Formes de coopération",
                "Vocabulaire des formes juridiques.", "contrat-de-reciprocite",
                _vocabulary_rows(LegalForm)),
    _vocabulary("facteurs_reussite", "Facteurs de réussite",
                "Les six facteurs de réussite de la Fabrique prospective (ANCT).", "gouvernance",
                _vocabulary_rows(SuccessFactor)),
]  # fmt: skip
RESOURCE_BY_NAME = {resource.name: resource for resource in RESOURCES}


def _cell(value, column: Column) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if column.text:
        return neutralise(str(value))
    return str(value)


def write_csv(resource: Resource, path: Path, absolute_url) -> int:
    """Write one resource's CSV; returns its row count."""
    count = 0
    columns = resource.columns
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([column.name for column in columns])
        rows = resource.rows(absolute_url) if resource.name == "cooperations" else resource.rows()
        for row in rows:
            cells = zip(row, columns, strict=True)
            writer.writerow([_cell(value, column) for value, column in cells])
            count += 1
    return count


def last_modified() -> datetime.datetime | None:
    """When a published record last changed: one query."""
    return _published().aggregate(latest=Max("updated_at"))["latest"]


def descriptor(counts: dict[str, int], modified: datetime.datetime | None) -> dict:
    """The datapackage.json of the package (counts: rows per resource)."""
    return {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": TITLE,
        "description": DESCRIPTION,
        "version": SCHEMA_VERSION,
        "licenses": [{"name": LICENCE_ID, "title": LICENCE_TITLE, "path": LICENCE_URL}],
        "contributors": [{"title": PUBLISHER, "role": "publisher"}],
        "created": modified.isoformat() if modified else None,
        "resources": [
            {
                "name": resource.name,
                "title": resource.title,
                "description": f"{resource.description} {counts.get(resource.name, 0)} lignes.",
                "path": resource.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "licenses": [{"name": LICENCE_ID, "title": LICENCE_TITLE, "path": LICENCE_URL}],
                "schema": resource.schema(),
            }
            for resource in RESOURCES
        ],
    }


def write_package(folder: Path, absolute_url) -> dict:
    """Write every CSV, datapackage.json and the ZIP of them into `folder`; returns the
    descriptor. `absolute_url` turns a path into the public address of the records."""
    counts = {
        resource.name: write_csv(resource, folder / resource.path, absolute_url)
        for resource in RESOURCES
    }
    package = descriptor(counts, last_modified())
    if package["created"] is None:
        del package["created"]
    (folder / "datapackage.json").write_text(
        json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with zipfile.ZipFile(folder / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ["datapackage.json", *(resource.path for resource in RESOURCES)]:
            archive.write(folder / name, name)
    return package


def _root() -> Path:
    return Path(settings.OPEN_DATA_ROOT)


def current_folder(absolute_url) -> Path:
    """The folder of the package for the catalogue's current version, built if missing. The
    public address of the site is part of the key: the records' addresses are in the files."""
    key = f"{catalogue_version()}|{SCHEMA_VERSION}|{absolute_url('/')}"
    version = hashlib.sha256(key.encode()).hexdigest()[:16]
    root = _root()
    folder = root / version
    if (folder / ZIP_NAME).exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        write_package(building, absolute_url)
        os.replace(building, folder)
    except OSError:
        # Another process renamed its own build first: it holds the same files.
        shutil.rmtree(building, ignore_errors=True)
        if not (folder / ZIP_NAME).exists():
            raise
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    # Older versions are of no further use; a request still reading one keeps its open file.
    for old in root.iterdir():
        if old.is_dir() and old.name != version and not old.name.startswith(".building-"):
            shutil.rmtree(old, ignore_errors=True)
    return folder


# --- DCAT ----------------------------------------------------------------------------------------
#
# What data.gouv.fr's harvester and DCAT-AP ask for: a catalogue (title, description, publisher,
# datasets), one dataset (identifier, title, description, publisher, contact point, licence,
# modification date, distributions) and a distribution per file (access and download URL, media
# type, format, licence, conformsTo: the file's Table Schema). Addresses are absolute, from the
# request's host, like the records' addresses in the files.

DCAT_FORMATS = {"jsonld": ("json-ld", "application/ld+json"), "ttl": ("turtle", "text/turtle")}
_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
_DATA_PACKAGE_SPEC = "https://specs.frictionlessdata.io/data-package/"


def dcat_graph(absolute_url, modified: datetime.datetime | None, contact_email: str):
    """The DCAT description of the catalogue's dataset, as an rdflib Graph."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

    vcard = Namespace("http://www.w3.org/2006/vcard/ns#")
    graph = Graph()
    graph.bind("dcat", DCAT)
    graph.bind("dct", DCTERMS)
    graph.bind("foaf", FOAF)
    graph.bind("vcard", vcard)

    page = absolute_url(reverse("cooperations:open_data"))
    catalogue = URIRef(absolute_url(reverse("cooperations:open_data_dcat", args=["jsonld"])))
    dataset = URIRef(page + "#jeu-de-donnees")
    publisher = URIRef(page + "#editeur")
    licence = URIRef(LICENCE_URL)
    fr = "fr"

    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(PUBLISHER, lang=fr)))

    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal(TITLE, lang=fr)))
    graph.add((catalogue, DCTERMS.description, Literal(DESCRIPTION, lang=fr)))
    graph.add((catalogue, DCTERMS.publisher, publisher))
    graph.add((catalogue, FOAF.homepage, URIRef(absolute_url(reverse("cooperations:home")))))
    graph.add((catalogue, DCTERMS.license, licence))
    graph.add((catalogue, DCAT.dataset, dataset))

    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.identifier, Literal(PACKAGE_NAME)))
    graph.add((dataset, DCTERMS.title, Literal(TITLE, lang=fr)))
    graph.add((dataset, DCTERMS.description, Literal(DESCRIPTION, lang=fr)))
    graph.add((dataset, DCTERMS.publisher, publisher))
    graph.add((dataset, DCTERMS.license, licence))
    graph.add((dataset, DCAT.landingPage, URIRef(page)))
    graph.add(
        (
            dataset,
            DCTERMS.language,
            URIRef("http://publications.europa.eu/resource/authority/language/FRA"),
        )
    )  # noqa: E501
    graph.add(
        (dataset, URIRef("http://www.w3.org/2002/07/owl#versionInfo"), Literal(SCHEMA_VERSION))
    )  # noqa: E501
    for keyword in ("coopération interterritoriale", "métropole", "intercommunalité"):
        graph.add((dataset, DCAT.keyword, Literal(keyword, lang=fr)))
    if modified:
        graph.add((dataset, DCTERMS.modified, Literal(modified.date(), datatype=XSD.date)))
    contact = BNode()
    graph.add((contact, RDF.type, vcard.Organization))
    graph.add((contact, vcard.fn, Literal(PUBLISHER, lang=fr)))
    graph.add((contact, vcard.hasEmail, URIRef(f"mailto:{contact_email}")))
    graph.add((dataset, DCAT.contactPoint, contact))

    package = absolute_url(reverse("cooperations:open_data_file", args=["datapackage.json"]))
    files = [(ZIP_NAME, f"{TITLE} (archive ZIP, tous les fichiers)", "ZIP", "application/zip",
              package)]  # fmt: skip
    files += [
        (r.path, r.title, "CSV", "text/csv",
         absolute_url(reverse("cooperations:open_data_schema", args=[r.name])))
        for r in RESOURCES
    ]  # fmt: skip
    files.append(("datapackage.json", "Description du paquet de données (Frictionless)", "JSON",
                  "application/json", _DATA_PACKAGE_SPEC))  # fmt: skip
    for name, title, file_format, media_type, schema in files:
        url = URIRef(absolute_url(reverse("cooperations:open_data_file", args=[name])))
        distribution = URIRef(f"{url}#distribution")
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCTERMS.title, Literal(title, lang=fr)))
        graph.add((distribution, DCAT.accessURL, url))
        graph.add((distribution, DCAT.downloadURL, url))
        graph.add((distribution, DCAT.mediaType, URIRef(_MEDIA_TYPES + media_type)))
        graph.add((distribution, DCTERMS.format, Literal(file_format)))
        graph.add((distribution, DCTERMS.license, licence))
        graph.add((distribution, DCTERMS.conformsTo, URIRef(schema)))
    return graph


def table_schema(resource: Resource) -> dict:
    """The Table Schema of one file, with the metadata schema.data.gouv.fr asks for."""
    return {
        "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
        "name": f"{PACKAGE_NAME}-{resource.name}",
        "title": f"{TITLE} — {resource.title}",
        "description": resource.description,
        "version": SCHEMA_VERSION,
        "licenses": [{"name": LICENCE_ID, "title": LICENCE_TITLE, "path": LICENCE_URL}],
        "contributors": [{"title": PUBLISHER, "role": "author"}],
        **resource.schema(),
    }
