"""Django's PostgreSQL backend, with a bound on how long a request waits for the server.

A database that is frozen rather than down (its processes stopped, a hung disk, a network
partition that drops packets) accepts TCP connections and acknowledges what it is sent, so
nothing on the client side ever fails: each request held its worker until the database woke up
(15 s in the outage drill), and `/sante/` with them. Two bounds make such a database an outage
that answers 503 (catalogue/errors.py) within seconds:

- a new connection gives up after the database's CONNECT_TIMEOUT (settings.py,
  DATABASE_CONNECT_TIMEOUT: 1 s), all of its attempts together (several hosts, or a name with
  several addresses). psycopg's own `connect_timeout` cannot go below 2 s (it copies libpq's
  floor) and counts each attempt afresh, which made a page on a new connection answer after
  2.03 s in the drill. psycopg connects without blocking, by a generator that hands control
  back at least every 0.1 s; the backend wraps that generator with a deadline of its own.
  Resolving the host name happens before the first step and is not bounded: production names
  the database by an address or a name the local resolver answers at once.
- on an open connection, psycopg's wait for the server's answer gives up after the
  database's RESPONSE_TIMEOUT (settings.py, DATABASE_RESPONSE_TIMEOUT). A live server cancels
  a slow statement itself before that (`statement_timeout`, set lower), so the bound only
  fires when the server cannot answer at all. The first query on a connection kept from an
  earlier request (Django's health check, or the catalogue's version that stands for it) is
  bounded the same way. The connection is then closed — its state is unknown.

Both raise `DatabaseNotAnswering`: a Django OperationalError, hence a 503, but not one of
psycopg's errors, so that Django's connection health check lets it through instead of trying
to reconnect, and psycopg's connect does not go on to its next attempt.

After one of them, the process fails fast for DATABASE_OUTAGE_WINDOW (1 s; `OutageBreaker`):
new connections and queries raise `DatabaseNotAnswering` at once instead of each waiting its
own timeout, so that threads are freed for `/sante/` and the pages at once instead of queuing
behind requests that wait on the database. Only where the request bounds are on: the response
timeout is set (gunicorn.conf.py) and not lifted.

`unbounded_wait()` lifts the response bound, and the fast failure with it, for work that is
slow on purpose (the inventory import).
"""

import threading
import time
from contextlib import contextmanager

import psycopg
from django.db.backends.postgresql import base
from django.db.utils import OperationalError

_lifted = threading.local()
# The deadline (time.monotonic()) of the connection this thread is opening, if any: Django
# calls psycopg's connect() with the connection's parameters only, which libpq would refuse
# to carry anything else.
_connecting = threading.local()


class DatabaseNotAnswering(OperationalError):
    """The database server did not answer within its connect or response timeout."""


class OutageBreaker:
    """What this process remembers of the last time the database did not answer.

    During a freeze under load, every thread waited its own timeout (1 s to connect, 1.4 s for
    an answer) before its 503, one after the other, and `/sante/` waited in gunicorn's queue
    behind them: 1.87 s in the drill. Once one of them has given up, the others fail at once
    for `window` seconds. Then one attempt, the first to come (half-open), is let through
    while the others still fail fast: its success ends the outage, so recovery costs at most
    the window plus that attempt; its giving up opens another window. One per process and not
    per database alias: the catalogue has a single database.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.opened_at = None  # time.monotonic() of the last giving up, None when closed
        self.probing = False

    def before_attempt(self, window: float) -> bool:
        """Raise DatabaseNotAnswering while the breaker is open; True when this attempt is the
        one let through after the window, which must then report `succeeded` or `failed`."""
        if self.opened_at is None:  # the usual case: no lock taken
            return False
        with self._lock:
            if self.opened_at is None:
                return False
            if self.probing or time.monotonic() - self.opened_at < window:
                raise DatabaseNotAnswering(
                    "the database did not answer less than "
                    f"{window:g} s ago; failing fast until it is tried again"
                )
            self.probing = True
            return True

    def failed(self) -> None:
        with self._lock:
            self.opened_at = time.monotonic()
            self.probing = False

    def succeeded(self) -> None:
        with self._lock:
            self.opened_at = None
            self.probing = False

    def released(self) -> None:
        """The attempt let through ended otherwise (a refused connection, an interruption):
        it says nothing of a frozen server, and the next attempt is let through."""
        with self._lock:
            self.probing = False


breaker = OutageBreaker()


@contextmanager
def _guarded(window: float | None):
    """An attempt to reach the server, under the breaker when `window` is set."""
    if window is None:
        yield
        return
    probe = breaker.before_attempt(window)
    try:
        yield
    except DatabaseNotAnswering:
        breaker.failed()
        raise
    except BaseException:
        if probe:
            breaker.released()
        raise
    if probe:
        breaker.succeeded()


class BoundedWaitConnection(psycopg.Connection):
    response_timeout: float | None = None
    outage_window: float | None = None

    @classmethod
    def _connect_gen(cls, conninfo=""):
        # Called by psycopg's connect() once per attempt; the deadline spans them all.
        deadline = getattr(_connecting, "deadline", None)
        steps = super()._connect_gen(conninfo)
        if deadline is None:
            return (yield from steps)
        try:
            wanted = next(steps)
            while True:
                ready = yield wanted
                # psycopg's wait sends "nothing ready" at least every 0.1 s, which brings the
                # generator back here even when the server never says a word.
                if time.monotonic() >= deadline:
                    steps.close()  # frees libpq's half-open connection
                    raise DatabaseNotAnswering(
                        f"the database did not accept a connection within {_connecting.timeout:g} s"
                    )
                wanted = steps.send(ready)
        except StopIteration as done:
            return done.value

    def wait(self, gen, interval=0.1, timeout=None):
        bound = None if getattr(_lifted, "depth", 0) else self.response_timeout
        if timeout is not None or bound is None:
            return super().wait(gen, interval, timeout)
        # Failing fast leaves the connection as it is: nothing was sent (the generator has not
        # started), and a kept connection serves again once the server answers.
        with _guarded(self.outage_window):
            try:
                return super().wait(gen, interval, bound)
            except psycopg.errors._WaitTimeout:  # psycopg's error for a wait that timed out
                self.pgconn.finish()
                raise DatabaseNotAnswering(
                    f"the database did not answer within {bound:g} s; connection closed"
                ) from None


class _Psycopg:
    """psycopg as Django's backend uses it (`self.Database`: its errors, cursors, connect()),
    except that connect() makes BoundedWaitConnections: psycopg has no setting for the class
    of the connections that its module-level connect() makes."""

    connect = staticmethod(BoundedWaitConnection.connect)

    def __getattr__(self, name):
        return getattr(psycopg, name)


class DatabaseWrapper(base.DatabaseWrapper):
    # Django's connection pool (OPTIONS "pool", which the catalogue does not set) would make
    # psycopg's own connections, out of reach of both bounds.
    Database = _Psycopg()

    def get_new_connection(self, conn_params):
        timeout = self.settings_dict.get("CONNECT_TIMEOUT")
        response_timeout = self.settings_dict.get("RESPONSE_TIMEOUT")
        # The request bounds are on (gunicorn.conf.py) and not lifted: commands, and the
        # import, wait for the database rather than fail fast.
        bounded = response_timeout is not None and not getattr(_lifted, "depth", 0)
        window = self.settings_dict.get("OUTAGE_WINDOW") if bounded else None
        _connecting.timeout = timeout
        _connecting.deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with _guarded(window):
                connection = super().get_new_connection(conn_params)
        finally:
            _connecting.deadline = None
        connection.response_timeout = response_timeout
        connection.outage_window = self.settings_dict.get("OUTAGE_WINDOW")
        return connection


@contextmanager
def unbounded_wait():
    """Within the block, this thread's queries wait for the server as long as it takes."""
    _lifted.depth = getattr(_lifted, "depth", 0) + 1
    try:
        yield
    finally:
        _lifted.depth -= 1
