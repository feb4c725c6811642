"""Domain model: territories keyed by official codes, cooperations between them, and the
controlled vocabularies (themes, legal forms, the six success factors) that describe them.
"""

import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .paths import fixed_path
from .text import fold
from .vocabularies import (
    FACTOR_CODES,
    PLUS_VALUE_CODES,
    PLUS_VALUE_FIELD_BY_CODE,
    PLUS_VALUE_FIELDS,
)

CURRENT_VINTAGE = 2026


class Vocabulary(models.Model):
    """Common shape of the controlled vocabularies: a slug, a label, a short definition."""

    slug = models.SlugField("identifiant", max_length=60, unique=True)
    label = models.CharField("libellé", max_length=200, unique=True)
    definition = models.TextField("définition", blank=True)
    position = models.PositiveSmallIntegerField("ordre d'affichage", default=0)

    class Meta:
        abstract = True
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class Theme(Vocabulary):
    word_families = models.TextField(
        "familles de mots",
        blank=True,
        help_text="Une famille par ligne : les mots d'une ligne se trouvent l'un l'autre dans la "
        "recherche (« alimentaire alimentation »).",
    )

    class Meta(Vocabulary.Meta):
        verbose_name = "thématique"
        verbose_name_plural = "thématiques"

    def get_absolute_url(self) -> str:
        return fixed_path("cooperations:theme", self.slug)


class LegalForm(Vocabulary):
    class Meta(Vocabulary.Meta):
        verbose_name = "forme de coopération"
        verbose_name_plural = "formes de coopération"


class SuccessFactor(Vocabulary):
    """The six success factors of the ANCT Fabrique prospective; fixed, never added or deleted."""

    class Meta(Vocabulary.Meta):
        verbose_name = "facteur de réussite"
        verbose_name_plural = "facteurs de réussite"
        constraints = [
            models.CheckConstraint(
                condition=Q(slug__in=FACTOR_CODES),
                name="successfactor_slug_is_one_of_the_six",
            ),
        ]

    def get_absolute_url(self) -> str:
        return fixed_path("cooperations:factor", self.slug)


class TerritoryKind(models.TextChoices):
    COMMUNE = "COM", "Commune"
    CC = "CC", "Communauté de communes"
    CA = "CA", "Communauté d'agglomération"
    CU = "CU", "Communauté urbaine"
    METRO = "METRO", "Métropole"
    MET69 = "MET69", "Métropole de Lyon"
    EPT = "EPT", "Établissement public territorial"
    PETR = "PETR", "PETR / pays"
    POLE = "POLE", "Pôle métropolitain"
    SYNDICAT = "SM", "Syndicat mixte"
    PNR = "PNR", "Parc naturel régional"
    DEPARTEMENT = "DEP", "Département"
    REGION = "REG", "Région"
    ETAT = "ETAT", "État"
    ETRANGER = "ETR", "Collectivité étrangère"
    AUTRE = "AUTRE", "Autre (association, chambre, agence…)"


class TerritoryQuerySet(models.QuerySet):
    def metropoles(self):
        """The 22 métropoles (METRO and the Métropole de Lyon); one query when evaluated."""
        return self.filter(kind__in=Territory.METROPOLE_KINDS)

    def with_code(self, kinds, code: str):
        """The territories of one of `kinds` with the official `code`. The blank code is
        excluded in so many words: SQLite uses the partial index (kind, code) only when the
        query repeats its condition, and read all 36,000 territories otherwise (9 ms)."""
        return self.filter(kind__in=kinds, code=code).exclude(code="")


class Territory(models.Model):
    """A collectivity or grouping; official ones are keyed by (kind, code) of a given vintage."""

    Kind = TerritoryKind

    METROPOLE_KINDS = (Kind.METRO, Kind.MET69)
    EPCI_KINDS = (Kind.CC, Kind.CA, Kind.CU, Kind.METRO, Kind.MET69)

    kind = models.CharField("nature", max_length=8, choices=Kind.choices)
    code = models.CharField(
        "code officiel",
        max_length=9,
        blank=True,
        help_text="SIREN (9 chiffres) pour les groupements, code INSEE pour les communes, "
        "départements et régions ; vide si aucun code officiel n'est connu.",
    )
    name = models.CharField("nom", max_length=200)
    # Accent- and punctuation-free copy of the name, kept for matching and portable search.
    search_name = models.CharField(max_length=200, editable=False, db_index=True)
    population = models.PositiveIntegerField("population", null=True, blank=True)
    departement = models.ForeignKey(
        "self",
        verbose_name="département",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Kind.DEPARTEMENT},
    )
    region = models.ForeignKey(
        "self",
        verbose_name="région",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Kind.REGION},
    )
    epci = models.ForeignKey(
        "self",
        verbose_name="EPCI d'appartenance",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="member_communes",
        limit_choices_to={"kind__in": EPCI_KINDS},
    )
    vintage = models.PositiveSmallIntegerField(
        "millésime",
        null=True,
        blank=True,
        help_text="Année de la liste officielle d'où vient l'enregistrement ; vide s'il a été "
        "saisi à la main.",
    )

    objects = TerritoryQuerySet.as_manager()

    class Meta:
        verbose_name = "territoire"
        verbose_name_plural = "territoires"
        ordering = ["name", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "code"],
                condition=~Q(code=""),
                name="territory_unique_code_per_kind",
            ),
            # Territories without official code are told apart by kind and folded name: two
            # « Pays de Retz [PETR] » would make every later import naming it ambiguous. Its
            # index also serves the import's get-or-create of such a territory:
            # WHERE kind = %s AND search_name = %s AND code = ''.
            models.UniqueConstraint(
                fields=["kind", "search_name"],
                condition=Q(code=""),
                name="territory_unique_codeless_name_per_kind",
                violation_error_message="Un territoire sans code officiel de cette nature porte "
                "déjà ce nom (casse, accents et ponctuation ignorés) : utilisez-le, ou "
                "indiquez son code officiel.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TerritoryKind.values),
                name="territory_kind_is_known",
            ),
        ]
        indexes = [
            # "Browse by métropole" and the kind facet: WHERE kind IN ('METRO', 'MET69').
            models.Index(fields=["kind", "name"], name="territory_kind_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """Stable by kind and official code (`/territoires/epci/242900314/`); a territory
        without code keeps an address by id (`/territoires/autre/12/`)."""
        if self.code and self.kind in URL_SEGMENT_BY_KIND:
            return fixed_path("cooperations:territory", URL_SEGMENT_BY_KIND[self.kind], self.code)
        return fixed_path("cooperations:territory_by_id", self.pk)

    def validate_constraints(self, exclude=None):
        # search_name is not a form field, so forms would skip the constraint on it and a
        # duplicate would reach the database as an IntegrityError; clean() has just set it.
        exclude = set(exclude or ()) - {"search_name"}
        super().validate_constraints(exclude=exclude)

    @property
    def is_metropole(self) -> bool:
        return self.kind in self.METROPOLE_KINDS

    def clean(self) -> None:
        code = (self.code or "").strip().upper()
        self.code = code
        self.search_name = fold(self.name)
        if (
            code
            and self.kind in {*self.EPCI_KINDS, self.Kind.EPT}
            and not (code.isdigit() and len(code) == 9)
        ):
            raise ValidationError({"code": "Un SIREN comporte exactement 9 chiffres."})
        if code and self.kind == self.Kind.COMMUNE and len(code) != 5:
            raise ValidationError({"code": "Un code INSEE de commune comporte 5 caractères."})


# URL segment of each kind for the addresses by official code. The EPCI kinds share one: a SIREN
# names one EPCI whatever its kind, and the kind changes when an EPCI is promoted (CA → CU).
# « autre » is kept for the addresses by id of territories without code.
URL_SEGMENT_BY_KIND = {
    TerritoryKind.COMMUNE: "commune",
    **dict.fromkeys(Territory.EPCI_KINDS, "epci"),
    TerritoryKind.EPT: "ept",
    TerritoryKind.DEPARTEMENT: "departement",
    TerritoryKind.REGION: "region",
    TerritoryKind.PETR: "petr",
    TerritoryKind.POLE: "pole-metropolitain",
    TerritoryKind.SYNDICAT: "syndicat-mixte",
    TerritoryKind.PNR: "pnr",
    TerritoryKind.ETAT: "etat",
    TerritoryKind.ETRANGER: "etranger",
    TerritoryKind.AUTRE: "organisme",
}
KINDS_BY_URL_SEGMENT: dict[str, list[str]] = {}
for _kind, _segment in URL_SEGMENT_BY_KIND.items():
    KINDS_BY_URL_SEGMENT.setdefault(_segment, []).append(_kind)


class CooperationStatus(models.TextChoices):
    PROJECT = "en-projet", "En projet"
    ACTIVE = "active", "Active"
    ENDED = "terminee", "Terminée"
    ABANDONED = "abandonnee", "Abandonnée"


# What a list leaves unread (see `CooperationQuerySet.for_list`), and what it reads of the
# participants.
# The columns derived from each record and its relations (cooperations/derived.py), and the
# PostgreSQL search vector: read only by the pages and exports they serve.
DERIVED_COLUMNS = ("search_text", "search_vector", "export_head", "export_text")
LIST_DEFERRED_FIELDS = ("description", "governance", "funding", "staffing", *DERIVED_COLUMNS)
PARTICIPANT_FIELDS = ("territory__name", "territory__kind", "territory__code")


class CooperationQuerySet(models.QuerySet):
    def published(self):
        """Published records only: adds one WHERE clause, no query of its own."""
        return self.filter(is_published=True)

    def with_relations(self):
        """Everything a record page shows, the stored columns included: one query plus five
        prefetches (themes, sources, participations with their territory, factor links with
        their factor, plus-value links)."""
        return self.select_related("legal_form").prefetch_related(
            "themes",
            "sources",
            models.Prefetch(
                "participations", queryset=Participation.objects.select_related("territory")
            ),
            models.Prefetch(
                "factor_links", queryset=CooperationFactor.objects.select_related("factor")
            ),
            "plus_value_links",
        )

    def for_detail(self):
        """Everything a record page shows: one query plus five prefetches (`with_relations`).
        The search and export columns, long and read by other pages, are left unread."""
        return self.with_relations().defer(*DERIVED_COLUMNS)

    def for_list(self):
        """Everything a result row, a JSON list item or a feed entry shows: one query plus two
        prefetches (themes, participations with their territory's name, kind and code). The
        long texts and the search columns are left out: read for 20 rows they cost more than
        the rest of the row."""
        return (
            self.select_related("legal_form")
            .defer(*LIST_DEFERRED_FIELDS)
            .prefetch_related(
                "themes",
                models.Prefetch(
                    "participations",
                    queryset=Participation.objects.select_related("territory").only(
                        "cooperation_id", "role", *PARTICIPANT_FIELDS
                    ),
                ),
            )
        )


# Path segments that the URLs under /cooperations/ use for themselves (the list's Atom feed): a
# cooperation with such a slug would be hidden behind them.
RESERVED_SLUGS = frozenset({"flux"})


def validate_unreserved_slug(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(
            f"L'identifiant « {value} » est réservé à une adresse du site : choisissez-en un autre."
        )


class CooperationState(models.TextChoices):
    """The editorial workflow: a record is written, reviewed, then published (or archived)."""

    DRAFT = "brouillon", "Brouillon"
    REVIEW = "a-relire", "À relire"
    PUBLISHED = "publiee", "Publiée"
    ARCHIVED = "archivee", "Archivée"


class Cooperation(models.Model):
    Status = CooperationStatus
    State = CooperationState

    class DatePrecision(models.TextChoices):
        DAY = "day", "Jour"
        MONTH = "month", "Mois"
        YEAR = "year", "Année"

    class Provenance(models.TextChoices):
        INVENTORY_2018 = "inventaire-2018", "Inventaire 2018 (CGET, France urbaine, AdCF)"
        FABRIQUE = "fabrique-prospective", "Fabrique prospective (ANCT)"
        LATER = "ajout-ulterieur", "Ajout ultérieur"

    name = models.CharField("nom", max_length=300)
    slug = models.SlugField(
        "identifiant d'URL",
        max_length=200,
        unique=True,
        help_text="Stable une fois publié : il sert d'adresse permanente et de clé d'import.",
        validators=[validate_unreserved_slug],
    )
    summary = models.TextField("résumé", blank=True)
    description = models.TextField("description", blank=True)
    legal_form = models.ForeignKey(
        LegalForm,
        verbose_name="forme de coopération",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cooperations",
    )
    status = models.CharField("statut", max_length=12, choices=Status.choices, blank=True)
    signed_on = models.DateField("date de signature", null=True, blank=True)
    signed_on_precision = models.CharField(
        "précision de la date de signature",
        max_length=5,
        choices=DatePrecision.choices,
        blank=True,
    )
    starts_on = models.DateField("début", null=True, blank=True)
    ends_on = models.DateField("fin", null=True, blank=True)
    adds_scale = models.BooleanField("plus-value : enjeux d'échelles", default=False)
    adds_value_chain = models.BooleanField("plus-value : filières", default=False)
    adds_pooling = models.BooleanField("plus-value : mutualisation", default=False)
    governance = models.TextField("gouvernance", blank=True)
    funding = models.TextField("financements", blank=True)
    staffing = models.TextField("moyens humains", blank=True)
    provenance = models.CharField(
        "provenance", max_length=24, choices=Provenance.choices, default=Provenance.LATER
    )
    last_verified_on = models.DateField("dernière vérification", null=True, blank=True)
    # What the public pages read; always `state == PUBLISHED`, set by save() and by the import
    # (which writes in bulk) from the state, or the state from it for writers that only know it.
    is_published = models.BooleanField("publiée", default=False)
    state = models.CharField(
        "état", max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    themes = models.ManyToManyField(
        Theme, verbose_name="thématiques", blank=True, related_name="cooperations"
    )
    territories = models.ManyToManyField(
        Territory, through="Participation", related_name="cooperations", blank=True
    )
    factors = models.ManyToManyField(
        SuccessFactor, through="CooperationFactor", related_name="cooperations", blank=True
    )
    # Accent-folded text of the record and of its territories, themes and form, rebuilt by
    # cooperations.derived.refresh_derived_text(); the portable base of the public search.
    search_text = models.TextField(editable=False, blank=True, default="")
    # The record's line of the CSV export, rebuilt with search_text, in two parts around the
    # address of the record, which depends on the host the export is asked from: its first two
    # cells (slug and name) with their separators, then its cells from the summary on, line end
    # included. "" until first built.
    export_head = models.TextField(editable=False, blank=True, default="")
    export_text = models.TextField(editable=False, blank=True, default="")
    # PostgreSQL only: name (weight A) and search_text (weight B) as a tsvector, written by the
    # trigger of migration 0005 and read by cooperations.search.search(); null elsewhere.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    history = HistoricalRecords(
        m2m_fields=[themes],
        excluded_fields=["updated_at", *DERIVED_COLUMNS],
    )
    objects = CooperationQuerySet.as_manager()

    class Meta:
        verbose_name = "coopération"
        verbose_name_plural = "coopérations"
        ordering = ["name"]
        permissions = [
            ("import_cooperation", "Peut importer l'inventaire des coopérations"),
            ("publish_cooperation", "Peut publier ou dépublier une coopération (relecteur)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(signed_on__isnull=True) & Q(signed_on_precision=""))
                | (Q(signed_on__isnull=False) & ~Q(signed_on_precision="")),
                name="cooperation_signature_precision_iff_date",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="cooperation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["", *CooperationStatus.values]),
                name="cooperation_status_is_known",
            ),
        ]
        indexes = [
            # Public list sorted by signature date (newest / oldest first) among published rows.
            models.Index(fields=["is_published", "signed_on"], name="coop_published_signed_idx"),
            # Published rows by name in the database's own order (admin list, inventory export);
            # the public list's French order has its own index, coop_published_name_fr_idx,
            # created by a migration because its collation is named differently on each engine.
            models.Index(fields=["is_published", "name"], name="coop_published_name_idx"),
            # Facet counts and filters start from the ids of the published cooperations: an
            # index-only scan of this partial index rather than a read of the wide rows (the
            # métropole facet's base set at 100,000 cooperations: 160 ms → 4 ms).
            models.Index(
                fields=["id"], condition=Q(is_published=True), name="coop_published_id_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        settle_state(self)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return fixed_path("cooperations:detail", self.slug)

    @property
    def signature_display(self) -> str:
        """The signature date at its precision: « 2017 », « juillet 2017 », « 10/07/2017 »."""
        return format_partial_date(self.signed_on, self.signed_on_precision)

    PROVENANCE_EXPLANATIONS = {
        Provenance.INVENTORY_2018: "Cette coopération figure dans l'inventaire de 173 "
        "coopérations dressé fin 2018 par le CGET (aujourd'hui ANCT), France urbaine et l'AdCF "
        "(aujourd'hui Intercommunalités de France).",
        Provenance.FABRIQUE: "Cette coopération a été étudiée par la Fabrique prospective de "
        "l'ANCT avec les métropoles de Brest, Nantes, Rouen et Toulouse.",
        Provenance.LATER: "Cette fiche a été ajoutée au catalogue après l'inventaire de 2018, "
        "à partir des sources publiques citées ci-dessous.",
    }

    @property
    def provenance_explanation(self) -> str:
        return self.PROVENANCE_EXPLANATIONS.get(self.provenance, "")

    @property
    def signature_sentence(self) -> str:
        """How pages say it: « signée le 29 janvier 2016 », « signée en avril 2019 », « signée
        en 2017 »; empty when the date is not known."""
        if self.signed_on is None:
            return ""
        preposition = "le" if self.signed_on_precision == self.DatePrecision.DAY else "en"
        return f"signée {preposition} {format_date_fr(self.signed_on, self.signed_on_precision)}"

    @property
    def plus_values(self) -> list[str]:
        return [label for field, label in PLUS_VALUE_FIELDS if getattr(self, field)]

    def clean(self) -> None:
        if self.signed_on and not self.signed_on_precision:
            self.signed_on_precision = self.DatePrecision.DAY
        if not self.signed_on:
            self.signed_on_precision = ""
        if self.signed_on:
            self.signed_on = truncate_date(self.signed_on, self.signed_on_precision)
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "La date de fin précède la date de début."})


def settle_state(cooperation) -> None:
    """Make the public flag and the editorial state agree. A writer that changed the state
    (the admin) is followed; one that only set the flag (scripts, fixtures) moves the state:
    published, or back to draft when unpublished."""
    published = cooperation.state == CooperationState.PUBLISHED
    if cooperation.is_published == published:
        return
    if getattr(cooperation, "_state_decides", False):
        cooperation.is_published = published
    elif cooperation.is_published:
        cooperation.state = CooperationState.PUBLISHED
    else:
        cooperation.state = CooperationState.DRAFT


MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def truncate_date(value: datetime.date, precision: str) -> datetime.date:
    """Store a partial date on its first day so that sorting and range filters stay simple."""
    if precision == Cooperation.DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    if precision == Cooperation.DatePrecision.MONTH:
        return value.replace(day=1)
    return value


def format_date_fr(value: datetime.date | None, precision: str = "day") -> str:
    """A date in words at its precision: « 1er mars 2016 », « avril 2019 », « 2017 »."""
    if value is None:
        return ""
    if precision == Cooperation.DatePrecision.YEAR:
        return str(value.year)
    month_year = f"{MONTHS_FR[value.month - 1]} {value.year}"
    if precision == Cooperation.DatePrecision.MONTH:
        return month_year
    return f"{'1er' if value.day == 1 else value.day} {month_year}"


def format_partial_date(value: datetime.date | None, precision: str) -> str:
    """The compact form of spreadsheets and of the JSON `signature_display`: « 2017 »,
    « juillet 2017 », « 10/07/2017 »."""
    if value is None:
        return ""
    if precision == Cooperation.DatePrecision.YEAR:
        return str(value.year)
    if precision == Cooperation.DatePrecision.MONTH:
        return f"{MONTHS_FR[value.month - 1]} {value.year}"
    return value.strftime("%d/%m/%Y")


class Participation(models.Model):
    class Role(models.TextChoices):
        METROPOLE = "metropole", "Métropole"
        PARTNER = "partenaire", "Partenaire"
        ASSOCIATED = "associe", "Associé"

    cooperation = models.ForeignKey(
        Cooperation, on_delete=models.CASCADE, related_name="participations"
    )
    territory = models.ForeignKey(
        Territory,
        verbose_name="territoire",
        on_delete=models.PROTECT,
        related_name="participations",
    )
    role = models.CharField("rôle", max_length=12, choices=Role.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "participant"
        verbose_name_plural = "participants"
        ordering = ["role", "territory__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cooperation", "territory"], name="participation_unique_territory"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["metropole", "partenaire", "associe"]),
                name="participation_role_is_known",
            ),
        ]
        indexes = [
            # Territory and métropole pages: WHERE territory_id = %s AND role = %s.
            models.Index(fields=["territory", "role"], name="participation_territory_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.territory} — {self.get_role_display()}"

    def clean(self) -> None:
        territory = getattr(self, "territory", None)
        if (
            self.role == self.Role.METROPOLE
            and territory is not None
            and not territory.is_metropole
        ):
            raise ValidationError(
                {
                    "role": f"« {territory.name} » n'est pas une métropole : "
                    "choisissez le rôle partenaire ou associé."
                }
            )


class CooperationSlugAlias(models.Model):
    """A former address identifier of a cooperation (its slug before the catalogue made slugs
    with fold's letters: « …-cur-et-coteaux-… »): the record page answers it with a permanent
    redirect, so that links and bookmarks made before keep working."""

    slug = models.SlugField("ancien identifiant d'URL", max_length=200)
    cooperation = models.ForeignKey(
        Cooperation, on_delete=models.CASCADE, related_name="former_slugs"
    )

    class Meta:
        verbose_name = "ancien identifiant d'URL"
        verbose_name_plural = "anciens identifiants d'URL"
        constraints = [
            # One former address leads to one record; its index serves the record page's
            # lookup of an address that no record has (views.cooperation_detail).
            models.UniqueConstraint(fields=["slug"], name="cooperationslugalias_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.slug


# The heading of each role's territories, in the order pages and feeds list them.
ROLE_HEADINGS = {
    Participation.Role.METROPOLE: "Métropoles",
    Participation.Role.PARTNER: "Partenaires",
    Participation.Role.ASSOCIATED: "Associés",
}


class CooperationFactor(models.Model):
    """How one cooperation illustrates one success factor."""

    cooperation = models.ForeignKey(
        Cooperation, on_delete=models.CASCADE, related_name="factor_links"
    )
    factor = models.ForeignKey(
        SuccessFactor,
        verbose_name="facteur de réussite",
        on_delete=models.PROTECT,
        related_name="cooperation_links",
    )
    text = models.TextField("comment ce facteur se manifeste", blank=True)
    # The text is an editorial reading of one public document: it cites its own source, which
    # need not be among the cooperation's sources.
    source_url = models.URLField("source de ce texte", max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "facteur de réussite illustré"
        verbose_name_plural = "facteurs de réussite illustrés"
        ordering = ["factor__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["cooperation", "factor"], name="cooperationfactor_unique_factor"
            ),
        ]

    def __str__(self) -> str:
        return str(self.factor)


class CooperationPlusValue(models.Model):
    """How one cooperation illustrates one plus-value, with the source that states it.

    The three booleans on Cooperation stay the selection (cheap filters and facets); this row
    only carries the optional illustration, like CooperationFactor does for a factor. The import
    and the admin keep them together: an illustration selects its plus-value.
    """

    class PlusValue(models.TextChoices):
        ECHELLES = "echelles", "Enjeux d'échelles"
        FILIERES = "filieres", "Filières"
        MUTUALISATION = "mutualisation", "Mutualisation"

    cooperation = models.ForeignKey(
        Cooperation, on_delete=models.CASCADE, related_name="plus_value_links"
    )
    plus_value = models.CharField("plus-value", max_length=16, choices=PlusValue.choices)
    text = models.TextField("comment cette plus-value se manifeste", blank=True)
    source_url = models.URLField("source de ce texte", max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "plus-value illustrée"
        verbose_name_plural = "plus-values illustrées"
        ordering = ["cooperation", "plus_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["cooperation", "plus_value"], name="cooperationplusvalue_unique"
            ),
            models.CheckConstraint(
                condition=Q(plus_value__in=PLUS_VALUE_CODES),
                name="cooperationplusvalue_code_is_known",
            ),
        ]

    def __str__(self) -> str:
        return self.get_plus_value_display()

    @property
    def field_name(self) -> str:
        """The Cooperation boolean this illustration selects."""
        return PLUS_VALUE_FIELD_BY_CODE[self.plus_value]


class Source(models.Model):
    cooperation = models.ForeignKey(Cooperation, on_delete=models.CASCADE, related_name="sources")
    url = models.URLField("adresse", max_length=500)
    title = models.CharField("titre", max_length=300, blank=True)
    publisher = models.CharField("éditeur", max_length=200, blank=True)
    published_on = models.DateField("date de publication", null=True, blank=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    # What the last link check (cooperations/link_check.py) found: the HTTP status of the first
    # answer (redirections are not followed: a 301 says the address moved), or the reason no
    # answer came. Facts about the web page, not about the cooperation: not in the history.
    last_status = models.PositiveSmallIntegerField("dernier code HTTP", null=True, blank=True)
    last_error = models.CharField("dernière erreur", max_length=200, blank=True)
    last_checked_at = models.DateTimeField("dernière vérification du lien", null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["last_status", "last_error", "last_checked_at"])

    class Meta:
        verbose_name = "source"
        verbose_name_plural = "sources"
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cooperation", "url"], name="source_unique_url"),
        ]

    def __str__(self) -> str:
        return self.title or self.url

    @property
    def is_unreachable(self) -> bool:
        """Checked, and no answer or an error answer (4xx, 5xx)."""
        if self.last_checked_at is None:
            return False
        return self.last_status is None or self.last_status >= 400


# Sources whose last check found no answer or an error answer (the admin's filter).
UNREACHABLE_SOURCE = Q(last_checked_at__isnull=False) & (
    Q(last_status__isnull=True) | Q(last_status__gte=400)
)


class TerritoryAlias(models.Model):
    """A short or usual name staff type for a territory (« MEL », « Lyon »); the import reads it
    before any name matching, so an alias is an explicit decision, never a guess."""

    alias = models.CharField(
        "alias",
        max_length=200,
        help_text="Tel qu'il figure dans les tableurs ; la casse, les accents et la ponctuation "
        "sont ignorés.",
    )
    # Folded copy of the alias; unique so that one spelling never points to two territories.
    search_alias = models.CharField(max_length=200, editable=False, unique=True)
    territory = models.ForeignKey(
        Territory, verbose_name="territoire", on_delete=models.CASCADE, related_name="aliases"
    )
    source_url = models.URLField(
        "source",
        max_length=500,
        blank=True,
        help_text="Page publique où ce nom est employé (site du territoire, BANATIC, presse…).",
    )
    # Who taught the import this spelling, when, and from which file (the preview's choices).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="ajouté par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
    )
    created_at = models.DateTimeField("ajouté le", null=True, blank=True, editable=False)
    source_file = models.CharField("fichier d'origine", max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name = "alias de territoire"
        verbose_name_plural = "alias de territoires"
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.territory.name}"

    def save(self, *args, **kwargs):
        self.search_alias = fold(self.alias)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not fold(self.alias):
            raise ValidationError({"alias": "L'alias doit contenir des lettres ou des chiffres."})
        clash = TerritoryAlias.objects.filter(search_alias=fold(self.alias)).exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError(
                {"alias": "Cet alias existe déjà (casse, accents et ponctuation ignorés)."}
            )


class DerivedFormat(models.Model):
    """The format version of a derived column that the stored rows were written with, so that a
    deploy changing the format rewrites them after `migrate` (derived.fill_missing_derived_text)."""

    name = models.CharField("colonne", max_length=60, primary_key=True)
    version = models.PositiveIntegerField("version")

    class Meta:
        verbose_name = "format d'une colonne dérivée"
        verbose_name_plural = "formats des colonnes dérivées"

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ReferenceEdit(models.Model):
    """An edit of what the records show without being part of them: a vocabulary's label or
    definition, a success factor's definition, a territory's name, code or kind. Its latest id
    is part of the catalogue's version (caching.catalogue_version), which no history moves for
    such an edit, so that the rows and pages kept for a version give way to the new text."""

    made_at = models.DateTimeField("le", auto_now_add=True)
    subject = models.CharField("objet", max_length=300)

    class Meta:
        verbose_name = "modification d'un référentiel"
        verbose_name_plural = "modifications des référentiels"

    def __str__(self) -> str:
        return self.subject

    @classmethod
    def record(cls, subject: str) -> "ReferenceEdit":
        return cls.objects.create(subject=subject[:300])


class ImportJob(models.Model):
    """A confirmed inventory import run by the task worker (cooperations/import_jobs.py): the
    file as sent, the preview's digest it must match, its progress and its result. The file is
    kept in the database, not in a temporary folder, so that any worker of any server reads it;
    it is emptied once the job ends."""

    class State(models.TextChoices):
        QUEUED = "queued", "En attente"
        RUNNING = "running", "En cours"
        SUCCEEDED = "succeeded", "Terminé"
        FAILED = "failed", "Échoué"

    class Step(models.TextChoices):
        READ = "read", "Lecture du fichier"
        CHECK = "check", "Vérification des lignes"
        WRITE = "write", "Écriture des fiches"
        INDEX = "index", "Historique et textes de recherche"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="import_jobs",
        verbose_name="lancé par",
    )
    file_name = models.CharField("fichier", max_length=255)
    data = models.BinaryField("contenu du fichier", blank=True)
    plan_digest = models.CharField("empreinte de l'aperçu", max_length=64)
    task_id = models.CharField("tâche", max_length=64, blank=True)
    state = models.CharField("état", max_length=10, choices=State.choices, default=State.QUEUED)
    step = models.CharField("étape", max_length=5, choices=Step.choices, blank=True)
    rows_total = models.PositiveIntegerField("lignes", default=0)
    step_done = models.PositiveIntegerField("lignes faites dans l'étape", default=0)
    step_total = models.PositiveIntegerField("lignes de l'étape", default=0)
    created = models.PositiveIntegerField("créées", default=0)
    updated = models.PositiveIntegerField("modifiées", default=0)
    unchanged = models.PositiveIntegerField("inchangées", default=0)
    errors = models.PositiveIntegerField("erreurs", default=0)
    territories_created = models.PositiveIntegerField("territoires créés", default=0)
    summary = models.TextField("bilan", blank=True)
    error_message = models.TextField("message d'erreur", blank=True)
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    progress_at = models.DateTimeField("dernier progrès le", null=True, blank=True)
    finished_at = models.DateTimeField("fini le", null=True, blank=True)

    class Meta:
        verbose_name = "import en arrière-plan"
        verbose_name_plural = "imports en arrière-plan"
        constraints = [
            # A finished job says when; a job still to do or doing has no end.
            models.CheckConstraint(
                condition=models.Q(state__in=["succeeded", "failed"], finished_at__isnull=False)
                | models.Q(state__in=["queued", "running"], finished_at__isnull=True),
                name="importjob_finished_at_iff_done",
            ),
        ]

    def __str__(self) -> str:
        return f"Import de « {self.file_name} » ({self.get_state_display().lower()})"

    @property
    def is_done(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED}
