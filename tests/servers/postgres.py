"""A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off) with a `mosaic_test` database."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from glob import glob
from pathlib import Path

from tests.servers import RunningServer, ServerMissing, free_port, stop_process, wait_for_port

INSTALL_HINT = "PostgreSQL server is not installed: apt-get install postgresql (make test does this)"
DATABASE = "mosaic_test"


def _bin_dir() -> Path:
    """Debian keeps the server binaries out of PATH, in /usr/lib/postgresql/<major>/bin: take the newest."""
    candidates = [Path(d) for d in glob("/usr/lib/postgresql/*/bin") if (Path(d) / "initdb").exists()]
    if candidates:
        return max(candidates, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)] or [0])
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres") and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise ServerMissing(INSTALL_HINT)


def _as_server_user() -> tuple[list[str], Path | None]:
    """Command prefix that runs as the cluster's owner, and a parent dir that user can reach.

    initdb and postgres refuse to run as root, so as root they run as the `postgres` system user
    (Debian's postgresql package creates it). pytest's tmp dirs are 0700 root, so the cluster
    then lives in its own dir under /tmp owned by that user.
    """
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerMissing(f"no `postgres` system user to run the server as root. {INSTALL_HINT}") from None
    # setpriv execs in place (no fork, unlike runuser), so our Popen is the postgres process itself.
    prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]
    base = Path(tempfile.mkdtemp(prefix="mosaic-pg-"))
    (base / "sockets").mkdir()
    for path in (base, base / "sockets"):
        os.chown(path, user.pw_uid, user.pw_gid)
    return prefix, base


def start(workdir: Path) -> RunningServer:
    bindir = _bin_dir()
    workdir.mkdir(parents=True, exist_ok=True)
    prefix, own_dir = _as_server_user()
    base = own_dir or workdir
    data, sockets = base / "data", base / "sockets"
    began = time.monotonic()
    try:
        subprocess.run(
            prefix + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"],
            cwd=base, check=True, capture_output=True, text=True,
        )
    except subprocess.CalledProcessError as exc:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {exc.stderr or exc.stdout}") from exc
    # Only TCP on 127.0.0.1 and the private socket dir are reachable; both trusted.
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    sockets.mkdir(exist_ok=True)

    port = free_port()
    log = open(workdir / "postgres.log", "ab")  # opened by us, so it may sit in a root-only dir
    cluster = _Cluster(bindir, prefix, base, data, sockets, port, log)

    def stop() -> None:
        cluster.halt()
        log.close()
        if own_dir:  # our own dir under /tmp; a pytest workdir is pytest's to clean
            shutil.rmtree(own_dir, ignore_errors=True)

    try:
        cluster.launch()
        _create_database(port)
    except BaseException:
        stop()
        raise
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    extra = {
        "port": port,
        "data_dir": str(data),
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2.
        "sqlalchemy_url": url.replace("postgresql://", "postgresql+psycopg2://", 1),
        "start_seconds": round(time.monotonic() - began, 2),
        "cluster": cluster,
    }
    return RunningServer("postgres", url, stop, extra)


class _Cluster:
    """The server process of one cluster, which the fault tier stops and starts again (same port, same data)."""

    def __init__(self, bindir: Path, prefix: list[str], base: Path, data: Path, sockets: Path, port: int, log):
        self.bindir, self.prefix, self.base, self.data, self.sockets = bindir, prefix, base, data, sockets
        self.port, self.log = port, log
        self.process: subprocess.Popen | None = None

    def launch(self, timeout: float = 30) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            self.prefix + [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                           "-k", str(self.sockets), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                           "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                           "-c", "max_connections=200"],
            cwd=self.base, stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout, self.process, "postgres")

    def halt(self) -> None:
        """Fast shutdown: every session is terminated, as when a database server restarts."""
        if self.process is None:
            return
        if self.process.poll() is None:
            subprocess.run(self.prefix + [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast",
                                          "-w"], cwd=self.base, capture_output=True)
        stop_process(self.process)
        self.process = None


def stop_server(server: RunningServer) -> None:
    """Stop a running server's process, keeping its data (the fault tier's outage)."""
    server.extra["cluster"].halt()


def start_server(server: RunningServer) -> None:
    """Start it again on the same port and data, once it accepts logins."""
    server.extra["cluster"].launch()
    _wait_accepting(server.extra["port"]).close()


def _wait_accepting(port: int):
    """A connection, once the server accepts logins: the port opens before ("the database system is starting up")."""
    import psycopg2

    deadline = time.monotonic() + 20
    while True:
        try:
            return psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _create_database(port: int) -> None:
    conn = _wait_accepting(port)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        conn.close()


def create_database(server: RunningServer) -> str:
    """A fresh, empty database on a running server; its URL."""
    import sqlalchemy

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server.extra["sqlalchemy_url"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + f"/{name}"
