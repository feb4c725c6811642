"""The « Données » page and the files of the open-data package (open_data.py)."""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render

from . import open_data

_CONTENT_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json",
                  ".zip": "application/zip"}  # fmt: skip


def page(request):
    """What each file holds, column by column: 1 query (the date of the last change)."""
    return render(
        request,
        "open_data.html",
        {
            "page_title": "Données",
            "page_url": request.build_absolute_uri(),
            "resources": open_data.RESOURCES,
            "modified": open_data.last_modified(),
            "schema_version": open_data.SCHEMA_VERSION,
            "schema_changes": open_data.SCHEMA_CHANGES,
            "licence_title": open_data.LICENCE_TITLE,
            "licence_url": open_data.LICENCE_URL,
            "publisher": open_data.PUBLISHER,
            "zip_name": open_data.ZIP_NAME,
            "contact_email": settings.CONTACT_EMAIL,
            "nav": "",
        },
    )


def data_file(request, name: str):
    """One file of the package (or its ZIP), streamed from disk: the package is built on the
    first request after the catalogue changed."""
    allowed = {open_data.ZIP_NAME, "datapackage.json", *(r.path for r in open_data.RESOURCES)}
    if name not in allowed:
        raise Http404("Ce fichier n'existe pas.")
    folder = open_data.current_folder(request.build_absolute_uri)
    response = FileResponse(
        (folder / name).open("rb"),
        content_type=_CONTENT_TYPES[name[name.rfind(".") :]],
        as_attachment=name.endswith((".zip", ".csv")),
        filename=name,
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def schema(request, name: str):
    """The Table Schema of one file."""
    resource = open_data.RESOURCE_BY_NAME.get(name)
    if resource is None:
        raise Http404("Ce schéma n'existe pas.")
    response = JsonResponse(
        open_data.table_schema(resource), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def dcat(request, extension: str):
    """The DCAT description, in JSON-LD or Turtle: 1 query (the date of the last change)."""
    if extension not in open_data.DCAT_FORMATS:
        raise Http404("Format inconnu.")
    syntax, content_type = open_data.DCAT_FORMATS[extension]
    graph = open_data.dcat_graph(
        request.build_absolute_uri, open_data.last_modified(), settings.CONTACT_EMAIL
    )
    response = HttpResponse(graph.serialize(format=syntax), content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    return response
