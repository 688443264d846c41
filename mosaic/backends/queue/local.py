"""The embedded work queue: one SQLite file that several worker processes on one host share.

A consumer claims a message with a lease (owner token + expiry) instead of removing it, so a
consumer that dies before acking leaves the message behind: it becomes available again when the
lease expires, or at once when the owner is a process of this host that no longer exists.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mosaic.backends.queue import DeadLetter, Delivery

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until REAL,
    dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, dead, id);
"""

POLL_SECONDS = 0.05


class LocalQueue:
    def __init__(self, path: str | Path, max_attempts: int = 3, lease_seconds: float = 300.0):
        self.path = Path(path)
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        self._lock = threading.RLock()  # one connection per instance, shared by its threads
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._owner = ""

    # -- connection ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        # A child forked after first use must not share the parent's connection or owner token.
        if self._conn is None or self._pid != os.getpid():
            self._connect()
        return self._conn

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.executescript(SCHEMA)
        self._conn, self._pid = conn, os.getpid()
        # The start time tells a reused PID (a restarted container's worker) from the old owner;
        # the uuid tells apart two instances in one process: closing one gives back only its leases.
        pid = os.getpid()
        self._owner = f"{socket.gethostname()}:{pid}:{_process_start(pid)}:{uuid.uuid4().hex[:12]}"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: two processes cannot both read a message as free.
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _write(self, sql: str, params: tuple = ()) -> int:
        with self._lock:
            return self._db().execute(sql, params).rowcount

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db().execute(sql, params).fetchall()

    # -- Queue interface ----------------------------------------------------------------------

    def publish(self, queue: str, body: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO messages (queue, body, created_at) VALUES (?, ?, ?)",
            (queue, json.dumps(body), time.time()),
        )

    def get(self, queue: str, timeout: float = 1.0) -> Delivery | None:
        deadline = time.monotonic() + timeout
        while True:
            delivery = self._claim(queue)
            if delivery is not None or time.monotonic() >= deadline:
                return delivery
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def ack(self, delivery: Delivery) -> None:
        if not self._write("DELETE FROM messages WHERE id = ? AND owner = ?", (delivery.tag, self._owner)):
            log.warning("ack of message %s on %r after its lease was lost: it may run again",
                        delivery.tag, delivery.queue)

    def nack(self, delivery: Delivery, error: str) -> None:
        changed = self._write(
            "UPDATE messages SET owner = NULL, lease_until = NULL, last_error = ?,"
            " dead = (attempts >= ?) WHERE id = ? AND owner = ?",
            (error, self.max_attempts, delivery.tag, self._owner),
        )
        if not changed:
            log.warning("nack of message %s on %r after its lease was lost", delivery.tag, delivery.queue)

    def depth(self, queue: str) -> int:
        return self._read("SELECT COUNT(*) FROM messages WHERE queue = ? AND dead = 0", (queue,))[0][0]

    def dead_count(self, queue: str) -> int:
        return self._read("SELECT COUNT(*) FROM messages WHERE queue = ? AND dead = 1", (queue,))[0][0]

    def dead_letters(self, queue: str, limit: int = 50) -> list[DeadLetter]:
        rows = self._read(
            "SELECT body, last_error, attempts FROM messages WHERE queue = ? AND dead = 1"
            " ORDER BY id LIMIT ?",
            (queue, limit),
        )
        return [DeadLetter(queue, json.loads(body), error or "", attempts) for body, error, attempts in rows]

    def retry_dead(self, queue: str) -> int:
        # Re-inserted rather than flagged alive: they join the back of the queue, as with RabbitMQ.
        with self._transaction() as db:
            db.execute(
                "INSERT INTO messages (queue, body, created_at) SELECT queue, body, ? FROM messages"
                " WHERE queue = ? AND dead = 1 ORDER BY id",
                (time.time(), queue),
            )
            return db.execute("DELETE FROM messages WHERE queue = ? AND dead = 1", (queue,)).rowcount

    def take_dead(self, queue: str) -> list[DeadLetter]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, body, last_error, attempts FROM messages WHERE queue = ? AND dead = 1 ORDER BY id",
                (queue,),
            ).fetchall()
            db.executemany("DELETE FROM messages WHERE id = ?", [(row[0],) for row in rows])
        return [DeadLetter(queue, json.loads(body), error or "", attempts) for _, body, error, attempts in rows]

    def check(self) -> None:
        self._read("SELECT 1")

    def close(self) -> None:
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                self._conn = None
                return
            # Like a closed AMQP channel: what we hold but did not ack goes back to the queue now.
            self._conn.execute(
                "UPDATE messages SET owner = NULL, lease_until = NULL WHERE owner = ?", (self._owner,)
            )
            self._conn.close()
            self._conn = None

    # -- claiming -----------------------------------------------------------------------------

    def _claim(self, queue: str) -> Delivery | None:
        # Idle workers poll: an empty queue must not take the write lock every time.
        if not self._read("SELECT 1 FROM messages WHERE queue = ? AND dead = 0 LIMIT 1", (queue,)):
            return None
        with self._transaction() as db:
            return self._claim_in_transaction(db, queue)

    def _claim_in_transaction(self, db: sqlite3.Connection, queue: str) -> Delivery | None:
        now = time.time()
        self._release_dead_owners(db, queue)
        while True:
            row = db.execute(
                "SELECT id, body, attempts, last_error FROM messages WHERE queue = ? AND dead = 0"
                " AND (owner IS NULL OR lease_until < ?) ORDER BY id LIMIT 1",
                (queue, now),
            ).fetchone()
            if row is None:
                return None
            msg_id, body, attempts, last_error = row
            # attempts == max_attempts: the last attempt was claimed and never acked nor nacked (its
            # worker died). It is handed out once more, past the limit, so that the consumer records
            # why on the image and dead-letters it; a consumer that dies on that too loses it here:
            # a poison message that kills its workers must not keep killing them.
            if attempts <= self.max_attempts:
                break
            error = _died_error(attempts, last_error)
            db.execute(
                "UPDATE messages SET dead = 1, owner = NULL, lease_until = NULL, last_error = ? WHERE id = ?",
                (error, msg_id),
            )
        db.execute(
            "UPDATE messages SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
            (self._owner, now + self.lease_seconds, msg_id),
        )
        return Delivery(queue=queue, body=json.loads(body), attempt=attempts + 1, tag=msg_id)

    def _release_dead_owners(self, db: sqlite3.Connection, queue: str) -> None:
        owners = db.execute(
            "SELECT DISTINCT owner FROM messages WHERE queue = ? AND dead = 0 AND owner IS NOT NULL", (queue,)
        ).fetchall()
        for (owner,) in owners:
            if _owner_is_dead(owner):
                db.execute(
                    "UPDATE messages SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,)
                )


def _died_error(attempts: int, last_error: str | None) -> str:
    if last_error is None:
        return f"worker died {attempts} times (crashed or lease expired)"
    return f"worker died on attempt {attempts} (crashed or lease expired); earlier error: {last_error}"


def _owner_is_dead(owner: str) -> bool:
    """True only when the owner is a process of this host that is gone (other hosts wait for the lease)."""
    host, pid_text, started, _ = owner.rsplit(":", 3)
    pid = int(pid_text)
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by another user
    stat = _proc_stat(pid)
    if stat is None:  # no /proc: trust kill(pid, 0)
        return False
    # A killed child its parent has not reaped yet still answers kill(pid, 0).
    return stat[0] == "Z" or stat[19] != started


def _process_start(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[19] if stat else "?"


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [0] is the state, [19] the start time."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()
