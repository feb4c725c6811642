from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Catalogue des coopérations interterritoriales — administration"
admin.site.site_title = "Administration du catalogue"
admin.site.index_title = "Gestion du catalogue"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cooperations.urls")),
]
