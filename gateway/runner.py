"""`mosaic run`: the platform as one command on embedded backends.

The gateway serves every HTTP API in this process; the dispatcher, harvest workers and the
processor run as child processes, restarted if they die. A Milvus Lite file can be opened by one
process only, so it is served by Milvus Lite's own server on 127.0.0.1 and every process uses it
by URL, as it would a Milvus server.

Mutating endpoints need a bearer token. With `MOSAIC_API_TOKEN` unset, the runner makes one on
first start, keeps it in `<data_dir>/api-token` (mode 0600) and prints it with the URL; an
explicitly empty `MOSAIC_API_TOKEN=` turns auth off (tests and trusted networks only).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from pydantic import SecretStr
from werkzeug.serving import make_server

from gateway.app import create_gateway
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.settings import Settings

log = logging.getLogger(__name__)

RESTART_DELAY = 2.0
# Pin every worker to one thread: numpy/BLAS on two threads burns double CPU for no gain here.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TOKEN_FILE = "api-token"


def run_platform(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings, token_note = resolve_api_token(settings)
    env = {**os.environ, **ONE_THREAD, "MOSAIC_API_TOKEN": settings.api_token.get_secret_value()}
    milvus = None
    if settings.vectors_embedded:
        milvus, url = start_milvus_lite(settings)
        settings = settings.model_copy(update={"vectors_url": url})
        env["MOSAIC_VECTORS_URL"] = url
    backends = Backends(settings)
    upgrade(backends.catalog)
    commands = [["dispatcher"], ["processor"], ["import-worker"]] + [["harvest-worker"]] * settings.workers
    children = Supervisor([[sys.executable, "-m", "gateway.cli", *c] for c in commands], env)
    try:
        children.start()
        _ingest_samples(backends)
        serve_gateway(backends, token_note)
    finally:
        children.stop()
        backends.close()
        if milvus is not None:
            milvus.stop()
        print("Mosaic stopped.", flush=True)


def serve_gateway(backends: Backends, token_note: str | None = None) -> None:
    settings = backends.settings
    if token_note is None:
        settings, token_note = resolve_api_token(settings)
    server = make_server(settings.host, settings.port, create_gateway(settings, backends), threaded=True)
    print(f"Mosaic is running at http://{settings.host}:{server.port}/ (Ctrl-C to stop)", flush=True)
    print(token_note, flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def resolve_api_token(settings: Settings) -> tuple[Settings, str]:
    """Settings with a token (MOSAIC_API_TOKEN, else the saved or a new one) and a line telling the user about it."""
    if settings.api_token is not None:
        if not settings.api_token.get_secret_value():
            return settings, ("API token: none (MOSAIC_API_TOKEN is empty): anyone who can reach this port "
                              "can upload and change data; for tests and trusted networks only")
        return settings, "API token: the one in MOSAIC_API_TOKEN (send it as `Authorization: Bearer <token>`)"
    path = settings.data_dir / TOKEN_FILE
    token = path.read_text().strip() if path.is_file() else ""
    if not token:
        token = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(token + "\n")
    note = (f"API token for uploads, imports, retries and feedback (kept in {path}; set MOSAIC_API_TOKEN "
            f"to choose your own):\n  curl -H 'Authorization: Bearer {token}' ...")
    return settings.model_copy(update={"api_token": SecretStr(token)}), note


def start_milvus_lite(settings: Settings):
    from milvus_lite.server import Server

    from mosaic.net import wait_for_port

    settings.vectors_file.parent.mkdir(parents=True, exist_ok=True)
    server = Server(str(settings.vectors_file), address=f"127.0.0.1:{settings.vectors_port}")
    if not server.start():
        raise SystemExit(f"could not start Milvus Lite on {settings.vectors_file} (is another Mosaic running?)")
    wait_for_port(settings.vectors_port, timeout=30, what="Milvus Lite")
    return server, f"http://127.0.0.1:{settings.vectors_port}"


def _ingest_samples(backends: Backends) -> None:
    """On first start, store the sample photos so a newcomer sees results at once."""
    from sqlalchemy import func, select

    from gather.storing import store_folder
    from mosaic.catalog.schema import images

    folder = backends.settings.samples_dir
    if not backends.settings.ingest_samples or not folder.is_dir():
        return
    with backends.catalog.connect() as connection:
        if connection.execute(select(func.count()).select_from(images)).scalar():
            return
    batch_id, results = store_folder(backends, folder, "sample")
    stored = sum(1 for r in results if r.status == "stored")
    print(f"Ingested {stored} sample photo(s) from {folder} (batch {batch_id})", flush=True)


def _raise_interrupt(*_):
    raise KeyboardInterrupt


class Supervisor:
    """Keeps worker processes alive: one that dies is started again (its job is redelivered)."""

    def __init__(self, commands: list[list[str]], env: dict):
        self.commands, self.env = commands, env
        self.processes: list[subprocess.Popen | None] = [None] * len(commands)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        for index in range(len(self.commands)):
            self._spawn(index)
        self._thread.start()

    def _spawn(self, index: int) -> None:
        # A session of its own: Ctrl-C reaches only the runner, which stops workers in order.
        self.processes[index] = subprocess.Popen(self.commands[index], env=self.env, start_new_session=True)

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            for index, process in enumerate(self.processes):
                if process is not None and process.poll() is not None and not self._stop.is_set():
                    log.warning("%s exited with %s; restarting", " ".join(self.commands[index][3:]),
                                process.returncode)
                    time.sleep(RESTART_DELAY)
                    self._spawn(index)

    def stop(self) -> None:
        self._stop.set()
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
