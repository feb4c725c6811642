"""The list's links say what Django's `{% querystring %}` tag would; the pagination template
links every page it shows."""

import html as html_module

import pytest
from django.core.paginator import Paginator
from django.http import QueryDict
from django.template import RequestContext, Template, engines
from django.test import RequestFactory

from cooperations.list_links import QueryLinks

QUERIES = [
    "",
    "page=3",
    "metropole=242900314&statut=active",
    "q=mobilit%C3%A9+%26+%22transports%22&tri=recent&page=2",
    "thematique=a&thematique=b&page=4&format=csv",
    "q=%3Cscript%3E%27&region=53",
    "page=",
]
CHANGES = [
    {"page": 2},
    {"page": None},
    {"tri": "ancien", "page": None},
    {"format": "xlsx", "page": None},
    {"format": "json"},
    {"thematique": "c"},
]


def django_querystring(query: str, changes: dict) -> str:
    arguments = " ".join(f"{key}=v{number}" for number, key in enumerate(changes))
    template = Template("{% querystring " + arguments + " %}")
    values = {f"v{number}": value for number, value in enumerate(changes.values())}
    request = RequestFactory().get("/cooperations/?" + query)
    # The tag writes HTML; the links are text, escaped where a template writes them.
    return html_module.unescape(template.render(RequestContext(request, values)))


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("changes", CHANGES)
def test_links_are_those_of_the_querystring_tag(query, changes):
    assert QueryLinks(QueryDict(query))(**changes) == django_querystring(query, changes)


def pagination(links, page_obj, page_range) -> str:
    template = engines["jinja2"].get_template("includes/pagination.html")
    context = {"links": links, "page_obj": page_obj, "paginator": page_obj.paginator}
    return template.render({**context, "page_range": page_range}).strip()


def page_of(number: int, count: int = 500):
    paginator = Paginator(range(count), 20)
    page = paginator.page(number)
    return page, paginator.get_elided_page_range(number, on_each_side=2)


def test_pagination_links_every_other_page_and_disables_the_edges():
    links = QueryLinks(QueryDict("statut=active&page=1"))
    html = pagination(links, *page_of(1))
    assert html.count('aria-disabled="true"') == 2  # first and previous
    assert '<a class="fr-pagination__link" aria-current="page" title="Page 1">1</a>' in html
    assert 'href="?statut=active&amp;page=2" title="Page 2">2</a>' in html
    assert 'href="?statut=active&amp;page=25">Dernière page</a>' in html
    assert "…" in html


def test_pagination_of_a_middle_page():
    html = pagination(QueryLinks(QueryDict("page=12")), *page_of(12))
    assert "aria-disabled" not in html
    assert 'href="?page=1">Première page</a>' in html
    assert 'href="?page=11">Page précédente</a>' in html
    assert 'href="?page=13">Page suivante</a>' in html
    assert html.count("…") == 2


def test_no_pagination_when_everything_fits_on_one_page():
    assert pagination(QueryLinks(QueryDict("")), *page_of(1, count=12)) == ""
