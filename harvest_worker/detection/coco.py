"""The 91 COCO category ids shared by DETR's checkpoint and the TF SSD graph (id 0 = background).

Ids whose category was dropped from the released dataset are None: neither model should emit
them, and when one does the detection has no name to give, so it is skipped.
"""

from __future__ import annotations

_NAMES = (
    None, "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", None, "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", None, "backpack", "umbrella", None,
    None, "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", None, "wine glass", "cup", "fork", "knife",
    "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", None, "dining table", None, None,
    "toilet", None, "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", None, "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)
assert len(_NAMES) == 91

COCO_LABELS: dict[int, str] = {index: name for index, name in enumerate(_NAMES) if name is not None}


def coco_name(class_id: int) -> str | None:
    return COCO_LABELS.get(class_id)
