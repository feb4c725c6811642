"""The French history of a cooperation: one entry per save, every fact of it, no truncation."""

import pytest
from django.db.models import F
from django.urls import reverse

from cooperations.history import cooperation_history
from cooperations.models import (
    Cooperation,
    CooperationFactor,
    Participation,
    Source,
    SuccessFactor,
    Theme,
)

from .conftest import make_source, make_territory
from .test_admin import change_form_data, editor  # noqa: F401


def age_history(cooperation, hours=1):
    """Move the history written so far back in time: the fixtures write it a moment before the
    test's own save, which would otherwise read as one save."""
    import datetime

    for model in [Cooperation, Participation, CooperationFactor, Source]:
        model.history.filter(
            **(
                {"id": cooperation.pk}
                if model is Cooperation
                else {"cooperation_id": cooperation.pk}
            )
        ).update(history_date=F("history_date") - datetime.timedelta(hours=hours))


def history_page(client, cooperation) -> str:
    response = client.get(reverse("admin:cooperations_cooperation_history", args=[cooperation.pk]))
    assert response.status_code == 200
    return response.content.decode()


def save(client, cooperation, change):
    url = reverse("admin:cooperations_cooperation_change", args=[cooperation.pk])
    data = change_form_data(client.get(url))
    change(data)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def add_inline(data, prefix, **fields):
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value


def test_adding_a_partner_a_theme_and_a_factor_is_one_entry_of_three_french_lines(
    client,
    editor,  # noqa: F811
    cooperation,
):
    client.force_login(editor)
    age_history(cooperation)
    estuaire = make_territory(name="CC Estuaire et Sillon", code="990000586")
    logistics = Theme.objects.get(label="Logistique")
    vision = SuccessFactor.objects.get(slug="vision")
    long_text = "Les deux conseils adoptent une stratégie commune. " * 6

    def change(data):
        add_inline(data, "participations", territory=str(estuaire.pk), role="partenaire")
        data["themes"] = [*data["themes"], str(logistics.pk)]
        add_inline(data, "factor_links", factor=str(vision.pk), text=long_text)

    save(client, cooperation, change)
    [latest, *_] = cooperation_history(cooperation.pk)
    assert latest.user == "editrice"
    assert [str(line) for line in latest.lines] == [
        "Thématique ajoutée : Logistique",
        "Partenaire ajouté : CC Estuaire et Sillon",
        f"Facteur de réussite ajouté : {vision.label} — « {long_text.strip()} »",
    ]
    page = history_page(client, cooperation)
    assert "Partenaire ajouté : CC Estuaire et Sillon" in page
    assert long_text.strip() in page  # never truncated
    for english in ["CHANGES", "Changes", "None", "Change reason"]:
        assert english not in page


def test_removed_participants_changed_texts_and_sources_are_listed(
    client,
    editor,  # noqa: F811
    cooperation,
):
    client.force_login(editor)
    make_source(cooperation, "https://example.org/a", title="Communiqué")
    age_history(cooperation)
    partner_form = next(
        index
        for index in range(10)
        if str(cooperation.participations.get(role="partenaire").pk)
        == change_form_data(
            client.get(reverse("admin:cooperations_cooperation_change", args=[cooperation.pk]))
        ).get(f"participations-{index}-id")
    )

    def change(data):
        data[f"participations-{partner_form}-DELETE"] = "on"
        data["factor_links-0-text"] = "Un texte revu."
        data["sources-0-title"] = "Communiqué de presse"

    save(client, cooperation, change)
    [latest, *_] = cooperation_history(cooperation.pk)
    lines = [str(line) for line in latest.lines]
    partner = Participation.history.filter(history_type="-").get().territory
    assert f"Partenaire retiré : {partner.name}" in lines
    factor = CooperationFactor.objects.get(cooperation=cooperation).factor
    assert f"Texte de « {factor.label} » : Illustration de {factor.slug} → Un texte revu." in lines
    assert "Source « Communiqué de presse », titre : Communiqué → Communiqué de presse" in lines


def test_an_empty_reason_shows_nothing_and_a_reason_shows_once(db, cooperation):
    entries = cooperation_history(cooperation.pk)
    assert entries and all(entry.reason == "" for entry in entries)
    age_history(cooperation)
    cooperation.summary = "Autre résumé"
    cooperation._change_reason = "Vérifié auprès de la métropole"
    cooperation.save()
    [latest, *_] = cooperation_history(cooperation.pk)
    assert latest.reason == "Vérifié auprès de la métropole"
    assert [str(line) for line in latest.lines][0].startswith("Résumé : ")


def test_an_import_is_one_entry_with_its_participants(db, cooperation):
    from cooperations.importing import run_import
    from cooperations.inventory import Sheet

    metropole = cooperation.participations.get(role="metropole").territory
    other = make_territory(name="CC Pays des Abers", code="990000290")
    sheet = Sheet(
        header=["Identifiant", "Nom", "Métropoles", "Territoires partenaires"],
        rows=[(2, [cooperation.slug, cooperation.name, f"[{metropole.code}]", f"[{other.code}]"])],
    )
    age_history(cooperation)
    plan, _ = run_import(sheet, commit=True)
    assert plan.is_valid, plan.row_errors
    [latest, *_] = cooperation_history(cooperation.pk)
    lines = [str(line) for line in latest.lines]
    assert "Partenaire ajouté : CC Pays des Abers" in lines
    assert any(line.startswith("Partenaire retiré : ") for line in lines)


@pytest.mark.parametrize("count", [1, 8])
def test_the_history_costs_the_same_queries_whatever_its_length(
    db, cooperation, count, django_assert_max_num_queries
):
    for n in range(count):
        age_history(cooperation)
        cooperation.summary = f"Résumé {n}"
        cooperation.save()
    with django_assert_max_num_queries(12):
        entries = cooperation_history(cooperation.pk)
    assert len(entries) == count + 1
