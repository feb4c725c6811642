"""Public pages. Every query is shaped here so that templates never hit the database."""

from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, render

from .models import Cooperation, Participation, SuccessFactor, Territory, Theme


def _published_for_list():
    return (
        Cooperation.objects.published()
        .select_related("legal_form")
        .prefetch_related(
            "themes",
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("territory"),
            ),
        )
        .order_by("name")
    )


def home(request):
    published = Q(cooperations__is_published=True)
    metropoles = (
        Territory.objects.metropoles()
        .annotate(total=Count("cooperations", filter=published, distinct=True))
        .order_by("name")
    )
    themes = Theme.objects.annotate(total=Count("cooperations", filter=published))
    return render(
        request,
        "cooperations/home.html",
        {
            "total": Cooperation.objects.published().count(),
            "metropoles": metropoles,
            "themes": themes,
        },
    )


def cooperation_list(request):
    return render(request, "cooperations/list.html", {"cooperations": _published_for_list()[:200]})


def cooperation_detail(request, slug):
    cooperation = get_object_or_404(
        Cooperation.objects.published()
        .select_related("legal_form")
        .prefetch_related(
            "themes",
            "sources",
            Prefetch("participations", queryset=Participation.objects.select_related("territory")),
            "factor_links__factor",
        ),
        slug=slug,
    )
    return render(request, "cooperations/detail.html", {"cooperation": cooperation})


def territory_detail(request, pk):
    territory = get_object_or_404(Territory, pk=pk)
    cooperations = _published_for_list().filter(participations__territory=territory)
    return render(
        request,
        "cooperations/territory.html",
        {"territory": territory, "cooperations": cooperations},
    )


def theme_detail(request, slug):
    theme = get_object_or_404(Theme, slug=slug)
    cooperations = _published_for_list().filter(themes=theme)
    return render(
        request, "cooperations/theme.html", {"theme": theme, "cooperations": cooperations}
    )


def factor_detail(request, slug):
    factor = get_object_or_404(SuccessFactor, slug=slug)
    cooperations = _published_for_list().filter(factor_links__factor=factor)
    return render(
        request, "cooperations/factor.html", {"factor": factor, "cooperations": cooperations}
    )
