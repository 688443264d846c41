"""Real servers for the integration tier, started on 127.0.0.1 by the test session and stopped after.

Each module here has `start(workdir: Path) -> RunningServer`. A missing binary raises
`ServerMissing` with what to install: tests fail with that message, they never skip.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from mosaic import net


class ServerMissing(RuntimeError):
    """A server binary is not installed; the message says how to get it (`make test` does)."""


@dataclass
class RunningServer:
    name: str
    url: str
    stop: Callable[[], None] = field(repr=False)
    extra: dict = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None, what: str = "") -> None:
    net.wait_for_port(port, timeout, what=what or "server", process=process)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
