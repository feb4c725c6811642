"""Background imports: a confirmed import of many rows runs in the task worker, not in the
request, and its page follows its progress.

Why: a 10,000-row confirmation took 41 to 73 s in one request, past what a proxy or gunicorn
waits for, with nothing shown. The admin queues the file (`queue_import`); the worker of
django-tasks' database backend (`manage.py db_worker`) runs `run_import_job`, which goes
through the same `importing.run_import` as every import: one transaction under the import
lock, the preview's digest checked, all or nothing.

Progress must be seen while the import's transaction is still open, so it is never written in
that transaction. PostgreSQL: on a second connection of the worker, committed at once, read by
any server. SQLite: the import holds the database's only write lock until it commits, so
progress goes to a small file in the temporary folder (SQLite serves one machine: the web
process reads the same folder). The job's end (counts, state) is written inside the import's
transaction: either the records and « Terminé » are committed together, or neither is — a job
whose worker died is still « En cours » with nothing written, which the watchdog of
`job_status` then shows as failed.
"""

import contextlib
import datetime
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from .concurrency import ImportBusy
from .importing import STALE_PREVIEW, ImportPlan, RowPlan, run_import
from .inventory import ParseError
from .models import ImportJob

logger = logging.getLogger(__name__)

Step = ImportJob.Step
State = ImportJob.State

# Share of the bar each step fills: the time each took in the 10,000-row benchmark on
# PostgreSQL (docs/import.md « Background imports »): reading the file and the territory
# register 8 s, checking 6 s, writing 18 s, history and search texts 34 s.
STEP_WEIGHTS = {Step.READ: 12, Step.CHECK: 10, Step.WRITE: 27, Step.INDEX: 51}
# Progress is recorded every this many rows of a step (and at its first and last row): a
# write per row would cost a statement per row.
PROGRESS_EVERY_ROWS = 200

UNEXPECTED = (
    "L'import s'est arrêté sur une erreur inattendue : rien n'a été importé. L'erreur est "
    "consignée dans le journal du serveur ; envoyez le fichier de nouveau ou signalez-la."
)


def stale_message(minutes: int) -> str:
    return (
        f"L'import ne progresse plus depuis {minutes} minutes : son exécutant s'est arrêté. "
        "Rien n'a été importé (la transaction a été annulée) : envoyez le fichier de nouveau."
    )


# --- Queueing (the admin's confirmation) ----------------------------------------------------------


def queue_import(user, file_name: str, data: bytes, plan_digest: str, rows: int) -> ImportJob:
    """The job and its task, in one transaction: a worker never sees one without the other.
    Two INSERTs."""
    with transaction.atomic():
        job = ImportJob.objects.create(
            author=user,
            file_name=file_name[:255],
            data=data,
            plan_digest=plan_digest,
            rows_total=rows,
        )
        result = run_import_job.enqueue(job.pk)
        job.task_id = str(result.id)[:64]
        job.save(update_fields=["task_id"])
    return job


# --- Running (the worker) -------------------------------------------------------------------------


@task()
def run_import_job(job_id: int) -> None:
    run_job(job_id)


class _Refused(Exception):
    """The plan is not clean: raised inside the transaction so that it is rolled back."""

    def __init__(self, plan: ImportPlan):
        super().__init__("refused")
        self.plan = plan


def refusal_message(plan: ImportPlan) -> str:
    """Why a confirmation wrote nothing, in French: the file's own errors first (they say what
    to fix), the stale preview only when it is the only reason."""
    errors = [
        *(str(error) for error in plan.row_errors),
        *(message for message in plan.file_errors if message != STALE_PREVIEW),
    ]
    if not errors:
        return STALE_PREVIEW
    return "Rien n'a été importé : le fichier ne passe plus les vérifications. " + " ".join(
        errors[:5]
    )


def run_job(job_id: int) -> None:
    """Run one queued job to its end, « Terminé » or « Échoué » with a French message."""
    claimed = ImportJob.objects.filter(pk=job_id, state=State.QUEUED).update(
        state=State.RUNNING, started_at=timezone.now(), progress_at=timezone.now()
    )
    if not claimed:
        return  # already run, or failed by the watchdog: never run twice
    job = ImportJob.objects.select_related("author").get(pk=job_id)
    recorder = ProgressRecorder(job)
    try:
        _run(job, recorder)
    except Exception as error:
        recorder.close()
        if isinstance(error, _Refused):
            message, errors = refusal_message(error.plan), len(error.plan.row_errors)
        elif isinstance(error, ParseError | ImportBusy):
            message, errors = str(error), 0
        else:
            logger.exception("Background import %s failed", job_id)
            message, errors = UNEXPECTED, 0
        _finish(job_id, State.FAILED, error_message=message, errors=errors)
    finally:
        recorder.discard()


def _run(job: ImportJob, recorder: "ProgressRecorder") -> None:
    from .resources import dataset_from_bytes

    author = job.author
    if (
        author is None
        or not author.is_active
        or not author.has_perm("cooperations.import_cooperation")
    ):
        raise ParseError(
            "Le compte qui a lancé cet import n'a plus la permission d'importer : rien n'a été "
            "importé."
        )
    recorder(Step.READ, 0, 1)
    sheet = dataset_from_bytes(bytes(job.data)).inventory_sheet
    recorder(Step.READ, 1, 1)
    try:
        with transaction.atomic():
            plan, outcome = run_import(
                sheet,
                commit=True,
                user=author,
                expected_digest=job.plan_digest,
                progress=recorder,
            )
            if outcome is None:
                raise _Refused(plan)
            # No progress write after this point: on PostgreSQL the job's row is about to be
            # locked by this transaction until it commits.
            recorder.close()
            _log_entries(author, plan)
            _finish(
                job.pk,
                State.SUCCEEDED,
                created=outcome.created,
                updated=outcome.updated,
                unchanged=outcome.unchanged,
                territories_created=outcome.territories_created,
                summary=plan.summary(),
            )
    except OperationalError as error:
        # SQLite: the write lock was not had within the connection's timeout.
        if connections[DEFAULT_DB_ALIAS].vendor == "sqlite" and "locked" in str(error):
            raise ImportBusy from error
        raise


def _finish(job_id: int, state: str, **values) -> None:
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id).update(
        state=state, finished_at=now, progress_at=now, data=b"", **values
    )


def _log_entries(user, plan: ImportPlan) -> None:
    """The admin's « Historique » entries of each record created or changed, as the
    synchronous import writes them (django-import-export's messages)."""
    for action, flag, message in (
        (RowPlan.NEW, ADDITION, _("new through import_export")),
        (RowPlan.UPDATE, CHANGE, _("update through import_export")),
    ):
        instances = [row.instance for row in plan.rows if row.action == action]
        if instances:
            LogEntry.objects.log_actions(
                user.pk,
                instances,
                flag,
                change_message=message,
                single_object=len(instances) == 1,
            )


# --- Progress ------------------------------------------------------------------------------------


class ProgressRecorder:
    """The `progress` callable given to run_import: records a step's rows every
    PROGRESS_EVERY_ROWS rows, outside the import's transaction (see the module's docstring)."""

    def __init__(self, job: ImportJob):
        self.job_id = job.pk
        self.path = progress_path(job)
        self.vendor = connections[DEFAULT_DB_ALIAS].vendor
        self.connection = None
        self.last = ("", -1)
        self.closed = False

    def __call__(self, step: str, done: int, total: int) -> None:
        last_step, last_done = self.last
        if self.closed or (
            step == last_step and done != total and done - last_done < PROGRESS_EVERY_ROWS
        ):
            return
        self.last = (step, done)
        if self.vendor == "postgresql":
            self._write_row(step, done, total)
        else:
            self._write_file(step, done, total)

    def _write_row(self, step: str, done: int, total: int) -> None:
        if self.connection is None:
            # A connection of its own, in autocommit: its writes are seen at once, whatever
            # the import's transaction on the default connection does.
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        table = ImportJob._meta.db_table
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET step = %s, step_done = %s, step_total = %s, "  # noqa: S608 - the table name is the model's own
                "progress_at = %s WHERE id = %s AND state = %s",
                [step, done, total, timezone.now(), self.job_id, State.RUNNING],
            )

    def _write_file(self, step: str, done: int, total: int) -> None:
        payload = {"step": step, "done": done, "total": total, "at": timezone.now().isoformat()}
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(payload, file)
        os.replace(temporary, self.path)  # readers never see half a file

    def close(self) -> None:
        self.closed = True
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def discard(self) -> None:
        """Once the job's end is committed: the SQLite file has nothing more to say."""
        self.close()
        with contextlib.suppress(OSError):
            os.remove(self.path)


def progress_path(job: ImportJob) -> str:
    """The SQLite progress file of a job, named after the database and the job (two catalogues
    of one machine, test runs included, never share one)."""
    database = str(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"])
    key = hashlib.sha256(f"{database}|{job.pk}|{job.created_at.isoformat()}".encode())
    return os.path.join(tempfile.gettempdir(), f"catalogue-import-{key.hexdigest()[:24]}.json")


def _file_progress(job: ImportJob) -> dict | None:
    try:
        with open(progress_path(job), encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


# --- Reading (the job's page and its etat.json) ---------------------------------------------------


@dataclass
class JobStatus:
    job: ImportJob
    step: str
    done: int
    total: int
    percent: int
    seconds_left: int | None
    warning: str

    @property
    def step_label(self) -> str:
        return Step(self.step).label if self.step else ""

    @property
    def duration(self) -> str:
        """« 1 min 06 s », from the start to the end (or to now)."""
        job = self.job
        if job.started_at is None:
            return ""
        seconds = round(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
        return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"

    @property
    def step_number(self) -> int:
        """1 to 4, for the stepper (« Étape 2 sur 4 »)."""
        return list(Step).index(Step(self.step)) + 1 if self.step else 1

    def as_json(self) -> dict:
        job = self.job
        return {
            "etat": job.state,
            "libelle": job.get_state_display(),
            "termine": job.is_done,
            "etape": self.step,
            "etape_libelle": self.step_label,
            "etape_numero": self.step_number,
            "etapes": len(Step),
            "lignes_faites": self.done,
            "lignes_etape": self.total,
            "lignes": job.rows_total,
            "pourcentage": self.percent,
            "secondes_restantes": self.seconds_left,
            "avertissement": self.warning,
            "creees": job.created,
            "modifiees": job.updated,
            "inchangees": job.unchanged,
            "erreurs": job.errors,
            "territoires_crees": job.territories_created,
            "bilan": job.summary,
            "message": job.error_message,
        }


def visible_job(user, job_id: int) -> ImportJob | None:
    """The job if this user may see it: its author, or a superuser. One query."""
    job = ImportJob.objects.defer("data").filter(pk=job_id).first()
    if job is None or not (user.is_superuser or job.author_id == user.pk):
        return None
    return job


def job_status(job: ImportJob) -> JobStatus:
    """Where the job stands, the watchdog applied: a running job without progress for
    IMPORT_JOB_STALE_MINUTES is recorded as failed. Reads one small file on SQLite; one UPDATE
    when the watchdog fires."""
    step, done, total, last = job.step, job.step_done, job.step_total, job.progress_at
    if job.state == State.RUNNING and connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        found = _file_progress(job)
        if found:
            step, done, total = found["step"], found["done"], found["total"]
            last = max(filter(None, [last, _parse_time(found["at"])]), default=last)
    now = timezone.now()
    minutes = settings.IMPORT_JOB_STALE_MINUTES
    if job.state == State.RUNNING and last and (now - last).total_seconds() > minutes * 60:
        message = stale_message(minutes)
        # Conditional: a worker that ends its transaction meanwhile keeps its own result.
        try:
            failed = ImportJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
                state=State.FAILED, finished_at=now, error_message=message, data=b""
            )
        except OperationalError:
            failed = 0  # SQLite: a live writer still holds the lock; it is not dead after all
        if failed:
            job.state, job.error_message, job.finished_at = State.FAILED, message, now
    if job.is_done:
        _remove_file(job)
    percent = _percent(job, step, done, total)
    warning = ""
    if job.state == State.QUEUED and (now - job.created_at).total_seconds() > 60:
        warning = (
            "Aucun exécutant n'a encore pris cet import. S'il reste en attente, vérifiez que le "
            "programme des tâches tourne (python manage.py db_worker)."
        )
    return JobStatus(job, step, done, total, percent, _seconds_left(job, percent, now), warning)


def _percent(job: ImportJob, step: str, done: int, total: int) -> int:
    if job.state == State.SUCCEEDED:
        return 100
    if not step or job.state == State.QUEUED:
        return 0
    before = 0
    for name, weight in STEP_WEIGHTS.items():
        if name == step:
            share = min(done / total, 1) if total else 0
            return min(99, int(before + weight * share))
        before += weight
    return 0


def _seconds_left(job: ImportJob, percent: int, now) -> int | None:
    """A straight-line estimate from the time spent so far; none before 5 %."""
    if job.state != State.RUNNING or percent < 5 or job.started_at is None:
        return None
    spent = (now - job.started_at).total_seconds()
    return max(1, round(spent * (100 - percent) / percent))


def _parse_time(value: str):
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _remove_file(job: ImportJob) -> None:
    with contextlib.suppress(OSError):
        os.remove(progress_path(job))
