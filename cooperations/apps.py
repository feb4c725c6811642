from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CooperationsConfig(AppConfig):
    name = "cooperations"
    verbose_name = "Coopérations interterritoriales"

    def ready(self) -> None:
        # Permissions only exist after every app has migrated, hence post_migrate.
        post_migrate.connect(_create_staff_groups, sender=self)


def _create_staff_groups(**kwargs) -> None:
    from .services import ensure_staff_groups

    ensure_staff_groups(using=kwargs.get("using", "default"))
