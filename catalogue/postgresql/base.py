"""Django's PostgreSQL backend, with a bound on how long a request waits for the server.

A database that is frozen rather than down (its processes stopped, a hung disk, a network
partition that drops packets) accepts TCP connections and acknowledges what it is sent, so
nothing on the client side ever fails: each request held its worker until the database woke up
(15 s in the outage drill), and `/sante/` with them. Two bounds make such a database an outage
that answers 503 (catalogue/errors.py) within seconds:

- a new connection gives up after `connect_timeout` (settings.py: 2 s, psycopg's minimum);
- on an open connection, psycopg's wait for the server's answer gives up after the
  database's RESPONSE_TIMEOUT (settings.py, DATABASE_RESPONSE_TIMEOUT). A live server cancels
  a slow statement itself before that (`statement_timeout`, set lower), so the bound only
  fires when the server cannot answer at all. The connection is then closed — its state is
  unknown — and `DatabaseNotAnswering` raised: a Django OperationalError, hence a 503, but not
  one of psycopg's errors, so that Django's connection health check lets it through instead
  of trying to reconnect for another `connect_timeout`.

`unbounded_wait()` lifts the bound for work that is slow on purpose (the inventory import).
"""

import threading
from contextlib import contextmanager

import psycopg
from django.db.backends.postgresql import base
from django.db.utils import OperationalError

_lifted = threading.local()


class DatabaseNotAnswering(OperationalError):
    """The database server did not answer within its response timeout."""


class BoundedWaitConnection(psycopg.Connection):
    response_timeout: float | None = None

    def wait(self, gen, interval=0.1, timeout=None):
        bound = None if getattr(_lifted, "depth", 0) else self.response_timeout
        if timeout is not None or bound is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, bound)
        except psycopg.errors._WaitTimeout:  # psycopg's own error for a wait that timed out
            self.pgconn.finish()
            raise DatabaseNotAnswering(
                f"the database did not answer within {bound:g} s; connection closed"
            ) from None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # psycopg offers no hook for the class of the connection that Django's backend makes;
        # the subclass adds a method override and no state of its own.
        connection.__class__ = BoundedWaitConnection
        connection.response_timeout = self.settings_dict.get("RESPONSE_TIMEOUT")
        return connection


@contextmanager
def unbounded_wait():
    """Within the block, this thread's queries wait for the server as long as it takes."""
    _lifted.depth = getattr(_lifted, "depth", 0) + 1
    try:
        yield
    finally:
        _lifted.depth -= 1
