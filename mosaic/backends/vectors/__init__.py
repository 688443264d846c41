"""Vectors in Milvus: a Milvus Lite file (embedded) or a Milvus server, both through `pymilvus`.

Only one process may open a Milvus Lite file. `mosaic run` therefore serves the file with
Milvus Lite's own gRPC server on 127.0.0.1 (see `gateway/runner.py`) and every process talks
to it by URL, exactly as they talk to a Milvus server in production.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ID_LENGTH = 64
ATTRIBUTE_LENGTH = 128
CONNECT_TIMEOUT = 3.0
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Collection:
    name: str
    dim: int
    metric: str = "L2"  # L2 | IP | COSINE (float vectors); HAMMING (binary)
    binary: bool = False
    # Short text fields stored with each vector, so a search can be narrowed to rows with given values.
    attributes: tuple[str, ...] = ()
    # > 0: an IVF_FLAT index with this many clusters, searched in `probes` of them (approximate, for large
    # collections of clustered vectors such as image embeddings); 0: an exact scan (FLAT / BIN_FLAT).
    clusters: int = 0
    probes: int = 0

    @property
    def index_type(self) -> str:
        if self.binary:
            return "BIN_FLAT"
        return "IVF_FLAT" if self.clusters else "FLAT"

    @property
    def index_params(self) -> dict:
        return {"nlist": self.clusters} if self.clusters else {}

    @property
    def search_params(self) -> dict:
        return {"nprobe": self.probes} if self.clusters else {}


@dataclass(frozen=True)
class Hit:
    id: str
    distance: float


class VectorStore:
    """A thin adapter: collections of (image id, vector); no product logic lives here."""

    def __init__(self, uri: str):
        self.uri = uri
        self._client = None
        self._lock = threading.Lock()
        self._ready: set[str] = set()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                from pymilvus import MilvusClient

                # A short connect timeout: health checks must answer "down" quickly, not hang.
                self._client = MilvusClient(uri=self.uri, timeout=CONNECT_TIMEOUT)
            return self._client

    def ensure(self, collection: Collection) -> None:
        if collection.name in self._ready:
            return
        if not self.client.has_collection(collection.name):
            from pymilvus import DataType

            schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH)
            vector_type = DataType.BINARY_VECTOR if collection.binary else DataType.FLOAT_VECTOR
            schema.add_field("vector", vector_type, dim=collection.dim)
            for name in collection.attributes:
                schema.add_field(name, DataType.VARCHAR, max_length=ATTRIBUTE_LENGTH)
            self.client.create_collection(collection.name, schema=schema, index_params=self._index(collection))
        elif self.client.describe_index(collection.name, "vector").get("index_type") != collection.index_type:
            # A collection made by an older release with another index: rebuild the index, keep the vectors.
            self.client.release_collection(collection.name)
            self.client.drop_index(collection.name, "vector")
            self.client.create_index(collection.name, self._index(collection))
        self.client.load_collection(collection.name)
        self._ready.add(collection.name)

    def _index(self, collection: Collection):
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type=collection.index_type, metric_type=collection.metric,
                        params=collection.index_params)
        return index

    def upsert(self, collection: Collection, rows: Sequence[tuple[str, Sequence[float] | bytes]],
               attributes: Sequence[dict[str, str]] | None = None) -> None:
        """`attributes`: per row, the collection's text fields (a missing one is stored as "")."""
        self.ensure(collection)
        given = attributes or [{}] * len(rows)
        data = [{"id": image_id, "vector": _vector(vector, collection),
                 **{name: (values.get(name) or "")[:ATTRIBUTE_LENGTH] for name in collection.attributes}}
                for (image_id, vector), values in zip(rows, given, strict=True)]
        if data:
            self.client.upsert(collection.name, data)

    def search(self, collection: Collection, vector, limit: int = 10, exclude: str | None = None) -> list[Hit]:
        return self.search_many(collection, [vector], limit, exclude=[exclude] if exclude else ())[0]

    def search_many(self, collection: Collection, vectors: Sequence, limit: int = 10, exclude: Iterable[str] = (),
                    where: dict[str, str] | None = None) -> list[list[Hit]]:
        """Per query vector, the `limit` nearest, leaving out the `exclude` ids and keeping only rows whose
        attributes equal `where`'s values."""
        self.ensure(collection)
        if not vectors:
            return []
        found = self.client.search(
            collection.name, [_vector(vector, collection) for vector in vectors], limit=limit,
            filter=_filter(collection, exclude, where or {}), output_fields=["id"],
            search_params={"metric_type": collection.metric, "params": collection.search_params},
        )
        return [[Hit(hit["id"], float(hit["distance"])) for hit in hits] for hits in found]

    def range_search(self, collection: Collection, vectors: Sequence, radius: float, limit: int = 100,
                     range_filter: float | None = None) -> list[list[Hit]]:
        """Per query vector, up to `limit` nearest hits inside the radius, nearest first.

        Milvus' range search: for distances (L2, HAMMING) a hit has range_filter <= distance < radius, so
        a Hamming radius of r bits inclusive is radius=r + 1; for similarities (IP, COSINE) radius is the
        lower bound. Several query vectors go in one call (limit <= 16384 per query).
        """
        self.ensure(collection)
        if not vectors:
            return []
        params: dict = {**collection.search_params, "radius": radius}
        if range_filter is not None:
            params["range_filter"] = range_filter
        found = self.client.search(
            collection.name, [_vector(vector, collection) for vector in vectors], limit=limit,
            search_params={"metric_type": collection.metric, "params": params}, output_fields=["id"],
        )
        return [[Hit(hit["id"], float(hit["distance"])) for hit in hits] for hits in found]

    def get(self, collection: Collection, image_id: str):
        return self.get_many(collection, [image_id]).get(image_id)

    def get_many(self, collection: Collection, ids: Sequence[str]) -> dict:
        """{id: vector} for the ids stored (missing ids are left out)."""
        self.ensure(collection)
        if not ids:
            return {}
        try:
            rows = self.client.get(collection.name, ids=list(ids), output_fields=["vector"])
        except Exception:
            # Milvus Lite fails a vector read from an IVF collection that has never held a row ("Growing
            # segment loss raw data"): nothing is stored, so nothing is found.
            if self.count(collection) == 0:
                return {}
            raise
        return {row["id"]: row["vector"] for row in rows}

    def delete(self, collection: Collection, ids: Sequence[str]) -> None:
        self.ensure(collection)
        if ids:
            self.client.delete(collection.name, ids=list(ids))

    def count(self, collection: Collection) -> int:
        self.ensure(collection)
        rows = self.client.query(collection.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def check(self) -> None:
        self.client.list_collections()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        self._ready.clear()


def _filter(collection: Collection, exclude: Iterable[str], where: dict[str, str]) -> str:
    """A Milvus boolean expression; ids and values are checked or quoted, as they come from requests."""
    parts = []
    ids = sorted(set(exclude))
    for image_id in ids:
        if not _ID.match(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
    if ids:
        parts.append("id not in [" + ", ".join(f'"{i}"' for i in ids) + "]")
    for name, value in sorted(where.items()):
        if name not in collection.attributes:
            raise ValueError(f"{collection.name} has no attribute {name!r}")
        quoted = str(value).replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'{name} == "{quoted}"')
    return " and ".join(parts)


def _vector(vector, collection: Collection):
    if collection.binary:
        return bytes(vector)
    return [float(value) for value in vector]


def open_vectors(settings) -> VectorStore:
    """The store for `settings.vectors_url`: a Milvus Lite file path or a server URL."""
    if settings.vectors_embedded:
        settings.vectors_file.parent.mkdir(parents=True, exist_ok=True)
        return VectorStore(str(settings.vectors_file))
    return VectorStore(settings.vectors_url)
