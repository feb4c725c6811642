"""Atom feeds of the public lists: same records as the list, newest changes first, valid Atom."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from cooperations.derived import refresh_derived_text
from cooperations.models import Cooperation, Participation, Theme
from cooperations.publishing.feeds import FEED_SIZE

from .catalogue_data import build_catalogue

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def catalogue(db):
    return build_catalogue()


@pytest.fixture
def crowded(catalogue):
    """More Brest mobility records than a feed holds, others beside them, and distinct update
    times in an order that is neither the names' nor the ids'; in bulk, few queries."""
    mobility = Theme.objects.get(slug="mobilites-transports")
    tourism = Theme.objects.get(slug="tourisme-loisirs")
    lines = Cooperation.objects.bulk_create(
        Cooperation(name=f"Ligne {n:02d}", slug=f"ligne-{n:02d}", is_published=True)
        for n in range(FEED_SIZE + 5)
    )
    stops = Cooperation.objects.bulk_create(
        Cooperation(name=f"Escale {n}", slug=f"escale-{n}", is_published=True) for n in range(8)
    )
    role = Participation.Role

    def taking_part(records, territory, role):
        return [Participation(cooperation=c, territory=territory, role=role) for c in records]

    Participation.objects.bulk_create(
        taking_part(lines, catalogue.brest, role.METROPOLE)
        + taking_part(lines, catalogue.iroise, role.PARTNER)
        + taking_part(stops, catalogue.nantes, role.METROPOLE)
    )
    through = Cooperation.themes.through
    through.objects.bulk_create(
        [through(cooperation=c, theme=mobility) for c in lines]
        + [through(cooperation=c, theme=tourism) for c in stops]
    )
    refresh_derived_text()
    start = timezone.now() - datetime.timedelta(days=30)
    pks = Cooperation.objects.order_by("pk").values_list("pk", flat=True)
    # update() leaves updated_at as given (no auto_now).
    Cooperation.objects.update(
        updated_at=Case(
            *[
                When(pk=pk, then=Value(start + datetime.timedelta(minutes=(rank * 37) % 101)))
                for rank, pk in enumerate(pks)
            ],
            output_field=DateTimeField(),
        )
    )
    return catalogue


def read_feed(client, url, **params) -> ET.Element:
    response = client.get(url, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return parse(response.content)


def parse(content: bytes) -> ET.Element:
    # The catalogue's own output, parsed in a test: no external entity to fear.
    return ET.fromstring(content)  # noqa: S314


def entry_links(feed: ET.Element) -> list[str]:
    return [entry.find(f"{ATOM}link").get("href") for entry in feed.iter(f"{ATOM}entry")]


@pytest.mark.parametrize(
    ("list_url", "params"),
    [
        ("/cooperations/", {"metropole": "242900314", "thematique": "mobilites-transports"}),
        ("/cooperations/", {}),
        ("/cooperations/", {"q": "escale"}),
        ("/thematiques/tourisme-loisirs/", {}),
        ("/facteurs/gouvernance/", {}),
        ("/plus-values/echelles/", {}),
        ("/territoires/epci/242900074/", {}),
        ("/territoires/departement/29/", {"statut": "active"}),
    ],
)
def test_feed_holds_the_lists_newest_records_in_order(client, crowded, list_url, params):
    response = client.get(list_url, params)
    assert response.status_code == 200
    # The page's rows come rendered: the records behind them.
    shown = [row.pk for row in response.context["paginator"].object_list]
    assert shown
    listed = list(Cooperation.objects.filter(pk__in=shown))
    newest = sorted(listed, key=lambda c: (c.updated_at, c.pk), reverse=True)[:FEED_SIZE]
    expected = [f"http://testserver{c.get_absolute_url()}" for c in newest]

    assert entry_links(read_feed(client, list_url + "flux/", **params)) == expected


def test_feed_of_a_long_list_stops_at_its_size(client, crowded):
    feed = read_feed(client, "/cooperations/flux/", metropole="242900314")
    assert len(entry_links(feed)) == FEED_SIZE


def test_feed_is_valid_atom_with_absolute_links_and_dates(client, catalogue):
    feed = read_feed(
        client, "/cooperations/flux/", metropole="242900314", thematique="mobilites-transports"
    )
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}title").text == (
        "Toutes les coopérations (Métropole : Brest Métropole ; Thématique : Mobilités et "
        "transports) — Catalogue des coopérations interterritoriales"
    )
    for name in ("id", "updated", "subtitle"):
        assert feed.find(f"{ATOM}{name}").text
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links["self"] == (
        "http://testserver/cooperations/flux/?metropole=242900314&thematique=mobilites-transports"
    )
    assert links["alternate"] == (
        "http://testserver/cooperations/?metropole=242900314&thematique=mobilites-transports"
    )
    entries = list(feed.iter(f"{ATOM}entry"))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}title").text == "Contrat de réciprocité Brest – Iroise"
    assert entry.find(f"{ATOM}link").get("href") == "http://testserver/cooperations/brest-iroise/"
    assert entry.find(f"{ATOM}id").text.startswith("tag:testserver,")
    updated = datetime.datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
    assert updated == catalogue.reciprocity.updated_at
    assert entry.find(f"{ATOM}published").text
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert "Covoiturage et circuits courts" in summary.text
    assert "Métropoles : Brest Métropole.<br>Partenaires : CC du Pays d&#39;Iroise." in (
        summary.text
    )
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["Mobilités et transports"]


def test_a_changed_record_comes_back_first_as_a_new_entry(client, catalogue):
    def entries():
        feed = read_feed(client, "/cooperations/flux/")
        return [
            (e.find(f"{ATOM}link").get("href"), e.find(f"{ATOM}id").text)
            for e in feed.iter(f"{ATOM}entry")
        ]

    before = entries()
    assert before[0][0].endswith("/covoiturage-rouennais/")
    catalogue.pole.summary = "Nouveau résumé."
    catalogue.pole.save()
    after = entries()
    assert after[0][0] == "http://testserver/cooperations/pole-loire-bretagne/"
    old_id = dict(before)[after[0][0]]
    assert after[0][1] != old_id
    assert {link for link, _ in after} == {link for link, _ in before}


@pytest.mark.parametrize(
    "bad",
    [{"metropole": "inconnue"}, {"departement": "\x00"}, {"annee_min": "deux-mille"}],
)
def test_bad_filter_value_is_ignored_as_on_the_list(client, catalogue, bad):
    good = {"thematique": "mobilites-transports"}
    expected = entry_links(read_feed(client, "/cooperations/flux/", **good))
    assert len(expected) == 2
    assert entry_links(read_feed(client, "/cooperations/flux/", **good, **bad)) == expected


def test_unpublished_records_never_reach_a_feed(client, catalogue):
    # The draft matches every filter and search below.
    for url in ("/cooperations/flux/", "/territoires/epci/242900314/flux/"):
        response = client.get(url, {"q": "mobilite", "thematique": "mobilites-transports"})
        assert response.status_code == 200
        assert entry_links(parse(response.content))
        for trace in (b"/cooperations/brouillon/", b"Brouillon mobilit", b"jamais publi"):
            assert trace not in response.content


def test_summary_markup_is_text_and_control_characters_do_not_break_the_feed(client, catalogue):
    Cooperation.objects.filter(pk=catalogue.carpool.pk).update(
        summary="Lignes <b>gratuites</b>\x0b & navettes", name="Covoiturage\x1f rouennais"
    )
    feed = read_feed(client, "/cooperations/flux/", statut="en-projet")
    entry = next(feed.iter(f"{ATOM}entry"))
    assert entry.find(f"{ATOM}title").text == "Covoiturage  rouennais"
    # type="html": the reader unescapes once and shows the tags as text.
    assert entry.find(f"{ATOM}summary").text.startswith(
        "Lignes &lt;b&gt;gratuites&lt;/b&gt;  &amp; navettes"
    )


@pytest.mark.parametrize(
    "url",
    [
        "/thematiques/inconnue/flux/",
        "/facteurs/inconnu/flux/",
        "/plus-values/inconnue/flux/",
        "/territoires/epci/999999999/flux/",
        "/territoires/autre/999999/flux/",
    ],
)
def test_feed_of_an_unknown_page_is_404(client, db, url):
    assert client.get(url).status_code == 404


def test_each_list_links_to_its_feed_with_its_valid_filters(client, catalogue):
    response = client.get(
        "/cooperations/",
        {"metropole": "242900314", "forme": "inconnue", "tri": "recent", "page": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Flux Atom de cette sélection" '
        'href="/cooperations/flux/?metropole=242900314">'
    ) in html
    assert 'href="/cooperations/flux/?metropole=242900314">Suivre cette sélection</a>' in html

    for page in ("/thematiques/tourisme-loisirs/", catalogue.petr.get_absolute_url()):
        response = client.get(page)
        assert response.status_code == 200
        feed = f'href="{page}flux/">Suivre cette sélection</a>'
        assert feed in response.content.decode()
        assert client.get(f"{page}flux/").status_code == 200


def feed_subtitle(client, **params) -> tuple[str, int]:
    feed = read_feed(client, "/cooperations/flux/", **params)
    return feed.find(f"{ATOM}subtitle").text, len(entry_links(feed))


def test_subtitle_counts_the_entries_of_a_short_selection(client, catalogue):
    subtitle, entries = feed_subtitle(client, metropole="242900314")
    assert entries == 2
    assert subtitle == (
        "Les 2 coopérations publiées de cette sélection, les plus récemment ajoutées ou "
        "modifiées en premier."
    )


def test_subtitle_of_one_entry_is_singular(client, catalogue):
    subtitle, entries = feed_subtitle(
        client, metropole="242900314", thematique="mobilites-transports"
    )
    assert entries == 1
    assert subtitle == "La seule coopération publiée de cette sélection."


def test_subtitle_of_an_empty_selection_says_so(client, catalogue):
    subtitle, entries = feed_subtitle(client, q="introuvablissime")
    assert entries == 0
    assert subtitle == "Aucune coopération publiée dans cette sélection pour le moment."


def test_subtitle_of_a_cut_feed_says_how_many_it_leaves_out(client, crowded):
    subtitle, entries = feed_subtitle(client, metropole="242900314")
    total = Cooperation.objects.published().filter(participations__territory__code="242900314")
    assert entries == FEED_SIZE < total.distinct().count()
    assert subtitle == (
        f"Les {FEED_SIZE} coopérations publiées de cette sélection (sur "
        f"{total.distinct().count()}) les plus récemment ajoutées ou modifiées."
    )


def test_a_visitors_feed_reads_its_entries_once_per_catalogue_version(
    client, admin_client, catalogue
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = ET.tostring(read_feed(client, "/cooperations/flux/"))
    with CaptureQueriesContext(connection) as again:
        assert ET.tostring(read_feed(client, "/cooperations/flux/")) == first
    assert not [q for q in again.captured_queries if "cooperations_participation" in q["sql"]]
    # A write that keeps no history leaves the version, hence the kept entries, as they were:
    # staff read the records as they are.
    Cooperation.objects.filter(pk=catalogue.pole.pk).update(name="Pôle renommé")
    titles = [e.find(f"{ATOM}title").text for e in read_feed(client, "/cooperations/flux/")
              .iter(f"{ATOM}entry")]  # fmt: skip
    assert "Pôle renommé" not in titles
    staff = read_feed(admin_client, "/cooperations/flux/")
    assert "Pôle renommé" in [e.find(f"{ATOM}title").text for e in staff.iter(f"{ATOM}entry")]
