"""The slice with the object detector broken, over HTTP against `mosaic run`: every photo is still indexed
with its other features, the failure is on each photo, counted in the status and reported by health; once
the detector works again, a retry runs only the objects step."""

from __future__ import annotations

import time

import requests

from tests.platform import running_platform, wait_for_states

PHOTOS = ["darknet/dog.jpg", "darknet/horses.jpg", "exif/IMG_0001.JPG"]
# DETR asked for by name with weights that are not on this machine: the real model path fails to load,
# as it does for a user whose weights are missing or whose OpenCV cannot read the SSD graph.
BROKEN = {"MOSAIC_DETECTOR": "detr", "MOSAIC_DETR_MODEL": "/nonexistent/detr-weights"}


def test_a_broken_detector_costs_only_the_objects(tmp_path, photos_dir):
    data_dir = tmp_path / "data"
    with running_platform(data_dir, BROKEN) as base:
        # The workers load their models after the gateway answers: health turns degraded once they have tried.
        health = _poll(lambda: requests.get(f"{base}/harvest/api/v1/health", timeout=10),
                       lambda r: r.json().get("degraded"))
        assert health.status_code == 200, health.text
        reported = health.json()
        assert reported["status"] == "degraded" and "objects" in reported["degraded"]
        assert all(b["status"] == "ok" for b in reported["backends"].values())

        files = [("files", (path.split("/")[-1], (photos_dir / path).read_bytes())) for path in PHOTOS]
        uploaded = requests.post(f"{base}/gather/uploads", files=files, timeout=60)
        assert uploaded.status_code == 201, uploaded.text
        ids = [f["id"] for f in uploaded.json()["files"]]
        records = wait_for_states(base, ids, {"indexed", "failed"})
        for record in records.values():
            assert record["state"] == "indexed" and record["error"] is None
            assert record["objects"] == []
            assert list(record["failed_steps"]) == ["objects"]
            assert "model not available" in record["failed_steps"]["objects"]["error"]
            assert len(record["colours"]) == 4 and record["renditions"] and record["fingerprints"]
            assert {"exif", "colours", "scenes", "place", "renditions"} <= set(record["features"])
            assert {"vectors.style", "vectors.fingerprint", "vectors.visual"} <= set(record["features"])

        status = requests.get(f"{base}/harvest/status", timeout=10).json()
        assert status["counts"] == {"indexed": len(ids)}
        assert [(f["step"], f["photos"]) for f in status["step_failures"]] == [("objects", len(ids))]
        assert "objects" in status["degraded"]
        # Discovery works on what the photos have.
        similar = requests.get(f"{base}/recommend/similar/{ids[0]}", timeout=30)
        assert similar.status_code == 200 and similar.json()["results"]

    # The detector fixed (SSD, shipped with the lock's packages): the retry re-runs the objects step only.
    with running_platform(data_dir, {"MOSAIC_DETECTOR": "ssd"}) as base:
        # The workers re-register at start: the objects feature is no longer degraded.
        health = _poll(lambda: requests.get(f"{base}/harvest/status", timeout=10), lambda r: not r.json()["degraded"])
        assert health.json()["degraded"] == {}
        before = {i: requests.get(f"{base}/harvest/images/{i}", timeout=5).json() for i in ids}
        retried = requests.post(f"{base}/harvest/retry", json={}, timeout=30)
        assert retried.status_code == 200 and retried.json()["retried"] == len(ids)
        records = _wait_until(base, ids, lambda r: r["state"] == "indexed" and not r["failed_steps"])
        dog = records[ids[0]]
        assert {"dog", "bicycle"} <= {o["label"] for o in dog["objects"]}
        for image_id, record in records.items():
            assert record["colours"] == before[image_id]["colours"]  # not re-made
            assert record["fingerprints"] == before[image_id]["fingerprints"]
        status = requests.get(f"{base}/harvest/status", timeout=10).json()
        assert status["step_failures"] == [] and status["degraded"] == {}


def _poll(get, done, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        answer = get()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def _wait_until(base, ids, done, timeout: float = 120):
    deadline = time.monotonic() + timeout
    records = {}
    while time.monotonic() < deadline:
        records = {i: requests.get(f"{base}/harvest/images/{i}", timeout=5).json() for i in ids}
        if all(done(r) for r in records.values()):
            return records
        time.sleep(0.3)
    states = {i: (r["state"], r["failed_steps"]) for i, r in records.items()}
    raise AssertionError(f"not done within {timeout}s: {states}")
