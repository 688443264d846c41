"""Small network helpers for starting local servers."""

from __future__ import annotations

import socket
import subprocess
import time


def wait_for_port(
    port: int, timeout: float, host: str = "127.0.0.1", what: str = "server", process: subprocess.Popen | None = None
) -> None:
    """Wait until something accepts connections on host:port; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s")
