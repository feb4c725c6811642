"""The inventory import service: read a sheet, check every row, then write all of it or nothing.

`plan_import` reads the database a fixed number of times per 2,000 rows (vocabularies, one
in-memory territory index, the existing cooperations of the file and their relations as plain
values), checks and compares every row, and writes nothing. `apply_import` writes a clean plan
in one transaction with bulk statements. The admin (through resources.py) and the
`import_inventory` command both call these two functions, so they report the same thing.

One idea per module: `resolution` (which territory a name designates), `cells` (a row's cells
into values), `planning` (what the import would do) and `writing` (doing it).
"""

from .. import inventory
from ..concurrency import import_lock, without_request_timeouts
from .cells import ROLE_COLUMNS, RowError, RowPlan, Vocabularies
from .planning import ImportPlan, Progress, plan_import
from .resolution import (
    NOT_CREATABLE_KINDS,
    NewTerritory,
    Taught,
    TerritoryIndex,
    Unresolved,
    teach_names,
)
from .writing import ImportOutcome, ImportRejected, apply_import

__all__ = [
    "NOT_CREATABLE_KINDS",
    "ROLE_COLUMNS",
    "STALE_PREVIEW",
    "ImportOutcome",
    "ImportPlan",
    "ImportRejected",
    "NewTerritory",
    "Progress",
    "RowError",
    "RowPlan",
    "Taught",
    "TerritoryIndex",
    "Unresolved",
    "Vocabularies",
    "apply_import",
    "plan_import",
    "run_import",
    "teach_names",
]


STALE_PREVIEW = (
    "Le fichier ou le catalogue a changé depuis l'aperçu : rien n'a été importé. Envoyez le "
    "fichier de nouveau pour voir ce que l'import ferait maintenant."
)


def run_import(
    sheet: inventory.Sheet,
    commit: bool,
    user=None,
    expected_digest: str = "",
    can_publish: bool | None = None,
    progress: Progress | None = None,
) -> tuple[ImportPlan, ImportOutcome | None]:
    """Plan, then apply when asked and the plan is clean: the one code path of every import.

    A commit plans under the import lock, in the transaction that writes: the plan then sees
    every import committed before it (a preview made earlier may be stale). With
    `expected_digest` (the preview's `ImportPlan.digest`), a plan that differs from the
    previewed one — another file, or records, territories or vocabularies changed since — is
    refused and nothing is written. ImportBusy when another import holds the lock for too
    long; nothing is written then. `can_publish` defaults to the user's reviewer permission
    (True without a user: the command line). `progress(step, done, total)` is called as rows are
    checked (« check ») and written (« write », then « index » for the search texts): the
    background import shows it; it is called often and must be cheap."""
    if can_publish is None:
        can_publish = user is None or user.has_perm("cooperations.publish_cooperation")
    with without_request_timeouts():
        if not commit:
            return plan_import(sheet, can_publish, progress=progress), None
        with import_lock():
            # What only the preview shows is not looked for again: the writing does not read it.
            plan = plan_import(sheet, can_publish, lookalikes=False, progress=progress)
            if expected_digest and plan.digest != expected_digest:
                plan.file_errors.append(STALE_PREVIEW)
            outcome = apply_import(plan, user=user, progress=progress) if plan.is_valid else None
    return plan, outcome
