"""Milvus Lite served over TCP: the same gRPC protocol as a Milvus standalone server, without Docker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.servers import RunningServer, ServerMissing, free_port, wait_for_port

INSTALL_HINT = "Milvus Lite is not installed: pip install -e '.[dev]' (make test does this)"


def start(workdir: Path) -> RunningServer:
    try:
        from milvus_lite.server import Server
    except ImportError as exc:
        raise ServerMissing(f"{INSTALL_HINT} ({exc})") from None

    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    began = time.monotonic()
    # The db file name must match ^[a-zA-Z0-9.\-_]+$ and be under 36 characters.
    server = Server(str(workdir / "vectors.db"), address=f"127.0.0.1:{port}")
    # The binary logs through glog, which otherwise litters /tmp; Server copies os.environ at start.
    saved = os.environ.get("GLOG_log_dir")
    os.environ["GLOG_log_dir"] = str(workdir)
    try:
        started = server.start()
    finally:
        if saved is None:
            del os.environ["GLOG_log_dir"]
        else:
            os.environ["GLOG_log_dir"] = saved
    if not started:
        server.stop()
        raise RuntimeError(f"milvus-lite failed to start in {workdir}")

    def stop() -> None:
        # With a TCP address the binary does not watch the lock file Server.stop() releases, so
        # Server.stop() would wait 2s and SIGKILL it; SIGTERM first lets it exit cleanly.
        if server._p is not None and server._p.poll() is None:
            server._p.send_signal(signal.SIGTERM)
        server.stop()

    try:
        wait_for_port(port, 60, server._p, "milvus-lite")
    except BaseException:
        stop()
        raise
    url = f"http://127.0.0.1:{port}"
    extra = {"port": port, "start_seconds": round(time.monotonic() - began, 2)}
    return RunningServer("milvus", url, stop, extra)
