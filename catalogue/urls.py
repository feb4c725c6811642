from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from cooperations.caching import cache_public_page
from cooperations.publishing import api_v1

from . import health

admin.site.site_header = "Catalogue des coopérations interterritoriales — administration"
admin.site.site_title = "Administration du catalogue"
admin.site.index_title = "Gestion du catalogue"


def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's): the DSFR's
    icon, by its hashed name in production, so the request never ends in a 404."""
    return redirect(static("dsfr/dist/favicon/favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("sante/", health.health, name="health"),
    # The documented JSON API: a French reference page, then one prefix per version
    # (cooperations/publishing/api_v1.py); any other address under /api/ is a JSON 404.
    path("api/", cache_public_page(api_v1.reference), name="api"),
    path("api/v1/", api_v1.urls()),
    re_path(r"^api/", api_v1.api_not_found),
    path("", include("cooperations.urls")),
]

handler400 = "catalogue.errors.bad_request"
handler403 = "catalogue.errors.permission_denied"
handler404 = "catalogue.errors.page_not_found"
handler500 = "catalogue.errors.server_error"
