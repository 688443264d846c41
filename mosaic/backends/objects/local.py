"""Objects as files under one folder: `<root>/<key>`, content type in a hidden `.<name>.type` sidecar."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mosaic.backends.objects import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectNotFound, check_key

CHUNK = 1024 * 1024


class LocalObjectStore:
    def __init__(self, root: Path | str):
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        # check_key forbids "..", absolute keys and dot-names, so the path stays under root.
        return self.root.joinpath(*check_key(key).split("/"))

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(f".{path.name}.type")

    def put(
        self, key: str, stream: BinaryIO, size: int | None = None, content_type: str | None = None
    ) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target then rename: os.replace is atomic, so readers (and a restart
        # after a crash) see either the old object or the whole new one, never a partial file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; a web server under another user may serve these
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                written = out.tell()
                if size is not None and written != size:
                    raise ValueError(f"object {key!r}: expected {size} bytes, stream gave {written}")
                out.flush()
                os.fsync(out.fileno())  # so a power loss cannot leave the renamed file empty
            self._write_type(path, content_type)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ObjectInfo(key, written, content_type or DEFAULT_CONTENT_TYPE)

    def put_file(self, key: str, source: Path, content_type: str | None = None) -> ObjectInfo:
        """Move a finished local file in as the object: no second copy of the bytes is written."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb+") as handle:
            os.fsync(handle.fileno())  # the rename below must never publish a file still in the cache only
            size = os.fstat(handle.fileno()).st_size
        os.chmod(source, 0o644)
        self._write_type(path, content_type)
        try:
            os.replace(source, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            with open(source, "rb") as stream:  # another filesystem: copy, then drop the source
                info = self.put(key, stream, size, content_type)
            Path(source).unlink(missing_ok=True)
            return info
        return ObjectInfo(key, size, content_type or DEFAULT_CONTENT_TYPE)

    def _write_type(self, path: Path, content_type: str | None) -> None:
        sidecar = self._sidecar(path)
        if not content_type or content_type == DEFAULT_CONTENT_TYPE:
            sidecar.unlink(missing_ok=True)
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(content_type)
            os.replace(tmp, sidecar)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        try:
            content_type = self._sidecar(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            content_type = DEFAULT_CONTENT_TYPE
        return ObjectInfo(key, path.stat().st_size, content_type)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        # Empty fan-out folders are left behind: pruning them races with a concurrent put.
        path.unlink(missing_ok=True)
        self._sidecar(path).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        # Start in the deepest folder the prefix names fully, then filter by the rest.
        folder = prefix.rpartition("/")[0]
        if folder:
            try:
                check_key(folder)
            except ValueError:
                return  # no valid key starts with it, and "../" must not walk outside root
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        yield from (key for key in self._walk(start, folder) if key.startswith(prefix))

    def _walk(self, folder: Path, key_prefix: str) -> Iterator[str]:
        try:
            entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sorting folders as "name/" yields keys in plain string order, the order S3 lists in.
        entries.sort(key=lambda e: e.name + "/" if e.is_dir() else e.name)
        for entry in entries:
            key = f"{key_prefix}/{entry.name}" if key_prefix else entry.name
            if entry.is_dir():
                yield from self._walk(Path(entry.path), key)
            elif entry.is_file():
                yield key

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"object folder {self.root} is not writable")
