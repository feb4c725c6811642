from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from . import lookups  # noqa: F401 — registers `__any_of` on integer and foreign key fields
from .collation import register_sqlite_collation


class CooperationsConfig(AppConfig):
    name = "cooperations"
    verbose_name = "Coopérations interterritoriales"

    def ready(self) -> None:
        # Permissions only exist after every app has migrated, hence post_migrate.
        post_migrate.connect(_create_staff_groups, sender=self)
        # Django's table rebuilds on SQLite drop what the models do not declare.
        post_migrate.connect(_ensure_sqlite_objects, sender=self)
        # Rows written before the export columns existed, or by hand, get theirs.
        post_migrate.connect(_fill_missing_derived_text, sender=self)
        # Before any query: the French name order and its index need it on SQLite.
        connection_created.connect(register_sqlite_collation)


def _create_staff_groups(**kwargs) -> None:
    from .services import ensure_staff_groups

    ensure_staff_groups(using=kwargs.get("using", "default"))


def _ensure_sqlite_objects(**kwargs) -> None:
    from .collation import ensure_sqlite_french_order_index
    from .search import ensure_sqlite_index

    using = kwargs.get("using", "default")
    ensure_sqlite_french_order_index(using=using)
    ensure_sqlite_index(using=using)


def _fill_missing_derived_text(**kwargs) -> None:
    from .derived import fill_missing_derived_text

    fill_missing_derived_text(using=kwargs.get("using", "default"))
