"""Likely duplicates already in the catalogue, listed in the admin."""

from django.urls import reverse

from cooperations.importing.duplicates import catalogue_duplicates

from .conftest import make_cooperation, make_metropole, make_source
from .test_admin import reader  # noqa: F401

DUPLICATES = reverse("admin:cooperations_cooperation_duplicates")


def test_same_close_names_and_shared_sources_are_paired(db, metropole):
    nantes = make_metropole("Nantes Métropole", code="244400404")
    a = make_cooperation("Pacte Brest – Cœur d'Iroise", metropoles=[metropole])
    b = make_cooperation("Pacte Brest - Coeur d’Iroise", metropoles=[metropole])
    c = make_cooperation("Pacte Brest – Cœur d'Iroises", metropoles=[metropole])
    other_city = make_cooperation("Pacte Brest – Cœur d'Iroise", metropoles=[nantes])
    d = make_cooperation("Entente des Abers", metropoles=[metropole])
    e = make_cooperation("Tout autre chose", metropoles=[nantes])
    make_source(d, "https://example.org/commun")
    make_source(e, "https://example.org/commun")
    pairs = {(p.first.pk, p.second.pk): p.reason for p in catalogue_duplicates()}
    assert pairs[(a.pk, b.pk)].startswith("même nom")
    assert pairs[(a.pk, c.pk)] == "nom proche, mêmes métropoles"
    assert pairs[(d.pk, e.pk)] == "même source (https://example.org/commun)"
    assert not any(other_city.pk in pair for pair in pairs)


def test_the_admin_lists_them_with_links_for_readers_too(client, reader, metropole):  # noqa: F811
    a = make_cooperation("Pacte Cœur", metropoles=[metropole])
    make_cooperation("Pacte Coeur", metropoles=[metropole])
    client.force_login(reader)
    response = client.get(DUPLICATES)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("admin:cooperations_cooperation_change", args=[a.pk]) in html
    assert "même nom (casse, accents et ponctuation ignorés) et mêmes métropoles" in html
    changelist = client.get(reverse("admin:cooperations_cooperation_changelist"))
    assert DUPLICATES in changelist.content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client, db):
    assert client.get(DUPLICATES).status_code == 302
