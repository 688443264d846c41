"""Start the real platform (`mosaic run`) as a user would, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.servers import free_port


@contextmanager
def running_platform(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 90):
    """Yield the base URL of a `mosaic run` with its own data dir; stop it with Ctrl-C after."""
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")},
        "MOSAIC_DATA_DIR": str(data_dir),
        "MOSAIC_PORT": str(port),
        "MOSAIC_VECTORS_PORT": str(free_port()),
        "MOSAIC_INGEST_SAMPLES": "false",
        "MOSAIC_DISPATCH_INTERVAL": "0.2",
        # Empty = no auth: the end-to-end tests post without a token (auth has its own tests).
        "MOSAIC_API_TOKEN": "",
        **(env or {}),
    }
    log_path = data_dir / "platform.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        # SIGINT as a terminal gives it, even when this test run was started with SIGINT ignored (`nohup`, `&`
        # from a script), which every child would inherit: this is Ctrl-C, which `mosaic run` must answer.
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run"], env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, process, timeout, log_path)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"mosaic run did not stop on Ctrl-C; log: {log_path}") from None


def _wait_healthy(base: str, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mosaic run exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/gather/api/v1/health", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # the port accepts before the web server serves
            pass
        time.sleep(0.2)
    raise AssertionError(f"mosaic run not healthy within {timeout}s:\n{log_path.read_text()[-3000:]}")


def wait_for_states(base: str, ids: list[str], states: set[str], timeout: float = 120) -> dict[str, dict]:
    """Poll /harvest/images/<id> until every image reaches one of `states`."""
    deadline = time.monotonic() + timeout
    records: dict[str, dict] = {}
    while time.monotonic() < deadline:
        records = {i: requests.get(f"{base}/harvest/images/{i}", timeout=5).json() for i in ids}
        if all(r.get("state") in states for r in records.values()):
            return records
        time.sleep(0.3)
    raise AssertionError(f"images not {states} within {timeout}s: { {i: r.get('state') for i, r in records.items()} }")


def upload_indexed(base: str, files: list[tuple[str, bytes]], headers: dict[str, str] | None = None) -> dict[str, str]:
    """Upload `files` ((name, bytes)) in one request and wait until every one is indexed; {name: image id}."""
    answer = requests.post(f"{base}/gather/uploads", headers=headers or {}, timeout=60,
                           files=[("files", (name, data)) for name, data in files])
    assert answer.status_code == 201, answer.text
    ids = {item["name"]: item["id"] for item in answer.json()["files"]}
    wait_for_states(base, list(ids.values()), {"indexed"})
    return ids
