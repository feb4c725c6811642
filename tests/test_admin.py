import markupsafe
import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cooperations.derived import stale_count
from cooperations.models import Cooperation, Participation, Territory, Theme
from cooperations.search import stems
from cooperations.services import EDITORS, READERS

from .conftest import make_cooperation, make_territory

CHANGELIST = reverse("admin:cooperations_cooperation_changelist")
ADD = reverse("admin:cooperations_cooperation_add")


def make_staff(group_name: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db):
    return make_staff(EDITORS, "editrice")


@pytest.fixture
def reader(db):
    return make_staff(READERS, "lecteur")


def inline_management(prefix: str, total: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def cooperation_form(metropole, partners, themes, factor, **overrides) -> dict:
    data = {
        "name": "Coopération Brest – Iroise – Abers",
        "slug": "cooperation-brest-iroise-abers",
        "state": Cooperation.State.REVIEW,
        "summary": "Résumé",
        "status": Cooperation.Status.ACTIVE,
        "provenance": Cooperation.Provenance.LATER,
        "themes": [str(t.pk) for t in themes],
        **inline_management("participations", 1 + len(partners)),
        "participations-0-territory": str(metropole.pk),
        "participations-0-role": Participation.Role.METROPOLE,
        **inline_management("factor_links", 1),
        "factor_links-0-factor": str(factor.pk),
        "factor_links-0-text": "Un comité de pilotage commun se réunit chaque trimestre.",
        **inline_management("plus_value_links", 0),
        **inline_management("sources", 0),
    }
    for index, partner in enumerate(partners, start=1):
        data[f"participations-{index}-territory"] = str(partner.pk)
        data[f"participations-{index}-role"] = Participation.Role.PARTNER
    data.update(overrides)
    return data


def test_anonymous_user_is_sent_to_the_login(client, db):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_editor_creates_a_cooperation_with_partners_themes_and_a_factor(
    client, editor, metropole, partner, factor
):
    second = make_territory(Territory.Kind.CC, "CC du Pays des Abers", code="242900553")
    themes = list(Theme.objects.all()[:2])
    client.force_login(editor)
    response = client.post(ADD, cooperation_form(metropole, [partner, second], themes, factor))
    assert response.status_code == 302, response.context["adminform"].errors
    cooperation = Cooperation.objects.get(slug="cooperation-brest-iroise-abers")
    roles = sorted(cooperation.participations.values_list("territory__name", "role"))
    assert roles == [
        ("Brest Métropole", "metropole"),
        ("CC du Pays d'Iroise", "partenaire"),
        ("CC du Pays des Abers", "partenaire"),
    ]
    assert set(cooperation.themes.all()) == set(themes)
    assert cooperation.factor_links.get().text.startswith("Un comité de pilotage")
    # The public search sees the new record with its participants at once.
    assert f" {stems('pays d iroise')} " in cooperation.search_text
    assert " 242900553 " in cooperation.search_text
    # And the CSV export its line, sources included.
    assert "CC du Pays des Abers (242900553)" in cooperation.export_text
    assert stale_count() == 0


def test_editor_gives_a_factor_and_a_plus_value_their_sources(
    client, editor, metropole, partner, factor
):
    client.force_login(editor)
    data = cooperation_form(
        metropole,
        [partner],
        [],
        factor,
        **{"factor_links-0-source_url": "https://example.org/comite"},
        **inline_management("plus_value_links", 1),
        **{
            "plus_value_links-0-plus_value": "mutualisation",
            "plus_value_links-0-text": "Un service commun d'instruction.",
            "plus_value_links-0-source_url": "example.org/service",
        },
    )
    response = client.post(ADD, data)
    assert response.status_code == 302, response.context["adminform"].errors
    cooperation = Cooperation.objects.get(slug="cooperation-brest-iroise-abers")
    assert cooperation.factor_links.get().source_url == "https://example.org/comite"
    link = cooperation.plus_value_links.get()
    assert (link.plus_value, link.source_url) == ("mutualisation", "https://example.org/service")
    assert link.history.get().history_user == editor
    # The illustration selects its plus-value, which the filters and facets read.
    assert cooperation.adds_pooling and not cooperation.adds_scale
    assert stale_count() == 0  # the export's plus-value cell included


def test_renaming_a_theme_refreshes_the_search_text_of_its_cooperations(
    admin_client, cooperation, theme
):
    url = reverse("admin:cooperations_theme_change", args=[theme.pk])
    data = {"label": "Déplacements du quotidien", "slug": theme.slug, "position": "4"}
    data["definition"] = theme.definition
    assert admin_client.post(url, data).status_code == 302
    cooperation.refresh_from_db()
    assert stems("deplacements du quotidien") in cooperation.search_text
    assert "Déplacements du quotidien" in cooperation.export_text
    assert stale_count() == 0


def test_renaming_a_territory_refreshes_the_search_text_of_its_cooperations(
    admin_client, cooperation, partner
):
    url = reverse("admin:cooperations_territory_change", args=[partner.pk])
    data = {"kind": partner.kind, "code": partner.code, "name": "CC Iroise Renommée"}
    assert admin_client.post(url, data).status_code == 302
    cooperation.refresh_from_db()
    assert stems("cc iroise renommee") in cooperation.search_text
    assert "CC Iroise Renommée" in cooperation.export_text
    assert stale_count() == 0


def test_a_new_definition_of_a_legal_form_reaches_visitors_of_its_cooperations(
    admin_client, client, cooperation, legal_form
):
    # A visitor reads the page first: the process keeps it for the catalogue's version.
    assert "Une définition toute neuve." not in client.get(cooperation.get_absolute_url()).text
    url = reverse("admin:cooperations_legalform_change", args=[legal_form.pk])
    data = {"label": legal_form.label, "slug": legal_form.slug, "position": "1"}
    data["definition"] = "Une définition toute neuve."
    assert admin_client.post(url, data).status_code == 302
    assert "Une définition toute neuve." in client.get(cooperation.get_absolute_url()).text
    assert stale_count() == 0


def test_a_territory_of_another_kind_reaches_visitors_of_its_cooperations(
    admin_client, client, cooperation, partner
):
    name, kind = markupsafe.escape(partner.name), markupsafe.escape(Territory.Kind.CA.label)
    shown = f'{name}</a><br><span class="cat-meta">{kind}'
    assert shown not in client.get(cooperation.get_absolute_url()).text
    url = reverse("admin:cooperations_territory_change", args=[partner.pk])
    data = {"kind": Territory.Kind.CA, "code": partner.code, "name": partner.name}
    assert admin_client.post(url, data).status_code == 302
    assert shown in client.get(cooperation.get_absolute_url()).text
    assert stale_count() == 0


def test_cooperation_without_metropole_is_refused(client, editor, metropole, partner, factor):
    client.force_login(editor)
    data = cooperation_form(metropole, [partner], [], factor)
    data["participations-0-role"] = Participation.Role.ASSOCIATED
    response = client.post(ADD, data)
    assert response.status_code == 200
    assert "au moins une métropole" in response.content.decode()
    assert not Cooperation.objects.exists()


def test_a_partner_cannot_take_the_metropole_role(client, editor, metropole, partner, factor):
    client.force_login(editor)
    data = cooperation_form(metropole, [partner], [], factor)
    data["participations-1-role"] = Participation.Role.METROPOLE
    response = client.post(ADD, data)
    assert "n&#x27;est pas une métropole" in response.content.decode()
    assert not Cooperation.objects.exists()


def test_territory_autocomplete_finds_by_folded_name_and_by_code(client, editor, partner):
    client.force_login(editor)
    url = reverse("admin:autocomplete")
    params = {"app_label": "cooperations", "model_name": "participation", "field_name": "territory"}
    other = make_territory(Territory.Kind.CC, "CC des Abers", code="299999992")
    by_name = client.get(url, {**params, "term": "pays d iroise"}).json()
    by_code = client.get(url, {**params, "term": "24290007"}).json()
    assert str(partner.pk) in [r["id"] for r in by_name["results"]]
    assert str(partner.pk) in [r["id"] for r in by_code["results"]]
    assert str(other.pk) not in [r["id"] for r in by_name["results"] + by_code["results"]]


def test_reader_sees_but_cannot_change_add_or_delete(client, reader, cooperation):
    client.force_login(reader)
    change = reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])
    delete = reverse("admin:cooperations_cooperation_delete", args=[cooperation.pk])
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(change).status_code == 200
    assert client.post(change, {"name": "Piraté"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(ADD).status_code == 403
    cooperation.refresh_from_db()
    assert cooperation.name == "Contrat de réciprocité Brest – Iroise"


def test_reader_cannot_change_territories_or_vocabularies(client, reader, partner, theme):
    client.force_login(reader)
    territory_change = reverse("admin:cooperations_territory_change", args=[partner.pk])
    theme_delete = reverse("admin:cooperations_theme_delete", args=[theme.pk])
    assert client.post(territory_change, {"name": "Autre"}).status_code == 403
    assert client.post(theme_delete, {"post": "yes"}).status_code == 403
    assert Theme.objects.filter(pk=theme.pk).exists()


def test_success_factors_cannot_be_added_or_deleted_even_by_a_superuser(admin_client, factor):
    delete = reverse("admin:cooperations_successfactor_delete", args=[factor.pk])
    assert admin_client.get(reverse("admin:cooperations_successfactor_add")).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.parametrize(
    "address",
    [
        "cooperation/abc/history/",
        "cooperation/{pk}/history/abc/",
        "cooperation/abc/history/1/",
        "cooperation/9{pk}/history/",
    ],
)
def test_history_pages_of_a_malformed_or_unknown_id_are_not_found(
    admin_client, cooperation, address
):
    response = admin_client.get("/admin/cooperations/" + address.format(pk=cooperation.pk))
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_history_of_a_malformed_territory_id_goes_back_to_the_list(admin_client, db):
    response = admin_client.get("/admin/cooperations/territory/abc/history/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain
    assert "n’existe pas" in response.content.decode()


def test_history_shows_who_changed_which_field_from_what_to_what(
    client, editor, cooperation, metropole, partner, factor
):
    client.force_login(editor)
    change = reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])
    data = change_form_data(client.get(change))
    data["summary"] = "Résumé revu après vérification"
    response = client.post(change, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [fs.formset.errors for fs in response.context["inline_admin_formsets"]],
        [fs.formset.non_form_errors() for fs in response.context["inline_admin_formsets"]],
    )
    history = client.get(
        reverse("admin:cooperations_cooperation_history", args=[cooperation.pk])
    ).content.decode()
    assert "editrice" in history
    assert "Résumé : <del>" in history
    assert "<ins>Résumé revu après vérification</ins>" in history


def _form_values(form, prefix: str = "") -> dict:
    values = {}
    for name in form.fields:
        value = form[name].value()
        key = f"{prefix}{name}"
        if value is None or value is False:
            continue
        if value is True:
            values[key] = "on"
        elif isinstance(value, list | tuple):
            values[key] = [str(item) for item in value]
        else:
            values[key] = str(value)
    return values


def change_form_data(response) -> dict:
    """What the browser would post back unchanged from an admin change page."""
    data = _form_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= _form_values(formset.management_form, f"{formset.prefix}-")
        for index, form in enumerate(formset.forms):
            data |= _form_values(form, f"{formset.prefix}-{index}-")
    return data


def changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_rows(admin_client, metropole, partner, theme):
    def add(count):
        for _ in range(count):
            make_cooperation(metropoles=[metropole], partners=[partner], themes=[theme])

    add(5)
    with_five = changelist_queries(admin_client)
    add(195)
    with_two_hundred = changelist_queries(admin_client)
    assert with_five == with_two_hundred
    assert with_two_hundred <= 15


def test_territory_changelist_query_count_does_not_grow_with_rows(admin_client, db):
    url = reverse("admin:cooperations_territory_changelist")
    department = make_territory(Territory.Kind.DEPARTEMENT, "Finistère", code="29")
    make_territory(Territory.Kind.CC, departement=department)
    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(url)
    assert response.status_code == 200
    before = response.context["cl"].result_count
    for _ in range(100):
        make_territory(Territory.Kind.CC, departement=department)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == before + 100
    assert len(few) == len(many)


@pytest.mark.parametrize(
    "model",
    [
        "cooperations/cooperation",
        "cooperations/territory",
        "cooperations/theme",
        "cooperations/territoryalias",
        "auth/user",
        "auth/group",
        "axes/accessattempt",
    ],
)
@pytest.mark.parametrize("selected", ["abc", "\x00", "1.5"])
def test_an_action_on_a_malformed_selection_does_nothing_and_says_so(
    admin_client, cooperation, model, selected
):
    before = Cooperation.objects.count(), Territory.objects.count(), Theme.objects.count()
    response = admin_client.post(
        f"/admin/{model}/",
        {"action": "delete_selected", "_selected_action": [selected], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert "La sélection envoyée n&#x27;est pas valide" in response.content.decode()
    assert (Cooperation.objects.count(), Territory.objects.count(), Theme.objects.count()) == before
