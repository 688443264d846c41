"""DETR (`transformers` DetrForObjectDetection) on CPU, loaded only from local files.

Never needs timm: a checkpoint saved with a timm backbone (facebook/detr-resnet-50's main revision)
is rebuilt on transformers' own ResNet, and its backbone weights are renamed on load.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from harvest_worker.detection import Detection
from harvest_worker.detection.coco import coco_name

REVISION = 1  # bump when preprocessing or post-processing changes what comes out
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# transformers' ResNet equivalents of the timm backbones DETR checkpoints name.
TIMM_RESNETS = {
    "resnet50": {"depths": [3, 4, 6, 3], "layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048]},
    "resnet101": {"depths": [3, 4, 23, 3], "layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048]},
}
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class ModelMissing(RuntimeError):
    pass


def weights_location(model: str) -> str | None:
    """Where the config and weights are, without loading them: a folder, or the HF cache (offline)."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        ok = (folder / "config.json").is_file() and any((folder / name).is_file() for name in WEIGHT_FILES)
        return str(folder) if ok else None
    if not _REPO_ID.match(model):
        return None
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model, "config.json"), str):
        return None
    for name in WEIGHT_FILES:
        found = try_to_load_from_cache(model, name)
        if isinstance(found, str):
            return str(Path(found).parent)
    return None


def version(model: str, shortest_side: int) -> str:
    # The input size changes what is found, so it is part of what made the feature.
    return f"{Path(model.rstrip('/')).name}@{shortest_side}:{REVISION}"


def _without_timm(config):
    """Swap a timm backbone config for transformers' ResNet, and map timm's weight names onto it."""
    from transformers import ResNetConfig

    timm_name = getattr(config.backbone_config, "backbone", None) or "resnet50"
    if timm_name not in TIMM_RESNETS:
        raise ModelMissing(f"DETR backbone {timm_name!r} would need timm; supported: {', '.join(TIMM_RESNETS)}")
    config.backbone_config = ResNetConfig(**TIMM_RESNETS[timm_name], out_features=["stage4"])
    config.use_timm_backbone = False
    config.use_pretrained_backbone = False
    prefix = r"backbone\.conv_encoder\.model\."
    target = "backbone.conv_encoder.model."
    mapping = {
        prefix + r"conv1\.": target + "embedder.embedder.convolution.",
        prefix + r"bn1\.": target + "embedder.embedder.normalization.",
    }
    for stage in range(4):
        block = prefix + rf"layer{stage + 1}\.(\d+)\."
        into = target + rf"encoder.stages.{stage}.layers.\1."
        mapping[block + r"downsample\.0\."] = into + "shortcut.convolution."
        mapping[block + r"downsample\.1\."] = into + "shortcut.normalization."
        for conv in range(3):
            mapping[block + rf"conv{conv + 1}\."] = into + f"layer.{conv}.convolution."
            mapping[block + rf"bn{conv + 1}\."] = into + f"layer.{conv}.normalization."
    return config, mapping


def fold_batch_norms(model) -> int:
    """Fold each frozen batch norm into the convolution before it: one pass over memory instead of two."""
    import torch
    from torch import nn
    from transformers.models.detr.modeling_detr import DetrFrozenBatchNorm2d

    folded = 0
    with torch.no_grad():
        for module in model.modules():
            conv, norm = getattr(module, "convolution", None), getattr(module, "normalization", None)
            if not isinstance(conv, nn.Conv2d) or not isinstance(norm, DetrFrozenBatchNorm2d | nn.BatchNorm2d):
                continue
            eps = norm.eps if isinstance(norm, nn.BatchNorm2d) else 1e-5  # DetrFrozenBatchNorm2d's constant
            scale = norm.weight * (norm.running_var + eps).rsqrt()
            bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
            conv.weight = nn.Parameter(conv.weight * scale[:, None, None, None], requires_grad=False)
            conv.bias = nn.Parameter(norm.bias + (bias - norm.running_mean) * scale, requires_grad=False)
            module.normalization = nn.Identity()
            folded += 1
    return folded


def optimise(model) -> None:
    import torch

    model.eval()
    fold_batch_norms(model)
    model.to(memory_format=torch.channels_last)  # oneDNN's fast convolution layout


def image_processor(model: str, shortest_side: int):
    from transformers import DetrImageProcessor

    # Shortest side fixed, aspect kept, longest side capped in DETR's own 800:1333 proportion.
    size = {"shortest_edge": shortest_side, "longest_edge": round(shortest_side * 1333 / 800)}
    try:
        return DetrImageProcessor.from_pretrained(model, local_files_only=True, size=size, do_pad=False)
    except OSError:  # a checkpoint without preprocessor_config.json: DETR's defaults
        return DetrImageProcessor(size=size, do_pad=False)


def bf16_default() -> bool:
    """bf16 autocast: 2.7x faster than fp32 on a CPU with native bf16 (AVX512-BF16/AMX), same labels and
    boxes within 0.001 on random DETR-R50 weights (tests/bench); emulated elsewhere, where it is slower."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def load_model(model: str):
    from transformers import DetrConfig, DetrForObjectDetection
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # one bar per load would litter the worker's log

    config = DetrConfig.from_pretrained(model, local_files_only=True)
    key_mapping = None
    if config.backbone_config is None or config.backbone_config.model_type == "timm_backbone":
        config, key_mapping = _without_timm(config)
    loaded, info = DetrForObjectDetection.from_pretrained(
        model, config=config, local_files_only=True, key_mapping=key_mapping, output_loading_info=True
    )
    if info.get("missing_keys"):  # a randomly initialised part would detect nonsense, silently
        missing = sorted(info["missing_keys"])
        raise ModelMissing(f"DETR checkpoint {model!r} lacks {len(missing)} weights, e.g. {missing[:3]}")
    return loaded


class DetrDetector:
    name = "detr"

    def __init__(self, model: str, shortest_side: int, threshold: float, use_bf16: bool | None = None):
        if weights_location(model) is None:
            raise ModelMissing(
                f"no DETR weights for MOSAIC_DETR_MODEL={model!r}: give a folder with config.json and "
                f"{' or '.join(WEIGHT_FILES)}, or an id already in the HF cache (nothing is downloaded)"
            )
        self.version = version(model, shortest_side)
        self.threshold = threshold
        self.use_bf16 = bf16_default() if use_bf16 is None else use_bf16
        self.model = load_model(model)
        optimise(self.model)
        self.processor = image_processor(model, shortest_side)

    def pixel_values(self, image: Image.Image):
        import torch

        pixels = self.processor(images=image, return_tensors="pt")["pixel_values"]
        return pixels.contiguous(memory_format=torch.channels_last)

    def detect(self, image: Image.Image) -> list[Detection]:
        import torch

        pixels = self.pixel_values(image)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.use_bf16):
            out = self.model(pixel_values=pixels)
        # One unpadded image: the predicted boxes are already fractions of it.
        probs = out.logits[0].float().softmax(-1)[:, :-1]  # the last class is "no object"
        scores, ids = probs.max(-1)
        cx, cy, w, h = out.pred_boxes[0].float().unbind(-1)
        boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1).clamp(0.0, 1.0)
        found = []
        for score, class_id, box in zip(scores.tolist(), ids.tolist(), boxes.tolist(), strict=True):
            label = coco_name(class_id)
            if score >= self.threshold and label is not None and box[0] < box[2] and box[1] < box[3]:
                found.append(Detection(label, score, tuple(box)))
        return sorted(found, key=lambda d: d.score, reverse=True)
