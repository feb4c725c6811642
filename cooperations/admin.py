"""Staff editing. Permissions come from Django's model permissions (groups Éditeurs and
Lecteurs, see services.ensure_staff_groups); nothing here relies on hiding buttons alone.
"""

import calendar
import datetime

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Prefetch, Q
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.admin import SimpleHistoryAdmin

from .admin_checks import ValidSelectionMixin
from .admin_import import InventoryImportExportMixin
from .concurrency import UniqueRaceAdminMixin, VersionedCooperationForm
from .derived import refresh_derived_text
from .history import cooperation_history
from .importing.duplicates import catalogue_duplicates
from .models import (
    UNREACHABLE_SOURCE,
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    CooperationSlugAlias,
    LegalForm,
    Participation,
    ReferenceEdit,
    Source,
    SuccessFactor,
    Territory,
    Theme,
)
from .services import select_illustrated_plus_values
from .text import fold


@admin.register(Territory)
class TerritoryAdmin(ValidSelectionMixin, UniqueRaceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "code", "departement", "population", "vintage"]
    list_filter = ["kind", "vintage", "region"]
    list_select_related = ["departement"]
    search_fields = ["name", "code", "search_name"]
    search_help_text = "Nom (accents et tirets ignorés) ou code officiel (SIREN, INSEE)."
    autocomplete_fields = ["departement", "region", "epci"]
    readonly_fields = ["search_name"]
    ordering = ["name"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # What the search text, rows and pages of its cooperations show of it.
        if change and {"name", "code", "kind"} & set(form.changed_data):
            refresh_derived_text(Cooperation.objects.filter(participations__territory=obj))
        if not change or {"name", "code", "kind"} & set(form.changed_data):
            # A new métropole shows on the home page, a renamed territory everywhere.
            ReferenceEdit.record(f"Territoire {obj}")

    def get_search_results(self, request, queryset, search_term):
        # Staff type « saint etienne » or « Saint-Étienne »: match the folded copy of the name,
        # and treat a bare number as an official code prefix.
        term = search_term.strip()
        if not term:
            return queryset, False
        if "\ufffd" in term:
            # What was not text (a NUL, bytes that are not UTF-8) matches no name.
            return queryset.none(), False
        folded = fold(term)
        condition = Q(code__istartswith=term.upper())
        if folded:
            condition |= Q(search_name__contains=folded)
        results = queryset.filter(condition)
        if request.GET.get("model_name") or "autocomplete" in request.path:
            # Autocomplete: metropoles and EPCI first, then the most populated.
            results = results.order_by("-population", "name")
        return results, False


class ParticipationFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if Participation.Role.METROPOLE not in roles:
            raise ValidationError("Une coopération associe au moins une métropole.")


class ParticipationInline(admin.TabularInline):
    model = Participation
    formset = ParticipationFormSet
    autocomplete_fields = ["territory"]
    extra = 0
    min_num = 1


class CooperationFactorInline(admin.StackedInline):
    model = CooperationFactor
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    fields = ["factor", "text", "source_url"]


class CooperationPlusValueInline(admin.StackedInline):
    model = CooperationPlusValue
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    fields = ["plus_value", "text", "source_url"]


class SlugAliasInline(admin.TabularInline):
    """The record's former addresses, which redirect to it: shown, written only by migrations
    (0023), so that no former address is lost by an edit."""

    model = CooperationSlugAlias
    verbose_name_plural = "anciennes adresses (redirigées vers la fiche)"
    extra = 0
    fields = ["slug"]
    readonly_fields = ["slug"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SourceInline(admin.TabularInline):
    model = Source
    # Staff paste addresses without a scheme; sources are public web pages, so HTTPS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    fields = ["url", "title", "publisher", "published_on", "position", "link_check"]
    readonly_fields = ["link_check"]

    @admin.display(description="dernière vérification du lien")
    def link_check(self, obj):
        if obj is None or obj.last_checked_at is None:
            return "jamais vérifié"
        when = date_format(timezone.localtime(obj.last_checked_at), "j F Y")
        found = f"code {obj.last_status}" if obj.last_status else obj.last_error
        return f"{'injoignable' if obj.is_unreachable else 'joignable'} ({found}), le {when}"


class SourceCheckFilter(admin.SimpleListFilter):
    """Records by what the last link check (command check_sources) found of their sources."""

    title = "sources"
    parameter_name = "sources"

    def lookups(self, request, model_admin):
        return [
            ("injoignable", "Source injoignable"),
            ("deplacee", "Source déplacée (redirection)"),
            ("jamais", "Source jamais vérifiée"),
        ]

    def queryset(self, request, queryset):
        sources = {
            "injoignable": UNREACHABLE_SOURCE,
            "deplacee": Q(last_status__gte=300, last_status__lt=400),
            "jamais": Q(last_checked_at__isnull=True),
        }.get(self.value())
        if sources is None:
            return queryset
        return queryset.filter(pk__in=Source.objects.filter(sources).values("cooperation_id"))


def verification_deadline() -> datetime.date:
    """Records last verified before this day are due (VERIFICATION_MAX_AGE_MONTHS ago)."""
    today = timezone.localdate()
    months = today.year * 12 + today.month - 1 - settings.VERIFICATION_MAX_AGE_MONTHS
    year, month = divmod(months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return today.replace(year=year, month=month + 1, day=min(today.day, last_day))


class VerificationFilter(admin.SimpleListFilter):
    """« À vérifier »: published records never verified or verified too long ago."""

    title = "vérification"
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return [
            ("a-verifier", f"À vérifier (publiées, non vérifiées depuis "
                           f"{settings.VERIFICATION_MAX_AGE_MONTHS} mois)"),
        ]  # fmt: skip

    def queryset(self, request, queryset):
        if self.value() != "a-verifier":
            return queryset
        return queryset.filter(
            Q(last_verified_on__isnull=True) | Q(last_verified_on__lt=verification_deadline()),
            state=Cooperation.State.PUBLISHED,
        )


class MetropoleFilter(admin.SimpleListFilter):
    title = "métropole"
    parameter_name = "metropole"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name)
            for pk, name in Territory.objects.metropoles()
            .values_list("pk", "name")
            .order_by("name")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(
            participations__territory_id=int(value),
            participations__role=Participation.Role.METROPOLE,
        )


class CooperationForm(VersionedCooperationForm):
    # Set per request by CooperationAdmin.get_form: the reviewer's permission.
    can_publish = True

    def clean_state(self):
        state = self.cleaned_data["state"]
        before = self.instance.state if self.instance.pk else Cooperation.State.DRAFT
        published = Cooperation.State.PUBLISHED
        if not self.can_publish and state != before and published in {state, before}:
            raise ValidationError(
                "Publier ou dépublier une fiche demande la permission de relecteur : "
                "choisissez « À relire » pour la soumettre à un relecteur."
            )
        return state


class StateFilter(admin.SimpleListFilter):
    """The workflow's states, each with its number of records (one query)."""

    title = "état"
    parameter_name = "etat"

    def lookups(self, request, model_admin):
        counts = dict(Cooperation.objects.values_list("state").annotate(n=Count("pk")).order_by())
        return [
            (value, f"{label} ({counts.get(value, 0)})")
            for value, label in Cooperation.State.choices
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in Cooperation.State.values:
            return queryset.filter(state=value)
        return queryset


# After Django's own: the prefilled slug spells « œ », « æ » and dashes as `text.slug` does.
SLUG_PREFILL_JS = ["admin/js/urlify.js", "js/admin-slug.js"]


@admin.register(Cooperation)
class CooperationAdmin(
    ValidSelectionMixin, UniqueRaceAdminMixin, InventoryImportExportMixin, SimpleHistoryAdmin
):
    list_display = [
        "name",
        "metropoles",
        "legal_form",
        "status",
        "signature",
        "state",
        "updated_at",
    ]
    list_filter = [
        StateFilter,
        VerificationFilter,
        MetropoleFilter,
        SourceCheckFilter,
        "themes",
        "legal_form",
        "status",
        "provenance",
    ]
    list_select_related = ["legal_form"]
    search_fields = [
        "name",
        "slug",
        "participations__territory__name",
        "participations__territory__code",
    ]
    search_help_text = "Nom de la coopération, nom ou code officiel d'un territoire participant."
    prepopulated_fields = {"slug": ["name"]}

    class Media:
        js = SLUG_PREFILL_JS

    autocomplete_fields = ["legal_form"]
    filter_horizontal = ["themes"]
    inlines = [
        ParticipationInline,
        CooperationFactorInline,
        CooperationPlusValueInline,
        SourceInline,
        SlugAliasInline,
    ]
    # Refuses to save over a version saved or imported since the form was opened.
    form = CooperationForm
    # One entry per save, in French, with participants, factors and sources (history.py).
    object_history_template = "admin/cooperations/cooperation/object_history.html"
    list_per_page = 50
    actions = ["mark_verified"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "state", "summary", "description"]}),
        (
            "Caractéristiques",
            {
                "fields": [
                    "legal_form",
                    "status",
                    ("signed_on", "signed_on_precision"),
                    ("starts_on", "ends_on"),
                    "themes",
                    ("adds_scale", "adds_value_chain", "adds_pooling"),
                ]
            },
        ),
        ("Mise en œuvre", {"fields": ["governance", "funding", "staffing"]}),
        (
            "Suivi",
            {
                "fields": [
                    "provenance",
                    "last_verified_on",
                    ("created_at", "updated_at"),
                    "version",
                ]
            },
        ),
    ]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._valid_pk(object_id)
        self._valid_pk(version_id, self.model.history.model._meta.pk)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _valid_pk(self, value, field=None):
        try:
            (field or self.model._meta.pk).to_python(unquote(value))
        except ValidationError:
            raise Http404 from None

    import_export_change_list_template = "admin/cooperations/cooperation/change_list.html"

    def get_urls(self):
        return [
            path(
                "doublons/",
                self.admin_site.admin_view(self.duplicates_view),
                name="cooperations_cooperation_duplicates",
            ),
            *super().get_urls(),
        ]

    def duplicates_view(self, request):
        """Likely duplicates already in the catalogue, for staff to merge or tell apart."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Doublons probables",
            "opts": self.model._meta,
            "pairs": catalogue_duplicates(),
        }
        return TemplateResponse(request, "admin/cooperations/cooperation/duplicates.html", context)

    @admin.action(description="Marquer comme vérifiées aujourd'hui", permissions=["change"])
    def mark_verified(self, request, queryset):
        """After review: stamp today's date, one history version per record."""
        today = timezone.localdate()
        count = 0
        for cooperation in queryset.exclude(last_verified_on=today):
            cooperation.last_verified_on = today
            cooperation._change_reason = "Vérification de la fiche"
            cooperation.save(update_fields=["last_verified_on", "updated_at"])
            count += 1
        refresh_derived_text(queryset)
        self.message_user(request, f"{count} fiche(s) marquée(s) comme vérifiée(s) le "
                                   f"{date_format(today, 'j F Y')}.")  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # A class made for this request by modelform_factory: the attribute is its own.
        form.can_publish = request.user.has_perm("cooperations.publish_cooperation")
        return form

    def save_model(self, request, obj, form, change):
        obj._state_decides = True  # the public flag follows the state chosen here
        super().save_model(request, obj, form, change)

    def history_view(self, request, object_id, extra_context=None):
        # simple-history looks the id up as it comes: `abc` was a ValueError, hence a 500.
        self._valid_pk(object_id)
        entries = cooperation_history(int(object_id))
        return super().history_view(
            request, object_id, extra_context={**(extra_context or {}), "entries": entries}
        )

    def history_view_title(self, request, obj):
        return f"Historique de « {obj} »"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        select_illustrated_plus_values(form.instance)
        # Themes and participants are saved only now; the search text depends on them.
        refresh_derived_text(Cooperation.objects.filter(pk=form.instance.pk))

    def get_queryset(self, request):
        # One extra query for all métropoles of the page, whatever its length.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "participations",
                    queryset=Participation.objects.filter(
                        role=Participation.Role.METROPOLE
                    ).select_related("territory"),
                    to_attr="metropole_participations",
                )
            )
        )

    @admin.display(description="métropole(s)")
    def metropoles(self, obj):
        return ", ".join(p.territory.name for p in obj.metropole_participations)

    @admin.display(description="signature", ordering="signed_on")
    def signature(self, obj):
        return obj.signature_display


class VocabularyAdmin(ValidSelectionMixin, UniqueRaceAdminMixin, admin.ModelAdmin):
    list_display = ["label", "slug", "position"]
    search_fields = ["label", "slug"]
    prepopulated_fields = {"slug": ["label"]}

    class Media:
        js = SLUG_PREFILL_JS

    # Fields whose edit the catalogue's version follows (what pages and searches keep).
    reference_fields = {"label", "slug", "definition"}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"label", "slug", "definition"} & set(form.changed_data):
            # Labels are part of the search text of the cooperations that use them; labels,
            # links and definitions of their rows and pages.
            refresh_derived_text(obj.cooperations.all())
        if not change or self.reference_fields & set(form.changed_data):
            # A new theme or form shows on the home page, a new label everywhere.
            ReferenceEdit.record(f"{obj._meta.verbose_name.capitalize()} {obj}")


@admin.register(Theme)
class ThemeAdmin(VocabularyAdmin):
    # The searches read the word families once per catalogue version (search.families_for).
    reference_fields = VocabularyAdmin.reference_fields | {"word_families"}


@admin.register(LegalForm)
class LegalFormAdmin(VocabularyAdmin):
    pass


@admin.register(SuccessFactor)
class SuccessFactorAdmin(ValidSelectionMixin, admin.ModelAdmin):
    """The six factors are fixed by the Fabrique prospective: only their definition is edited."""

    list_display = ["label", "slug", "position"]
    readonly_fields = ["slug", "label", "position"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "definition" in form.changed_data:
            ReferenceEdit.record(f"Facteur de réussite {obj}")


# The admins of Django and of the libraries (users, groups, login attempts, the DSFR's settings)
# get the same check of a posted selection: registered before this module (INSTALLED_APPS lists
# this app last), each is registered again as a subclass with the check.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, ValidSelectionMixin):
        admin.site.unregister(_model)
        admin.site.register(
            _model,
            type(type(_model_admin).__name__, (ValidSelectionMixin, type(_model_admin)), {}),
        )
