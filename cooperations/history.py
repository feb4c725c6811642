"""A cooperation's history in French, one entry per save: what changed on the record, its
themes, participants, success factors, plus-values and sources, with who and when.

simple-history keeps one table per model; a save in the admin writes into several of them (the
record, then each inline, then the themes, which add a second record version), and an import
writes them in bulk. The entries here put back together what one person saved at one moment:
the rows of the same user within `SAME_SAVE_SECONDS` of each other form one entry.
"""

import datetime
from dataclasses import dataclass, field

from .importing.changes import word_diff
from .models import (
    Cooperation,
    CooperationFactor,
    CooperationPlusValue,
    LegalForm,
    Participation,
    Source,
    SuccessFactor,
    Territory,
    Theme,
    format_partial_date,
)

# One admin save writes its rows within a fraction of a second; two saves by one person are
# seconds apart at least.
SAME_SAVE_SECONDS = 2
LONG_TEXT = 160

# Fields of the record the history does not show: the key and the creation date never change.
# (The derived columns are not tracked at all: see Cooperation.history.)
SKIPPED_FIELDS = {"id", "created_at"}

SOURCE_FIELDS = [
    ("url", "adresse"),
    ("title", "titre"),
    ("publisher", "éditeur"),
    ("published_on", "date de publication"),
    ("position", "ordre"),
]
ROLE_ADDED = {
    Participation.Role.METROPOLE: ("Métropole ajoutée", "Métropole retirée"),
    Participation.Role.PARTNER: ("Partenaire ajouté", "Partenaire retiré"),
    Participation.Role.ASSOCIATED: ("Associé ajouté", "Associé retiré"),
}


@dataclass
class Line:
    """One fact of an entry: « Partenaire ajouté : CC Estuaire et Sillon »."""

    text: str
    old: str = ""
    new: str = ""
    diff: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        if self.diff:
            words = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}", "…": "{}"}
            return f"{self.text} : " + " ".join(words[k].format(w) for k, w in self.diff)
        if self.old or self.new:
            return f"{self.text} : {self.old or '(vide)'} → {self.new or '(vide)'}"
        return self.text


@dataclass
class Entry:
    date: datetime.datetime
    user: str
    reason: str = ""
    lines: list[Line] = field(default_factory=list)
    version_id: int | None = None  # the record's historical version, for its detail page


@dataclass
class _Event:
    date: datetime.datetime
    user_id: int | None
    reason: str
    lines: list[Line]
    version_id: int | None = None


def _display(record_field, value, labels) -> str:
    """A stored value as staff read it."""
    if value is None or value == "":
        return ""
    if record_field.name in labels:
        return labels[record_field.name].get(value, str(value))
    if record_field.choices:
        return str(dict(record_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime.date):
        return format_partial_date(value, Cooperation.DatePrecision.DAY)
    return str(value)


def _text_line(label: str, old: str, new: str) -> Line:
    if old and new and max(len(old), len(new)) > LONG_TEXT:
        return Line(label, diff=word_diff(old, new))
    return Line(label, old=old, new=new)


def _record_events(cooperation_id: int) -> list[_Event]:
    """The record's own versions, each compared with the one before: 2 queries."""
    versions = list(
        Cooperation.history.filter(id=cooperation_id).order_by("history_date", "history_id")
    )
    themes_model = Cooperation.history.model._meta.get_field(
        "historicalcooperation_themes"
    ).related_model
    themes_by_version: dict[int, set[int]] = {v.history_id: set() for v in versions}
    for history_id, theme_id in themes_model.objects.filter(
        history__in=[v.history_id for v in versions]
    ).values_list("history_id", "theme_id"):
        themes_by_version[history_id].add(theme_id)
    theme_labels = dict(Theme.objects.values_list("pk", "label"))
    labels = {"legal_form": dict(LegalForm.objects.values_list("pk", "label"))}
    tracked = [f for f in Cooperation.history.model.tracked_fields if f.name not in SKIPPED_FIELDS]
    events = []
    previous = None
    for version in versions:
        lines: list[Line] = []
        themes = themes_by_version[version.history_id]
        if version.history_type == "+":
            lines.append(Line("Fiche créée"))
            previous_themes: set[int] = set()
        elif version.history_type == "-":
            lines.append(Line("Fiche supprimée"))
            previous_themes = themes
        else:
            previous_themes = themes_by_version[previous.history_id] if previous else themes
        if previous is not None and version.history_type == "~":
            for record_field in tracked:
                before = getattr(previous, record_field.attname)
                after = getattr(version, record_field.attname)
                if before == after:
                    continue
                label = str(record_field.verbose_name)
                label = label[:1].upper() + label[1:]
                old = _display(record_field, before, labels)
                new = _display(record_field, after, labels)
                if isinstance(after, str) and not record_field.choices:
                    lines.append(_text_line(label, old, new))
                else:
                    lines.append(Line(label, old=old, new=new))
        # A theme's history starts with the record: no « added » lines on creation would hide
        # the first themes, so they are listed then too.
        for pk in sorted(themes - previous_themes, key=lambda pk: theme_labels.get(pk, "")):
            lines.append(Line(f"Thématique ajoutée : {theme_labels.get(pk, '(supprimée)')}"))
        for pk in sorted(previous_themes - themes, key=lambda pk: theme_labels.get(pk, "")):
            lines.append(Line(f"Thématique retirée : {theme_labels.get(pk, '(supprimée)')}"))
        events.append(
            _Event(
                version.history_date,
                version.history_user_id,
                version.history_change_reason or "",
                lines,
                version.history_id,
            )
        )
        previous = version
    return events


def _related_events(model, cooperation_id: int, describe) -> list[_Event]:
    """Rows of one related model's history, each described against the row's version before:
    one query."""
    rows = list(
        model.history.filter(cooperation_id=cooperation_id).order_by("history_date", "history_id")
    )
    last: dict[int, object] = {}
    events = []
    for row in rows:
        before = last.get(row.id)
        lines = describe(row, before)
        last[row.id] = row
        if lines:
            events.append(
                _Event(
                    row.history_date, row.history_user_id, row.history_change_reason or "", lines
                )  # fmt: skip
            )
    return events


def cooperation_history(cooperation_id: int) -> list[Entry]:
    """The entries of one cooperation, newest first. About ten queries whatever its length."""
    territory_names: dict[int, str] = {}
    factor_labels = dict(SuccessFactor.objects.values_list("pk", "label"))
    plus_value_labels = dict(CooperationPlusValue.PlusValue.choices)

    def territory(pk):
        return territory_names.get(pk, "(territoire supprimé)")

    def participation(row, before):
        added, removed = ROLE_ADDED.get(row.role, ("Participant ajouté", "Participant retiré"))
        if row.history_type == "+":
            return [Line(f"{added} : {territory(row.territory_id)}")]
        if row.history_type == "-":
            return [Line(f"{removed} : {territory(row.territory_id)}")]
        if before is not None and before.role != row.role:
            roles = dict(Participation.Role.choices)
            return [Line(f"Rôle de {territory(row.territory_id)}",
                         old=roles.get(before.role, before.role),
                         new=roles.get(row.role, row.role))]  # fmt: skip
        if before is not None and before.territory_id != row.territory_id:
            return [Line(f"{removed} : {territory(before.territory_id)}"),
                    Line(f"{added} : {territory(row.territory_id)}")]  # fmt: skip
        return []

    def illustration(label_of, added, removed):
        def describe(row, before):
            name = label_of(row)
            if row.history_type == "+":
                text = f"{added} : {name}"
                return [Line(f"{text} — « {row.text} »" if row.text else text)]
            if row.history_type == "-":
                return [Line(f"{removed} : {name}")]
            lines = []
            if before is not None and before.text != row.text:
                lines.append(_text_line(f"Texte de « {name} »", before.text, row.text))
            if before is not None and before.source_url != row.source_url:
                lines.append(Line(f"Source du texte de « {name} »", old=before.source_url,
                                  new=row.source_url))  # fmt: skip
            return lines

        return describe

    def source(row, before):
        shown = row.title or row.url
        if row.history_type == "+":
            return [Line(f"Source ajoutée : {row.url}" + (f" ({row.title})" if row.title else ""))]
        if row.history_type == "-":
            return [Line(f"Source retirée : {row.url}")]
        lines = []
        if before is None:
            return lines
        for name, label in SOURCE_FIELDS:
            old, new = getattr(before, name), getattr(row, name)
            if old != new:
                if isinstance(old, datetime.date) or isinstance(new, datetime.date):
                    old, new = format_partial_date(old, "day"), format_partial_date(new, "day")
                lines.append(Line(f"Source « {shown} », {label}", old=str(old or ""),
                                  new=str(new or "")))  # fmt: skip
        return lines

    participations = Participation.history.filter(cooperation_id=cooperation_id)
    territory_names = dict(
        Territory.objects.filter(
            pk__in=participations.values_list("territory_id", flat=True)
        ).values_list("pk", "name")
    )
    events = [
        *_record_events(cooperation_id),
        *_related_events(Participation, cooperation_id, participation),
        *_related_events(
            CooperationFactor,
            cooperation_id,
            illustration(
                lambda row: factor_labels.get(row.factor_id, "(facteur supprimé)"),
                "Facteur de réussite ajouté",
                "Facteur de réussite retiré",
            ),
        ),  # fmt: skip
        *_related_events(
            CooperationPlusValue,
            cooperation_id,
            illustration(
                lambda row: plus_value_labels.get(row.plus_value, row.plus_value),
                "Plus-value illustrée ajoutée",
                "Plus-value illustrée retirée",
            ),
        ),  # fmt: skip
        *_related_events(Source, cooperation_id, source),
    ]
    return _group(events)


def _group(events: list[_Event]) -> list[Entry]:
    from django.contrib.auth import get_user_model

    events.sort(key=lambda event: event.date)
    users = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(
            pk__in={event.user_id for event in events if event.user_id}
        )
    }
    entries: list[Entry] = []
    window = datetime.timedelta(seconds=SAME_SAVE_SECONDS)
    last_date = None
    for event in events:
        user = users.get(event.user_id, "") if event.user_id else ""
        current = entries[-1] if entries else None
        if current is None or current.user != user or event.date - last_date > window:
            current = Entry(event.date, user)
            entries.append(current)
        last_date = event.date
        current.lines.extend(event.lines)
        if event.reason and event.reason not in current.reason:
            current.reason = f"{current.reason} {event.reason}".strip()
        if event.version_id is not None:
            current.version_id = event.version_id
    return [entry for entry in reversed(entries) if entry.lines]
