"""The local object store: streaming, atomic writes, key safety, listing."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest

from mosaic.backends.objects import ObjectNotFound, content_key, open_objects
from mosaic.backends.objects.local import LocalObjectStore
from mosaic.settings import load_settings

BLOCK = 64 * 1024


def blocks(count: int, fail_at: int | None = None):
    """Distinct 64 KiB blocks made on the fly, so a large stream never exists in memory."""
    for i in range(count):
        if i == fail_at:
            raise ConnectionResetError("client went away mid-upload")
        yield hashlib.sha256(i.to_bytes(8, "big")).digest() * (BLOCK // 32)


def blocks_sha256(count: int) -> str:
    digest = hashlib.sha256()
    for block in blocks(count):
        digest.update(block)
    return digest.hexdigest()


class ChunkStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def stream_sha256(stream) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def test_roundtrip_is_byte_exact(store):
    data = bytes(range(256)) * 40 + b"\r\n\x00end"
    info = store.put("originals/a/b", io.BytesIO(data), size=len(data), content_type="image/jpeg")
    assert (info.key, info.size, info.content_type) == ("originals/a/b", len(data), "image/jpeg")
    with store.get("originals/a/b") as body:
        assert body.read() == data
    assert store.stat("originals/a/b") == info
    assert store.exists("originals/a/b")


def test_large_stream_of_unknown_size_is_not_held_in_memory(store):
    count = 480  # 30 MiB
    tracemalloc.start()
    try:
        info = store.put("originals/big", ChunkStream(blocks(count)), content_type="image/tiff")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == count * BLOCK
    assert peak < 8 * 1024 * 1024, f"put held {peak} bytes"
    assert stream_sha256(store.get("originals/big")) == (blocks_sha256(count), count * BLOCK)


def test_failing_stream_leaves_no_object_and_no_temp_file(store):
    with pytest.raises(ConnectionResetError):
        store.put("originals/x/y", ChunkStream(blocks(100, fail_at=40)), content_type="image/png")
    assert not store.exists("originals/x/y")
    assert files_under(store.root) == []


def test_failing_overwrite_keeps_the_old_object(store):
    store.put("k", io.BytesIO(b"old"), content_type="text/plain")
    with pytest.raises(ConnectionResetError):
        store.put("k", ChunkStream(blocks(50, fail_at=20)), content_type="image/png")
    with store.get("k") as body:
        assert body.read() == b"old"
    assert store.stat("k").content_type == "text/plain"
    assert [p.name for p in files_under(store.root)] == [".k.type", "k"]


def test_short_stream_for_declared_size_is_refused(store):
    with pytest.raises(ValueError, match="expected 10 bytes"):
        store.put("k", io.BytesIO(b"12345"), size=10)
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    "key", ["../outside", "a/../../outside", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "a/.hidden", "a/"]
)
def test_keys_escaping_the_root_are_refused(store, key):
    for call in (
        lambda: store.put(key, io.BytesIO(b"x")),
        lambda: store.get(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError):
            call()
    assert not (store.root.parent / "outside").exists()


def test_list_by_prefix_in_key_order(store):
    for key in ["originals/ab/cd/1", "originals/ab/ce/2", "originals/ab-x", "originals/b", "renditions/ab/1"]:
        store.put(key, io.BytesIO(key.encode()))
    assert list(store.list()) == [
        "originals/ab-x", "originals/ab/cd/1", "originals/ab/ce/2", "originals/b", "renditions/ab/1",
    ]
    assert list(store.list("originals/ab/")) == ["originals/ab/cd/1", "originals/ab/ce/2"]
    assert list(store.list("originals/ab")) == ["originals/ab-x", "originals/ab/cd/1", "originals/ab/ce/2"]
    assert list(store.list("renditions/")) == ["renditions/ab/1"]
    assert list(store.list("nothing/")) == []
    assert list(store.list("../")) == []


def test_list_hides_temp_and_sidecar_files(store):
    store.put("a/k", io.BytesIO(b"x"), content_type="image/webp")
    (store.root / "a" / ".k.abc.tmp").write_bytes(b"leftover")
    assert list(store.list()) == ["a/k"]


def test_missing_key(store):
    with pytest.raises(ObjectNotFound) as caught:
        store.get("originals/none")
    assert isinstance(caught.value, KeyError) and caught.value.key == "originals/none"
    with pytest.raises(ObjectNotFound):
        store.stat("originals/none")
    assert not store.exists("originals/none")
    store.delete("originals/none")
    store.put("originals/dir/k", io.BytesIO(b"x"))
    with pytest.raises(ObjectNotFound):  # a folder is not an object
        store.get("originals/dir")


def test_delete_removes_object_and_content_type(store):
    store.put("k", io.BytesIO(b"x"), content_type="image/png")
    store.delete("k")
    assert not store.exists("k")
    assert files_under(store.root) == []


def test_check(store, tmp_path):
    store.check()
    assert store.root.is_dir()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OSError):
        LocalObjectStore(tmp_path / "file").check()


def test_content_key():
    digest = hashlib.sha256(b"photo").hexdigest()
    assert content_key("originals", digest) == f"originals/{digest[:2]}/{digest[2:4]}/{digest}"
    assert content_key("renditions", digest.upper(), "-512.webp").endswith(f"/{digest}-512.webp")
    for bad in ["abc", digest[:-1] + "g", digest + "0", "../" + digest[3:]]:
        with pytest.raises(ValueError):
            content_key("originals", bad)
    with pytest.raises(ValueError):
        content_key("../originals", digest)
    with pytest.raises(ValueError):
        content_key("originals", digest, "/../../x")


def test_open_objects_picks_local_from_path_or_file_url(tmp_path):
    store = open_objects(load_settings(data_dir=tmp_path))
    assert isinstance(store, LocalObjectStore) and store.root == tmp_path / "objects"
    store = open_objects(load_settings(data_dir=tmp_path, objects_url=f"file://{tmp_path}/my%20objects"))
    assert isinstance(store, LocalObjectStore) and store.root == tmp_path / "my objects"
