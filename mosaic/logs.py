"""Logging for every process: one setup (level and format from settings), and the ids that tie lines together.

`MOSAIC_LOG_FORMAT=json` writes one JSON object per line (for Loki, Elasticsearch, `jq`); `text` is for people.
Either way each line carries the request id or photo id being worked on, set with `log_context`, so the
lines of one request (gateway, gunicorn worker, service) or of one photo (harvest worker, processor) can be
found together.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# What this process is working on now; contextvars so threads (gunicorn gthread) each see their own.
# Never mutated in place: log_context sets a new dict and resets it after.
_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("mosaic_log_context", default=None)
CONTEXT_KEYS = ("request_id", "photo_id")
TEXT_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s%(context)s"


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Within the block, every log line carries these ids (request_id=..., photo_id=...)."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get() or {}
        for key in CONTEXT_KEYS:
            setattr(record, key, context.get(key))
        record.context = "".join(f" [{key}={context[key]}]" for key in CONTEXT_KEYS if context.get(key))
        return True


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Replace the root handlers with one stderr handler in the chosen format (idempotent)."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s %(request_id)s %(photo_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
            reserved_attrs=[*RESERVED_ATTRS, "context"],  # the text format's rendering of the ids
        ))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
