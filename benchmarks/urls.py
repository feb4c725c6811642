"""The catalogue's URLs plus the template-only floor of the load test, for benchmarks.settings
only: production's URLconf (catalogue.urls) never serves the floor page.
"""

from django.shortcuts import render
from django.urls import path

from catalogue.urls import handler400, handler403, handler404, handler500  # noqa: F401
from catalogue.urls import urlpatterns as catalogue_urlpatterns

FLOOR_PATH = "/banc-d-essai/gabarit/"


def template_floor(request):
    """The project's base template with its header, menu and footer and no database query: what
    any page costs before its own work, under the same server and middleware."""
    return render(request, "base.html", {"page_title": "Banc d'essai"})


urlpatterns = [
    path(FLOOR_PATH.strip("/") + "/", template_floor, name="benchmark_floor"),
    *catalogue_urlpatterns,
]
