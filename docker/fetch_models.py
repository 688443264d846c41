"""Image build step: put the DETR weights into the image's Hugging Face cache (HF_HOME).

Containers run with HF_HUB_OFFLINE=1 and never reach a hub: the harvest worker's detector finds
these files with `huggingface_hub.try_to_load_from_cache` and picks DETR (MOSAIC_DETECTOR=auto).
Only the config, the preprocessor config and one copy of the weights are fetched (safetensors when
the repository has it, else pytorch_model.bin), not the whole repository.
"""

from __future__ import annotations

import os
import sys

from huggingface_hub import list_repo_files, snapshot_download

model = os.environ.get("MOSAIC_DETR_MODEL", "facebook/detr-resnet-50")
files = set(list_repo_files(model))
weights = "model.safetensors" if "model.safetensors" in files else "pytorch_model.bin"
wanted = [name for name in ("config.json", "preprocessor_config.json", weights) if name in files]
path = snapshot_download(model, allow_patterns=wanted)
print(f"{model}: {', '.join(wanted)} cached in {path}")

# The same check the worker makes at start: fail the build, not the first harvest.
from harvest_worker.detection.detr import weights_location  # noqa: E402

if weights_location(model) is None:
    sys.exit(f"DETR weights for {model!r} are not where the detector looks (HF_HOME={os.environ.get('HF_HOME')})")
print(f"detector will use DETR from {weights_location(model)}")
