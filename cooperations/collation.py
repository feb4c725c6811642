"""French alphabetical order on both engines, behind one expression: `FrenchOrder("name")`.

PostgreSQL compares with ICU's French collation (`fr-x-icu`, present in every PostgreSQL built
with ICU): accents and case only break ties, so « Métropole de Lyon » comes before
« Montpellier ». SQLite has no such collation; each new connection gets one that compares the
`fold()`ed texts, the catalogue's own accent- and case-blind form.
"""

import functools

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
