"""The production topology without Docker: services that share nothing but the backends.

Each web service runs as its own gunicorn process behind the compose gateway's nginx config, with
two harvest workers, a processor and a dispatcher, all on the real servers. Everything below goes
through nginx only: a batch uploaded, harvested by both workers, indexed, recommended and served.
"""

from __future__ import annotations

import re

import psutil
import pytest
import requests

from tests.platform import wait_for_states

PHOTOS = [f"darknet/{name}.jpg" for name in ("dog", "eagle", "giraffe", "horses", "kite", "person", "scream")] + [
    "exif/IMG_0001.JPG", "exif/starfish.jpg"]
SERVICES = ("gather", "harvest", "recommend", "visualize", "cdn")
# CPU seconds each harvest worker must spend while the batch goes through. Measured here: an idle
# worker polling the empty queue spends about 0.13 s per 20 s; each of the two spends about 3 s on
# its share of this batch (decoding, colours, scenes, object detection, renditions).
WORKED_CPU_SECONDS = 1.0


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@pytest.mark.servers
def test_the_services_share_nothing_but_the_backends(topology, photos_dir):
    base = topology.base
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {topology.token}"  # the header must pass through nginx
    for service in SERVICES:
        health = client.get(f"{base}/{service}/api/v1/health", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok", health.json()
        assert health.headers["Server"] == "nginx"  # answered through the gateway, not gunicorn directly
    gateway_health = client.get(f"{base}/api/v1/health", timeout=10)
    assert gateway_health.status_code == 200, gateway_health.text
    assert gateway_health.json()["services"] == [f"/{s}/api/v1/health" for s in SERVICES]
    assert client.get(f"{base}/healthz", timeout=5).text == "ok\n"
    home = client.get(f"{base}/", timeout=5)
    assert home.status_code == 200 and re.search(r"<title>[^<]*Mosaic</title>", home.text)  # nginx's static root
    unknown = client.get(f"{base}/harvest/no/such/route", timeout=5)
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/json"

    workers = [topology.processes[name].popen.pid for name in ("harvest_worker_1", "harvest_worker_2")]
    cpu_before = [_cpu_seconds(pid) for pid in workers]

    anonymous = requests.post(f"{base}/gather/uploads", files=[("files", ("x.jpg", b"x"))], timeout=10)
    assert anonymous.status_code == 401, anonymous.text  # MOSAIC_API_TOKEN is set, as compose sets it

    originals = {path.split("/")[-1]: (photos_dir / path).read_bytes() for path in PHOTOS}
    response = client.post(f"{base}/gather/uploads", files=[("files", (n, d)) for n, d in originals.items()],
                             timeout=60)
    assert response.status_code == 201, response.text
    by_name = {f["name"]: f for f in response.json()["files"]}
    assert {by_name[name]["status"] for name in originals} == {"stored"}, by_name
    ids = {name: by_name[name]["id"] for name in originals}

    try:
        records = wait_for_states(base, list(ids.values()), {"indexed", "failed"}, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{topology.logs()}") from None
    assert {r["state"] for r in records.values()} == {"indexed"}, records

    # Both harvest workers took part: each spent real CPU time while the batch went through.
    worked = [_cpu_seconds(pid) - before for pid, before in zip(workers, cpu_before, strict=True)]
    assert min(worked) > WORKED_CPU_SECONDS, f"CPU seconds per harvest worker during the batch: {worked}"

    dog = records[ids["dog.jpg"]]
    assert (dog["width"], dog["height"]) == (768, 576)
    assert {"dog", "bicycle"} <= {o["label"] for o in dog["objects"]}
    status = client.get(f"{base}/harvest/status", timeout=10).json()
    assert status["counts"] == {"indexed": len(originals)}

    for name, data in originals.items():
        shown = client.get(f"{base}/cdn/show/{ids[name]}", timeout=10)
        assert shown.status_code == 200 and shown.content == data, name  # byte-exact through nginx
        assert shown.headers["Content-Type"] == "image/jpeg"
    thumb = client.get(f"{base}{dog['renditions']['thumb']['url']}", timeout=30)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    assert len(thumb.content) == dog["renditions"]["thumb"]["bytes"]
    etag = client.get(f"{base}/cdn/show/{ids['dog.jpg']}", timeout=10).headers["ETag"]
    cached = client.get(f"{base}/cdn/show/{ids['dog.jpg']}", headers={"If-None-Match": etag}, timeout=10)
    assert cached.status_code == 304  # the cdn's validators pass through nginx

    profile = {"colour": dog["colours"][0]["hex"], "width": 768, "height": 576, "orientation": "landscape",
               "tags": ["dog"], "make": "Canon", "limit": 3}
    ranked = client.post(f"{base}/recommend/recommend", json=profile, timeout=30)
    assert ranked.status_code == 200, ranked.text
    results = ranked.json()["results"]
    assert len(results) == 3 and results[0]["id"] == ids["dog.jpg"], results
    assert results[0]["url"] == f"/cdn/show/{ids['dog.jpg']}"

    # Every process stops cleanly on its compose stop signal, and none wrote an embedded backend.
    codes = topology.stop()
    assert codes == dict.fromkeys(topology.processes, 0), f"{codes}\n{topology.logs()}"
    for process in topology.processes.values():
        leftovers = sorted(p.name for p in process.data_dir.iterdir() if p.name != "tmp")
        assert leftovers == [], f"{process.name} used local storage: {leftovers}"
