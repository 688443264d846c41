"""Storing uploads on the embedded catalog and object store: each file judged on its own."""

import io

from PIL import Image
from sqlalchemy import func, select

from gather.storing import record_batch, store_file
from mosaic.catalog.schema import images


def _count(backends) -> int:
    with backends.catalog.connect() as connection:
        return connection.execute(select(func.count()).select_from(images)).scalar()


def test_a_photo_is_stored_byte_exact_under_its_sha256(backends, photos_dir):
    data = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    result = store_file(backends, io.BytesIO(data), "../../etc/dog.jpg", "upload")
    assert result.status == "stored" and result.name == "dog.jpg"
    with backends.catalog.connect() as connection:
        row = connection.execute(select(images).where(images.c.id == result.id)).mappings().one()
    assert row["state"] == "stored" and row["bytes"] == len(data) and row["mime"] == "image/jpeg"
    assert "dog" not in row["object_key"] and row["object_key"].startswith("originals/")
    with backends.objects.get(row["object_key"]) as stream:
        assert stream.read() == data


def test_same_bytes_twice_is_a_duplicate_of_the_first(backends, photos_dir):
    data = (photos_dir / "darknet" / "eagle.jpg").read_bytes()
    first = store_file(backends, io.BytesIO(data), "eagle.jpg", "upload")
    second = store_file(backends, io.BytesIO(data), "other-name.jpg", "upload")
    assert (second.status, second.duplicate_of, second.id) == ("duplicate", first.id, first.id)
    assert _count(backends) == 1


def test_bad_files_are_rejected_with_a_reason_and_leave_nothing(backends, photos_dir):
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, "PNG")  # generated: 16 MP over a 10 MP limit
    cases = {
        "empty.jpg": (b"", "empty"),
        "notes.jpg": (b"just some text, not a photo", "not an image"),
        "huge.jpg": (b"\xff\xd8\xff" + b"0" * 2_100_000, "larger than the limit"),
        "bomb.png": (bomb.getvalue(), "more pixels than the limit"),
        "cut.jpg": ((photos_dir / "darknet" / "dog.jpg").read_bytes()[:300], "corrupt"),
    }
    for name, (data, reason) in cases.items():
        result = store_file(backends, io.BytesIO(data), name, "upload")
        assert result.status == "rejected" and reason in result.reason, (name, result)
    assert _count(backends) == 0
    assert list(backends.objects.list("")) == []
    assert list((backends.settings.data_dir / "tmp").iterdir()) == []


def test_a_batch_records_every_file_in_order(backends, photos_dir):
    good = store_file(backends, (photos_dir / "darknet" / "kite.jpg").open("rb"), "kite.jpg", "upload")
    bad = store_file(backends, io.BytesIO(b""), "empty.jpg", "upload")
    batch_id = record_batch(backends, "upload", [good, bad])
    assert len(batch_id) == 32
