"""The production gateway's nginx (gateway/nginx.conf) in front of local processes, for the topology tier.

The config is the compose gateway's own file with only its container-specific lines rewritten
(textually, so the routes tested are the routes shipped): each `server <name>:8000;` upstream
points at a local port, `listen 80` at a free port on 127.0.0.1, the static `root` at a given
folder, and the logs, pid file and temp folders go into `workdir`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.servers import RunningServer, ServerMissing, free_port, stop_process, wait_for_port

NGINX = "/usr/sbin/nginx"
MISSING = "nginx is not installed: apt-get install nginx (make test does)"
CONFIG = Path(__file__).resolve().parents[2] / "gateway" / "nginx.conf"

UPSTREAM_SERVER = re.compile(r"\bserver (\w+):8000;")


def render(upstreams: dict[str, int], port: int, static_root: Path, workdir: Path, source: str | None = None) -> str:
    """gateway/nginx.conf for processes on 127.0.0.1; every rewritten line must be found exactly once."""
    text = CONFIG.read_text() if source is None else source
    named = UPSTREAM_SERVER.findall(text)
    if sorted(named) != sorted(upstreams):
        raise AssertionError(f"gateway/nginx.conf has upstreams {sorted(named)}, the test starts {sorted(upstreams)}")
    text = UPSTREAM_SERVER.sub(lambda m: f"server 127.0.0.1:{upstreams[m.group(1)]};", text)

    def replace(old: str, new: str) -> None:
        nonlocal text
        if text.count(old) != 1:
            raise AssertionError(f"gateway/nginx.conf: expected {old!r} exactly once, found it {text.count(old)} times")
        text = text.replace(old, new)

    replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    replace("root /usr/share/nginx/html;", f"root {static_root};")
    replace("worker_processes auto;", "worker_processes 2;")  # not one per core of a CI machine
    replace("error_log /dev/stderr warn;", f"error_log {workdir / 'error.log'} warn;\npid {workdir / 'nginx.pid'};")
    # Debian's temp folders are under /var/lib/nginx (root's); nginx makes these itself.
    replace("access_log /dev/stdout;", "\n    ".join([f"access_log {workdir / 'access.log'};"] + [
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]))
    if os.geteuid() == 0:
        # As root, nginx's workers would run as `nobody`, who cannot enter pytest's private temp dirs.
        text = "user root;\n" + text
    return text


def start(workdir: Path, upstreams: dict[str, int], static_root: Path) -> RunningServer:
    if not os.access(NGINX, os.X_OK):
        raise ServerMissing(MISSING)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "nginx.conf"
    config.write_text(render(upstreams, port, Path(static_root), workdir))
    log_path = workdir / "nginx.log"
    log = open(log_path, "wb")
    # -e: the log for the start itself, before the config's error_log applies (Debian's default is
    # /var/log/nginx/error.log); -p: the prefix for any relative path.
    process = subprocess.Popen(
        [NGINX, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(config), "-g", "daemon off;"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )

    def stop() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then exit
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        stop_process(process)
        log.close()

    try:
        wait_for_port(port, timeout=15, process=process, what="nginx")
    except BaseException as exc:
        stop()
        errors = "".join(path.read_text(errors="replace")[-2000:] for path in (log_path, workdir / "error.log")
                         if path.exists())
        raise RuntimeError(f"{exc}\n--- nginx output ---\n{errors}") from None
    return RunningServer("nginx", f"http://127.0.0.1:{port}", stop,
                         {"port": port, "config": config, "workdir": workdir, "pid": process.pid})
