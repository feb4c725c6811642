"""The facet index answers exactly what the database answers.

For a few hundred random filter combinations on a generated catalogue (the synthetic inventory,
imported as staff import it), every list page served through the index must show the same rows
in the same order, the same total and the same facet counts as the plain querysets: the
FilterSet applied to the page's base queryset, ordered by the page's ORDER BY, and for each
facet value the FilterSet with that value chosen. Also right after an admin edit and an import,
which must show at the next request.

FACET_INDEX_COMBINATIONS raises the number of combinations (default 200).
"""

import datetime
import os
import random
import threading

import numpy as np
import pytest
from django.test import RequestFactory

from cooperations import facet_index, listing
from cooperations.caching import catalogue_version, changed_cooperations
from cooperations.derived import refresh_derived_text
from cooperations.filters import CooperationFilter
from cooperations.importing import run_import
from cooperations.inventory import Sheet
from cooperations.models import (
    Cooperation,
    LegalForm,
    Participation,
    ReferenceEdit,
    SuccessFactor,
    Territory,
    Theme,
)
from cooperations.synthetic import generate_rows

from .conftest import make_cooperation, make_metropole
from .test_admin import change_form_data, make_staff

COMBINATIONS = int(os.environ.get("FACET_INDEX_COMBINATIONS", "200"))
SORTS = ["", "nom", "recent", "ancien", "pertinence"]
# Options checked per facet and combination (each costs a query on the reference side); the
# selected option and options the index counts as empty are always among them when present.
OPTIONS_PER_FACET = 3


def import_synthetic(rows: int, seed: int) -> None:
    headers, cells = generate_rows(rows, seed=seed)
    plan, _outcome = run_import(
        Sheet(header=headers, rows=list(enumerate(cells, start=2))), commit=True
    )
    assert plan.is_valid, plan.summary()


@pytest.fixture
def generated(official_territories, db):
    import_synthetic(160, seed=11)
    # Undated records and names that only a French collation orders well: the orders' edges.
    Cooperation.objects.filter(slug__endswith="7").update(signed_on=None, signed_on_precision="")
    metropole = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    for name in [
        "Éco-quartiers partagés",
        "école des territoires",
        "Zèbre",
        "eau commune",
        "Œuvre",
    ]:
        make_cooperation(name, metropoles=[metropole], is_published=True)
    refresh_derived_text()


def catalogue_values() -> dict[str, list[str]]:
    """Valid URL values of each filter, taken from the generated data."""
    participations = Participation.objects.filter(cooperation__is_published=True)
    territory_codes = set(participations.values_list("territory__code", flat=True))
    departements = set(participations.values_list("territory__departement__code", flat=True))
    regions = set(participations.values_list("territory__region__code", flat=True))
    return {
        "metropole": sorted(
            Territory.objects.metropoles()
            .filter(code__in=territory_codes)
            .values_list("code", flat=True)
        ),
        "thematique": list(Theme.objects.values_list("slug", flat=True)),
        "facteur": list(SuccessFactor.objects.values_list("slug", flat=True)),
        "forme": list(LegalForm.objects.values_list("slug", flat=True)),
        "statut": [value for value, _label in Cooperation.Status.choices] + ["inconnu"],
        "nature_partenaire": ["CC", "CA", "COMMUNE", "DEPARTEMENT", "PETR"],
        "departement": sorted(code for code in departements if code),
        "region": sorted(code for code in regions if code),
        "plus_value": ["echelles", "filieres", "mutualisation"],
        "q": ["cooperation", "brest", "fictif", "comite", "eco", "zebre", "nantes metropole"],
        "annee_min": ["2010", "2015", "2020"],
        "annee_max": ["2012", "2018", "2024"],
    }


def list_pages() -> list[tuple[str, type, dict]]:
    """(path, view class, URL arguments) of every kind of list page."""
    theme = Theme.objects.order_by("position").first()
    factor = SuccessFactor.objects.order_by("position").first()
    metropole = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    partner = (
        Participation.objects.filter(
            role=Participation.Role.PARTNER, cooperation__is_published=True
        )
        .order_by("territory__code")
        .first()
        .territory
    )
    pages = [
        ("/cooperations/", listing.Scope, {}),
        (f"/thematiques/{theme.slug}/", listing.ThemeScope, {"slug": theme.slug}),
        (f"/facteurs/{factor.slug}/", listing.FactorScope, {"slug": factor.slug}),
        ("/plus-values/filieres/", listing.PlusValueScope, {"code": "filieres"}),
    ]
    for territory in (metropole, partner, metropole.departement, metropole.region):
        segment = territory.get_absolute_url().strip("/").split("/")[1]
        pages.append(
            (
                territory.get_absolute_url(),
                listing.TerritoryScope,
                {"segment": segment, "code": territory.code},
            )
        )
    return pages


def random_params(rng: random.Random, values: dict) -> dict:
    params = {}
    for name in rng.sample(sorted(values), k=rng.choice([0, 1, 1, 2, 2, 3, 4])):
        params[name] = rng.choice(values[name])
    if rng.random() < 0.1:
        params["metropole"] = "pas-un-code"  # ignored with a notice, on both sides
    if sort := rng.choice(SORTS):
        params["tri"] = sort
    if rng.random() < 0.3:
        params["page"] = str(rng.randint(2, 4))
    return params


def reference(path: str, scope_class, kwargs: dict, params: dict):
    """The plain-queryset answer: (filterset, base, ordered ids)."""
    request = RequestFactory().get(path, params)
    scope = scope_class.from_url(**kwargs)
    base = scope.queryset()
    filterset = CooperationFilter(request.GET, queryset=base, request=request)
    searching = "q" in filterset.valid_data
    sort = listing.selection.chosen_sort(params.get("tri", ""), searching, [])
    ordered = filterset.qs.order_by(*scope.ordering(), *listing.ordering(sort))
    return filterset, base, list(ordered.values_list("pk", flat=True))


def check_page(client, rng, path, view_class, kwargs, params) -> None:
    response = client.get(path, params)
    assert response.status_code == 200, (path, params)
    context = response.context
    filterset, base, ids = reference(path, view_class, kwargs, params)

    page = context["page_obj"]
    start = (page.number - 1) * listing.PAGE_SIZE
    shown = [c.pk for c in context["cooperations"]]
    assert context["paginator"].count == len(ids), (path, params)
    assert shown == ids[start : start + listing.PAGE_SIZE], (path, params)

    for facet in context["facets"]:
        options = facet.options
        chosen = [o for o in options if o.selected or not o.count]
        chosen = chosen[:1] + rng.sample(options, k=min(OPTIONS_PER_FACET, len(options)))
        # The other valid filters, then this facet's own filter with the option's value.
        others = filterset.filter_queryset_except(base, facet.name)
        for option in chosen:
            value = cleaned(facet.name, option.value)
            expected = filterset.filters[facet.name].filter(others, value).count()
            assert option.count == expected, (path, params, facet.name, option.value)


_cleaned = {}


def cleaned(name: str, value: str):
    """The FilterSet's cleaned value of one URL value (a model instance for most facets)."""
    if (name, value) not in _cleaned:
        form = CooperationFilter({name: value}, queryset=Cooperation.objects.none()).form
        assert form.is_valid(), form.errors
        _cleaned[name, value] = form.cleaned_data[name]
    return _cleaned[name, value]


def check_combinations(client, seed: int, count: int) -> None:
    _cleaned.clear()  # model instances of this test's database only
    rng = random.Random(seed)
    values = catalogue_values()
    pages = list_pages()
    for _ in range(count):
        path, view_class, kwargs = rng.choice(pages)
        check_page(client, rng, path, view_class, kwargs, random_params(rng, values))


def test_index_answers_what_the_plain_querysets_answer(client, generated):
    check_combinations(client, seed=2018, count=COMBINATIONS)


def test_index_follows_an_admin_edit_at_the_next_request(client, generated):
    check_combinations(client, seed=1, count=5)  # the index is built now
    target = Cooperation.objects.filter(is_published=True).order_by("pk").first()
    editor = make_staff("Relecteurs", "editrice")  # unpublishes below
    client.force_login(editor)
    url = f"/admin/cooperations/cooperation/{target.pk}/change/"
    data = change_form_data(client.get(url))
    # Renamed to the front of the name order, re-dated, unpublished theme changed.
    data["name"] = "Aaa coopération renommée"
    data["signed_on"] = "03/04/2031"
    data["signed_on_precision"] = Cooperation.DatePrecision.DAY
    data["status"] = Cooperation.Status.ENDED
    data["themes"] = [str(Theme.objects.order_by("-position").first().pk)]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    client.logout()
    listed = client.get("/cooperations/", {"tri": "recent"}).context["cooperations"]
    assert listed[0].pk == target.pk
    assert client.get("/cooperations/").context["cooperations"][0].pk == target.pk
    check_combinations(client, seed=2, count=40)

    client.force_login(editor)
    data = change_form_data(client.get(url))
    data["state"] = "brouillon"
    assert client.post(url, data).status_code == 302
    client.logout()
    assert target.pk not in [c.pk for c in client.get("/cooperations/").context["cooperations"]]
    check_combinations(client, seed=3, count=40)


def test_index_follows_an_import_at_the_next_request(client, generated):
    before = client.get("/cooperations/").context["paginator"].count
    import_synthetic(40, seed=12)
    refresh_derived_text()
    after = client.get("/cooperations/").context["paginator"].count
    assert after == Cooperation.objects.filter(is_published=True).count() > before
    check_combinations(client, seed=4, count=60)


def related_reference(cooperation: Cooperation) -> list[int]:
    """The rule of related cooperations, counted in Python from the plain relations."""
    own_metropoles, own_partners = set(), set()
    for p in cooperation.participations.all():
        (own_metropoles if p.role == Participation.Role.METROPOLE else own_partners).add(
            p.territory_id
        )
    own_themes = {t.pk for t in cooperation.themes.all()}
    index = facet_index.current()
    scored = []
    for other in Cooperation.objects.published().exclude(pk=cooperation.pk).for_list():
        m = sum(
            1
            for p in other.participations.all()
            if p.role == Participation.Role.METROPOLE and p.territory_id in own_metropoles
        )
        p_ = sum(
            1
            for p in other.participations.all()
            if p.role != Participation.Role.METROPOLE and p.territory_id in own_partners
        )
        t = sum(1 for theme in other.themes.all() if theme.pk in own_themes)
        if m or p_ or t:
            scored.append((-m, -p_, -t, index.position_of[other.pk], other.pk))
    return [row[-1] for row in sorted(scored)[:6]]


def test_related_cooperations_follow_their_rule(client, generated):
    rng = random.Random(7)
    published = list(Cooperation.objects.published().order_by("pk"))
    for cooperation in rng.sample(published, k=15):
        response = client.get(cooperation.get_absolute_url())
        shown = [c.pk for c in response.context["related"]]
        assert shown == related_reference(cooperation), cooperation.slug


def test_rows_unpublished_behind_the_version_go_with_the_index(client, generated, settings):
    """A write that keeps no history (raw SQL) leaves the version as it was: like the facet
    counts, the rows read for that version show it until the index is FACET_INDEX_MAX_AGE
    old, when that is set, and never after."""
    first = client.get("/cooperations/").context["cooperations"][0]
    Cooperation.objects.filter(pk=first.pk).update(is_published=False)
    assert first.pk in [c.pk for c in client.get("/cooperations/").context["cooperations"]]
    settings.FACET_INDEX_MAX_AGE = 1e-9
    shown = [c.pk for c in client.get("/cooperations/").context["cooperations"]]
    assert first.pk not in shown
    assert len(shown) == 20


def test_index_states_its_size_and_build_time(generated):
    index = facet_index.current()
    stats = index.stats()
    assert stats["cooperations"] == Cooperation.objects.published().count()
    assert stats["bytes"] > 0 and stats["bitmaps"] > 10
    assert 0 < stats["build_seconds"] < 60


def test_years_filter_keeps_dated_rows_in_the_range(generated):
    index = facet_index.current()
    kept = index.years_between(2015, 2018)
    expected = set(
        Cooperation.objects.published()
        .filter(
            signed_on__gte=datetime.date(2015, 1, 1), signed_on__lte=datetime.date(2018, 12, 31)
        )
        .values_list("pk", flat=True)
    )
    assert {int(index.ids[p]) for p in kept} == expected


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_a_write_visitors_are_served_while_the_new_index_is_built(
    client, admin_client, settings, monkeypatch
):
    """A visitor's page does not wait for the build a write causes: the previous index answers,
    its page is not cached as the new version's, and the next page after the build shows the
    write. Staff wait for the new index and see their write at once."""
    from django.core.cache import cache

    metropole = make_metropole("Métropole d'essai")
    make_cooperation("Alpha première", metropoles=[metropole])
    settings.PUBLIC_CACHE_SECONDS = 60
    settings.FACET_INDEX_BACKGROUND = True
    cache.clear()
    assert "Alpha première" in client.get("/cooperations/").content.decode()

    release = threading.Event()
    real_refresh = facet_index.refreshed

    def held_refresh(held):
        release.wait(30)  # a request that waited for it would take 30 s and show the write
        return real_refresh(held)

    monkeypatch.setattr(facet_index, "refreshed", held_refresh)
    make_cooperation("Bêta seconde", metropoles=[metropole])
    html = client.get("/cooperations/").content.decode()
    assert "Alpha première" in html and "Bêta seconde" not in html
    release.set()
    facet_index.wait_for_background_build()
    assert "Bêta seconde" in client.get("/cooperations/").content.decode()

    make_cooperation("Gamma troisième", metropoles=[metropole])
    assert "Gamma troisième" in admin_client.get("/cooperations/").content.decode()
    cache.clear()


# --- updates after a write ----------------------------------------------------------------------


def assert_same_index(updated, built) -> None:
    """Everything a page reads of an index is the same in both."""
    assert updated.ids.tolist() == built.ids.tolist()
    assert updated.position_of == built.position_of
    assert updated.published == built.published
    assert updated.values.keys() == built.values.keys()
    for facet, bitmaps in built.values.items():
        assert updated.values[facet] == bitmaps, facet
    assert updated.roles == built.roles
    assert updated.by_year == built.by_year
    for key in ("recent_key", "oldest_key", "changed_key", "signed_ordinal", "changed_at"):
        assert np.array_equal(getattr(updated, key), getattr(built, key)), key
    assert updated.totals == built.totals
    assert updated.partner_count == built.partner_count


def updated_and_built(held):
    version = catalogue_version()
    changed = changed_cooperations(held.version, version)
    updated = facet_index.update(held, version, changed)
    assert updated is not None and updated.made_by == "update"
    assert_same_index(updated, facet_index.build(version))
    return updated, changed


def test_an_update_after_writes_is_the_index_a_build_makes(generated):
    held = facet_index.build(catalogue_version())
    published = list(Cooperation.objects.published().order_by("pk"))
    metropole = Territory.objects.get(kind=Territory.Kind.METRO, code="242900314")
    commune = Territory.objects.filter(kind=Territory.Kind.COMMUNE).order_by("pk").first()
    renamed, unpublished, joined, deleted = published[:4]
    # Moved to the front of the name order, re-dated, its themes changed.
    renamed.themes.set([Theme.objects.order_by("-position").first()])
    renamed.name = "Aaa coopération renommée"
    renamed.signed_on = datetime.date(2031, 4, 3)
    renamed.save()
    unpublished.is_published = False
    unpublished.save()
    Participation.objects.create(
        cooperation=joined, territory=commune, role=Participation.Role.PARTNER
    )
    deleted_pk = deleted.pk
    deleted.delete()
    created = make_cooperation("Zzz nouvelle venue", metropoles=[metropole], is_published=True)

    updated, changed = updated_and_built(held)
    assert {renamed.pk, unpublished.pk, joined.pk, deleted_pk, created.pk} <= changed
    assert updated.ids[0] == renamed.pk

    # A change that moves no record in the name order: every other position stays.
    ended = published[5]
    ended.status = Cooperation.Status.ENDED
    ended.save()
    again, changed = updated_and_built(updated)
    assert changed == {ended.pk}
    assert again.position_of[ended.pk] == updated.position_of[ended.pk]


def test_a_write_updates_the_index_and_a_reference_edit_builds_it_again(client, generated):
    client.get("/cooperations/")
    first = facet_index.current()
    target = Cooperation.objects.published().order_by("pk").first()
    target.name = "Aaa tout premier"
    target.save()
    assert client.get("/cooperations/").context["cooperations"][0].pk == target.pk
    assert facet_index.current().made_by == "update"
    assert facet_index.current().built_at == first.built_at

    ReferenceEdit.record("Un territoire renommé")
    client.get("/cooperations/")
    assert facet_index.current().made_by == "build"
    assert facet_index.current().built_at > first.built_at
