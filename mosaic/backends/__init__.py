"""The four backends a process may use, opened lazily from Settings (nothing connects at import)."""

from __future__ import annotations

from functools import cached_property

from mosaic.settings import Settings

BACKEND_NAMES = ("catalog", "objects", "queue", "vectors")


class BackendUnavailable(ConnectionError):
    """A backend cannot be reached right now: the work waits for it, it is never the input's fault."""

    def __init__(self, backend: str, reason: str):
        super().__init__(f"{backend} unavailable: {reason}")
        self.backend, self.reason = backend, reason


# PostgreSQL SQLSTATEs of a server that is going away or not accepting yet (class 08: connection exceptions).
_PG_UNAVAILABLE = ("57P01", "57P02", "57P03")


def unavailable(error: BaseException) -> str | None:
    """The backend an error says is unreachable ("catalog", "queue", "objects", "vectors"), or None
    when it is about the work itself. The cause chain is searched: drivers wrap each other's errors."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _unavailable_one(current)
        if found:
            return found
        # `raise ... from None` says the error being handled does not explain this one.
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return None


def _unavailable_one(error: BaseException) -> str | None:
    if isinstance(error, BackendUnavailable):
        return error.backend
    module = type(error).__module__.split(".")[0]
    if module == "sqlalchemy":
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return "catalog"
        if isinstance(error, OperationalError | InterfaceError):
            return "catalog" if _pg_connection_error(error.orig) else None
        return None
    if module == "psycopg2":
        return "catalog" if _pg_connection_error(error) else None
    if module == "pika":
        import pika.exceptions as amqp

        lost = (amqp.AMQPConnectionError, amqp.ConnectionWrongStateError, amqp.ChannelWrongStateError)
        return "queue" if isinstance(error, lost) else None
    if module in ("urllib3", "minio"):
        import urllib3.exceptions
        from minio.error import ServerError

        if isinstance(error, ServerError):
            return "objects" if error.status_code in (502, 503, 504) else None
        connection = (urllib3.exceptions.MaxRetryError, urllib3.exceptions.NewConnectionError,
                      urllib3.exceptions.ProtocolError, urllib3.exceptions.TimeoutError)
        return "objects" if isinstance(error, connection) else None
    if module in ("pymilvus", "grpc"):
        return "vectors" if _milvus_connection_error(error) else None
    return None


def _pg_connection_error(error: BaseException | None) -> bool:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    if not isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError):
        return False
    code = getattr(error, "pgcode", None)
    # No SQLSTATE: the client lost or never had a connection. Other OperationalErrors (deadlock,
    # a cancelled statement) are about the query and keep their normal retries.
    return code is None or code.startswith("08") or code in _PG_UNAVAILABLE


def _milvus_connection_error(error: BaseException) -> bool:
    import grpc
    from pymilvus.client.types import Status
    from pymilvus.exceptions import ConnectError, MilvusException, MilvusUnavailableException

    down = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    if isinstance(error, MilvusUnavailableException | ConnectError):
        return True
    if isinstance(error, MilvusException):
        return error.code == Status.CONNECT_FAILED or error.code in down
    if isinstance(error, grpc.RpcError) and callable(getattr(error, "code", None)):
        return error.code() in down
    return False


class Backends:
    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def catalog(self):
        from mosaic.catalog import open_catalog

        return open_catalog(self.settings.catalog_url)

    @cached_property
    def objects(self):
        from mosaic.backends.objects import open_objects

        return open_objects(self.settings)

    @cached_property
    def queue(self):
        from mosaic.backends.queue import open_queue

        # One client per process: both implementations serialise their calls with a lock.
        return open_queue(
            self.settings.queue_url,
            max_attempts=self.settings.queue_max_attempts,
            lease_seconds=self.settings.queue_lease_seconds,
        )

    @cached_property
    def vectors(self):
        from mosaic.backends.vectors import open_vectors

        return open_vectors(self.settings)

    def check(self, name: str) -> dict:
        """{"status": "ok"} or {"status": "down", "error": ...} for one backend."""
        try:
            if name == "catalog":
                from mosaic.catalog import check

                check(self.catalog)
            else:
                getattr(self, name).check()
        except Exception as exc:  # health must report any failure, whatever its type
            return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        return {"status": "ok"}

    def health(self, names) -> dict:
        backends = {name: self.check(name) for name in names}
        down = sum(1 for state in backends.values() if state["status"] != "ok")
        status = "ok" if down == 0 else ("down" if down == len(backends) else "degraded")
        return {"status": status, "backends": backends}

    def close(self) -> None:
        if "queue" in self.__dict__:
            self.queue.close()
        if "vectors" in self.__dict__:
            self.vectors.close()
        if "catalog" in self.__dict__:
            self.catalog.dispose()
