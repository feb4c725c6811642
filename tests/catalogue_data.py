"""A small hand-checkable catalogue shared by the public-page tests.

Four published cooperations and one unpublished draft that matches every filter and search the
tests use, so that any leak of unpublished records shows up as a wrong count.
"""

import datetime
from dataclasses import dataclass

from cooperations.models import Cooperation, LegalForm, SuccessFactor, Territory, Theme

from .conftest import make_cooperation, make_metropole, make_source, make_territory


@dataclass
class Catalogue:
    brest: Territory
    nantes: Territory
    rouen: Territory
    iroise: Territory
    petr: Territory
    saint_nazaire: Territory
    finistere: Territory
    bretagne: Territory
    loire_atlantique: Territory
    reciprocity: Cooperation
    pole: Cooperation
    tourism: Cooperation
    carpool: Cooperation
    draft: Cooperation

    @property
    def published(self) -> list[Cooperation]:
        return [self.reciprocity, self.pole, self.tourism, self.carpool]


def build_catalogue() -> Catalogue:
    theme = {t.slug: t for t in Theme.objects.all()}
    form = {f.slug: f for f in LegalForm.objects.all()}
    factor = {f.slug: f for f in SuccessFactor.objects.all()}
    bretagne = make_territory(Territory.Kind.REGION, "Bretagne", code="53")
    pays_de_la_loire = make_territory(Territory.Kind.REGION, "Pays de la Loire", code="52")
    finistere = make_territory(Territory.Kind.DEPARTEMENT, "Finistère", code="29", region=bretagne)
    loire_atlantique = make_territory(
        Territory.Kind.DEPARTEMENT, "Loire-Atlantique", code="44", region=pays_de_la_loire
    )
    brest = make_metropole(
        "Brest Métropole", code="242900314", departement=finistere, region=bretagne
    )
    nantes = make_metropole(
        "Nantes Métropole",
        code="244400404",
        departement=loire_atlantique,
        region=pays_de_la_loire,
    )
    normandie = make_territory(Territory.Kind.REGION, "Normandie", code="28")
    seine_maritime = make_territory(
        Territory.Kind.DEPARTEMENT, "Seine-Maritime", code="76", region=normandie
    )
    # Same links as in the official list, which may already be loaded in the test database.
    rouen = make_metropole(
        "Métropole Rouen Normandie", code="200023414", departement=seine_maritime, region=normandie
    )
    iroise = make_territory(
        Territory.Kind.CC,
        "CC du Pays d'Iroise",
        code="242900074",
        departement=finistere,
        region=bretagne,
    )
    petr = make_territory(Territory.Kind.PETR, "PETR du Pays de Retz", code="")
    saint_nazaire = make_territory(
        Territory.Kind.CA,
        "CA de la Région Nazairienne et de l'Estuaire",
        code="244400644",
        departement=loire_atlantique,
        region=pays_de_la_loire,
    )
    reciprocity = make_cooperation(
        "Contrat de réciprocité Brest – Iroise",
        slug="brest-iroise",
        metropoles=[brest],
        partners=[iroise],
        themes=[theme["mobilites-transports"]],
        factors=[factor["gouvernance"]],
        legal_form=form["contrat-de-reciprocite"],
        signed_on=datetime.date(2016, 1, 1),
        signed_on_precision=Cooperation.DatePrecision.YEAR,
        status=Cooperation.Status.ACTIVE,
        adds_scale=True,
        summary="Covoiturage et circuits courts entre la métropole et le pays d'Iroise.",
    )
    make_source(reciprocity, "https://example.org/brest-iroise", title="Communiqué")
    pole = make_cooperation(
        "Pôle métropolitain Loire-Bretagne",
        slug="pole-loire-bretagne",
        metropoles=[brest, nantes],
        partners=[petr],
        themes=[theme["attractivite-rayonnement"]],
        factors=[factor["vision"]],
        legal_form=form["pole-metropolitain"],
        signed_on=datetime.date(2012, 5, 1),
        signed_on_precision=Cooperation.DatePrecision.MONTH,
        status=Cooperation.Status.ACTIVE,
        summary="Rayonnement du Grand Ouest.",
    )
    tourism = make_cooperation(
        "Entente touristique de l'estuaire",
        slug="entente-estuaire",
        metropoles=[nantes],
        partners=[saint_nazaire],
        themes=[theme["tourisme-loisirs"]],
        factors=[factor["gouvernance"], factor["financements"]],
        legal_form=form["entente"],
        signed_on=datetime.date(2019, 7, 10),
        signed_on_precision=Cooperation.DatePrecision.DAY,
        status=Cooperation.Status.ENDED,
        adds_pooling=True,
        summary="Promotion touristique commune de l'estuaire de la Loire.",
    )
    carpool = make_cooperation(
        "Covoiturage rouennais",
        slug="covoiturage-rouennais",
        metropoles=[rouen],
        partners=[],
        themes=[theme["mobilites-transports"]],
        legal_form=form["convention-de-cooperation"],
        status=Cooperation.Status.PROJECT,
        summary="Lignes de covoiturage vers les communes voisines.",
    )
    draft = make_cooperation(
        "Brouillon mobilité Brest réciprocité",
        slug="brouillon",
        is_published=False,
        metropoles=[brest, nantes, rouen],
        partners=[iroise, petr, saint_nazaire],
        themes=[theme["mobilites-transports"], theme["tourisme-loisirs"]],
        factors=[factor["gouvernance"], factor["vision"]],
        legal_form=form["contrat-de-reciprocite"],
        signed_on=datetime.date(2017, 1, 1),
        signed_on_precision=Cooperation.DatePrecision.YEAR,
        status=Cooperation.Status.ACTIVE,
        adds_scale=True,
        adds_pooling=True,
        adds_value_chain=True,
        summary="Contrat de réciprocité mobilités Brest, jamais publié.",
    )
    return Catalogue(
        brest=brest,
        nantes=nantes,
        rouen=rouen,
        iroise=iroise,
        petr=petr,
        saint_nazaire=saint_nazaire,
        finistere=finistere,
        bretagne=bretagne,
        loire_atlantique=loire_atlantique,
        reciprocity=reciprocity,
        pole=pole,
        tourism=tourism,
        carpool=carpool,
        draft=draft,
    )
