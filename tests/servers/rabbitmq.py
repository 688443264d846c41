"""A throwaway RabbitMQ node for the integration tier: free ports on 127.0.0.1, all state in `workdir`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.servers import RunningServer, ServerMissing, free_port, stop_process, wait_for_port

# Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user, who cannot write in our workdir;
# the script behind it runs the node in the foreground as whoever calls it.
SERVER_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"
MISSING = "RabbitMQ is not installed: apt-get install rabbitmq-server (make test does this)"

# Erlang-term config rather than rabbitmq.conf: it skips the cuttlefish schema pass.
# A tiny disk limit so a nearly full CI disk does not block publishers.
CONFIG = """\
[{rabbit, [
  {loopback_users, [<<"guest">>]},
  {disk_free_limit, 1000000},
  {log, [{console, [{enabled, false}]}, {file, [{level, warning}]}]}
]}].
"""


def start(workdir: Path) -> RunningServer:
    script = _server_script()
    workdir.mkdir(parents=True, exist_ok=True)
    port, epmd_port = free_port(), free_port()
    env = _environment(workdir, script, port, epmd_port)
    # Our own foreground epmd on its own port: we hold its PID, so stopping it cannot touch another.
    epmd = subprocess.Popen(
        ["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = open(workdir / "server.out", "wb")
    node = _Node(script, env, workdir, port, log)
    try:
        wait_for_port(epmd_port, 10, epmd, "epmd")
        node.launch()
    except BaseException:
        _stop(node, epmd, log)
        raise

    return RunningServer(
        name="rabbitmq",
        url=f"amqp://guest:guest@127.0.0.1:{port}/%2F",
        stop=lambda: _stop(node, epmd, log),
        extra={"port": port, "node": env["RABBITMQ_NODENAME"], "workdir": str(workdir), "rabbit": node},
    )


class _Node:
    """The broker process, which the fault tier stops and starts again (same node, port and queues)."""

    LAUNCH_ATTEMPTS = 3

    def __init__(self, script: str, env: dict[str, str], workdir: Path, port: int, log):
        self.script, self.env, self.workdir, self.port, self.log = script, env, workdir, port, log
        self.process: subprocess.Popen | None = None

    def launch(self, timeout: float = 60) -> None:
        """Start the node; a boot that dies early is retried, and the last failure shows the broker's log."""
        if self.process is not None and self.process.poll() is None:
            return
        for attempt in range(1, self.LAUNCH_ATTEMPTS + 1):
            # A fresh distribution port per boot: the one picked for an earlier boot may since have been
            # taken as some client's ephemeral port, and the node then exits at once (the script says 0).
            env = {**self.env, "RABBITMQ_DIST_PORT": str(free_port())}
            # Its own process group, so a halt can reach the Erlang VM behind the wrapper script.
            self.process = subprocess.Popen([self.script], env=env, cwd=self.workdir, stdout=self.log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_for_port(self.port, timeout, self.process, f"RabbitMQ (logs in {self.workdir})")
                return
            except RuntimeError as exc:
                self.halt()
                if attempt == self.LAUNCH_ATTEMPTS:
                    raise RuntimeError(f"{exc}; after {attempt} boots. Its log ends:\n{self._log_tail()}") from None
                time.sleep(1)

    def halt(self) -> None:
        """Stop the node cleanly (the script turns SIGTERM into a broker shutdown), and make sure it is gone."""
        if self.process is None:
            return
        stop_process(self.process, timeout=60)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # a VM the script left behind would hold the node name
        except ProcessLookupError:
            pass
        self.process = None
        deadline = time.monotonic() + 30
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)

    def _log_tail(self, lines: int = 40) -> str:
        texts = []
        for path in [self.workdir / "server.out", *sorted((self.workdir / "log").glob("*.log"))]:
            if path.is_file():
                texts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts) or "(no log written)"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_server(server: RunningServer) -> None:
    """Stop the broker, keeping its durable queues and messages (the fault tier's outage)."""
    server.extra["rabbit"].halt()


def start_server(server: RunningServer) -> None:
    """Start the same node again; returns once it accepts AMQP connections."""
    server.extra["rabbit"].launch()


def _server_script() -> str:
    if not os.access(SERVER_SCRIPT, os.X_OK) or shutil.which("epmd") is None:
        raise ServerMissing(MISSING)
    return SERVER_SCRIPT


def _environment(workdir: Path, script: str, port: int, epmd_port: int) -> dict[str, str]:
    (workdir / "rabbitmq.config").write_text(CONFIG)
    (workdir / "enabled_plugins").write_text("[].\n")
    (workdir / "rabbitmq-env.conf").write_text("")  # keeps /etc/rabbitmq/rabbitmq-env.conf out
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update(
        HOME=str(workdir),  # the Erlang cookie lands here, not in the caller's home
        RABBITMQ_SCRIPTS_DIR=str(_slim_home(workdir, script) / "sbin"),
        RABBITMQ_NODENAME=f"mosaic-test-{uuid.uuid4().hex[:8]}@localhost",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(port),
        ERL_EPMD_PORT=str(epmd_port),
        ERL_EPMD_ADDRESS="127.0.0.1",
        RABBITMQ_CONF_ENV_FILE=str(workdir / "rabbitmq-env.conf"),
        RABBITMQ_CONFIG_FILE=str(workdir / "rabbitmq.config"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(workdir / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(workdir / "enabled_plugins"),
        RABBITMQ_MNESIA_BASE=str(workdir / "mnesia"),
        RABBITMQ_LOG_BASE=str(workdir / "log"),
        RABBITMQ_PID_FILE=str(workdir / "rabbitmq.pid"),
        RABBITMQ_PLUGINS_EXPAND_DIR=str(workdir / "plugins-expand"),
        RABBITMQ_FEATURE_FLAGS_FILE=str(workdir / "feature_flags"),
        RABBITMQ_QUORUM_DIR=str(workdir / "quorum"),
        RABBITMQ_STREAM_DIR=str(workdir / "stream"),
    )
    return env


def _slim_home(workdir: Path, script: str) -> Path:
    """A RABBITMQ_HOME whose plugins dir holds only what the `rabbit` app needs.

    The node puts every app of the plugins dir on its code path, and each module load searches
    that path: with the ~70 bundled apps boot takes twice as long (about 8s against 4s here).
    The scripts find RABBITMQ_HOME as RABBITMQ_SCRIPTS_DIR/.. without resolving symlinks.
    """
    real_home = Path(os.path.realpath(script)).parent.parent
    apps = {_app_name(d): d for d in (real_home / "plugins").iterdir() if (d / "ebin").is_dir()}
    home = workdir / "home"
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    if not (home / "sbin").exists():
        (home / "sbin").symlink_to(real_home / "sbin")
    for name in _dependencies("rabbit", apps):
        link = home / "plugins" / apps[name].name
        if not link.exists():
            link.symlink_to(apps[name])
    return home


def _app_name(app_dir: Path) -> str:
    return re.sub(r"-[0-9][^-]*$", "", app_dir.name)


def _dependencies(root: str, apps: dict[str, Path]) -> set[str]:
    """`root` and the bundled apps it needs, transitively, from the .app files (OTP apps are not bundled)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or name not in apps:
            continue
        seen.add(name)
        spec = (apps[name] / "ebin" / f"{name}.app").read_text()
        for key in ("applications", "included_applications"):
            match = re.search(r"\{" + key + r",\s*\[([^\]]*)\]", spec)
            if match:
                todo += [a.strip() for a in match.group(1).split(",") if a.strip()]
    return seen


def _stop(node: _Node, epmd: subprocess.Popen, log) -> None:
    try:
        node.halt()
    finally:
        stop_process(epmd)
        log.close()
