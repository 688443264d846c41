"""Bad photos in a batch of good ones, through the running platform: each is refused or failed
with a reason a user can read, and the good ones are still indexed."""

from __future__ import annotations

import struct
import zlib

import requests

from tests.platform import running_platform, wait_for_states


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb (generated)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b"")


def test_each_bad_photo_gets_its_reason_and_the_batch_goes_on(tmp_path, photos_dir):
    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    files = [
        ("good-eagle.jpg", (photos_dir / "darknet" / "eagle.jpg").read_bytes()),
        ("empty.jpg", b""),
        ("notes.jpg", b"a text file wearing a .jpg name\n" * 20),
        ("bomb.png", _png_claiming(50_000, 50_000)),
        ("half-dog.jpg", dog[: len(dog) // 2]),
        ("tiny-bad-gps.jpg", (photos_dir / "piexif" / "01.jpg").read_bytes()),  # 8x8, malformed GPS
        ("odd-exif-olympus.jpg", (photos_dir / "piexif" / "r_olympus.jpg").read_bytes()),
        ("good-kite.jpg", (photos_dir / "darknet" / "kite.jpg").read_bytes()),
    ]
    with running_platform(tmp_path / "data") as base:
        response = requests.post(f"{base}/gather/uploads", files=[("files", f) for f in files], timeout=60)
        assert response.status_code == 201, response.text
        by_name = {f["name"]: f for f in response.json()["files"]}
        assert by_name["empty.jpg"]["reason"] == "file is empty"
        assert "not an image" in by_name["notes.jpg"]["reason"]
        assert "pixels" in by_name["bomb.png"]["reason"]
        stored = {name: f["id"] for name, f in by_name.items() if f["status"] == "stored"}
        assert set(stored) == {"good-eagle.jpg", "half-dog.jpg", "tiny-bad-gps.jpg", "odd-exif-olympus.jpg",
                               "good-kite.jpg"}

        records = wait_for_states(base, list(stored.values()), {"indexed", "failed"})
        state = {name: records[image_id]["state"] for name, image_id in stored.items()}
        assert state == {"good-eagle.jpg": "indexed", "half-dog.jpg": "failed", "tiny-bad-gps.jpg": "failed",
                         "odd-exif-olympus.jpg": "indexed", "good-kite.jpg": "indexed"}
        assert "truncated" in records[stored["half-dog.jpg"]]["error"]
        assert "too small" in records[stored["tiny-bad-gps.jpg"]]["error"]
        assert records[stored["odd-exif-olympus.jpg"]]["exif"]["make"] == "Olympus"

        status = requests.get(f"{base}/harvest/status", timeout=10).json()
        assert status["counts"] == {"indexed": 3, "failed": 2}
        reasons = {failure["name"]: failure["reason"] for failure in status["recent_failures"]}
        assert set(reasons) == {"half-dog.jpg", "tiny-bad-gps.jpg"}
        assert status["queues"]["harvest"]["dead"] == []  # bad input is not retried, it fails once
