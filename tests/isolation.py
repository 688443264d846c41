"""Tests build their settings explicitly: a developer's MOSAIC_* variables must not leak in."""

from __future__ import annotations

import os

import pytest


def drop_outside_settings(patch: pytest.MonkeyPatch) -> None:
    """Unset every MOSAIC_* variable but the test photos' folder, and turn off the sample ingest."""
    for name in list(os.environ):
        if name.startswith("MOSAIC_") and name != "MOSAIC_TEST_PHOTOS":
            patch.delenv(name)
    patch.setenv("MOSAIC_INGEST_SAMPLES", "false")
