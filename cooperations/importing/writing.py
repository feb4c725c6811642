"""Writing: a clean plan into the database, in one transaction with bulk statements."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..concurrency import get_or_create_codeless_territories
from ..derived import refresh_derived_text
from ..models import Cooperation, CooperationFactor, CooperationPlusValue, Participation, Source
from .cells import RowPlan
from .planning import ImportPlan, Progress, wanted_factors
from .resolution import NewTerritory

# --- Applying ------------------------------------------------------------------------------------


class ImportRejected(Exception):
    """Raised when asked to apply a plan that has errors."""


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    territories_created: int = 0
    cooperations: dict[str, int] = field(default_factory=dict)  # slug → pk, for the admin log


@transaction.atomic
def apply_import(plan: ImportPlan, user=None, progress: Progress | None = None) -> ImportOutcome:
    """Write a clean plan in one transaction. Bulk statements for inserts, deletions and history
    (a few per table and per batch of rows), plus one UPDATE per changed cooperation; unchanged
    rows cost nothing. `progress`: see run_import."""
    if not plan.is_valid:
        raise ImportRejected(plan.summary())
    outcome = ImportOutcome()

    territory_ids, outcome.territories_created = get_or_create_codeless_territories(
        plan.new_territories
    )

    def territory_pk(handle) -> int:
        return territory_ids[handle] if isinstance(handle, NewTerritory) else handle

    new_rows = [row for row in plan.rows if row.action == RowPlan.NEW]
    # Rows are locked and updated in primary-key order, whatever the file's order: two writers
    # that lock rows in one order can wait for each other but never deadlock.
    update_rows = sorted(
        (row for row in plan.rows if row.action == RowPlan.UPDATE), key=lambda row: row.existing.pk
    )
    outcome.unchanged = plan.count(RowPlan.SKIP)
    total = len(plan.rows)

    def report(step: str, done: int, step_total: int = total) -> None:
        if progress is not None:
            progress(step, done, step_total)

    report("write", outcome.unchanged)

    new_objects = []
    for row in new_rows:
        cooperation = Cooperation(slug=row.slug, **row.fields)
        new_objects.append(cooperation)
    now_rows = []
    histories = []
    if new_objects:
        created = Cooperation.objects.bulk_create(new_objects, batch_size=500)
        if any(obj.pk is None for obj in created):  # backends without RETURNING
            by_slug = dict(
                Cooperation.objects.filter(slug__in=[o.slug for o in created]).values_list(
                    "slug", "pk"
                )
            )
            for obj in created:
                obj.pk = by_slug[obj.slug]
        for row, obj in zip(new_rows, created, strict=True):
            row.instance = obj
            now_rows.append((row, {}, True))
        histories += Cooperation.history.bulk_history_create(
            created, batch_size=500, default_user=user
        )
        outcome.created = len(created)
        report("write", outcome.unchanged + outcome.created)

    if update_rows:
        objects = []
        now = timezone.now()
        pks = [row.existing.pk for row in update_rows]
        instances = {}
        for start in range(0, len(pks), 2000):
            locked = Cooperation.objects.filter(pk__in=pks[start : start + 2000])
            instances.update((c.pk, c) for c in locked.order_by("pk").select_for_update())
        for row in update_rows:
            row.instance = instances[row.existing.pk]
            row.instance.updated_at = now
            for name, value in row.fields.items():
                setattr(row.instance, name, value)
            objects.append(row.instance)
            now_rows.append((row, row.existing.snapshot, False))
        # One UPDATE per changed row, of its changed columns only: Django's bulk_update builds
        # a CASE per column and row, which costs far more at 10,000 rows.
        for done, row in enumerate(update_rows, start=outcome.unchanged + outcome.created + 1):
            changed = {
                name: value
                for name, value in row.fields.items()
                if row.existing.fields[name] != value
            }
            Cooperation.objects.filter(pk=row.instance.pk).update(updated_at=now, **changed)
            report("write", done)
        histories += Cooperation.history.bulk_history_create(
            objects, batch_size=500, update=True, default_user=user
        )
        outcome.updated = len(update_rows)

    _write_relations(now_rows, territory_pk, user)
    _record_theme_history(histories)
    # The public search reads a text built from names, themes and participants, all just
    # written; 4 queries per 500 cooperations.
    written = [row.instance.pk for row, _, _ in now_rows]
    for start in range(0, len(written), 2000):
        report("index", start, len(written))
        refresh_derived_text(Cooperation.objects.filter(pk__in=written[start : start + 2000]))
    report("index", len(written), len(written))
    outcome.cooperations = {row.slug: row.instance.pk for row, _, _ in now_rows}
    return outcome


def _record_theme_history(histories: list) -> None:
    """The themes of each new history record, which simple-history only writes itself on
    save(): its admin then shows themes in the versions made by an import. One query and a
    bulk insert per 2,000 records."""
    historical_themes = Cooperation.history.model._meta.get_field(
        "historicalcooperation_themes"
    ).related_model
    through = Cooperation.themes.through
    for start in range(0, len(histories), 2000):
        chunk = histories[start : start + 2000]
        links = defaultdict(list)
        rows = through.objects.filter(cooperation_id__in=[h.id for h in chunk]).values_list(
            "id", "cooperation_id", "theme_id"
        )
        for link_id, cooperation_id, theme_id in rows:
            links[cooperation_id].append((link_id, theme_id))
        historical_themes.objects.bulk_create(
            [
                historical_themes(
                    history=history, id=link_id, cooperation_id=history.id, theme_id=theme_id
                )
                for history in chunk
                for link_id, theme_id in links[history.id]
            ],
            batch_size=1000,
        )


def _write_relations(rows, territory_pk, user) -> None:
    Through = Cooperation.themes.through
    theme_adds, theme_removals = [], []
    part_adds, part_removals = [], []
    factor_adds, factor_updates, factor_removals = [], [], []
    plus_value_adds, plus_value_removals = [], []
    source_adds, source_removals = [], []

    for row, snapshot, is_new in rows:
        pk = row.instance.pk
        if row.themes is not None:
            current = set() if is_new else snapshot["themes"]
            wanted = set(row.themes)
            theme_adds += [Through(cooperation_id=pk, theme_id=t) for t in wanted - current]
            theme_removals += [(pk, t) for t in current - wanted]
        for role, handles in row.participations.items():
            current = set() if is_new else snapshot["participations"][role]
            wanted = {territory_pk(h) for h in handles}
            part_adds += [
                Participation(cooperation_id=pk, territory_id=t, role=role)
                for t in sorted(wanted - current)
            ]
            part_removals += [(pk, t) for t in current - wanted]
        if row.factors is not None:
            current = {} if is_new else snapshot["factors"]
            wanted = wanted_factors(row, current)
            factor_adds += [
                CooperationFactor(cooperation_id=pk, factor_id=f, text=text, source_url=url)
                for f, (text, url) in wanted.items()
                if f not in current
            ]
            factor_updates += [
                (pk, f, note) for f, note in wanted.items() if f in current and current[f] != note
            ]
            factor_removals += [(pk, f) for f in current if f not in wanted]
        if row.plus_value_notes is not None:
            current = {} if is_new else snapshot["plus_values"]
            if current != row.plus_value_notes:
                if current:
                    plus_value_removals.append(pk)
                plus_value_adds += [
                    CooperationPlusValue(cooperation_id=pk, plus_value=code, text=text,
                                         source_url=url)
                    for code, (text, url) in sorted(row.plus_value_notes.items())
                ]  # fmt: skip
        if row.sources is not None:
            current = [] if is_new else snapshot["sources"]
            if current != row.sources:
                if current:
                    source_removals.append(pk)
                source_adds += [
                    Source(cooperation_id=pk, url=url, position=position)
                    for position, url in enumerate(row.sources, start=1)
                ]

    stale_themes = _matching(Through, theme_removals, "theme_id")
    for start in range(0, len(stale_themes), 2000):
        Through.objects.filter(pk__in=[t.pk for t in stale_themes[start : start + 2000]]).delete()
    Through.objects.bulk_create(theme_adds, batch_size=1000)
    _delete_with_history(
        Participation, _matching(Participation, part_removals, "territory_id"), user
    )
    bulk_create_with_history(part_adds, Participation, batch_size=1000, default_user=user)
    _delete_with_history(
        CooperationFactor, _matching(CooperationFactor, factor_removals, "factor_id"), user
    )
    notes = {(pk, factor_id): note for pk, factor_id, note in factor_updates}
    changed_links = _matching(CooperationFactor, list(notes), "factor_id")
    for link in changed_links:
        link.text, link.source_url = notes[(link.cooperation_id, link.factor_id)]
    if changed_links:
        bulk_update_with_history(
            changed_links,
            CooperationFactor,
            ["text", "source_url"],
            batch_size=1000,
            default_user=user,
        )
    bulk_create_with_history(factor_adds, CooperationFactor, batch_size=1000, default_user=user)
    # A few rows per cooperation at most: replaced as a whole, like sources.
    stale = [
        link
        for start in range(0, len(plus_value_removals), 2000)
        for link in CooperationPlusValue.objects.filter(
            cooperation_id__in=plus_value_removals[start : start + 2000]
        )
    ]
    _delete_with_history(CooperationPlusValue, stale, user)
    bulk_create_with_history(
        plus_value_adds, CooperationPlusValue, batch_size=1000, default_user=user
    )
    _replace_sources(source_removals, source_adds, user)


def _delete_with_history(model, objects: list, user) -> None:
    """Delete the rows with history INSERTs and DELETEs in batches.

    QuerySet.delete() would let simple-history write one history row per object through its
    post_delete handler (50,000 INSERTs for a 10,000-row update); the same « - » rows are
    written here in bulk, then the rows are deleted without signals. Only for models with no
    dependent rows (participations, factor links, sources).
    """
    if not objects:
        return
    historical = model.history.model
    now = timezone.now()
    historical.objects.bulk_create(
        [
            historical(
                history_date=now,
                history_user=user,
                history_change_reason="",
                history_type="-",
                **{
                    field.attname: getattr(obj, field.attname)
                    for field in historical.tracked_fields
                },
            )
            for obj in objects
        ],
        batch_size=500,
    )
    pks = [obj.pk for obj in objects]
    for start in range(0, len(pks), 2000):
        queryset = model.objects.filter(pk__in=pks[start : start + 2000])
        queryset._raw_delete(queryset.db)


def _matching(model, pairs: list[tuple[int, int]], second: str) -> list:
    """Rows of `model` whose (cooperation_id, second) is one of the pairs: the cooperations'
    rows are read by chunks of ids and filtered here, cheaper than thousands of OR-ed terms."""
    if not pairs:
        return []
    wanted = set(pairs)
    ids = sorted({pk for pk, _ in pairs})
    found = []
    for start in range(0, len(ids), 2000):
        for obj in model.objects.filter(cooperation_id__in=ids[start : start + 2000]):
            if (obj.cooperation_id, getattr(obj, second)) in wanted:
                found.append(obj)
    return found


def _replace_sources(cooperation_ids: list[int], additions: list[Source], user) -> None:
    """Sources are matched by URL: titles, publishers and dates typed in the admin survive a
    re-import that keeps the URL."""
    kept: dict[tuple[int, str], Source] = {}
    for start in range(0, len(cooperation_ids), 2000):
        chunk = cooperation_ids[start : start + 2000]
        for source in Source.objects.filter(cooperation_id__in=chunk):
            kept[(source.cooperation_id, source.url)] = source
    fresh, moved = [], []
    reused_pks = set()
    for source in additions:
        old = kept.get((source.cooperation_id, source.url))
        if old is None:
            fresh.append(source)
        else:
            reused_pks.add(old.pk)
            if old.position != source.position:
                old.position = source.position
                moved.append(old)
    stale = [source for source in kept.values() if source.pk not in reused_pks]
    _delete_with_history(Source, stale, user)
    if moved:
        bulk_update_with_history(moved, Source, ["position"], batch_size=1000, default_user=user)
    bulk_create_with_history(fresh, Source, batch_size=1000, default_user=user)
