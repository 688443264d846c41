"""The four backends a process may use, opened lazily from Settings (nothing connects at import)."""

from __future__ import annotations

from functools import cached_property

from mosaic.settings import Settings

BACKEND_NAMES = ("catalog", "objects", "queue", "vectors")


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
