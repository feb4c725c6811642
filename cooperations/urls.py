from django.urls import path

from . import views

app_name = "cooperations"

urlpatterns = [
    path("", views.home, name="home"),
    path("cooperations/", views.CooperationListView.as_view(), name="list"),
    path("cooperations/<slug:slug>/", views.cooperation_detail, name="detail"),
    path("territoires/<int:pk>/", views.TerritoryView.as_view(), name="territory"),
    path("thematiques/<slug:slug>/", views.ThemeView.as_view(), name="theme"),
    path("facteurs/<slug:slug>/", views.FactorView.as_view(), name="factor"),
    path("accessibilite/", views.accessibility, name="accessibility"),
]
