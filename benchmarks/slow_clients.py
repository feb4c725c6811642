"""Slow clients against a server, and a normal visitor meanwhile (docs/deployment.md).

Why: gunicorn's threads each hold a connection from its first byte to its last, so a few
clients that send their headers at 1 byte/s, or half a header and then nothing, leave no
thread for anybody else. The fix is nginx in front (deploy/nginx.conf); this drill shows the
difference and tests/test_proxy.py asserts it.

By hand, against any server already running:

    python -m benchmarks.slow_clients --port 8080 --host catalogue.example.fr --seconds 20

prints how many of the visitor's requests were answered, and their latencies.
"""

import argparse
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

from benchmarks.http_client import Client


@dataclass
class Visits:
    """What the normal visitor got: one entry per request, in order."""

    statuses: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(status.isdigit() and int(status) < 500 for status in self.statuses)

    @property
    def share(self) -> float:
        return self.answered / len(self.statuses) if self.statuses else 0.0

    def summary(self) -> str:
        if not self.latencies:
            return "aucune requête"
        ordered = sorted(self.latencies)
        return (
            f"{self.answered} réponses sur {len(self.statuses)} requêtes "
            f"({self.share:.0%}) ; latence médiane {statistics.median(ordered):.2f} s, "
            f"maximale {ordered[-1]:.2f} s"
        )


class SlowClients:
    """`count` connections held open: half send a request header one byte per second, never
    finishing it; half send part of a header, then nothing. A connection the server closes is
    opened again at once, as a hostile client would."""

    def __init__(self, port: int, host: str, count: int = 50):
        self.port, self.host, self.count = port, host, count
        self.header = (
            f"GET /cooperations/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lent\r\n".encode()
            + b"X-Lent: "
            + b"a" * 4000
        )
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _open(self, trickle: bool) -> dict | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            return None
        sock.setblocking(False)
        state = {"socket": sock, "trickle": trickle, "sent": 0}
        if not trickle:
            self._send(state, self.header[:40])  # partial, then silent
        return state

    def _send(self, state: dict, data: bytes) -> bool:
        try:
            state["socket"].send(data)
        except (BlockingIOError, OSError):
            return False
        state["sent"] += len(data)
        return True

    def _run(self):
        clients = [self._open(trickle=n % 2 == 0) for n in range(self.count)]
        try:
            while not self._stop.is_set():
                for index, state in enumerate(clients):
                    if state is None or self._closed(state):
                        if state is not None:
                            state["socket"].close()
                            self.reopened += 1
                        clients[index] = state = self._open(trickle=index % 2 == 0)
                        if state is None:
                            continue
                    if state["trickle"]:
                        position = state["sent"] % len(self.header)
                        self._send(state, self.header[position : position + 1])
                self._stop.wait(1.0)
        finally:
            for state in clients:
                if state is not None:
                    state["socket"].close()

    @staticmethod
    def _closed(state: dict) -> bool:
        """The server closed it (or answered, e.g. 408): read what came, and say so."""
        try:
            state["socket"].recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            pass
        return True


def visit(port: int, host: str, seconds: float, path: str = "/cooperations/", timeout=15):
    """A normal visitor requesting `path` one request after the other for `seconds`; a
    generous timeout, so that what is measured is service, not speed."""
    visits = Visits()
    deadline = time.monotonic() + seconds
    client = Client(port, timeout=timeout, host=host)
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status = str(client.get(path).status)
        except OSError as error:
            status = type(error).__name__
        visits.statuses.append(status)
        visits.latencies.append(time.monotonic() - started)
        time.sleep(0.2)
    return visits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    with SlowClients(options.port, options.host, options.clients) as attack:
        time.sleep(2)  # the slow connections in place first
        visits = visit(options.port, options.host, options.seconds)
    print(f"{options.clients} clients lents, {attack.reopened} connexions rouvertes")
    print(visits.summary())


if __name__ == "__main__":
    main()
