"""Inventory import and export in the cooperation admin, as a mixin for CooperationAdmin.

django-import-export gives the pages (upload, preview, confirm, export); this mixin narrows it
to the inventory format: one import entry that reads XLSX, ODS and CSV by content, a size cap,
French messages, the downloadable template, and the alias table's admin.
"""

import os
import re
import tempfile

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from import_export.results import Result

from .admin_checks import ValidSelectionMixin
from .concurrency import ImportBusy
from .import_jobs import job_status, queue_import, refusal_message, visible_job
from .importing import NOT_CREATABLE_KINDS, Taught, teach_names
from .inventory import ParseError
from .models import ImportJob, Territory, TerritoryAlias
from .resources import EXPORT_FORMATS, CooperationResource, SpreadsheetImport, template_workbook


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} Mo".replace(".0 ", " ").replace(".", ",")
    return f"{max(1, size // 1024)} Ko"


class InventoryImportForm(ImportForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = human_size(settings.IMPORT_MAX_UPLOAD_SIZE)
        self.fields["import_file"].label = "Fichier de l'inventaire"
        self.fields["import_file"].help_text = (
            f"Classeur XLSX (Excel), ODS (LibreOffice) ou CSV (UTF-8 ou Windows-1252, séparateur "
            f"point-virgule ou virgule), {limit} au plus."
        )
        self.fields["import_file"].widget.attrs["accept"] = ".xlsx,.ods,.csv,.txt"

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.IMPORT_MAX_UPLOAD_SIZE
        if upload.size > limit:
            raise forms.ValidationError(
                f"Le fichier pèse {human_size(upload.size)} : la limite est de "
                f"{human_size(limit)}. Découpez-le en plusieurs fichiers."
            )
        return upload


class InventoryConfirmForm(ConfirmImportForm):
    # What the preview showed, as ImportPlan.digest: the confirmation applies that or nothing.
    plan_digest = forms.CharField(widget=forms.HiddenInput(), max_length=64)
    # The preview's number of rows: above IMPORT_BACKGROUND_ROWS the confirmation is queued.
    # A tampered count only moves the import between the request and the worker; the digest
    # still decides what is written.
    row_count = forms.IntegerField(widget=forms.HiddenInput(), min_value=0, required=False)


class InventoryImportExportMixin(ImportMixin, ExportActionMixin):
    """Import (permission cooperations.import_cooperation) and export of the inventory."""

    resource_classes = [CooperationResource]
    import_form_class = InventoryImportForm
    confirm_form_class = InventoryConfirmForm
    export_form_class = ExportForm
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    import_template_name = "admin/cooperations/cooperation/import.html"
    show_change_form_export = False

    def get_import_formats(self):
        return [SpreadsheetImport]

    def get_export_formats(self):
        return EXPORT_FORMATS

    def get_urls(self):
        urls = super().get_urls()
        info = self.get_model_info()
        return [
            path(
                "import/modele.xlsx",
                self.admin_site.admin_view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            path(
                "import/apprendre/",
                self.admin_site.admin_view(self.learn_view),
                name="{}_{}_import_learn".format(*info),
            ),
            path(
                "import/suivi/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="{}_{}_import_job".format(*info),
            ),
            path(
                "import/suivi/<int:job_id>/etat.json",
                self.admin_site.admin_view(self.import_job_state_view),
                name="{}_{}_import_job_state".format(*info),
            ),
            *urls,
        ]

    def import_template_view(self, request):
        """The empty inventory with an example row and the allowed values, as XLSX."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(
            template_workbook(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="modele-inventaire.xlsx"'
        return response

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["max_upload_size"] = human_size(settings.IMPORT_MAX_UPLOAD_SIZE)
        context["codeless_kinds"] = [
            (value, label)
            for value, label in Territory.Kind.choices
            if value not in NOT_CREATABLE_KINDS
        ]
        return context

    def process_import(self, request, **kwargs):
        if request.method == "POST" and self.has_import_permission(request):
            confirm_form = self.create_confirm_form(request)
            if (
                confirm_form.is_valid()
                and (confirm_form.cleaned_data.get("row_count") or 0)
                > settings.IMPORT_BACKGROUND_ROWS
            ):
                return self.queue_import(request, confirm_form)
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:
            # A second confirmation of one preview, or one sent after the file was cleaned up.
            messages.error(request, "Fichier expiré : envoyez-le de nouveau.")
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*self.get_model_info()))
            )

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["plan_digest"] = getattr(request, "inventory_plan_digest", "")
            initial["row_count"] = getattr(request, "inventory_plan_rows", 0)
        return initial

    def queue_import(self, request, confirm_form):
        """Hand the confirmed file to the task worker and show its progress page at once."""
        storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            read_mode="rb",
            **self.get_tmp_storage_class_kwargs(),
        )
        try:
            data = storage.read()
            storage.remove()
        except OSError:
            messages.error(request, "Fichier expiré : envoyez-le de nouveau.")
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*self.get_model_info()))
            )
        job = queue_import(
            request.user,
            os.path.basename(confirm_form.cleaned_data.get("original_file_name") or "inventaire"),
            data,
            confirm_form.cleaned_data["plan_digest"],
            confirm_form.cleaned_data["row_count"],
        )
        return HttpResponseRedirect(
            reverse("admin:{}_{}_import_job".format(*self.get_model_info()), args=[job.pk])
        )

    def _visible_job(self, request, job_id):
        # Someone else's job is not found rather than forbidden: its existence says nothing.
        job = visible_job(request.user, job_id)
        if job is None:
            raise Http404("Import introuvable.")
        return job

    def import_job_view(self, request, job_id):
        """A background import's page: the progress bar while it runs (updated by
        js/import-job.js from etat.json, or by reloading the page), then its result."""
        status = job_status(self._visible_job(request, job_id))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import en arrière-plan",
            "opts": self.model._meta,
            "status": status,
            "job": status.job,
            "steps": list(ImportJob.Step),
            "step_number": status.step_number,
        }
        return TemplateResponse(request, "admin/cooperations/cooperation/import_job.html", context)

    def import_job_state_view(self, request, job_id):
        # admin_view already marks it never cached: every poll reads the job afresh.
        return JsonResponse(job_status(self._visible_job(request, job_id)).as_json())

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        kwargs = super().get_import_data_kwargs(**kwargs)
        if isinstance(form, InventoryConfirmForm):
            kwargs["expected_digest"] = form.cleaned_data["plan_digest"]
        return kwargs

    def learn_view(self, request):
        """Save what staff chose for the names the register does not know, then check the
        same file again: the preview teaches the import, and nothing is picked without them."""
        if (
            request.method != "POST"
            or not self.has_import_permission(request)
            or not request.user.has_perm("cooperations.add_territoryalias")
        ):
            raise PermissionDenied
        import_url = reverse("admin:{}_{}_import".format(*self.get_model_info()))
        stored = request.POST.get("tmp_storage_name", "")
        # Only a file the upload step itself wrote to the temporary folder may be read back.
        if os.path.dirname(stored) != tempfile.gettempdir() or not re.fullmatch(
            r"tmp\w{4,16}", os.path.basename(stored)
        ):
            messages.error(request, "Fichier introuvable : envoyez-le de nouveau.")
            return HttpResponseRedirect(import_url)
        file_name = os.path.basename(request.POST.get("file_name", ""))[:255] or "inventaire"
        choices = []
        count = request.POST.get("count", "")
        # A tampered count is read as no choice at all, never as an error page.
        for n in range(min(int(count) if count.isdigit() else 0, 500)):
            name, choice = request.POST.get(f"name_{n}", ""), request.POST.get(f"choice_{n}", "")
            if choice == "code":
                choices.append(Taught(name, code=request.POST.get(f"code_{n}", "")))
            elif choice == "kind":
                choices.append(Taught(name, kind=request.POST.get(f"kind_{n}", "")))
            elif choice.isdigit():
                choices.append(Taught(name, territory_id=int(choice)))
        saved, errors = teach_names(choices, request.user, file_name)
        for error in errors:
            messages.error(request, error)
        if saved:
            messages.success(
                request, f"{saved} nom(s) appris ; le fichier a été vérifié de nouveau."
            )
        storage = self.get_tmp_storage_class()(
            name=stored, read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )
        try:
            data = storage.read()
            storage.remove()
        except OSError:
            messages.error(request, "Fichier expiré : envoyez-le de nouveau.")
            return HttpResponseRedirect(import_url)
        # The same upload again, through the same code path as a new one (the request's files
        # are read-only for views; `_files` is where Django keeps them once parsed).
        request.POST = QueryDict("resource=0&format=0")
        request._files = MultiValueDict({"import_file": [SimpleUploadedFile(file_name, data)]})
        return self.import_action(request)

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ParseError):
            form.add_error("import_file", str(e))
        else:
            form.add_error(
                "import_file",
                "Ce fichier n'a pas pu être lu comme un tableur : envoyez un fichier XLSX, ODS "
                "ou CSV.",
            )

    def process_dataset(self, dataset, form, request, **kwargs):
        try:
            return super().process_dataset(dataset, form, request, **kwargs)
        except ImportBusy as busy:
            # Handed to process_result, so that the library still removes the uploaded file.
            result = Result()
            result.import_busy = str(busy)
            return result

    def process_result(self, result, request):
        busy = getattr(result, "import_busy", None)
        if busy:
            messages.error(request, busy)
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*self.get_model_info()))
            )
        plan = getattr(result, "inventory_plan", None)
        if plan is not None and not plan.is_valid:
            # The database changed between preview and confirmation (a territory or a
            # vocabulary value was deleted): the re-check refused the file, nothing was written.
            messages.error(request, refusal_message(plan))
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*self.get_model_info()))
            )
        return super().process_result(result, request)

    def add_success_message(self, result, request):
        plan = getattr(result, "inventory_plan", None)
        if plan is None:
            return super().add_success_message(result, request)
        messages.success(request, f"Import terminé : {plan.summary()}")

    def get_export_filename(self, request, queryset, file_format):
        return f"cooperations-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def export_action(self, request):
        # The export applies the change list's filters from the query string, and the library
        # lets the change list's refusal of an unknown one (`?page=2`, a stale bookmark) end in
        # a 500. The change list itself answers `?e=1`; the export says what it dropped and
        # offers the unfiltered export instead.
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            names = ", ".join(f"« {name} »" for name in sorted(request.GET)[:5])
            messages.warning(
                request,
                f"Un paramètre de l'adresse n'est pas un filtre de la liste ({names}) : les "
                "filtres ont été retirés et l'export porte sur toutes les coopérations. "
                "Filtrez la liste, puis cliquez sur « Exporter » pour exporter une sélection.",
            )
            return HttpResponseRedirect(request.path)

    def get_valid_export_item_pks(self, request):
        # The library's default warns of its deprecation; any cooperation may be exported.
        return self.model.objects.values_list("pk", flat=True)


@admin.register(TerritoryAlias)
class TerritoryAliasAdmin(ValidSelectionMixin, admin.ModelAdmin):
    list_display = ["alias", "territory", "source_url", "created_by", "created_at"]
    list_select_related = ["territory", "created_by"]
    list_filter = ["territory__kind"]
    search_fields = ["alias", "search_alias", "territory__name", "territory__code"]
    autocomplete_fields = ["territory"]
    fields = ["alias", "territory", "source_url", "created_by", "created_at", "source_file"]
    readonly_fields = ["created_by", "created_at", "source_file"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "source_url":
            kwargs["assume_scheme"] = "https"  # Django 6's default; silences its deprecation
        return super().formfield_for_dbfield(db_field, request, **kwargs)
