"""django-import-export plumbing for the inventory: file formats, the cooperation resource and
the export rows. The checks and writes themselves live in the importing package, shared with the
`import_inventory` command.
"""

import tablib
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from import_export import resources
from import_export.formats import base_formats
from import_export.results import Error, Result, RowResult

from . import inventory
from .importing import RowPlan, run_import
from .inventory import (
    COLUMNS,
    FACTOR_SOURCE_PREFIX,
    FACTOR_TEXT_PREFIX,
    PLUS_VALUE_SOURCE_PREFIX,
    PLUS_VALUE_TEXT_PREFIX,
    format_date,
    format_territory_ref,
)
from .models import Cooperation, CooperationFactor, Participation
from .publishing.spreadsheets import Sheet, write_csv, write_ods, write_xlsx
from .vocabularies import PLUS_VALUE_FIELDS

HEADERS = [column.header for column in COLUMNS]


# --- Export --------------------------------------------------------------------------------------


def export_queryset(queryset):
    """The cooperations with what the export needs: 5 queries whatever their number."""
    return queryset.select_related("legal_form").prefetch_related(
        "themes",
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("territory").order_by(
                "territory__name", "pk"
            ),
        ),
        Prefetch(
            "factor_links",
            queryset=CooperationFactor.objects.select_related("factor").order_by(
                "factor__position"
            ),
        ),
        "plus_value_links",
        "sources",
    )


def export_row(cooperation: Cooperation) -> list[str]:
    """One cooperation in the inventory format, every cell as text (the writers of
    publishing/spreadsheets.py escape formulas)."""
    participations = cooperation.participations.all()

    def territories(role):
        return "; ".join(
            format_territory_ref(p.territory.name, p.territory.kind, p.territory.code)
            for p in participations
            if p.role == role
        )

    sources = sorted(cooperation.sources.all(), key=lambda s: (s.position, s.pk))
    values = {
        "slug": cooperation.slug,
        "name": cooperation.name,
        "metropoles": territories(Participation.Role.METROPOLE),
        "partners": territories(Participation.Role.PARTNER),
        "associated": territories(Participation.Role.ASSOCIATED),
        "legal_form": cooperation.legal_form.label if cooperation.legal_form else "",
        "status": cooperation.get_status_display() if cooperation.status else "",
        "signed_on": format_date(cooperation.signed_on, cooperation.signed_on_precision),
        "starts_on": format_date(cooperation.starts_on),
        "ends_on": format_date(cooperation.ends_on),
        "themes": "; ".join(theme.label for theme in cooperation.themes.all()),
        "factors": "; ".join(link.factor.label for link in cooperation.factor_links.all()),
        "plus_value": "; ".join(cooperation.plus_values),
        "summary": cooperation.summary,
        "description": cooperation.description,
        "governance": cooperation.governance,
        "funding": cooperation.funding,
        "staffing": cooperation.staffing,
        "provenance": cooperation.get_provenance_display(),
        "sources": "\n".join(source.url for source in sources),
        "last_verified_on": format_date(cooperation.last_verified_on),
        "is_published": "oui" if cooperation.is_published else "non",
        "state": cooperation.get_state_display(),
    }
    for link in cooperation.factor_links.all():
        values[FACTOR_TEXT_PREFIX + link.factor.slug] = link.text
        values[FACTOR_SOURCE_PREFIX + link.factor.slug] = link.source_url
    for link in cooperation.plus_value_links.all():
        values[PLUS_VALUE_TEXT_PREFIX + link.plus_value] = link.text
        values[PLUS_VALUE_SOURCE_PREFIX + link.plus_value] = link.source_url
    return [values.get(column.key, "") for column in COLUMNS]


def export_dataset(queryset) -> tablib.Dataset:
    dataset = tablib.Dataset(headers=HEADERS, title="Coopérations")
    for cooperation in export_queryset(queryset).order_by("name", "pk"):
        dataset.append(export_row(cooperation))
    return dataset


# --- Formats -------------------------------------------------------------------------------------


def dataset_from_bytes(data: bytes, extension: str = "") -> tablib.Dataset:
    """Read any supported file into a Dataset carrying the parsed sheet and its line numbers."""
    sheet = inventory.read_spreadsheet(data, extension)
    if not sheet.header:
        raise inventory.ParseError("Le fichier est vide : aucune ligne d'en-tête.")
    if not sheet.rows:
        raise inventory.ParseError("Le fichier ne contient aucune coopération sous ses en-têtes.")
    width = max(len(sheet.header), *(len(cells) for _, cells in sheet.rows))
    headers = [
        inventory.clean_text(h) or f"colonne {i + 1}"
        for i, h in enumerate(list(sheet.header) + [""] * (width - len(sheet.header)))
    ]
    dataset = tablib.Dataset(headers=headers)
    for _, cells in sheet.rows:
        dataset.append([inventory.clean_text(c) for c in cells] + [""] * (width - len(cells)))
    dataset.inventory_sheet = sheet
    return dataset


class SpreadsheetImport(base_formats.Format):
    """One import entry for XLSX, ODS and CSV: the file's content decides how it is read."""

    def __init__(self, encoding=None):
        self.encoding = encoding

    def get_title(self):
        return "Tableur (XLSX, ODS ou CSV)"

    def create_dataset(self, in_stream):
        return dataset_from_bytes(in_stream)

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def get_extension(self):
        return "xlsx"

    def can_import(self):
        return True


def _sheets(dataset: tablib.Dataset) -> list[Sheet]:
    return [Sheet(dataset.title or "Coopérations", list(dataset.headers), dataset)]


class _SpreadsheetExport:
    # publishing/spreadsheets.py writes the files: the library's own formula escaping drops the
    # leading « = » and loses data, its ODS writer (odfpy) is slow.
    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def can_import(self):
        return False


class XLSXExport(_SpreadsheetExport, base_formats.XLSX):
    def export_data(self, dataset, **kwargs):
        return write_xlsx(_sheets(dataset))


class ODSExport(_SpreadsheetExport, base_formats.ODS):
    def export_data(self, dataset, **kwargs):
        return write_ods(_sheets(dataset))


class CSVExport(_SpreadsheetExport, base_formats.CSV):
    """UTF-8 with a BOM and semicolons, which French Excel opens correctly."""

    def export_data(self, dataset, **kwargs):
        return write_csv(list(dataset.headers), dataset)


EXPORT_FORMATS = [XLSXExport, ODSExport, CSVExport]


# --- Resource ------------------------------------------------------------------------------------


class CooperationResource(resources.Resource):
    """The inventory as a django-import-export resource; the import key is the slug."""

    @classmethod
    def get_display_name(cls):
        return "Inventaire des coopérations"

    def get_user_visible_fields(self):
        return [_Header(header) for header in HEADERS]

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        sheet = getattr(dataset, "inventory_sheet", None)
        if sheet is None:
            sheet = inventory.Sheet(
                header=list(dataset.headers or []),
                rows=[(n, list(r)) for n, r in enumerate(dataset, start=2)],
            )
        plan, outcome = run_import(
            sheet,
            commit=not dry_run,
            user=kwargs.get("user"),
            expected_digest=kwargs.get("expected_digest", ""),
        )
        request = kwargs.get("request")
        if dry_run and request is not None:
            # The admin's confirmation form carries the preview's digest (see
            # InventoryImportExportMixin.get_confirm_form_initial); the library hands the
            # request, not the result, to the code that builds that form.
            request.inventory_plan_digest = plan.digest
            request.inventory_plan_rows = len(plan.rows)
        return build_result(plan, outcome)

    def export(self, queryset=None, **kwargs):
        if queryset is None:
            queryset = Cooperation.objects.all()
        return export_dataset(queryset)


class _Header:
    def __init__(self, column_name):
        self.column_name = column_name


_IMPORT_TYPES = {
    RowPlan.NEW: RowResult.IMPORT_TYPE_NEW,
    RowPlan.UPDATE: RowResult.IMPORT_TYPE_UPDATE,
    RowPlan.SKIP: RowResult.IMPORT_TYPE_SKIP,
}


def build_result(plan, outcome) -> Result:
    """Translate a plan into django-import-export's Result so the admin can show it."""
    result = Result()
    result.inventory_plan = plan
    result.diff_headers = ["Ligne", "Identifiant", "Nom", "Changements"]
    for message in plan.file_errors:
        result.append_base_error(Error(inventory.ParseError(message)))
    pks = outcome.cooperations if outcome else {}
    for row in plan.rows:
        if row.action == RowPlan.INVALID:
            errors: dict[str, list[str]] = {}
            for error in row.errors:
                errors.setdefault(error.column or "Ligne", []).append(str(error))
            result.append_invalid_row(row.line, row.cells, ValidationError(errors))
            continue
        row_result = RowResult()
        row_result.import_type = _IMPORT_TYPES[row.action]
        row_result.diff = [
            row.line,
            row.slug,
            row.fields.get("name", ""),
            ", ".join(row.changes) if row.action == RowPlan.UPDATE else "",
        ]
        if row.slug in pks:
            row_result.object_id = pks[row.slug]
            row_result.object_repr = row.fields.get("name", row.slug)
            row_result.instance = row.instance
        result.append_row_result(row_result)
        result.increment_row_result_total(row_result)
    result.totals[RowResult.IMPORT_TYPE_INVALID] = len(result.invalid_rows)
    result.total_rows = len(plan.rows)
    return result


# --- Template ------------------------------------------------------------------------------------


def template_workbook() -> bytes:
    """The inventory's headers with one example row, a sheet of the allowed values (themes,
    forms, factors, statuses, plus-values, provenances, the métropoles) and a sheet describing
    each column. Five queries."""
    from .models import LegalForm, SuccessFactor, Territory, Theme

    metropoles = [
        format_territory_ref(name, kind, code)
        for name, kind, code in Territory.objects.metropoles()
        .order_by("name")
        .values_list("name", "kind", "code")
    ]
    lists = {
        "Thématiques": list(Theme.objects.values_list("label", flat=True)),
        "Formes de coopération": list(LegalForm.objects.values_list("label", flat=True)),
        "Facteurs de réussite": list(SuccessFactor.objects.values_list("label", flat=True)),
        "Codes des facteurs": list(SuccessFactor.objects.values_list("slug", flat=True)),
        "Statuts": [label for _value, label in Cooperation.Status.choices],
        "Plus-values": [label for _field, label in PLUS_VALUE_FIELDS],
        "Provenances": [label for _value, label in Cooperation.Provenance.choices],
        "Publiée": ["oui", "non"],
        "Natures de territoire (entre crochets)": [
            f"{value} — {label}" for value, label in Territory.Kind.choices
        ],
        "Métropoles": metropoles,
    }
    height = max(len(values) for values in lists.values())
    allowed_rows = [
        [values[i] if i < len(values) else "" for values in lists.values()] for i in range(height)
    ]
    columns_rows = [
        [column.header, ", ".join(column.aliases), column.accepted, column.example]
        for column in COLUMNS
    ]
    return write_xlsx(
        [
            Sheet("Coopérations", HEADERS, [[column.example for column in COLUMNS]]),
            Sheet("Valeurs autorisées", list(lists), allowed_rows),
            Sheet(
                "Colonnes",
                ["Colonne", "Autres intitulés acceptés", "Valeurs", "Exemple"],
                columns_rows,
                autofilter=False,
            ),
        ]
    )
