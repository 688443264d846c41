"""`mosaic run`: the platform as one command on embedded backends.

The runner owns the data directory (a lock file holding its pid: a second run on the same folder
refuses to start), binds the HTTP port, and runs everything else as child processes that it
restarts if they die: the gateway under gunicorn (every service's HTTP API, one worker process
per core up to 8), the dispatcher, the harvest workers, the processor and the import worker. A Milvus Lite
file can be opened by one process only, so it is served by Milvus Lite's own server on 127.0.0.1
and every process uses it by URL, as it would a Milvus server.

Every child dies with the runner, however the runner ends: each is started with
`PR_SET_PDEATHSIG` (the kernel sends it SIGKILL when its parent goes), gunicorn's worker
processes too. `kill -TERM` (or Ctrl-C) stops the children with SIGTERM, which every worker
handles, and SIGKILLs whatever is left after `STOP_TIMEOUT`.

Mutating endpoints need a bearer token. With `MOSAIC_API_TOKEN` unset, the runner makes one on
first start, keeps it in `<data_dir>/api-token` (mode 0600) and prints it with the URL; an
explicitly empty `MOSAIC_API_TOKEN=` turns auth off (tests and trusted networks only).
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from mosaic.backends import Backends
from mosaic.settings import Settings

log = logging.getLogger(__name__)

# A child that dies is started again after RESTART_DELAY, doubling on each crash up to
# RESTART_DELAY_MAX so a worker that cannot start does not spin; one that stayed up STABLE_AFTER
# seconds had recovered, and its next crash restarts fast again.
RESTART_DELAY = 1.0
RESTART_DELAY_MAX = 30.0
STABLE_AFTER = 30.0
POLL_SECONDS = 0.2
# SIGTERM, then SIGKILL after this long: workers stop within one message, gunicorn within its
# graceful timeout (below), so the whole run is down in about 4 s.
STOP_TIMEOUT = 3.0
WEB_GRACEFUL_TIMEOUT = 2
# Pin every worker to one thread: numpy/BLAS on two threads burns double CPU for no gain here.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TOKEN_FILE = "api-token"
LOCK_FILE = "mosaic.lock"
METRICS_DIR = "metrics"
WEB_THREADS = 32
# Each web worker holds its own app, caches and connections (~170 MB, more with the spaCy vectors):
# on a 64-core server one per core would take memory the harvest workers need. More on request.
DEFAULT_WEB_WORKERS_MAX = 8
READY_TIMEOUT = 120.0


def run_platform(settings: Settings) -> None:
    # SIGTERM is how service managers, `kill` and the tests stop us; SIGINT may be ignored
    # (any `nohup` or `&` start), so it cannot be the only way.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        _run(settings)
    except KeyboardInterrupt:
        pass


def _run(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.enter_context(lock_data_dir(settings.data_dir))
        stack.callback(print, "Mosaic stopped.", flush=True)
        settings, token_note = resolve_api_token(settings)
        listener = stack.enter_context(bind_listener(settings.host, settings.port))
        env = {**os.environ, **ONE_THREAD, "MOSAIC_API_TOKEN": settings.api_token.get_secret_value()}
        env.update(_metrics_env(settings))
        if settings.vectors_embedded:
            milvus, url = start_milvus_lite(settings)
            stack.callback(stop_milvus_lite, milvus)
            settings = settings.model_copy(update={"vectors_url": url})
            env["MOSAIC_VECTORS_URL"] = url
        backends = Backends(settings)
        stack.callback(backends.close)
        from mosaic.catalog import upgrade

        upgrade(backends.catalog)
        children = Supervisor(platform_children(settings, listener.fileno()), env)
        stack.callback(children.stop)
        children.start()
        _ingest_samples(backends)
        port = listener.getsockname()[1]
        wait_until_serving(settings.host, port)
        print(f"Mosaic is running at http://{settings.host}:{port}/ (Ctrl-C to stop)", flush=True)
        print(token_note, flush=True)
        while True:
            time.sleep(3600)


def platform_children(settings: Settings, listen_fd: int) -> list[Child]:
    mosaic = [sys.executable, "-m", "gateway.cli"]
    workers = [["dispatcher"], ["processor"], ["import-worker"], ["purger"]] + [["harvest-worker"]] * settings.workers
    return [Child("web", [*mosaic, "serve", "--listen-fd", str(listen_fd)], pass_fds=(listen_fd,))] + [
        Child(command[0], [*mosaic, *command]) for command in workers
    ]


def serve_gateway(backends: Backends, token_note: str | None = None, listen_fd: int | None = None) -> None:
    """The gateway under gunicorn in this process; with `listen_fd`, on a socket the runner bound."""
    settings = backends.settings
    if token_note is None:
        settings, token_note = resolve_api_token(settings)
    try:
        import gunicorn  # noqa: F401  (the `serve` extra)
    except ImportError:
        _serve_werkzeug(settings, token_note, listen_fd)
        return
    if listen_fd is None:
        listener = bind_listener(settings.host, settings.port)
        print(f"Mosaic is running at http://{settings.host}:{listener.getsockname()[1]}/ (Ctrl-C to stop)",
              flush=True)
        print(token_note, flush=True)
        listen_fd = listener.detach()  # gunicorn takes the descriptor over (and closes it)
    gunicorn_application(settings, gunicorn_options(settings, listen_fd)).run()


def web_workers(settings: Settings) -> int:
    """MOSAIC_WEB_WORKERS, else one per CPU core this process may use, up to DEFAULT_WEB_WORKERS_MAX."""
    if settings.web_workers:
        return settings.web_workers
    return min(len(os.sched_getaffinity(0)), DEFAULT_WEB_WORKERS_MAX)


def gunicorn_options(settings: Settings, listen_fd: int) -> dict:
    return {
        # The runner bound the port: a gunicorn that restarts finds connections waiting in the
        # backlog instead of refused, and a port in use is reported before anything starts.
        "bind": [f"fd://{listen_fd}"],
        "workers": web_workers(settings),
        # Threads: a slow upload or CDN download holds one thread, not a whole worker.
        "worker_class": "gthread",
        "threads": WEB_THREADS,
        # gthread workers heartbeat from their main loop, so this only catches a wedged worker;
        # long uploads are not cut by it.
        "timeout": 120,
        "graceful_timeout": WEB_GRACEFUL_TIMEOUT,
        "keepalive": 5,
        "accesslog": "-",
        # The id the app answered in X-Request-ID, so an access line finds the app's log lines of the same request.
        "access_log_format": '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s',
        "proc_name": "mosaic-web",
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        # gunicorn >= 25.1 opens an admin socket at ~/.gunicorn/gunicorn.ctl, one path shared by
        # every gunicorn of a user on a host; nothing here uses it.
        "control_socket_disable": True,
        "post_fork": _web_worker_started,
        "child_exit": _web_worker_exited,
    }


def gunicorn_application(settings: Settings, options: dict):
    """gunicorn's arbiter serving `create_gateway`; each worker process builds its own app and Backends."""
    from gunicorn.app.base import BaseApplication

    class GatewayApplication(BaseApplication):
        def load_config(self):
            for name, value in options.items():
                if value is not None:
                    self.cfg.set(name, value)

        def load(self):
            from gateway.app import create_gateway

            return create_gateway(settings)

    return GatewayApplication()


def _web_worker_started(server, worker) -> None:
    # gunicorn's workers are forked by its arbiter, so the arbiter's own setting does not reach them.
    die_with_parent(worker.ppid)


def _web_worker_exited(server, worker) -> None:
    # Multiprocess metrics keep a dead worker's gauges until told it is gone.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _metrics_env(settings: Settings) -> dict[str, str]:
    """Every process of the run writes its metrics to one folder, so a scrape of any web worker sums them all."""
    from mosaic.metrics import MULTIPROCESS_ENV, clear_multiprocess_dir

    if os.environ.get(MULTIPROCESS_ENV):
        return {}
    folder = settings.data_dir / METRICS_DIR
    clear_multiprocess_dir(folder)
    return {MULTIPROCESS_ENV: str(folder)}


def _serve_werkzeug(settings: Settings, token_note: str, listen_fd: int | None) -> None:
    """Without gunicorn installed (no `serve` extra): Werkzeug's threaded server in one process."""
    from werkzeug.serving import make_server

    from gateway.app import create_gateway

    server = make_server(settings.host, settings.port, create_gateway(settings), threaded=True, fd=listen_fd)
    if listen_fd is None:
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


def lock_data_dir(data_dir: Path):
    """Hold `<data_dir>/mosaic.lock` for the life of this process, or refuse to start.

    flock belongs to the open file, so a holder that dies however it dies (kill -9 included)
    releases it; the pid in the file only names the holder in the message. The file is never
    removed: removing it would let a second run lock a new file while the first holds the old one.
    """
    path = data_dir / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115  (held until the run ends; "a+" does not truncate the holder's pid)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise SystemExit(
            f"Another Mosaic (pid {holder}) is running on {data_dir} (it holds {path}). Stop it first "
            f"(kill -TERM {holder}), or give this one its own folder with MOSAIC_DATA_DIR."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle  # a context manager: closing it releases the lock


def bind_listener(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror} (MOSAIC_HOST, MOSAIC_PORT)") from None
    listener.listen(2048)
    return listener


def wait_until_serving(host: str, port: int, timeout: float = READY_TIMEOUT) -> None:
    """Until the gateway answers its health check, so the printed URL works when it is printed."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/api/v1/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the gateway did not answer {url} within {timeout:.0f}s: see the log above")


# -- Milvus Lite --------------------------------------------------------------------------------


def start_milvus_lite(settings: Settings):
    from milvus_lite.server import Server

    from mosaic.net import wait_for_port

    class OrphanFreeServer(Server):
        """Milvus Lite's server, started so that it dies with this process (its own start cannot)."""

        def start(self) -> bool:
            self._lock_fd = open(self._lock_path, "a")  # noqa: SIM115  (released by Server.stop)
            try:
                fcntl.lockf(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH")}
            env["LD_LIBRARY_PATH"] = f"{self._bin_path}:{os.environ.get('LD_LIBRARY_PATH', '')}"
            self._p = subprocess.Popen(self.args, env=env, cwd=str(self._work_dir),
                                       preexec_fn=functools.partial(die_with_parent, os.getpid()))
            try:
                self._p.wait(0.5)  # as Milvus Lite's own start: one that exits at once failed
                return False
            except subprocess.TimeoutExpired:
                return True

    settings.vectors_file.parent.mkdir(parents=True, exist_ok=True)
    server = OrphanFreeServer(str(settings.vectors_file), address=f"127.0.0.1:{settings.vectors_port}")
    if not server.start():
        raise SystemExit(f"could not start Milvus Lite on {settings.vectors_file} "
                         f"(is port {settings.vectors_port} or the file in use? MOSAIC_VECTORS_PORT)")
    wait_for_port(settings.vectors_port, timeout=30, what="Milvus Lite", process=server._p)
    return server, f"http://127.0.0.1:{settings.vectors_port}"


def stop_milvus_lite(server) -> None:
    # Served on a TCP address, Milvus Lite does not watch its lock file, so Server.stop would wait
    # 2 s for nothing before killing it; it exits at once on SIGTERM.
    if server._p is not None and server._p.poll() is None:
        server._p.terminate()
    server.stop()


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


# -- children -----------------------------------------------------------------------------------

PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl():
    # Loaded in the parent before any fork: a child between fork and exec must not dlopen.
    return ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(parent_pid: int) -> None:
    """In a new child: have the kernel SIGKILL it when its parent dies (or has died already).

    SIGKILL rather than SIGTERM: with the parent gone nobody would escalate for a child that is
    stuck. What the child was doing is redelivered (messages are acknowledged after commit).
    The signal fires when the *thread* that forked the child ends, so the Supervisor forks from one
    thread that outlives its children.
    """
    prctl = _prctl()
    if prctl is None:
        return
    if prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0),
             ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Child:
    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen | None = None
    started: float = 0.0
    crashes: int = 0
    restart_at: float | None = None


class Supervisor:
    """Keeps child processes alive: one that dies is started again (its job is redelivered).

    One thread starts, watches, restarts and finally stops every child. Restarts and the stop
    never race: a child is started only in that thread, between two checks of the stop flag, and
    the same thread stops whatever it started once the flag is set.
    """

    def __init__(self, children: list[Child], env: dict, restart_delay: float = RESTART_DELAY,
                 max_delay: float = RESTART_DELAY_MAX, stable_after: float = STABLE_AFTER,
                 stop_timeout: float = STOP_TIMEOUT, poll_seconds: float = POLL_SECONDS):
        self.children, self.env = children, env
        self.poll_seconds = poll_seconds
        self.restart_delay, self.max_delay = restart_delay, max_delay
        self.stable_after, self.stop_timeout = stable_after, stop_timeout
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            for child in self.children:
                self._spawn(child, time.monotonic())
            self._started.set()
            while not self._stop.wait(self.poll_seconds):
                self._check(time.monotonic())
        finally:
            self._started.set()
            self._terminate()

    def _check(self, now: float) -> None:
        # Every dead child is noted and every due restart made in one pass: several children
        # dying at once (a database outage) come back together.
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                if now - child.started >= self.stable_after:
                    child.crashes = 0
                delay = min(self.max_delay, self.restart_delay * 2 ** child.crashes)
                child.crashes += 1
                log.warning("%s (pid %d) %s; restarting in %.0f s", child.name, child.process.pid,
                            _exit_reason(child.process.returncode), delay)
                child.process, child.restart_at = None, now + delay
        for child in self.children:
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                if self._stop.is_set():
                    return
                self._spawn(child, now)

    def _spawn(self, child: Child, now: float) -> None:
        try:
            # A session of its own: Ctrl-C in the terminal reaches only the runner, which stops
            # the children in order.
            child.process = subprocess.Popen(
                child.argv, env=self.env, pass_fds=child.pass_fds, start_new_session=True,
                preexec_fn=functools.partial(die_with_parent, os.getpid()),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            delay = min(self.max_delay, self.restart_delay * 2 ** child.crashes)
            child.crashes += 1
            log.error("cannot start %s: %s; trying again in %.0f s", child.name, exc, delay)
            child.restart_at = now + delay
            return
        child.started, child.restart_at = now, None

    def _terminate(self) -> None:
        live = [child.process for child in self.children if child.process is not None]
        for process in live:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for process in live:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop within %.0f s of SIGTERM; killing it", process.pid,
                            self.stop_timeout)
                process.kill()
                process.wait()


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with {returncode}"


_prctl()
