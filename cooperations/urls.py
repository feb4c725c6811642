from django.urls import path

from . import views
from .caching import cache_public_page

app_name = "cooperations"

urlpatterns = [
    path("", cache_public_page(views.home), name="home"),
    path("cooperations/", cache_public_page(views.CooperationListView.as_view()), name="list"),
    path("cooperations/<slug:slug>/", cache_public_page(views.cooperation_detail), name="detail"),
    path("territoires/<int:pk>/", views.territory_by_old_id, name="territory_old"),
    path(
        "territoires/autre/<int:pk>/",
        cache_public_page(views.TerritoryView.as_view()),
        name="territory_by_id",
    ),
    path(
        "territoires/<slug:segment>/<str:code>/",
        cache_public_page(views.TerritoryView.as_view()),
        name="territory",
    ),
    path("thematiques/<slug:slug>/", cache_public_page(views.ThemeView.as_view()), name="theme"),
    path("facteurs/", cache_public_page(views.factors_overview), name="factors"),
    path("facteurs/<slug:slug>/", cache_public_page(views.FactorView.as_view()), name="factor"),
    path("plus-values/", cache_public_page(views.plus_values_overview), name="plus_values"),
    path(
        "plus-values/<slug:code>/",
        cache_public_page(views.PlusValueView.as_view()),
        name="plus_value",
    ),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", views.personal_data, name="personal_data"),
    path("plan-du-site/", cache_public_page(views.site_map), name="site_map"),
]
