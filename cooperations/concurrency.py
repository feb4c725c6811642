"""What keeps concurrent writers from colliding: one inventory import at a time, uncoded
territories created with get-or-create semantics, admin adds that lose a race on a unique
constraint shown again with the form's error, and the cooperation admin form's refusal to save
over a version newer than the one it was opened on.
"""

import datetime
import time
import zlib
from contextlib import contextmanager

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connections, transaction
from django.utils import timezone

from .models import Cooperation, CooperationFactor, Participation, Source, Territory
from .text import fold

# --- One import at a time ------------------------------------------------------------------------

# Key of the PostgreSQL advisory lock of the import (a bigint chosen from a stable name, so that
# another feature picking its own name cannot collide with it by accident).
IMPORT_LOCK_KEY = zlib.crc32(b"cooperations.inventory-import")


class ImportBusy(Exception):
    """Another import holds the lock: this one has written nothing and may be retried."""

    def __init__(self):
        super().__init__(
            "Un autre import est en cours : rien n'a été importé. Réessayez dans quelques instants."
        )


@contextmanager
def import_lock(using: str = DEFAULT_DB_ALIAS):
    """A transaction holding the import lock: what runs inside sees every earlier import
    committed, and no other import writes until it ends. ImportBusy when the lock is not had
    in time.

    PostgreSQL: a transaction-level advisory lock (released at commit or rollback, also when
    the process dies), tried every 0.2 s for IMPORT_LOCK_WAIT_SECONDS. SQLite: the database's
    write lock, which the settings make every transaction take at its start (BEGIN IMMEDIATE),
    waited for as long as the connection's timeout.
    """
    connection = connections[using]
    try:
        with transaction.atomic(using=using):
            if connection.vendor == "postgresql":
                _advisory_lock(connection)
            yield
    except OperationalError as error:
        if connection.vendor == "sqlite" and "locked" in str(error):
            raise ImportBusy from error
        raise


@contextmanager
def without_request_timeouts(using: str = DEFAULT_DB_ALIAS):
    """The block's queries may take as long as they need, even in a served request.

    The web server bounds every statement (gunicorn.conf.py) so that a database that hangs
    gives a 503 within seconds; an import of thousands of rows runs longer statements on
    purpose, and staff wait for it knowingly. On PostgreSQL, a transaction with no statement
    timeout (SET LOCAL ends with it) and no client-side wait bound; elsewhere nothing to lift.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    from catalogue.postgresql.base import unbounded_wait

    with unbounded_wait(), transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
        yield


def _advisory_lock(connection) -> None:
    deadline = time.monotonic() + settings.IMPORT_LOCK_WAIT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise ImportBusy
            time.sleep(0.2)


def get_or_create_codeless_territories(new_territories) -> tuple[dict, int]:
    """The pk of each territory without official code that an import names (objects with
    `kind` and `name`), and how many were created: each is created unless one of that kind and
    folded name exists — another writer may have created it since the plan was made. The
    unique constraint territory_unique_codeless_name_per_kind settles races: a losing INSERT
    reads the winner's row. One SELECT per territory, plus a savepoint and an INSERT for each
    missing one."""
    ids, created = {}, 0
    for new in new_territories:
        territory, was_created = Territory.objects.get_or_create(
            kind=new.kind, code="", search_name=fold(new.name), defaults={"name": new.name}
        )
        ids[new] = territory.pk
        created += was_created
    return ids, created


# --- Admin adds racing on a unique constraint ----------------------------------------------------


class UniqueRaceAdminMixin:
    """Two editors adding the same cooperation (or uncoded territory, or theme) at the same
    instant both pass the form's uniqueness check, since neither row exists yet; the second
    INSERT then breaks the unique constraint — a 500. The admin saves in one transaction, rolled
    back whole by the error, so the request is simply run once more: by then the winner's row
    is committed (PostgreSQL makes a conflicting INSERT wait for the other transaction's end),
    and the form's own validation shows the loser its French error (« … existe déjà »), with
    what they typed kept. A second failure is not a race and is raised."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError:
            if request.method != "POST":
                raise
            return super().changeform_view(request, object_id, form_url, extra_context)


# --- The admin form's version check --------------------------------------------------------------

_SEPARATOR = "~"
# Inline records whose changes are reported along with the cooperation's own fields.
_INLINES = [
    (Participation, "Participants"),
    (CooperationFactor, "Facteurs de réussite illustrés"),
    (Source, "Sources"),
]


def version_token(cooperation: Cooperation) -> str:
    """What the form was opened on: the record's `updated_at` (every write path sets it: the
    admin's save, the import's UPDATE), then, to say what changed, its latest history id and
    the time the form was opened. One query."""
    history_id = (
        cooperation.history.order_by("-history_id").values_list("history_id", flat=True).first()
    )
    # A version rebuilt from the history (the « revert » form) has no updated_at of its own: it
    # is about to replace the current record, whose version counts.
    updated_at = cooperation.updated_at or (
        Cooperation.objects.filter(pk=cooperation.pk).values_list("updated_at", flat=True).get()
    )
    parts = [updated_at.isoformat(), str(history_id or ""), timezone.now().isoformat()]
    return _SEPARATOR.join(parts)


def _parse_token(token: str) -> tuple[str, str, datetime.datetime | None]:
    updated, _, rest = token.partition(_SEPARATOR)
    history_id, _, opened = rest.partition(_SEPARATOR)
    try:
        opened_at = datetime.datetime.fromisoformat(opened)
    except ValueError:
        opened_at = None
    if opened_at is not None and timezone.is_naive(opened_at):
        opened_at = None  # not written by version_token()
    return updated, history_id, opened_at


def _display(cooperation: Cooperation, name: str) -> str:
    field = Cooperation._meta.get_field(name)
    if field.many_to_many:
        return ", ".join(str(item) for item in getattr(cooperation, name).all()) or "—"
    value = getattr(cooperation, name)
    if field.choices:
        return getattr(cooperation, f"get_{name}_display")() or "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return f"« {text[:120]}… »" if len(text) > 120 else f"« {text} »"


def changes_since(cooperation: Cooperation, token: str) -> list[str]:
    """Each field changed since the version of `token`, as « label : current value », in the
    form's order; then the inlines (participants, factors, sources) changed since the form was
    opened, with their current rows. A few queries, run only when a conflict is found."""
    _updated, history_id, opened_at = _parse_token(token)
    history = cooperation.history.order_by("-history_id")
    latest = history.first()
    seen = history.filter(history_id=history_id).first() if history_id.isdigit() else None
    lines = []
    if latest is not None and seen is not None and latest.history_id != seen.history_id:
        changed = set(latest.diff_against(seen).changed_fields)
        for field in Cooperation._meta.get_fields():
            if field.name in changed:
                label = str(field.verbose_name)
                value = _display(cooperation, field.name)
                lines.append(f"{label[:1].upper()}{label[1:]} : {value}")
    for model, label in _INLINES:
        records = model.history.filter(cooperation_id=cooperation.pk)
        if opened_at is not None:
            records = records.filter(history_date__gt=opened_at)
        if records.exists():
            current = model.objects.filter(cooperation=cooperation)
            if model is Participation:
                current = current.select_related("territory")
            lines.append(f"{label} : {' ; '.join(str(row) for row in current) or '—'}")
    return lines


class VersionedCooperationForm(forms.ModelForm):
    """The cooperation admin form, with a hidden version token read when the form was opened.

    On save, the record is locked (SELECT … FOR UPDATE, within the admin's transaction) and its
    version compared with the token: if someone saved or imported it since, the form is shown
    again with the user's input, a message listing what changed and the current version, so that
    saving again is a deliberate choice to overwrite.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            self.initial["version"] = version_token(self.instance)

    def clean(self):
        cleaned = super().clean()
        token = self.data.get(self.add_prefix("version"), "")
        if self.instance.pk is None or not token:
            return cleaned
        current = (
            Cooperation.objects.select_for_update(of=("self",))
            .select_related("legal_form")
            .filter(pk=self.instance.pk)
            .first()
        )
        if current is None:
            raise ValidationError(
                "Cette coopération a été supprimée depuis l'ouverture de ce formulaire.",
                code="deleted",
            )
        updated, _, _ = _parse_token(token)
        if updated == current.updated_at.isoformat():
            return cleaned
        changes = changes_since(current, token)
        latest = current.history.order_by("-history_id").first()
        who = f" par {latest.history_user}" if latest and latest.history_user else ""
        when = timezone.localtime(current.updated_at).strftime("%d/%m/%Y à %H:%M:%S")
        # The form comes back with the current version: saving it again overwrites knowingly.
        data = self.data.copy()
        data[self.add_prefix("version")] = version_token(current)
        self.data = data
        raise ValidationError(
            f"Vos modifications n'ont pas été enregistrées : cette coopération a été modifiée"
            f"{who} le {when}, après l'ouverture de ce formulaire. "
            + (f"Valeurs actuelles — {' ; '.join(changes)}. " if changes else "")
            + "Vos saisies sont conservées ci-dessous : enregistrez à nouveau pour remplacer "
            "la version actuelle par la vôtre, ou rechargez la page pour repartir de la version "
            "actuelle.",
            code="stale",
        )
