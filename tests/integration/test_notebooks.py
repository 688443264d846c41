"""The lab: every notebook runs headless against a real test catalog, and `mosaic lab` needs a token.

A few real photos go through the harvest pipeline and the indexer into embedded backends (SQLite
catalog, Milvus Lite file) in a tmp dir; each notebook then runs in a fresh `python3` kernel (this
venv's Python: jupyter_client starts a kernelspec's `python` as sys.executable) with MOSAIC_DATA_DIR
and MOSAIC_CATALOG_URL naming that catalog, as `mosaic lab` passes them to its kernels.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import requests
from click.testing import CliRunner
from nbclient import NotebookClient

from gateway.cli import cli
from gateway.lab import lab_token, settings_environment
from tests.enriched import enrich, enriched_backends
from tests.servers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/kite.jpg", "exif/IMG_0001.JPG", "exif/starfish.jpg"]
TOKEN = "labtoken-0123456789abcdef"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, photos_dir) -> tuple[Path, dict[str, str], dict[str, dict]]:
    """(data dir, {photo name: id}, {id: details}) of a catalog holding the photos, harvested and indexed."""
    from mosaic.catalog.images import image_details

    data_dir = tmp_path_factory.mktemp("lab") / "var"
    opened = enriched_backends(data_dir)
    try:
        ids = enrich(opened, {path.split("/")[-1]: (photos_dir / path).read_bytes() for path in PHOTOS})
        with opened.catalog.connect() as connection:
            details = {image_id: image_details(connection, image_id) for image_id in ids.values()}
    finally:
        opened.close()
        # The notebooks' kernels open the Milvus Lite file next, and only one process may: closing the
        # client leaves pymilvus's Lite server (which holds the file) running until this process exits.
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(opened.settings.vectors_file))
    assert {d["state"] for d in details.values()} == {"indexed"}
    return data_dir, ids, details


def _run(name: str, data_dir: Path, monkeypatch) -> list[list[dict]]:
    """Execute notebooks/<name> headless; each code cell's outputs (a cell error fails the test)."""
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MOSAIC_CATALOG_URL", f"sqlite:///{data_dir / 'catalog.db'}")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{name} is committed with outputs: clear them"
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    cells = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    assert not [o for outputs in cells for o in outputs if o.output_type == "error"]
    return cells


def _text(cells: list[list[dict]]) -> str:
    """What a reader sees as text: printed lines, reprs and HTML tables (not images, not plotly.js)."""
    parts = []
    for output in (o for outputs in cells for o in outputs):
        if output.output_type == "stream":
            parts.append(output.text)
        else:
            parts += [output.get("data", {}).get(kind, "") for kind in ("text/plain", "text/html")]
    return "\n".join(parts)


def _printed(cells: list[list[dict]], prefix: str) -> str:
    lines = [line for outputs in cells for o in outputs if o.output_type == "stream" for line in o.text.splitlines()]
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, lines
    return found[0].removeprefix(prefix)


def _values(array) -> list:
    """A trace's values: a list, or plotly's typed array ({"dtype", "bdata": base64}) for numpy data."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_catalog_notebook_loads_every_photo_with_exif_colours_tags_and_place(catalog, monkeypatch):
    data_dir, ids, details = catalog
    cells = _run("catalog.ipynb", data_dir, monkeypatch)
    makes = sum(1 for d in details.values() if (d["exif"] or {}).get("make"))
    places = sum(1 for d in details.values() if d["place"])
    assert places >= 1 and makes >= 1
    assert _printed(cells, "5 photos, ") == f"{makes} with a camera make, 5 with a palette, 5 with tags, " \
                                            f"{places} with a place"
    outputs = _text(cells)
    for image_id, photo in details.items():
        assert image_id in outputs
        assert photo["colours"][0]["hex"] in outputs
    assert "Canon" in outputs and "China" in outputs  # dog.jpg's make, IMG_0001.JPG's GPS
    assert "dog" in outputs  # a detector tag


def test_dashboards_notebook_draws_brands_years_and_colours_in_their_own_colours(catalog, monkeypatch):
    data_dir, _, details = catalog
    cells = _run("dashboards.ipynb", data_dir, monkeypatch)
    figures = [o["data"]["application/vnd.plotly.v1+json"] for outputs in cells for o in outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 3, "three charts"
    brands, years, colours = ({axis: _values(trace[axis]) for axis in ("x", "y")} | {"marker": trace["marker"]}
                              for trace in (figure["data"][0] for figure in figures))
    assert "Canon" in brands["x"] and sum(brands["y"]) == len(details)
    assert sum(years["y"]) == len(details) and all(len(str(year)) == 4 for year in years["x"])
    dominant = {photo["colours"][0]["hex"] for photo in details.values()}
    assert set(colours["x"]) == dominant
    assert list(colours["marker"]["color"]) == list(colours["x"])  # each bar in its own colour
    assert _printed(cells, "colours: ").split() == list(colours["x"])


def test_recommend_notebook_returns_ranked_explained_ids(catalog, monkeypatch):
    data_dir, ids, _ = catalog
    cells = _run("recommend.ipynb", data_dir, monkeypatch)
    found = re.search(r"^(\d+) results: (.+)$", _text(cells), re.M)
    assert found and int(found.group(1)) >= 2, _text(cells)[-2000:]
    listed = found.group(2).split(", ")
    assert listed[0] == ids["dog.jpg"]  # an olive landscape with a dog: dog.jpg first
    assert set(listed) <= set(ids.values()) and len(set(listed)) == len(listed)
    outputs = _text(cells)
    assert "contribution" in outputs and "tags: dog" in outputs
    images = [o for outputs in cells for o in outputs if any(k.startswith("image/") for k in o.get("data", {}))]
    assert len(images) == 3, "the top three thumbnails"


# -- mosaic lab -------------------------------------------------------------------------------------


def test_lab_refuses_an_empty_or_short_token(monkeypatch, tmp_path):
    monkeypatch.setenv("MOSAIC_DATA_DIR", str(tmp_path))
    for value in ("", "   ", "short"):
        monkeypatch.setenv("MOSAIC_LAB_TOKEN", value)
        result = CliRunner().invoke(cli, ["lab", "--port", str(free_port())])
        assert result.exit_code != 0 and "MOSAIC_LAB_TOKEN" in result.output, result.output
    token, generated = lab_token(None)  # unset: one is generated
    assert generated and len(token) >= 32 and lab_token(None)[0] != token


def test_lab_passes_the_settings_to_its_kernels(tmp_path):
    from mosaic.settings import load_settings

    env = settings_environment(load_settings(data_dir=tmp_path, rendition_sizes={"thumb": 128}))
    assert env["MOSAIC_DATA_DIR"] == str(tmp_path.absolute())
    assert env["MOSAIC_CATALOG_URL"] == f"sqlite:///{tmp_path.absolute() / 'catalog.db'}"
    assert json.loads(env["MOSAIC_RENDITION_SIZES"]) == {"thumb": 128}


def test_lab_serves_the_notebooks_only_with_its_token(tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "JUPYTER"))},
           "MOSAIC_DATA_DIR": str(tmp_path / "var"), "MOSAIC_LAB_TOKEN": TOKEN, "HOME": str(tmp_path)}
    log_path = tmp_path / "lab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "lab", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"mosaic lab exited:\n{log_path.read_text()[-3000:]}"
            try:
                status = requests.get(f"{base}/api/status", params={"token": TOKEN}, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"mosaic lab did not listen:\n{log_path.read_text()[-3000:]}"
                time.sleep(0.2)
        assert status.status_code == 200
        assert requests.get(f"{base}/api/status", timeout=5).status_code == 403
        assert requests.get(f"{base}/api/status", params={"token": "wrong" + TOKEN}, timeout=5).status_code == 403
        page = requests.get(f"{base}/lab", timeout=5, allow_redirects=False)
        assert page.status_code == 302 and "/login" in page.headers["location"]
        listing = requests.get(f"{base}/api/contents", params={"token": TOKEN}, timeout=5).json()
        assert {"catalog.ipynb", "dashboards.ipynb", "recommend.ipynb"} <= {e["name"] for e in listing["content"]}
        assert f"{base}/lab?token={TOKEN}" in log_path.read_text()  # the URL to open, printed
    finally:
        stop_process(process, timeout=15)
