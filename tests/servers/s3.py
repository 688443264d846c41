"""An S3 server for the MinIO client: moto in server mode (pure Python, installed with `.[dev]`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.servers import RunningServer, ServerMissing, free_port, stop_process, wait_for_port

ACCESS_KEY = "mosaic-test"
SECRET_KEY = "mosaic-test-secret"


def start(workdir: Path) -> RunningServer:
    # find_spec instead of import: moto's server pulls in flask and every service, slow to import.
    for module in ("moto", "flask", "flask_cors"):
        if importlib.util.find_spec(module) is None:
            raise ServerMissing(
                f"the S3 test server needs moto's server mode ({module} is missing): "
                f"{sys.executable} -m pip install 'moto[server]>=5.0,<6'  (or pip install -e '.[dev]')"
            )
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "moto.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
    )

    def stop() -> None:
        stop_process(process)
        log.close()

    try:
        wait_for_port(port, timeout=60, process=process, what="moto S3 server")
    except RuntimeError as exc:
        stop()
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{exc}\n--- {log_path} ---\n{tail}") from None
    return RunningServer(
        name="s3",
        url=f"http://127.0.0.1:{port}",
        stop=stop,
        extra={"endpoint": f"127.0.0.1:{port}", "access_key": ACCESS_KEY, "secret_key": SECRET_KEY},
    )
