from django.urls import path

from . import views

app_name = "cooperations"

urlpatterns = [
    path("", views.home, name="home"),
    path("cooperations/", views.cooperation_list, name="list"),
    path("cooperations/<slug:slug>/", views.cooperation_detail, name="detail"),
    path("territoires/<int:pk>/", views.territory_detail, name="territory"),
    path("thematiques/<slug:slug>/", views.theme_detail, name="theme"),
    path("facteurs/<slug:slug>/", views.factor_detail, name="factor"),
]
