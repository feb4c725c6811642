from django.urls import path

from . import comparison, listing, statistics, views
from .caching import cache_public_page
from .publishing import open_data_views
from .publishing.feeds import CatalogueFeed

app_name = "cooperations"

urlpatterns = [
    path("", cache_public_page(views.home), name="home"),
    path("cooperations/", cache_public_page(views.CooperationListView.as_view()), name="list"),
    # Before the record pages, which it would otherwise be taken for.
    path(
        "cooperations/flux/",
        cache_public_page(CatalogueFeed(listing.Scope)),
        name="feed",
    ),
    path("comparer/", cache_public_page(comparison.compare), name="compare"),
    path("cooperations/<slug:slug>/", cache_public_page(views.cooperation_detail), name="detail"),
    path("territoires/<int:pk>/", views.territory_by_old_id, name="territory_old"),
    path(
        "territoires/autre/<int:pk>/",
        cache_public_page(views.TerritoryView.as_view()),
        name="territory_by_id",
    ),
    path(
        "territoires/autre/<int:pk>/flux/",
        cache_public_page(CatalogueFeed(listing.TerritoryScope)),
        name="territory_by_id_feed",
    ),
    path(
        "territoires/<slug:segment>/<str:code>/",
        cache_public_page(views.TerritoryView.as_view()),
        name="territory",
    ),
    path(
        "territoires/<slug:segment>/<str:code>/flux/",
        cache_public_page(CatalogueFeed(listing.TerritoryScope)),
        name="territory_feed",
    ),
    path("thematiques/<slug:slug>/", cache_public_page(views.ThemeView.as_view()), name="theme"),
    path(
        "thematiques/<slug:slug>/flux/",
        cache_public_page(CatalogueFeed(listing.ThemeScope)),
        name="theme_feed",
    ),
    path("facteurs/", cache_public_page(views.factors_overview), name="factors"),
    path("facteurs/<slug:slug>/", cache_public_page(views.FactorView.as_view()), name="factor"),
    path(
        "facteurs/<slug:slug>/flux/",
        cache_public_page(CatalogueFeed(listing.FactorScope)),
        name="factor_feed",
    ),
    path("plus-values/", cache_public_page(views.plus_values_overview), name="plus_values"),
    path(
        "plus-values/<slug:code>/",
        cache_public_page(views.PlusValueView.as_view()),
        name="plus_value",
    ),
    path(
        "plus-values/<slug:code>/flux/",
        cache_public_page(CatalogueFeed(listing.PlusValueScope)),
        name="plus_value_feed",
    ),
    path(
        "statistiques/",
        cache_public_page(statistics.StatisticsView.as_view()),
        name="statistics",
    ),
    path("mon-territoire/", cache_public_page(views.my_territory), name="my_territory"),
    path(
        "mon-territoire/suggestions/",
        cache_public_page(views.territory_suggestions),
        name="territory_suggestions",
    ),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", views.personal_data, name="personal_data"),
    path("donnees/", cache_public_page(open_data_views.page), name="open_data"),
    path(
        "donnees/catalogue.<str:extension>",
        cache_public_page(open_data_views.dcat),
        name="open_data_dcat",
    ),
    path(
        "donnees/schemas/<slug:name>.json",
        cache_public_page(open_data_views.schema),
        name="open_data_schema",
    ),
    # Not through the page cache: the files are on disk already, one per catalogue version.
    path("donnees/fichiers/<str:name>", open_data_views.data_file, name="open_data_file"),
    path("plan-du-site/", cache_public_page(views.site_map), name="site_map"),
]
