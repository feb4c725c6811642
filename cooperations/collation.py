"""French alphabetical order on both engines, behind one expression: `FrenchOrder("name")`.

PostgreSQL compares with ICU's French collation (`fr-x-icu`, present in every PostgreSQL built
with ICU): accents and case only break ties, so « Métropole de Lyon » comes before
« Montpellier ». SQLite has no such collation; each new connection gets one that compares the
`fold()`ed texts, the catalogue's own accent- and case-blind form.
"""

import functools

from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.functions import Collate

from .text import fold

POSTGRESQL_COLLATION = "fr-x-icu"
SQLITE_COLLATION = "french_fold"


class FrenchOrder(Collate):
    """An expression ordered the French way, e.g. `order_by(FrenchOrder("name"), "pk")`."""

    def __init__(self, expression):
        super().__init__(expression, POSTGRESQL_COLLATION)

    def as_sqlite(self, compiler, connection, **extra_context):
        extra_context.setdefault("collation", connection.ops.quote_name(SQLITE_COLLATION))
        return super().as_sql(compiler, connection, **extra_context)


@functools.lru_cache(maxsize=65536)
def _key(value: str) -> tuple[str, str]:
    # The raw text breaks ties so that the order is total and stable (« Zèbre » vs « zebre »);
    # cached because SQLite calls the collation for every comparison of a sort.
    return fold(value), value


def compare(left: str, right: str) -> int:
    """SQLite collation: negative, zero or positive as `left` sorts before, with or after."""
    a, b = _key(left), _key(right)
    return (a > b) - (a < b)


def register_sqlite_collation(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: every SQLite connection, test ones included, learns the
    collation before its first query (the name index uses it, even for writes)."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation(SQLITE_COLLATION, compare)


def ensure_sqlite_french_order_index(using: str = "default") -> None:
    """Make again, on SQLite, the index of the lists' French name order (migration 0007) where
    it is missing; run after every migrate. Django adds or removes a column on SQLite by
    rebuilding the table, which drops the indexes the model does not declare (this one is raw
    SQL: each engine names the collation differently)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    applied = MigrationRecorder(connection).applied_migrations()
    if ("cooperations", "0007_french_name_order_index") not in applied:
        return  # migrated back to before the index existed
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE INDEX IF NOT EXISTS "coop_published_name_fr_idx" ON "cooperations_cooperation" '
            f'("name" COLLATE {SQLITE_COLLATION}, "id") WHERE "is_published"'
        )
