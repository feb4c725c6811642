"""What an update changes, as staff read it in the preview: each field old → new in words,
territories, themes, factors and sources added and removed, long texts as a short word diff,
and differences of typography alone (dashes, quotes, spaces, ligatures) flagged as such.

Pure functions of a row's plan and the values the planning already loaded: no query.
"""

import difflib
import re
from dataclasses import dataclass, field

from ..models import Cooperation, CooperationPlusValue, format_partial_date
from ..vocabularies import PLUS_VALUE_FIELDS
from .cells import ROLE_COLUMNS, Role, RowPlan, Vocabularies
from .resolution import TerritoryIndex

EMPTY = "(vide)"
# A text longer than this is shown as a word diff rather than whole, old and new.
SHORT_TEXT = 120
# Unchanged words kept on each side of a change in a word diff.
DIFF_CONTEXT = 6

ROLE_LABELS = {
    Role.METROPOLE: "Métropoles",
    Role.PARTNER: "Territoires partenaires",
    Role.ASSOCIATED: "Territoires associés",
}
TEXT_FIELDS = {
    "name": "Nom",
    "summary": "Résumé",
    "description": "Description",
    "governance": "Gouvernance",
    "funding": "Financements",
    "staffing": "Moyens humains",
}
DATE_FIELDS = {
    "starts_on": "Date de début",
    "ends_on": "Date de fin",
    "last_verified_on": "Dernière vérification",
}
PLUS_VALUE_LABELS = dict(PLUS_VALUE_FIELDS)

# Characters that differ only by typography, mapped to one spelling: the dashes and minus, the
# apostrophes and quotes (« » included), the ligatures, the ellipsis.
_TYPOGRAPHY = str.maketrans(
    {
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("‘’‚‛ʼ′`´", "'"),
        **dict.fromkeys("“”„‟«»″", '"'),
        "œ": "oe",
        "Œ": "Oe",
        "æ": "ae",
        "Æ": "Ae",
        "…": "...",
    }
)
_SPACES = re.compile(r"\s+")


def typographic_key(text: str) -> str:
    """The text with typography folded away (not case, not accents): two texts with the same
    key differ only by dashes, quotes, spaces or ligatures."""
    return _SPACES.sub("", (text or "").translate(_TYPOGRAPHY))


def is_typographic(old: str, new: str) -> bool:
    return old != new and typographic_key(old) == typographic_key(new)


# Characters a reader cannot tell apart on screen, named.
_NAMED = {
    " ": "espace",
    "\u00a0": "espace insécable",
    "\u202f": "espace fine insécable",
    "\u2009": "espace fine",
    "\t": "tabulation",
    "\n": "retour à la ligne",
    "-": "trait d'union « - »",
    "–": "tiret demi-cadratin « – »",
    "—": "tiret cadratin « — »",
    "−": "signe moins « − »",
}


def _shown(text: str) -> str:
    if not text:
        return "rien"
    if all(ch in _NAMED for ch in text):
        return " + ".join(_NAMED[ch] for ch in text)
    return f"« {text} »"


def typography_note(old: str, new: str) -> str:
    """What differs between two texts equal but for typography: « tiret demi-cadratin « – » →
    trait d'union « - » », each replacement once."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    seen = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            pair = f"{_shown(old[i1:i2])} → {_shown(new[j1:j2])}"
            if pair not in seen:
                seen.append(pair)
    return " ; ".join(seen[:5]) + (" …" if len(seen) > 5 else "")


@dataclass
class Change:
    """One changed field or relation of a row, in words."""

    label: str
    old: str = ""
    new: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    typographic: bool = False
    # A long text as (kind, words) pieces: "=" unchanged, "-" removed, "+" added, "…" elided.
    diff: list[tuple[str, str]] = field(default_factory=list)
    # The column it belongs to, as the one-line summary names it; the label when blank.
    group: str = ""
    # For a typographic change, which characters differ (they look alike on screen).
    note: str = ""

    def __post_init__(self):
        self.group = self.group or self.label

    def __str__(self) -> str:
        """One line, as the command's verbose report prints it."""
        parts = []
        if self.typographic:
            parts.append(f"typographie seule ({self.note})")
        if self.diff:
            parts.append(" ".join(_diff_words(self.diff)))
        elif self.old or self.new:
            parts.append(f"{self.old or EMPTY} → {self.new or EMPTY}")
        if self.added:
            parts.append("ajouté(s) : " + " ; ".join(self.added))
        if self.removed:
            parts.append("retiré(s) : " + " ; ".join(self.removed))
        return f"{self.label} : {', '.join(parts)}"


def _diff_words(diff: list[tuple[str, str]]) -> list[str]:
    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}", "…": "{}"}
    return [marks[kind].format(words) for kind, words in diff]


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The words removed and added between two texts, with a few unchanged words around each
    change and the rest elided."""
    before, after = old.split(), new.split()
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    opcodes = matcher.get_opcodes()
    for position, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            words = before[i1:i2]
            first, last = position == 0, position == len(opcodes) - 1
            keep_head = 0 if first else DIFF_CONTEXT
            keep_tail = 0 if last else DIFF_CONTEXT
            if len(words) > keep_head + keep_tail + 1:
                if keep_head:
                    pieces.append(("=", " ".join(words[:keep_head])))
                pieces.append(("…", "…"))
                if keep_tail:
                    pieces.append(("=", " ".join(words[-keep_tail:])))
            else:
                pieces.append(("=", " ".join(words)))
            continue
        if i2 > i1:
            pieces.append(("-", " ".join(before[i1:i2])))
        if j2 > j1:
            pieces.append(("+", " ".join(after[j1:j2])))
    return pieces


def _text_change(label: str, old: str, new: str) -> Change:
    change = Change(label, typographic=is_typographic(old, new))
    if change.typographic:
        change.note = typography_note(old, new)
    if max(len(old), len(new)) > SHORT_TEXT and old and new:
        change.diff = word_diff(old, new)
    else:
        change.old, change.new = old, new
    return change


def _listed(label: str, before: list[str], after: list[str]) -> Change | None:
    added = [item for item in after if item not in before]
    removed = [item for item in before if item not in after]
    if not added and not removed:
        return None
    return Change(label, added=added, removed=removed)


def _date(value) -> str:
    return format_partial_date(value, Cooperation.DatePrecision.DAY)


def describe(
    row: RowPlan, vocabularies: Vocabularies, territories: TerritoryIndex, wanted_factors
) -> list[Change]:
    """Every difference between the row and its existing record, in the order of the form."""
    old, snapshot = row.existing.fields, row.existing.snapshot
    new = {**old, **row.fields}
    changes: list[Change] = []

    def add(change):
        if change is not None:
            changes.append(change)

    if old["name"] != new["name"]:
        add(_text_change("Nom", old["name"], new["name"]))
    changes.extend(_participation_changes(row, snapshot, territories))
    for name, label in TEXT_FIELDS.items():
        if name != "name" and old[name] != new[name]:
            add(_text_change(label, old[name], new[name]))
    if old["legal_form_id"] != new["legal_form_id"]:
        forms = vocabularies.legal_forms.label_of
        add(Change("Forme de coopération", forms.get(old["legal_form_id"], ""),
                   forms.get(new["legal_form_id"], "")))  # fmt: skip
    if old["status"] != new["status"]:
        statuses = dict(Cooperation.Status.choices)
        add(Change("Statut", statuses.get(old["status"], ""), statuses.get(new["status"], "")))
    signed = (old["signed_on"], old["signed_on_precision"])
    if signed != (new["signed_on"], new["signed_on_precision"]):
        add(Change("Date de signature", format_partial_date(*signed),
                   format_partial_date(new["signed_on"], new["signed_on_precision"])))  # fmt: skip
    for name, label in DATE_FIELDS.items():
        if old[name] != new[name]:
            add(Change(label, _date(old[name]), _date(new[name])))
    if row.themes is not None:
        themes = vocabularies.themes.label_of
        add(_listed("Thématiques", [themes.get(pk, "?") for pk in sorted(snapshot["themes"])],
                    [themes.get(pk, "?") for pk in row.themes]))  # fmt: skip
    add(_listed("Plus-value", [label for name, label in PLUS_VALUE_LABELS.items() if old[name]],
                [label for name, label in PLUS_VALUE_LABELS.items() if new[name]]))  # fmt: skip
    if row.factors is not None:
        changes.extend(_note_changes(
            "Facteur « {} »", "Source du facteur « {} »", snapshot["factors"],
            wanted_factors(row, snapshot["factors"]), vocabularies.factors.label_of,
            "Facteurs de réussite",
        ))  # fmt: skip
    if row.plus_value_notes is not None:
        changes.extend(_note_changes(
            "Illustration de la plus-value « {} »", "Source de l'illustration « {} »",
            snapshot["plus_values"], row.plus_value_notes,
            dict(CooperationPlusValue.PlusValue.choices), "Plus-value",
        ))  # fmt: skip
    if old["provenance"] != new["provenance"]:
        provenances = dict(Cooperation.Provenance.choices)
        add(Change("Provenance", provenances.get(old["provenance"], ""),
                   provenances.get(new["provenance"], "")))  # fmt: skip
    if row.sources is not None and row.sources != snapshot["sources"]:
        listed = _listed("Sources", snapshot["sources"], row.sources)
        add(listed or Change("Sources", old="ordre précédent", new="nouvel ordre"))
    if old["state"] != new["state"]:
        states = dict(Cooperation.State.choices)
        add(Change("État", states[old["state"]], states[new["state"]]))
    elif old["is_published"] != new["is_published"]:
        yes_no = {True: "oui", False: "non"}
        add(Change("Publiée", yes_no[old["is_published"]], yes_no[new["is_published"]]))
    return changes


def _participation_changes(row, snapshot, territories: TerritoryIndex) -> list[Change]:
    changes = []
    for role in ROLE_COLUMNS.values():
        if role not in row.participations:
            continue
        before = sorted(snapshot["participations"][role])
        after = row.participations[role]
        change = _listed(
            ROLE_LABELS[role],
            [territories.label(pk) for pk in before],
            [territories.label(handle) for handle in after],
        )
        if change is not None:
            changes.append(change)
    return changes


def _note_changes(
    text_label: str, source_label: str, before: dict, after: dict, labels: dict, group: str
) -> list[Change]:
    """Illustrations (factor or plus-value → (text, source URL)) added, removed or rewritten;
    the labels are formats taking the factor's or plus-value's name."""
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        name = labels.get(key, str(key))
        label = text_label.format(name)
        if key not in after:
            changes.append(Change(label, removed=[before[key][0] or "(sans texte)"], group=group))
        elif key not in before:
            text, _url = after[key]
            changes.append(Change(label, added=[text or "(sans texte)"], group=group))
        elif before[key] != after[key]:
            (old_text, old_url), (new_text, new_url) = before[key], after[key]
            if old_text != new_text:
                change = _text_change(label, old_text, new_text)
                change.group = group
                changes.append(change)
            if old_url != new_url:
                changes.append(Change(source_label.format(name), old_url, new_url, group=group))
    return changes
