"""One contract, two object stores: every case runs on the local folder and on S3 (moto)."""

from __future__ import annotations

import io
import uuid

import pytest

from mosaic.backends.objects import ObjectNotFound, content_key, open_objects
from mosaic.backends.objects.s3 import S3ObjectStore
from mosaic.settings import load_settings
from tests.unit.mosaic.backends.objects.test_local import BLOCK, ChunkStream, blocks, blocks_sha256, stream_sha256


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def object_store(request, tmp_path):
    if request.param == "local":
        return open_objects(load_settings(data_dir=tmp_path))
    server = request.getfixturevalue("s3_server")
    settings = load_settings(
        data_dir=tmp_path,
        objects_url=f"s3://test-bucket-{uuid.uuid4().hex}",
        s3_endpoint=server.extra["endpoint"],
        s3_access_key=server.extra["access_key"],
        s3_secret_key=server.extra["secret_key"],
    )
    store = open_objects(settings)
    assert isinstance(store, S3ObjectStore)
    return store


def test_roundtrip_is_byte_exact(object_store):
    data = bytes(range(256)) * 40 + b"\r\n\x00end"
    key = content_key("originals", "ab" * 32, ".jpg")
    info = object_store.put(key, io.BytesIO(data), size=len(data), content_type="image/jpeg")
    assert (info.key, info.size, info.content_type) == (key, len(data), "image/jpeg")
    with object_store.get(key) as body:
        assert body.read() == data
    assert object_store.stat(key) == info
    assert object_store.exists(key)


def test_default_content_type(object_store):
    info = object_store.put("k", io.BytesIO(b"x"))
    assert info.content_type == object_store.stat("k").content_type == "application/octet-stream"


def test_overwrite_replaces(object_store):
    object_store.put("k", io.BytesIO(b"first version"), content_type="text/plain")
    object_store.put("k", io.BytesIO(b"second"), content_type="image/png")
    with object_store.get("k") as body:
        assert body.read() == b"second"
    assert object_store.stat("k").size == 6
    assert object_store.stat("k").content_type == "image/png"


def test_large_stream_of_unknown_size(object_store):
    count = 400  # 25 MiB: three S3 parts
    info = object_store.put("originals/big", ChunkStream(blocks(count)), content_type="image/tiff")
    assert info.size == count * BLOCK == object_store.stat("originals/big").size
    assert stream_sha256(object_store.get("originals/big")) == (blocks_sha256(count), count * BLOCK)


@pytest.mark.parametrize("fail_at", [10, 250], ids=["first-part", "later-part"])
def test_failing_stream_leaves_no_object(object_store, fail_at):
    with pytest.raises(ConnectionResetError):
        object_store.put("originals/x", ChunkStream(blocks(400, fail_at=fail_at)))
    assert not object_store.exists("originals/x")
    assert list(object_store.list()) == []


def test_missing_key(object_store):
    with pytest.raises(ObjectNotFound):
        object_store.get("originals/none")
    with pytest.raises(KeyError):
        object_store.stat("originals/none")
    assert not object_store.exists("originals/none")
    object_store.delete("originals/none")


def test_delete(object_store):
    object_store.put("a/k", io.BytesIO(b"x"), content_type="image/png")
    object_store.delete("a/k")
    assert not object_store.exists("a/k")
    assert list(object_store.list()) == []


def test_list_by_prefix_in_key_order(object_store):
    for key in ["originals/ab/cd/1", "originals/ab/ce/2", "originals/ab-x", "originals/b", "renditions/ab/1"]:
        object_store.put(key, io.BytesIO(key.encode()))
    assert list(object_store.list()) == [
        "originals/ab-x", "originals/ab/cd/1", "originals/ab/ce/2", "originals/b", "renditions/ab/1",
    ]
    assert list(object_store.list("originals/ab/")) == ["originals/ab/cd/1", "originals/ab/ce/2"]
    assert list(object_store.list("originals/ab")) == [
        "originals/ab-x", "originals/ab/cd/1", "originals/ab/ce/2",
    ]
    assert list(object_store.list("nothing/")) == []


@pytest.mark.parametrize("key", ["../outside", "/abs", "a//b", "a/./b", "a/.hidden", ""])
def test_bad_keys_are_refused(object_store, key):
    with pytest.raises(ValueError):
        object_store.put(key, io.BytesIO(b"x"))
    with pytest.raises(ValueError):
        object_store.get(key)


def test_check(object_store):
    object_store.check()


def test_put_file_moves_a_finished_file_in(object_store, tmp_path):
    source = tmp_path / "spooled"
    source.write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 100)
    info = object_store.put_file("originals/ab/cd/file", source, content_type="image/jpeg")
    assert info.size == 3 + 25600 and not source.exists()
    with object_store.get("originals/ab/cd/file") as stream:
        assert stream.read() == b"\xff\xd8\xff" + bytes(range(256)) * 100
    assert object_store.stat("originals/ab/cd/file").content_type == "image/jpeg"
