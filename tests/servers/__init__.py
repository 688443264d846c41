"""Real servers for the integration tier, started on 127.0.0.1 by the test session and stopped after.

Each module here has `start(workdir: Path) -> RunningServer`. A missing binary raises
`ServerMissing` with what to install: tests fail with that message, they never skip.
"""

from __future__ import annotations

import random
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mosaic import net


class ServerMissing(RuntimeError):
    """A server binary is not installed; the message says how to get it (`make test` does)."""


@dataclass
class RunningServer:
    name: str
    url: str
    stop: Callable[[], None] = field(repr=False)
    extra: dict = field(default_factory=dict)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range.

    A port the kernel hands out (bind to 0) can later be given to any outgoing connection as its
    local port, so a server restarted on it by the fault tier could find it taken.
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        if port in _HANDED_OUT:  # picked earlier in this session, perhaps not bound yet
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


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
