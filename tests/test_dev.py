"""`python3 dev.py start`: the demo runs like the service (DEBUG off), over plain HTTP."""

import importlib.util

import pytest

from .conftest import ROOT


@pytest.fixture
def dev(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "VENV", tmp_path)
    variables = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT")
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    return module


def test_demo_runs_without_debug_with_a_kept_key(dev):
    env = dev.demo_environment("127.0.0.1:8000")
    assert env["DEBUG"] == "0"
    assert len(env["SECRET_KEY"]) > 40
    assert dev.demo_environment("127.0.0.1:8000")["SECRET_KEY"] == env["SECRET_KEY"]
    assert env["ALLOWED_HOSTS"].split(",") == ["127.0.0.1", "localhost", "::1"]
    # Plain HTTP: the admin's CSRF cookie must come back without TLS.
    assert env["SECURE_SSL_REDIRECT"] == env["CSRF_COOKIE_SECURE"] == "0"


def test_demo_serves_the_host_it_listens_on_and_a_developer_gets_debug(dev, monkeypatch):
    assert "192.168.1.5" in dev.demo_environment("192.168.1.5:8000")["ALLOWED_HOSTS"]
    everywhere = "0.0.0.0"  # noqa: S104 - an address to listen on, never a host name
    assert everywhere not in dev.demo_environment(f"{everywhere}:8000")["ALLOWED_HOSTS"]
    monkeypatch.setenv("DEBUG", "1")
    assert dev.demo_environment("127.0.0.1:8000")["DEBUG"] == "1"


def test_start_runs_the_task_worker_beside_the_server_and_stops_it_with_the_server(
    dev, monkeypatch
):
    commands, workers = [], []

    def manage(*args, env=None):
        commands.append(args[0])
        if args[0] == "runserver":
            assert workers and not workers[0].stopped  # the worker runs while the server does
            raise KeyboardInterrupt  # Ctrl+C

    class Worker:
        def __init__(self, command, env):
            self.command, self.env, self.stopped = command, env, False
            workers.append(self)

        def terminate(self):
            self.stopped = True

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(dev, "manage", manage)
    monkeypatch.setattr(dev.subprocess, "Popen", Worker)
    monkeypatch.setattr(dev.signal, "signal", lambda *args: None)
    with pytest.raises(KeyboardInterrupt):
        dev.start([])
    assert commands == ["migrate", "setup_catalogue", "collectstatic", "runserver"]
    (worker,) = workers
    assert worker.command[-1] == "db_worker" and worker.env["DEBUG"] == "0"
    assert worker.stopped
