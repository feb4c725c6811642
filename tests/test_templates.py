"""The public pages are templates: links follow the script prefix, a changed template shows at
the next request to everyone, no markup is written in the application's Python, and the
application's modules import one another without a cycle."""

import ast
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client, RequestFactory, override_settings
from django.urls import set_script_prefix

from .catalogue_data import build_catalogue

BASE_DIR = Path(__file__).resolve().parent.parent
APPLICATION = ["catalogue", "cooperations"]
PREFIX = "/catalogue"


@pytest.fixture
def catalogue(db):
    return build_catalogue()


def public_pages(catalogue) -> list[str]:
    """One address of each public page kind."""
    record = catalogue.reciprocity
    return [
        "/",
        "/cooperations/",
        "/cooperations/?q=mobilite&tri=recent",
        record.get_absolute_url(),
        catalogue.brest.get_absolute_url(),  # a métropole, with its network
        catalogue.iroise.get_absolute_url(),
        catalogue.finistere.get_absolute_url(),
        catalogue.bretagne.get_absolute_url(),
        "/thematiques/mobilites-transports/",
        "/facteurs/",
        "/facteurs/gouvernance/",
        "/plus-values/",
        "/plus-values/echelles/",
        "/statistiques/",
        f"/comparer/?c={catalogue.reciprocity.slug}&c={catalogue.pole.slug}",
        "/mon-territoire/",
        "/api/",
        "/accessibilite/",
        "/mentions-legales/",
        "/donnees-personnelles/",
        "/plan-du-site/",
        "/cooperations/nexiste-pas/",  # the 404 page
    ]


class Addresses(HTMLParser):
    """Every address a page points to: links, forms, images, scripts, stylesheets."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action", "data-href") and value:
                self.found.append(value)


def addresses(html: str) -> list[str]:
    parser = Addresses()
    parser.feed(html)
    return parser.found


def mounted_get(path: str, query: str = "", script_name: str = PREFIX) -> tuple[str, str]:
    """What a WSGI server does for a request that the reverse proxy passes on with the site's
    mount point as SCRIPT_NAME (Django's test client sets no script prefix)."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path, QUERY_STRING=query, SCRIPT_NAME=script_name, REQUEST_METHOD="GET"
    )
    status = []
    # As Django's test client does: closing "old" connections at the request's edges would
    # close the test's own transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body = WSGIHandler()(environ, lambda code, headers: status.append(code))
        return status[0], b"".join(body).decode()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        set_script_prefix("/")


def test_every_public_page_kind_keeps_the_script_prefix(catalogue, settings):
    """Mounted under /catalogue/ by the reverse proxy: every address of the site on every page
    starts with it — the rows, the territories of a record, the network, the static files."""
    settings.ALLOWED_HOSTS = ["testserver"]
    checked = 0
    for page in public_pages(catalogue):
        path, _, query = page.partition("?")
        status, html = mounted_get(path, query)
        assert status.startswith(("200", "404")), (page, status)
        local = [a for a in addresses(html) if a.startswith("/") and not a.startswith("//")]
        assert local, page
        wrong = [a for a in local if not a.startswith(PREFIX + "/")]
        assert wrong == [], page
        checked += len(local)
        # The absolute permalinks too.
        for absolute in re.findall(r'"(https?://testserver[^"]*)"', html):
            assert absolute.startswith(f"http://testserver{PREFIX}/"), (page, absolute)
    # A list page alone links each of its rows: this is not a handful of addresses.
    assert checked > 500


def test_the_same_process_serves_both_prefixes(catalogue):
    """The address caches are keyed by the prefix: one process behind two mount points."""
    record = catalogue.reciprocity.get_absolute_url()
    with_prefix = mounted_get("/cooperations/")[1]
    without = mounted_get("/cooperations/", script_name="")[1]
    assert f'href="{PREFIX}{record}"' in with_prefix
    assert f'href="{record}"' in without
    assert f'href="{PREFIX}{record}"' not in without


@pytest.fixture
def cached_pages(settings):
    settings.PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def overriding_templates(folder: Path) -> list[dict]:
    """The project's template settings with `folder` searched first by the Jinja2 engine."""
    engines = []
    for engine in settings.TEMPLATES:
        engine = {**engine, "DIRS": list(engine.get("DIRS", []))}
        if engine["BACKEND"].endswith("Jinja2"):
            engine["DIRS"].insert(0, folder)
        engines.append(engine)
    return engines


def test_a_changed_row_template_shows_at_the_next_request_to_visitors_and_staff(
    catalogue, cached_pages, tmp_path, admin_user
):
    visitor, staff = Client(), Client()
    staff.force_login(admin_user)
    pages = [
        "/cooperations/",
        catalogue.brest.get_absolute_url(),
        "/thematiques/mobilites-transports/",
    ]
    for page in pages:
        for client in (visitor, staff):
            assert "cat-row-essai" not in client.get(page).content.decode()
    # What a designer does: change the result row's template, nothing else.
    row = BASE_DIR / "templates" / "jinja2" / "includes" / "result_row.html"
    (tmp_path / "includes").mkdir()
    changed = row.read_text().replace("<li", '<li data-essai="cat-row-essai"', 1)
    assert changed != row.read_text()
    (tmp_path / "includes" / "result_row.html").write_text(changed)
    with override_settings(TEMPLATES=overriding_templates(tmp_path)):
        for page in pages:
            for client in (visitor, staff):
                assert "cat-row-essai" in client.get(page).content.decode(), page


def test_a_changed_record_template_shows_to_visitors_at_the_next_request(
    catalogue, cached_pages, tmp_path
):
    visitor = Client()
    url = catalogue.reciprocity.get_absolute_url()
    first = visitor.get(url).content.decode()
    assert "fiche-essai" not in first
    detail = BASE_DIR / "templates" / "jinja2" / "cooperations" / "detail.html"
    (tmp_path / "cooperations").mkdir()
    shutil.copy(detail, tmp_path / "cooperations" / "detail.html")
    changed = detail.read_text().replace("<h1", '<h1 data-essai="fiche-essai"', 1)
    (tmp_path / "cooperations" / "detail.html").write_text(changed)
    with override_settings(TEMPLATES=overriding_templates(tmp_path)):
        assert 'data-essai="fiche-essai"' in visitor.get(url).content.decode()


# --- no markup in Python ----------------------------------------------------------------------

HTML_ELEMENTS = (
    "a|abbr|article|aside|br|button|caption|code|dd|details|div|dl|dt|em|fieldset|figure|"
    "footer|form|h[1-6]|header|hr|i|img|input|label|legend|li|main|nav|ol|option|p|section|"
    "select|small|span|strong|summary|svg|table|tbody|td|textarea|th|thead|tr|ul"
)
TAG = re.compile(rf"</?(?:{HTML_ELEMENTS})(?:\s[^<>]*)?/?>")


def application_modules() -> list[Path]:
    return [
        path
        for package in APPLICATION
        for path in sorted((BASE_DIR / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def string_literals(path: Path):
    """The string constants of a module that are not docstrings (a docstring may name a tag)."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_no_html_is_written_in_the_applications_python():
    found = [
        f"{path.relative_to(BASE_DIR)}:{line}: {text[:60]!r}"
        for path in application_modules()
        for line, text in string_literals(path)
        # A regular expression's named groups are not tags.
        if TAG.search(re.sub(r"\(\?P<\w+>", "", text))
    ]
    assert found == []


def test_the_tag_pattern_sees_markup_in_a_string():
    # The test above would pass on a pattern that sees nothing.
    assert TAG.search('f"<a href=\\"{url}\\">{name}</a>"')
    assert TAG.search("<br>")
    assert not TAG.search("cooperations-<scope>-YYYY-MM-DD.<ext>")
    assert not TAG.search('<c r="A1"/>')  # SpreadsheetML, not HTML


def test_nothing_marks_assembled_markup_safe():
    """Only the template engine escapes: no `mark_safe`, `format_html` or `Markup` on strings
    put together in Python, except the one place that passes django-dsfr's own rendered tags
    on (catalogue/templating.py, which says why)."""
    pattern = re.compile(r"\b(mark_safe|format_html|format_html_join|SafeString|Markup)\(")
    found = []
    for path in application_modules():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and "django-dsfr's template" not in line:
                found.append(f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}")
    assert found == []


def test_nothing_is_stored_for_presentation():
    """No model holds rendered markup: no text field named for HTML or a page."""
    from django.apps import apps

    fields = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_app_config("cooperations").get_models()
        for field in model._meta.get_fields()
        if re.search(r"html|rendered|markup", field.name)
    ]
    assert fields == []


# --- imports ----------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BASE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_at_load(path: Path, name: str, modules: set[str]) -> set[str]:
    """The application's modules that `path` imports when it is loaded: module-level imports
    only (an import inside a function runs later and makes no cycle at load time)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        statements = [node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue  # read by type checkers only
        if isinstance(node, ast.If | ast.Try):
            statements = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
        for statement in statements:
            if isinstance(statement, ast.Import):
                found.update(alias.name for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                if statement.level:
                    base = (
                        package.rsplit(".", statement.level - 1)[0]
                        if statement.level > 1
                        else package
                    )
                    target = f"{base}.{statement.module}" if statement.module else base
                else:
                    target = statement.module or ""
                # `from package import module` needs the module; the package only for a name
                # it defines itself.
                for alias in statement.names:
                    module = f"{target}.{alias.name}"
                    found.add(module if module in modules else target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in application_modules()}
    graph = {}
    for name, path in modules.items():
        graph[name] = {
            target for target in imports_at_load(path, name, set(modules)) if target in modules
        }
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_applications_modules_import_without_a_cycle():
    graph = import_graph()
    assert "cooperations.views" in graph and graph["cooperations.views"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_url_configuration_imports_the_views():
    """The API, the feeds and the statistics take their selection from the `listing` package,
    not through a list view: no module imports `cooperations.views`, at load or inside a
    function, but the URL configuration."""
    importers = []
    for path in application_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [alias.name for alias in node.names]
                # `from .views import …`, `from . import views` and their absolute forms.
                module = node.module or ""
                if module.removeprefix("cooperations.") == "views" or (
                    module in ("", "cooperations") and "views" in names
                ):
                    importers.append(module_name(path))
    assert sorted(set(importers)) == ["cooperations.urls"]
