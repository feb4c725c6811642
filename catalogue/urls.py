from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "Catalogue des coopérations interterritoriales — administration"
admin.site.site_title = "Administration du catalogue"
admin.site.index_title = "Gestion du catalogue"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sante/", health.health, name="health"),
    path("", include("cooperations.urls")),
]

handler400 = "catalogue.errors.bad_request"
handler403 = "catalogue.errors.permission_denied"
handler404 = "catalogue.errors.page_not_found"
handler500 = "catalogue.errors.server_error"
