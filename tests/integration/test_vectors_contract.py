"""The same cases on a Milvus Lite file (embedded) and on a Milvus server over gRPC."""

from __future__ import annotations

import uuid

import pytest

from mosaic.backends.vectors import Collection, VectorStore, open_vectors
from mosaic.settings import load_settings


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.servers)])
def store(request, tmp_path):
    if request.param == "embedded":
        opened = open_vectors(load_settings(data_dir=tmp_path))
    else:
        url = request.getfixturevalue("milvus_server").url
        opened = open_vectors(load_settings(data_dir=tmp_path, vectors_url=url))
    yield opened
    opened.close()


def _collection(dim=4, **kwargs) -> Collection:
    return Collection(f"c_{uuid.uuid4().hex[:10]}", dim, **kwargs)


def test_nearest_first_and_upsert_replaces(store: VectorStore):
    collection = _collection()
    store.upsert(collection, [("near", [0, 0, 0, 1]), ("far", [3, 3, 3, 3]), ("mid", [1, 1, 0, 0])])
    assert [hit.id for hit in store.search(collection, [0, 0, 0, 0], limit=3)] == ["near", "mid", "far"]
    store.upsert(collection, [("far", [0, 0, 0, 0.5])])
    hits = store.search(collection, [0, 0, 0, 0], limit=3)
    assert hits[0].id == "far" and hits[0].distance == pytest.approx(0.25)
    assert store.count(collection) == 3


def test_search_can_leave_out_the_query_image(store: VectorStore):
    collection = _collection()
    store.upsert(collection, [("a", [1, 0, 0, 0]), ("b", [0, 1, 0, 0])])
    assert [hit.id for hit in store.search(collection, [1, 0, 0, 0], limit=5, exclude="a")] == ["b"]


def test_get_and_delete(store: VectorStore):
    collection = _collection()
    store.upsert(collection, [("a", [1, 2, 3, 4])])
    assert store.get(collection, "a") == pytest.approx([1, 2, 3, 4])
    store.delete(collection, ["a"])
    assert store.get(collection, "a") is None and store.count(collection) == 0


def test_an_ivf_indexed_collection_searches_reads_and_finds_nothing_when_empty(store: VectorStore):
    collection = _collection(dim=8, metric="COSINE", clusters=4, probes=4)
    assert store.get(collection, "a") is None and store.get_many(collection, ["a", "b"]) == {}
    store.upsert(collection, [(f"v{i}", [1.0 if j == i else 0.1 for j in range(8)]) for i in range(8)])
    assert store.search(collection, [0.1, 0.1, 1.0, 0.1, 0.1, 0.1, 0.1, 0.1], limit=1)[0].id == "v2"
    assert store.get(collection, "v5") == pytest.approx([1.0 if j == 5 else 0.1 for j in range(8)])


def test_an_exact_collection_gets_the_ivf_index_a_newer_release_asks_for(store: VectorStore):
    name = f"c_{uuid.uuid4().hex[:10]}"
    store.upsert(Collection(name, 4, metric="COSINE"), [("a", [1, 0, 0, 0]), ("b", [0, 1, 0, 0])])
    store.close()  # as a restart after an upgrade: the collection is checked again on first use
    indexed = Collection(name, 4, metric="COSINE", clusters=2, probes=2)
    assert [hit.id for hit in store.search(indexed, [1, 0, 0, 0], limit=1)] == ["a"]
    assert store.client.describe_index(name, "vector")["index_type"] == "IVF_FLAT"
    assert store.count(indexed) == 2


def test_a_search_narrowed_by_attributes_and_exclusions(store: VectorStore):
    collection = _collection(attributes=("orientation", "make"))
    store.upsert(collection, [("a", [0, 0, 0, 1]), ("b", [0, 0, 0, 2]), ("c", [0, 0, 0, 3]), ("d", [0, 0, 0, 4])],
                 [{"orientation": "landscape", "make": "Canon"}, {"orientation": "portrait", "make": "Canon"},
                  {"orientation": "landscape", "make": 'Odd "quoted" \\ make'}, {"orientation": "landscape"}])
    near = [[0, 0, 0, 0], [0, 0, 0, 5]]
    both = store.search_many(collection, near, limit=4, where={"orientation": "landscape"})
    assert [[hit.id for hit in hits] for hits in both] == [["a", "c", "d"], ["d", "c", "a"]]
    assert [hit.id for hit in store.search_many(collection, near[:1], limit=4, exclude=["a"],
                                                where={"make": "Canon"})[0]] == ["b"]
    odd = store.search_many(collection, near[:1], limit=4, where={"make": 'Odd "quoted" \\ make'})
    assert [hit.id for hit in odd[0]] == ["c"]
    assert [hit.id for hit in store.search_many(collection, near[:1], limit=4, where={"make": ""})[0]] == ["d"]
    with pytest.raises(ValueError, match="no attribute"):
        store.search_many(collection, near, where={"lens": "x"})
    with pytest.raises(ValueError, match="not an image id"):
        store.search_many(collection, near, exclude=['a" or id != "'])


def test_binary_vectors_with_hamming_distance(store: VectorStore):
    collection = _collection(dim=64, metric="HAMMING", binary=True)
    store.upsert(collection, [("zeros", bytes(8)), ("ones", b"\xff" * 8)])
    hits = store.search(collection, b"\x01" + bytes(7), limit=2)
    assert [(hit.id, hit.distance) for hit in hits] == [("zeros", 1.0), ("ones", 63.0)]


def test_a_collection_survives_reopening(tmp_path, store: VectorStore):
    collection = _collection()
    store.upsert(collection, [("kept", [1, 1, 1, 1])])
    store.close()
    assert store.count(collection) == 1  # reconnects lazily


def test_unreachable_server_is_reported_by_check(tmp_path):
    from tests.servers import free_port

    store = VectorStore(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Exception, match="(?i)connect|unavailable|timeout|fail"):
        store.check()
