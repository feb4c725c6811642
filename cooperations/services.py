"""Writes that touch several models, kept out of signals and save()."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

EDITORS = "Éditeurs"
READERS = "Lecteurs"
# Editors who may also publish and unpublish (the workflow's review step).
REVIEWERS = "Relecteurs"

# Models staff maintain; reference vocabularies are editable by editors except the factors.
_EDITED_MODELS = [
    "cooperation",
    "participation",
    "cooperationfactor",
    "cooperationplusvalue",
    "source",
    "theme",
    "legalform",
    "territory",
    "territoryalias",
]
_VIEWED_MODELS = [*_EDITED_MODELS, "successfactor"]


def ensure_staff_groups(using: str = "default") -> tuple[Group, Group]:
    """Create or repair the staff groups (editors and readers are returned; reviewers are
    editors who may publish); a few queries.

    Editors change cooperations and vocabularies and may import the inventory; reviewers may
    also publish and unpublish; readers only view. Running it again resets the groups'
    permissions to this definition.
    """
    perms = Permission.objects.using(using).filter(content_type__app_label="cooperations")
    by_codename = {p.codename: p for p in perms}
    view = [by_codename[f"view_{m}"] for m in _VIEWED_MODELS if f"view_{m}" in by_codename]
    edit = [
        by_codename[f"{action}_{m}"]
        for m in _EDITED_MODELS
        for action in ("add", "change", "delete")
        if f"{action}_{m}" in by_codename
    ]
    if "import_cooperation" in by_codename:
        edit.append(by_codename["import_cooperation"])
    with transaction.atomic(using=using):
        editors, _ = Group.objects.using(using).get_or_create(name=EDITORS)
        readers, _ = Group.objects.using(using).get_or_create(name=READERS)
        reviewers, _ = Group.objects.using(using).get_or_create(name=REVIEWERS)
        editors.permissions.set([*view, *edit])
        readers.permissions.set(view)
        publish = [by_codename[c] for c in ["publish_cooperation"] if c in by_codename]
        reviewers.permissions.set([*view, *edit, *publish])
    return editors, readers


def select_illustrated_plus_values(cooperation) -> None:
    """Tick the plus-value boolean of every illustration the cooperation has; the booleans
    are what filters and facets read. Two queries; history records the change."""
    from .models import CooperationPlusValue

    fields = {
        link.field_name for link in CooperationPlusValue.objects.filter(cooperation=cooperation)
    }
    missing = [name for name in sorted(fields) if not getattr(cooperation, name)]
    if missing:
        for name in missing:
            setattr(cooperation, name, True)
        cooperation.save(update_fields=[*missing, "updated_at"])
