"""Object detection costs on one thread (`make bench`): SSD on the darknet photos, DETR-R50 naive vs ours.

No real DETR weights exist offline, so DETR-R50 is the full-size architecture with RANDOM weights:
its timings are real, what it finds is not. bf16 agreement is therefore measured on random weights.
"""

from __future__ import annotations

import copy
import resource
import time

from PIL import Image

from harvest_worker.detection import detr as detr_module
from harvest_worker.detection import open_detector
from mosaic.settings import load_settings


def _best_of(repeats: int, function) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def _photos(photos_dir) -> dict[str, Image.Image]:
    photos = {}
    for path in sorted((photos_dir / "darknet").glob("*.jpg")):
        with Image.open(path) as image:
            photos[path.name] = image.convert("RGB")
    return photos


def test_ssd_per_photo(photos_dir, tmp_path):
    import torch

    torch.set_num_threads(1)
    detector = open_detector(load_settings(data_dir=tmp_path, detector="ssd"))
    photos = _photos(photos_dir)
    detector.detect(next(iter(photos.values())))  # load and warm up once
    total = 0.0
    print()
    for name, image in photos.items():
        seconds, found = _best_of(3, lambda image=image: detector.detect(image))
        total += seconds
        print(f"SSD {name:12s} {image.width}x{image.height}: {seconds * 1000:6.1f} ms  "
              + ", ".join(f"{d.label} {d.score:.2f}" for d in found))
    print(f"SSD mean {total / len(photos) * 1000:.1f} ms/photo -> {len(photos) / total:.1f} photos/s on one thread")


def _agreement(reference, other) -> str:
    probs_a, probs_b = reference.logits[0].float().softmax(-1), other.logits[0].float().softmax(-1)
    same = (probs_a[:, :-1].argmax(-1) == probs_b[:, :-1].argmax(-1)).float().mean().item()
    box = (reference.pred_boxes - other.pred_boxes.float()).abs().max().item()
    return (f"labels agree on {same:.0%} of queries, max box diff {box:.4f} (fraction of the image), "
            f"max prob diff {(probs_a - probs_b).abs().max().item():.5f}")


def test_detr_r50_naive_800_against_ours_512(photos_dir, tmp_path):
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    backbone = ResNetConfig(**detr_module.TIMM_RESNETS["resnet50"], out_features=["stage4"])
    naive = DetrForObjectDetection(DetrConfig(use_timm_backbone=False, backbone_config=backbone,
                                              use_pretrained_backbone=False, num_labels=91)).eval()
    naive.save_pretrained(tmp_path / "detr-r50-random")
    image = _photos(photos_dir)["dog.jpg"]
    print("\nDETR-R50 with RANDOM weights (real ones are absent offline): timings only")

    def naive_800():
        # DETR's own processor at a fixed 800x800 (stretched), fp32, no folding.
        processor = DetrImageProcessor(size={"height": 800, "width": 800}, do_pad=False)
        pixels = processor(images=image, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            return naive(pixel_values=pixels)

    naive_seconds, _ = _best_of(2, naive_800)
    print(f"DETR-R50 naive 800x800 fp32:           {naive_seconds * 1000:7.0f} ms")

    ours = detr_module.DetrDetector(str(tmp_path / "detr-r50-random"), 512, 0.5)
    pixels = ours.pixel_values(image)
    print(f"ours: shortest side 512 -> input {tuple(pixels.shape[-2:])}, bf16 on this CPU: {ours.use_bf16}")
    unfolded = copy.deepcopy(naive)

    def forward(model, bf16: bool):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(pixel_values=pixels)

    plain_seconds, plain = _best_of(3, lambda: forward(unfolded, False))
    folded_seconds, folded = _best_of(3, lambda: forward(ours.model, False))
    bf16_seconds, bf16 = _best_of(3, lambda: forward(ours.model, True))
    detect_seconds, _ = _best_of(3, lambda: ours.detect(image))
    print(f"  512 fp32 plain:                       {plain_seconds * 1000:7.0f} ms")
    print(f"  512 fp32 batch-norm folded + NHWC:    {folded_seconds * 1000:7.0f} ms")
    print(f"  512 bf16 batch-norm folded + NHWC:    {bf16_seconds * 1000:7.0f} ms")
    print(f"  detect() end to end (preprocessing included, bf16={ours.use_bf16}): {detect_seconds * 1000:5.0f} ms")
    print(f"naive 800 fp32 / ours detect(): {naive_seconds / detect_seconds:.1f}x")
    print(f"folded vs plain: {_agreement(plain, folded)}")
    print(f"bf16 vs fp32:    {_agreement(folded, bf16)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB (two DETR-R50 copies and SSD loaded)")
