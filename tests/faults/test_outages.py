"""Restart RabbitMQ, then PostgreSQL, during an ingest into a real `mosaic run` (issue 12 #14, #15, #16).

Photos are uploaded all along. What must hold: no process of the run exits (the same PIDs before and
after: workers wait for a backend in place and keep their models), `/harvest/status` answers 200 all
through each outage with what it can still read, every photo an upload accepted ends indexed, and
none is left waiting (stored, queued, harvested). The time from each server's return until photos
are indexed again (a photo uploaded the moment it is back, until indexed) is printed.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import requests
from PIL import Image, ImageDraw

from tests.platform import running_platform, wait_for_states
from tests.servers import postgres, rabbitmq

pytestmark = pytest.mark.servers

SOURCES = ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "scream.jpg")
WORKER_VERBS = ("dispatcher", "processor", "import-worker", "harvest-worker", "purger")
OUTAGE_SECONDS = 6.0
WAITING = ("stored", "queued", "harvested")


def _variants(photos_dir: Path):
    """Endless distinct JPEGs made from the darknet photos (small, so the ingest keeps pace)."""
    bases = []
    for name in SOURCES:
        with Image.open(photos_dir / "darknet" / name) as image:
            image = image.convert("RGB")
            image.thumbnail((480, 480))
            bases.append(image)
    n = 0
    while True:
        image = bases[n % len(bases)].copy()
        # A mark unique to n, so each file has its own sha256 (otherwise a duplicate, not a new photo).
        ImageDraw.Draw(image).rectangle((4, 4, 4 + n % 40, 8 + n // 40), fill=(n * 37 % 256, n * 91 % 256, 200))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        yield f"v{n}.jpg", out.getvalue()
        n += 1


class Uploader(threading.Thread):
    """Uploads one photo every `every` seconds; keeps the ids the platform accepted and what it refused."""

    def __init__(self, base: str, photos, every: float = 0.4):
        super().__init__(name="uploader", daemon=True)
        self.base, self.photos, self.every = base, photos, every
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            name, data = next(self.photos)
            try:
                response = requests.post(f"{self.base}/gather/uploads", files=[("files", (name, data))], timeout=30)
            except requests.RequestException as exc:
                self.refused.append(f"{name}: {type(exc).__name__}")
                continue
            if response.status_code in (200, 201):
                [file] = response.json()["files"]
                assert file["status"] == "stored", file
                self.accepted.append(file["id"])
            else:
                self.refused.append(f"{name}: HTTP {response.status_code}")

    def burst(self, count: int) -> None:
        """One upload of `count` photos: the workers are busy with them when the server goes."""
        files = [("files", next(self.photos)) for _ in range(count)]
        response = requests.post(f"{self.base}/gather/uploads", files=files, timeout=60)
        assert response.status_code == 201, response.text
        self.accepted += [file["id"] for file in response.json()["files"]]


def _run_processes(data_dir: Path) -> dict[int, str]:
    """pid -> command line of every process of this run (they carry its MOSAIC_DATA_DIR)."""
    found = {}
    for process in psutil.process_iter():
        try:
            if process.environ().get("MOSAIC_DATA_DIR") == str(data_dir) and process.status() != psutil.STATUS_ZOMBIE:
                found[process.pid] = " ".join(process.cmdline())[:160]
        except psutil.Error:
            continue
    return found


def _status(base: str) -> tuple[int, dict]:
    response = requests.get(f"{base}/harvest/status", timeout=15)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"body": response.text[:300]}


def _indexed(base: str) -> int:
    code, status = _status(base)
    return (status.get("counts") or {}).get("indexed", 0) if code == 200 else 0


def _outage(base: str, stop: Callable[[], None], start: Callable[[], None], check: Callable[[dict], bool],
            probe: tuple[str, bytes]) -> dict:
    """Stop a server, poll the status page through the outage, start it again; the figures measured.

    Recovery is timed end to end: a photo uploaded the moment the server is back, until it is indexed."""
    stop()
    down_at = time.monotonic()
    answers = []
    try:
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            answers.append(_status(base))
            time.sleep(0.5)
    finally:  # the server is shared by the session: it comes back even when this test fails
        started = time.monotonic()
        start()
        up = time.monotonic()
    name, data = probe
    response = requests.post(f"{base}/gather/uploads", files=[("files", (name, data))], timeout=30)
    assert response.status_code == 201, response.text
    probe_id = response.json()["files"][0]["id"]
    wait_for_states(base, [probe_id], {"indexed"}, timeout=60)
    return {"answers": answers, "down_seconds": round(up - down_at, 1), "boot_seconds": round(up - started, 1),
            "recovered_after": round(time.monotonic() - up, 1), "probe": probe_id,
            "shown": sum(1 for code, status in answers if code == 200 and check(status))}


def test_restart_rabbitmq_then_postgresql_during_an_ingest(tmp_path, server_env, rabbitmq_server, postgres_server,
                                                           photos_dir):
    data_dir = tmp_path / "data"
    # A lease shorter than the test: a photo that lost its message would be queued again in time.
    env = {**server_env, "MOSAIC_WORKERS": "2", "MOSAIC_REQUEUE_AFTER_SECONDS": "15"}
    with running_platform(data_dir, env, timeout=120) as base:
        deadline = time.monotonic() + 60
        while not all(any(verb in cmd for cmd in _run_processes(data_dir).values()) for verb in WORKER_VERBS):
            assert time.monotonic() < deadline, _run_processes(data_dir)
            time.sleep(0.2)
        time.sleep(3)  # the workers load their models and register
        before = _run_processes(data_dir)

        photos = _variants(photos_dir)
        probes = [next(photos) for _ in range(2)]
        uploader = Uploader(base, photos)
        uploader.start()
        try:
            time.sleep(4)
            uploader.burst(6)
            broker = _outage(base, lambda: rabbitmq.stop_server(rabbitmq_server),
                             lambda: rabbitmq.start_server(rabbitmq_server),
                             lambda s: "queue" in s["unavailable"] and s["total"], probes[0])
            time.sleep(4)
            uploader.burst(6)
            database = _outage(base, lambda: postgres.stop_server(postgres_server),
                               lambda: postgres.start_server(postgres_server),
                               lambda s: "catalog" in s["unavailable"] and s["queues"]["harvest"]["depth"] is not None,
                               probes[1])
            time.sleep(3)
        finally:
            uploader.stop.set()
            uploader.join(60)

        accepted = uploader.accepted + [broker["probe"], database["probe"]]
        assert len(accepted) >= 20, (accepted, uploader.refused)
        started = time.monotonic()
        records = wait_for_states(base, accepted, {"indexed", "failed"}, timeout=120)
        drained = time.monotonic() - started
        failed = {i: r.get("error") for i, r in records.items() if r["state"] != "indexed"}
        assert not failed, failed  # nothing accepted is lost, and an outage is never a photo's failure
        code, status = _status(base)
        assert code == 200 and status["unavailable"] == {}, status
        assert not {state: status["counts"].get(state) for state in WAITING if status["counts"].get(state)}, status
        after = _run_processes(data_dir)
        log = (data_dir / "platform.log").read_text(errors="replace")

    for name, figures in (("RabbitMQ", broker), ("PostgreSQL", database)):
        codes = sorted({code for code, _ in figures["answers"]})
        assert codes == [200], (name, [s for c, s in figures["answers"] if c != 200][:2])
        assert figures["shown"] >= 1, (name, figures["answers"][-1])
    assert after == before, (f"processes changed:\nbefore {before}\nafter {after}\n"
                             f"log tail:\n{log[-3000:]}")
    assert "Traceback" not in log or "exited" not in log, log[-3000:]
    requeued = log.count("queued again")
    print(f"\n{len(accepted)} photos accepted, {len(uploader.refused)} uploads refused during the outages "
          f"({', '.join(sorted(set(r.split(': ')[1] for r in uploader.refused))) or 'none'}); "
          f"all indexed {drained:.1f} s after the last upload; reconciler re-queued {requeued} time(s)")
    for name, figures in (("RabbitMQ", broker), ("PostgreSQL", database)):
        print(f"{name}: down {figures['down_seconds']} s (boot {figures['boot_seconds']} s), "
              f"status 200 on all {len(figures['answers'])} polls ({figures['shown']} showing the other half), "
              f"a photo uploaded as it came back indexed {figures['recovered_after']} s later")


def test_the_reconciler_on_postgresql_requeues_only_photos_past_their_lease(tmp_path, postgres_database, photos_dir):
    """The reconciler's lease arithmetic on PostgreSQL's timestamptz (the unit tests run it on SQLite)."""
    from datetime import timedelta

    from sqlalchemy import update

    from gather.storing import store_file
    from harvest.dispatch import reconcile
    from mosaic.backends import Backends
    from mosaic.catalog import upgrade
    from mosaic.catalog.images import now, set_state
    from mosaic.catalog.schema import images
    from mosaic.settings import load_settings

    backends = Backends(load_settings(data_dir=tmp_path / "var", catalog_url=postgres_database,
                                      requeue_after_seconds=30))
    upgrade(backends.catalog)
    try:
        ids = [store_file(backends, io.BytesIO((photos_dir / "darknet" / name).read_bytes()), name, "upload").id
               for name in ("dog.jpg", "kite.jpg")]
        with backends.catalog.begin() as connection:
            for image_id in ids:
                set_state(connection, image_id, "queued")
            connection.execute(update(images).where(images.c.id == ids[0])
                               .values(updated_at=now() - timedelta(seconds=60)))
        assert reconcile(backends) == 1
        assert backends.queue.get("harvest", timeout=1).body == {"image_id": ids[0]}
    finally:
        backends.close()
