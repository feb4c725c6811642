import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cooperations.models import (
    Cooperation,
    CooperationPlusValue,
    Participation,
    SuccessFactor,
    Territory,
    Theme,
)

from .conftest import make_cooperation, make_territory


@pytest.mark.django_db
def test_six_success_factors_with_exact_wording():
    labels = dict(SuccessFactor.objects.values_list("slug", "label"))
    assert labels == {
        "connaissance": "La connaissance des dynamiques interterritoriales",
        "vision": "Le partage d'une vision stratégique des coopérations",
        "gouvernance": "La mise en place d'espaces de gouvernance adaptés",
        "competences": "L'allocation ou le partage de « compétences métiers »",
        "financements": "La définition de financements spécifiques",
        "cadre-juridique": "L'évolution du cadre juridique",
    }


@pytest.mark.django_db
def test_starting_vocabularies_have_definitions():
    assert Theme.objects.count() == 16
    assert not Theme.objects.filter(definition="").exists()


@pytest.mark.django_db
def test_same_official_code_and_kind_is_rejected():
    make_territory(Territory.Kind.CC, code="299999991")
    with pytest.raises(IntegrityError), transaction.atomic():
        Territory(kind=Territory.Kind.CC, code="299999991", name="Doublon").save()


@pytest.mark.django_db
def test_same_code_is_allowed_for_different_kinds():
    make_territory(Territory.Kind.DEPARTEMENT, code="29")
    make_territory(Territory.Kind.REGION, code="29")
    assert Territory.objects.filter(code="29").count() == 2


@pytest.mark.django_db
def test_territories_without_code_may_share_blank_code():
    make_territory(Territory.Kind.PETR, code="")
    make_territory(Territory.Kind.PETR, code="")
    assert Territory.objects.filter(kind=Territory.Kind.PETR).count() == 2


@pytest.mark.django_db
def test_same_participant_twice_is_rejected(cooperation, partner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(
            cooperation=cooperation, territory=partner, role=Participation.Role.ASSOCIATED
        )


@pytest.mark.django_db
def test_same_slug_is_rejected(cooperation):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cooperation("Autre nom", slug=cooperation.slug)


@pytest.mark.django_db
def test_unknown_factor_code_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        SuccessFactor.objects.create(slug="septieme", label="Un septième facteur")


@pytest.mark.django_db
def test_signature_date_needs_its_precision():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cooperation(signed_on="2017-07-10", signed_on_precision="")


@pytest.mark.django_db
def test_year_precision_displays_the_year_only(cooperation):
    assert cooperation.signature_display == "2016"


@pytest.mark.django_db
def test_end_before_start_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cooperation(starts_on="2020-01-01", ends_on="2019-01-01")


@pytest.mark.django_db
def test_territory_name_is_folded_for_matching():
    territory = make_territory(Territory.Kind.METRO, "Saint-Étienne Métropole")
    assert territory.search_name == "saint etienne metropole"


@pytest.mark.django_db
def test_cooperation_history_records_field_changes(cooperation):
    before = cooperation.history.count()
    cooperation.summary = "Nouveau résumé"
    cooperation.save()
    latest, previous = cooperation.history.all()[:2]
    delta = latest.diff_against(previous)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("summary", "", "Nouveau résumé")]
    assert cooperation.history.count() == before + 1


@pytest.mark.parametrize(
    ("signed_on", "precision", "sentence", "compact"),
    [
        (datetime.date(2016, 1, 29), "day", "signée le 29 janvier 2016", "29/01/2016"),
        (datetime.date(2016, 3, 1), "day", "signée le 1er mars 2016", "01/03/2016"),
        (datetime.date(2019, 4, 1), "month", "signée en avril 2019", "avril 2019"),
        (datetime.date(2017, 1, 1), "year", "signée en 2017", "2017"),
        (None, "", "", ""),
    ],
)
def test_signature_in_words_for_pages_and_compact_for_json(signed_on, precision, sentence, compact):
    cooperation = Cooperation(signed_on=signed_on, signed_on_precision=precision)
    assert cooperation.signature_sentence == sentence
    assert cooperation.signature_display == compact


@pytest.mark.django_db
def test_a_plus_value_is_illustrated_once_per_cooperation():
    cooperation = make_cooperation()
    CooperationPlusValue.objects.create(cooperation=cooperation, plus_value="filieres")
    with pytest.raises(IntegrityError), transaction.atomic():
        CooperationPlusValue.objects.create(cooperation=cooperation, plus_value="filieres")
    with pytest.raises(IntegrityError), transaction.atomic():
        CooperationPlusValue.objects.create(cooperation=cooperation, plus_value="ambition")


def test_a_slug_the_site_uses_for_itself_is_refused_in_forms(db):
    cooperation = Cooperation(name="Flux", slug="flux")
    with pytest.raises(ValidationError) as error:
        cooperation.full_clean()
    assert "« flux » est réservé" in str(error.value.message_dict["slug"])
