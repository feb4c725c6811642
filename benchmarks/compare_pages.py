"""The visible text of a fixed set of public pages at two revisions, on the same demo data.

    python -m benchmarks.compare_pages OLD_REV [NEW_REV] [--engines sqlite,postgres]

Why: issue 22 replaced the catalogue's own rendering engine (markup in Python, list rows and
record pages stored) by templates, and asks that pages show the same content as before for the
same data. Each revision is checked out in a temporary `git worktree` (with the shared
virtualenv: the interpreter running this script) and gets a database of its own (a temporary
SQLite file, or the PostgreSQL database `catalogue_sidebyside_cmp`, dropped and created for
each revision). Both load the demo data of OLD_REV (the demo file grew later, with a legal form
the old schema does not know), then the pages are fetched through Django's test client and
reduced to their visible text: tags, scripts and styles dropped, one line per block element,
whitespace collapsed, timestamps masked; the page's main element (its own content) apart from
the layout around it. benchmarks/PAGES.md lists, per engine and page, « identical » or a
unified diff of the lines (capped).
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "benchmarks" / "PAGES.md"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DATABASE = "catalogue_sidebyside_cmp"
DEMO_FILE = "fixtures/demo-cooperations.csv"
DIFF_LINES = 60
GIT = shutil.which("git") or "/usr/bin/git"

# Run inside each worktree (its own code, its own settings): builds the database, chooses the
# pages from the data with queries both revisions support, and prints {name: [url, status, body]}.
RENDER = r"""
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import Client
from cooperations.models import Cooperation, Participation, Territory, Theme

quiet = io.StringIO()
call_command("migrate", interactive=False, verbosity=0, stdout=quiet)
call_command("setup_catalogue", stdout=quiet)
published = Q(cooperations__is_published=True)
metropole = (
    Territory.objects.metropoles().annotate(n=Count("cooperations", filter=published))
    .order_by("-n", "code").first()
)
partner = (
    Territory.objects.filter(
        participations__role=Participation.Role.PARTNER,
        participations__cooperation__is_published=True,
    ).exclude(kind__in=Territory.METROPOLE_KINDS)
    .annotate(n=Count("participations")).order_by("-n", "code").first()
)
departement = metropole.departement
region = departement.region
theme = Theme.objects.order_by("position", "pk").first()
record = Cooperation.objects.published().order_by("slug").first()
pages = {
    "home": "/",
    "list": "/cooperations/",
    "list_filtered": f"/cooperations/?thematique={theme.slug}&statut=active",
    "list_searched": "/cooperations/?q=eau",
    "list_sorted": "/cooperations/?tri=ancien",
    "list_page_2": "/cooperations/?page=2",
    "record": record.get_absolute_url(),
    "metropole": metropole.get_absolute_url(),
    "partner_territory": partner.get_absolute_url(),
    "departement": departement.get_absolute_url(),
    "region": region.get_absolute_url(),
    "theme": theme.get_absolute_url(),
    "factors": "/facteurs/",
    "plus_values": "/plus-values/",
    "statistics": "/statistiques/",
    "feed": "/cooperations/flux/",
}
client = Client()
out = {}
for name, url in pages.items():
    response = client.get(url)
    out[name] = [url, response.status_code, response.content.decode("utf-8", "replace")]
json.dump(out, sys.stdout)
"""

BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "entry", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "legend", "li", "main", "nav", "ol",
    "option", "p", "pre", "section", "summary", "table", "td", "th", "title", "tr", "ul",
    "button", "label", "select", "updated", "published", "id", "name", "author", "link",
    "subtitle", "content",
}  # fmt: skip
HIDDEN = {"script", "style", "template", "noscript"}
# Moments of the load (record dates of the feed, « mis à jour » times) differ between two runs.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


class _Text(HTMLParser):
    """Text lines inside and outside the page's main element, kept apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: dict[str, list[str]] = {"main": [""], "layout": [""]}
        self.hidden = 0
        self.main = 0

    @property
    def lines(self) -> list[str]:
        return self.parts["main" if self.main else "layout"]

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN:
            self.hidden += 1
            return
        if tag == "main":
            self.main += 1
        if tag in BLOCKS or tag == "main":
            self.lines.append("")

    def handle_endtag(self, tag):
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag in BLOCKS or tag == "main":
            self.lines.append("")
        if tag == "main":
            self.main = max(0, self.main - 1)

    def handle_data(self, data):
        if not self.hidden:
            self.lines[-1] += data


def _clean(lines: list[str]) -> list[str]:
    lines = (TIMESTAMP.sub("<date>", " ".join(line.split())) for line in lines)
    return [line for line in lines if line]


def page_text(html: str) -> tuple[list[str], list[str]]:
    """The page's text as a reader sees it, one line per block, whitespace collapsed: inside
    the main element (the page's own content; everything when there is none) and around it
    (the layout: header, navigation, footer)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    main, layout = _clean(parser.parts["main"]), _clean(parser.parts["layout"])
    return (main, layout) if main else (layout, [])


def visible_text(html: str) -> list[str]:
    main, layout = page_text(html)
    return main + layout


def feed_text(xml: str) -> list[str]:
    """An Atom feed's text: its summaries are escaped markup, read once more as a page."""
    return [part for line in visible_text(xml) for part in visible_text(line) or [line]]


def _recreate_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def _drop_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def render(revision: str, engine: str, demo: bytes, work: Path, postgres_url: str) -> dict:
    """The pages of `revision` on `engine`, from a worktree of its own under `work`."""
    tree = work / f"tree-{revision[:12]}"
    if not tree.exists():
        subprocess.run(
            [GIT, "worktree", "add", "--detach", str(tree), revision],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    (tree / DEMO_FILE).write_bytes(demo)
    if engine == "postgres":
        _recreate_postgres(postgres_url)
        url = postgres_url.rsplit("/", 1)[0] + "/" + DATABASE
    else:
        database = work / f"{revision[:12]}.sqlite3"
        database.unlink(missing_ok=True)
        url = f"sqlite:///{database}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PUBLIC_CACHE_SECONDS", "REDIS_URL"}
    }
    env.update(
        {
            "DATABASE_URL": url,
            "PYTHONPATH": str(tree),
            "DJANGO_SETTINGS_MODULE": "catalogue.settings",
            # DEBUG on: static files without collectstatic; the pages' text is the same.
            "DEBUG": "1",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "ERROR",
            "OPEN_DATA_ROOT": str(work / f"open-data-{revision[:12]}"),
        }
    )
    completed = subprocess.run(
        [sys.executable, "-c", RENDER],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if engine == "postgres":
        _drop_postgres(postgres_url)
    if completed.returncode:
        raise RuntimeError(f"{revision} on {engine} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout)


def _diff(before: list[str], after: list[str]) -> list[str]:
    return list(difflib.unified_diff(before, after, "before", "after", n=1, lineterm=""))


def compare(old: dict, new: dict) -> list[dict]:
    """Per page: its URLs and statuses, the diff of the text of its main element and the
    diff of the text around it (empty: identical)."""
    rows = []
    for name in new:
        old_url, old_status, old_body = old.get(name, ["–", 0, ""])
        new_url, new_status, new_body = new[name]
        if name == "feed":
            before, after = (feed_text(old_body), []), (feed_text(new_body), [])
        else:
            before, after = page_text(old_body), page_text(new_body)
        rows.append(
            {
                "name": name,
                "urls": (old_url, new_url),
                "statuses": (old_status, new_status),
                "diff": _diff(before[0], after[0]),
                "layout": _diff(before[1], after[1]),
            }
        )
    return rows


def _changed(diff: list[str]) -> int:
    return sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))


def _capped(diff: list[str]) -> list[str]:
    shown = diff[:DIFF_LINES]
    if len(diff) > DIFF_LINES:
        shown.append(f"… {len(diff) - DIFF_LINES} more lines")
    return ["```diff", *shown, "```", ""]


def _revision_line(revision: str) -> str:
    completed = subprocess.run(
        [GIT, "log", "-1", "--format=%h (%ad) %s", "--date=short", revision],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    subject = completed.stdout.strip()
    return subject if len(subject) <= 140 else subject[:139] + "…"


def report(old_rev: str, new_rev: str, results: dict[str, list[dict]]) -> str:
    lines = [
        "# Pages before and after the template engine",
        "",
        "Generated by `python -m benchmarks.compare_pages "
        f"{old_rev} {new_rev}`: do not edit by hand. docs/benchmark.md (« Pages before and "
        "after ») says which differences are intended.",
        "",
        f"- Before: {_revision_line(old_rev)}",
        f"- After: {_revision_line(new_rev)}",
        f"- Data: the demo file of the first revision ({DEMO_FILE}) and the official "
        "territories, loaded by `setup_catalogue` at each revision.",
        "- Text: what a reader sees, one line per block element, whitespace collapsed, "
        "scripts and styles dropped, timestamps masked; the feed's escaped summaries read "
        f"as text too. Diffs: unified, one line of context, at most {DIFF_LINES} lines.",
        "",
    ]
    for engine, rows in results.items():
        same = sum(1 for row in rows if not row["diff"])
        lines += [
            f"## {engine}: the content of {same} of {len(rows)} pages identical",
            "",
            "Content: the text of the main element (the whole feed). Layout: the text around it "
            "(header, navigation, footer), grouped below by identical difference.",
            "",
            "| Page | URL | Status before / after | Content | Layout |",
            "|---|---|---|---|---|",
        ]
        layouts: dict[tuple, list[str]] = {}
        for row in rows:
            url = row["urls"][1] if row["urls"][0] == row["urls"][1] else " → ".join(row["urls"])
            text = "identical" if not row["diff"] else f"{_changed(row['diff'])} lines differ"
            if row["layout"]:
                layouts.setdefault(tuple(row["layout"]), []).append(row["name"])
                group = list(layouts).index(tuple(row["layout"])) + 1
                layout = f"differs (layout {group})"
            else:
                layout = "identical"
            lines.append(
                f"| {row['name']} | `{url}` | {row['statuses'][0]} / {row['statuses'][1]} "
                f"| {text} | {layout} |"
            )
        lines.append("")
        for group, (diff, names) in enumerate(layouts.items(), 1):
            lines += [f"### {engine}, layout {group}: {', '.join(names)}", "", *_capped(diff)]
        for row in rows:
            if row["diff"]:
                lines += [f"### {engine}, {row['name']}", "", *_capped(list(row["diff"]))]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_rev")
    parser.add_argument("new_rev", nargs="?", default="HEAD")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)

    def resolve(revision):
        return subprocess.run(
            [GIT, "rev-parse", "--short", revision],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    old_rev, new_rev = resolve(args.old_rev), resolve(args.new_rev)
    demo = subprocess.run(
        [GIT, "show", f"{old_rev}:{DEMO_FILE}"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    results = {}
    with tempfile.TemporaryDirectory(prefix="compare-pages-") as folder:
        work = Path(folder)
        try:
            for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
                name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[engine]
                print(f"{name}: {old_rev}…", file=sys.stderr)
                old = render(old_rev, engine, demo, work, args.postgres_url)
                print(f"{name}: {new_rev}…", file=sys.stderr)
                new = render(new_rev, engine, demo, work, args.postgres_url)
                results[name] = compare(old, new)
        finally:
            for tree in work.glob("tree-*"):
                subprocess.run(
                    [GIT, "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
                )
    args.report.write_text(report(old_rev, new_rev, results))
    print(f"{args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
