"""Object detection for the harvest worker: DETR where its weights are present, else SSD.

Nothing heavy is imported here: the dispatcher calls `detector_version` to find stale images and
must not pay for torch, transformers or cv2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from mosaic.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    label: str  # COCO name: "dog", "bicycle", "person"
    score: float
    box: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max as fractions of width/height


class Detector(Protocol):
    name: str
    version: str  # what made the features: a change makes the dispatcher reprocess

    def detect(self, image: Image.Image) -> list[Detection]:
        """RGB, already oriented image -> detections above the threshold, best first."""
        ...


def _choose(settings: Settings) -> tuple[str | None, str]:
    """The backend open_detector will use and why, decided without loading any model."""
    from harvest_worker.detection import detr

    if settings.detector == "none":
        return None, "MOSAIC_DETECTOR=none"
    if settings.detector in ("detr", "ssd"):
        return settings.detector, f"MOSAIC_DETECTOR={settings.detector}"
    where = detr.weights_location(settings.detr_model)
    if where is not None:
        return "detr", f"DETR weights found at {where}"
    return "ssd", f"no local DETR weights for {settings.detr_model!r} (folder or HF cache)"


def detector_version(settings: Settings) -> str | None:
    from harvest_worker.detection import detr, ssd

    backend, _ = _choose(settings)
    if backend == "detr":
        return detr.version(settings.detr_model, settings.detr_shortest_side)
    return ssd.VERSION if backend == "ssd" else None


def open_detector(settings: Settings) -> Detector | None:
    from harvest_worker.detection import detr, ssd

    backend, reason = _choose(settings)
    log.info("object detector: %s (%s)", backend or "none", reason)
    if backend == "detr":
        return detr.DetrDetector(settings.detr_model, settings.detr_shortest_side, settings.detection_threshold)
    if backend == "ssd":
        return ssd.SsdDetector(settings.detection_threshold)
    return None
