"""The production topology as local processes: each web service under its own gunicorn, the workers
on their own, the compose gateway's nginx in front, and the real servers (PostgreSQL, RabbitMQ, S3,
Milvus over gRPC) as the only things they share.

Every process gets its own data dir, started the way its compose container is (docker-compose.yml):
`mosaic db upgrade` once, then gunicorn with docker/gunicorn.conf.py per service, the workers by
their `mosaic` verbs.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.servers import RunningServer, ServerMissing, free_port, wait_for_port

WEB = ("gather", "harvest", "recommend", "visualize", "cdn", "api")  # gateway/wsgi.py NAMES, nginx upstreams
WORKERS = {  # name -> `mosaic` verb; two harvest workers, as `--scale harvest_worker=2` would run
    "harvest_worker_1": "harvest-worker",
    "harvest_worker_2": "harvest-worker",
    "processor": "processor",
    "dispatcher": "dispatcher",
}
STATIC_ROOT = REPO_ROOT / "frontend" / "out"  # the UI's static export, what docker/nginx.Dockerfile serves at /
GUNICORN_HINT = "gunicorn is not installed: pip install -e '.[ml,dev,serve]'"
START_TIMEOUT = 60.0
API_TOKEN = f"topology-{uuid.uuid4().hex}"
# The first line a harvest worker logs once its models are loaded, just before it starts consuming.
WORKER_READY = "harvest pipeline:"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    data_dir: Path
    stop_signal: int

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ({self.log}) ---\n{self.log.read_text(errors='replace')[-chars:]}"


@dataclass
class Topology:
    base: str
    token: str = API_TOKEN
    processes: dict[str, Process] = field(default_factory=dict)
    nginx: RunningServer | None = None
    exit_codes: dict[str, int | None] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(p.tail(1500) for p in self.processes.values())

    def stop(self, timeout: float = 30.0) -> dict[str, int | None]:
        """nginx first (no new requests), then each process by its compose stop signal (SIGINT for the
        workers, SIGTERM for gunicorn); whatever is still running after `timeout` is killed with its
        process group. Idempotent; returns each process' exit code (None: it had to be killed)."""
        if self.nginx is not None:
            nginx, self.nginx = self.nginx, None
            nginx.stop()
        running = [p for p in self.processes.values() if p.name not in self.exit_codes]
        for process in running:
            if process.popen.poll() is None:
                process.popen.send_signal(process.stop_signal)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                self.exit_codes[process.name] = process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.exit_codes[process.name] = None
            _kill_group(process.popen)
        return dict(self.exit_codes)


def _kill_group(popen: subprocess.Popen) -> None:
    """Each process leads its own group (start_new_session): this also ends gunicorn's workers."""
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if popen.poll() is None:
        popen.wait(10)


def _environment(server_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")},
        **server_env,
        "MOSAIC_DATA_DIR": str(data_dir),
        "MOSAIC_INGEST_SAMPLES": "false",
        "MOSAIC_DISPATCH_INTERVAL": "0.2",
        "MOSAIC_API_TOKEN": API_TOKEN,  # as compose sets it: uploads need the bearer token, through nginx too
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def topology(tmp_path, server_env):
    """Everything started and ready (web services listening, both harvest workers consuming); the
    gateway's URL in `.base`. Stopped after the test, also when it fails."""
    if importlib.util.find_spec("gunicorn") is None:
        pytest.fail(GUNICORN_HINT, pytrace=False)

    def spawn(name: str, args: list[str], stop_signal: int) -> Process:
        data_dir = tmp_path / "data" / name
        data_dir.mkdir(parents=True)
        log = tmp_path / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        # cwd: the process' own folder, where a developer's .env (read by the settings) cannot reach it.
        with log.open("wb") as out:
            popen = subprocess.Popen([sys.executable, *args], env=_environment(server_env, data_dir), cwd=data_dir,
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        return Process(name, popen, log, data_dir, stop_signal)

    # The compose `migrate` service: once, before anything else opens the catalog.
    migrate = spawn("migrate", ["-m", "gateway.cli", "db", "upgrade"], signal.SIGTERM)
    try:
        code = migrate.popen.wait(60)
    except subprocess.TimeoutExpired:
        _kill_group(migrate.popen)
        code = None
    if code != 0:
        raise AssertionError(f"mosaic db upgrade exited with {code}\n{migrate.tail()}")

    topology = Topology(base="")
    ports = {name: free_port() for name in WEB}
    try:
        for name, verb in WORKERS.items():
            topology.processes[name] = spawn(name, ["-m", "gateway.cli", verb], signal.SIGINT)
        for name in WEB:
            topology.processes[name] = spawn(name, [
                "-m", "gunicorn", "-c", str(REPO_ROOT / "docker" / "gunicorn.conf.py"),
                "-b", f"127.0.0.1:{ports[name]}", "-w", "1", "--threads", "4", f"gateway.wsgi:service_app('{name}')",
            ], signal.SIGTERM)
        from tests.servers import nginx

        if not (STATIC_ROOT / "index.html").is_file():
            pytest.fail(f"no web UI build in {STATIC_ROOT}: run make frontend (make test does)", pytrace=False)
        try:
            topology.nginx = nginx.start(tmp_path / "nginx", ports, STATIC_ROOT)
        except ServerMissing as exc:
            pytest.fail(str(exc), pytrace=False)
        topology.base = topology.nginx.url
        _wait_ready(topology, ports)
        yield topology
    finally:
        topology.stop()


def _wait_ready(topology: Topology, ports: dict[str, int]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    for name, port in ports.items():
        process = topology.processes[name]
        try:
            wait_for_port(port, max(0.1, deadline - time.monotonic()), process.popen, f"gunicorn {name}")
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n{process.tail()}") from None
    workers = [p for name, p in topology.processes.items() if name.startswith("harvest_worker")]
    while not all(WORKER_READY in p.log.read_text(errors="replace") for p in workers):
        for process in topology.processes.values():
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited with {process.popen.returncode}\n{process.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the harvest workers were not ready within {START_TIMEOUT:.0f}s\n{topology.logs()}")
        time.sleep(0.2)
