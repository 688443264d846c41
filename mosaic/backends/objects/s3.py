"""Objects in one S3 bucket (MinIO or any S3 server), through the `minio` client."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from minio import Minio
from minio.error import S3Error

from mosaic.backends.objects import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectNotFound, check_key

PART_SIZE = 10 * 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


class S3ObjectStore:
    def __init__(
        self,
        bucket: str,
        endpoint: str,
        access_key: str,
        secret_key: str,
        secure: bool = False,
        region: str = "us-east-1",
    ):
        self.bucket = bucket
        self.endpoint = endpoint
        self._args = dict(access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self._client: Minio | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the keys
        return f"S3ObjectStore(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    def _minio(self) -> Minio:
        # Created on first use, not at construction, so building settings or forking workers
        # never touches the network; the bucket is made once per process.
        with self._lock:
            if self._client is None:
                client = Minio(self.endpoint, **self._args)
                if not client.bucket_exists(self.bucket):
                    try:
                        client.make_bucket(self.bucket, location=self._args["region"])
                    except S3Error as exc:  # another process made it first
                        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
                self._client = client
            return self._client

    def put(
        self, key: str, stream: BinaryIO, size: int | None = None, content_type: str | None = None
    ) -> ObjectInfo:
        counted = _Counting(stream)
        self._minio().put_object(
            self.bucket,
            check_key(key),
            counted,
            length=-1 if size is None else size,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            part_size=PART_SIZE,
            # Parallel uploads queue parts without bound: a slow server would let the whole
            # file pile up in memory. One at a time keeps memory at about one part.
            num_parallel_uploads=1,
        )
        return ObjectInfo(key, counted.count, content_type or DEFAULT_CONTENT_TYPE)

    def put_file(self, key: str, source: Path, content_type: str | None = None) -> ObjectInfo:
        """Upload a finished local file, then remove it (the local store moves it instead)."""
        with open(source, "rb") as stream:
            info = self.put(key, stream, os.path.getsize(source), content_type)
        Path(source).unlink(missing_ok=True)
        return info

    def get(self, key: str) -> BinaryIO:
        try:
            response = self._minio().get_object(self.bucket, check_key(key))
        except S3Error as exc:
            raise _mapped(exc, key) from None
        return io.BufferedReader(_Body(response), PART_SIZE // 10)

    def stat(self, key: str) -> ObjectInfo:
        try:
            obj = self._minio().stat_object(self.bucket, check_key(key))
        except S3Error as exc:
            raise _mapped(exc, key) from None
        return ObjectInfo(key, obj.size or 0, obj.content_type)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        try:
            self._minio().remove_object(self.bucket, check_key(key))
        except S3Error as exc:
            if exc.code not in _MISSING:
                raise

    def list(self, prefix: str = "") -> Iterator[str]:
        for obj in self._minio().list_objects(self.bucket, prefix=prefix or None, recursive=True):
            yield obj.object_name

    def check(self) -> None:
        if not self._minio().bucket_exists(self.bucket):
            raise RuntimeError(f"S3 bucket {self.bucket!r} at {self.endpoint} is gone")


def _mapped(exc: S3Error, key: str) -> Exception:
    return ObjectNotFound(key) if exc.code in _MISSING else exc


class _Counting:
    """Counts bytes read, since S3 does not report the size of an upload of unknown length."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class _Body(io.RawIOBase):
    """The urllib3 response as a file; close() also returns the connection to the pool."""

    def __init__(self, response):
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._response.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()
