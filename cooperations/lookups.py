"""`field__any_of=ids`: membership in a long collection of ids passed as one parameter.

`field__in=ids` makes Django prepare and the driver adapt every id as its own parameter: for the
2,000 ids of an export chunk that cost more than the query itself (about 14 ms per query on
PostgreSQL). Here the whole collection is one value: an array literal on PostgreSQL
(`= ANY(%s::bigint[])`, still served by the primary key or foreign key index), a JSON text read
by `json_each` on SQLite. Both are one text written by `str.join`: psycopg adapting a Python list
of 2,000 ints walks it element by element in Python, 2 ms per chunk.
Pass a set rather than a list: Django walks a list or tuple value element by element before any
lookup sees it.
"""

from django.db.models import ForeignKey, IntegerField, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    # The ids are sent as they are: no per-id preparation, which is the point.
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = any_of_parameter(self.rhs, connection.vendor)
        return any_of_sql(lhs, connection.vendor), [*lhs_params, ids]


def any_of_sql(column: str, vendor: str) -> str:
    """The SQL of `column__any_of`, its one parameter (`any_of_parameter`) as `%s`."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608 — a column name


def any_of_parameter(values, vendor: str):
    """The one parameter that carries `values` in the SQL of `__any_of`: to run that SQL, built
    once, with other ids."""
    ids = ",".join([str(int(value)) for value in values])
    return f"{{{ids}}}" if vendor == "postgresql" else f"[{ids}]"


IntegerField.register_lookup(AnyOf)
ForeignKey.register_lookup(AnyOf)
