from django.urls import path

from . import views
from .caching import cache_public_page

app_name = "cooperations"

urlpatterns = [
    path("", cache_public_page(views.home), name="home"),
    path("cooperations/", cache_public_page(views.CooperationListView.as_view()), name="list"),
    path("cooperations/<slug:slug>/", cache_public_page(views.cooperation_detail), name="detail"),
    path(
        "territoires/<int:pk>/",
        cache_public_page(views.TerritoryView.as_view()),
        name="territory",
    ),
    path("thematiques/<slug:slug>/", cache_public_page(views.ThemeView.as_view()), name="theme"),
    path("facteurs/<slug:slug>/", cache_public_page(views.FactorView.as_view()), name="factor"),
    path("accessibilite/", views.accessibility, name="accessibility"),
]
