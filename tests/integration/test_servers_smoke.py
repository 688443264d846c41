"""The session's real servers answer, and the photo fetch script yields real JPEGs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.servers

REPO_ROOT = Path(__file__).resolve().parents[2]
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def test_postgres_answers(postgres_server):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_server.extra["sqlalchemy_url"])
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar() == 1
            assert conn.execute(sa.text("select current_database()")).scalar() == "mosaic_test"
    finally:
        engine.dispose()


def test_milvus_stores_and_searches(milvus_server):
    from pymilvus import MilvusClient

    client = MilvusClient(uri=milvus_server.url)
    try:
        client.create_collection("smoke", dimension=4)
        client.insert("smoke", [{"id": i, "vector": [float(i), 1.0, 0.0, 0.5]} for i in range(5)])
        hits = client.search("smoke", data=[[4.0, 1.0, 0.0, 0.5]], limit=2)
        assert [hit["id"] for hit in hits[0]] == [4, 3]
    finally:
        client.drop_collection("smoke")
        client.close()


def test_fetch_test_photos(tmp_path):
    dest = tmp_path / "photos"
    script = REPO_ROOT / "scripts" / "fetch-test-photos.sh"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHON": sys.executable}
    subprocess.run([str(script), str(dest)], check=True, env=env, timeout=300)

    plain = sorted((dest / "darknet").glob("*.jpg"))
    assert {"dog.jpg", "person.jpg", "horses.jpg"} <= {p.name for p in plain}
    for path in plain + sorted((dest / "exif").iterdir()):
        with Image.open(path) as image:
            assert image.format == "JPEG", path
            image.verify()

    with Image.open(dest / "exif" / "starfish.jpg") as image:
        assert image.getexif().get_ifd(GPS_IFD), "starfish.jpg should carry GPS"
    with Image.open(dest / "exif" / "IMG_0001.JPG") as image:
        exif = image.getexif()
        assert exif[ORIENTATION] == 6
        assert 6 in exif.get_ifd(GPS_IFD), "IMG_0001.JPG should carry GPS altitude"
    assert (dest / "piexif" / "notjpeg.jpg").stat().st_size == 0  # the malformed cases came along

    # A second run finds the set complete and changes nothing.
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    out = subprocess.run([str(script), str(dest)], check=True, env=env, capture_output=True, text=True)
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert "7 darknet" in out.stdout
