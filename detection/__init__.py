"""Person detection: every backend is a `BoxSource` (`boxes(frame, image) -> (N,5)`), chosen here.

Backends: torchvision COCO detectors by name (`create`), precomputed detections from a JSON file
(`from_file`), and any object with a matching `boxes` method (`ImageBoxSource` gives it what the tracker's
runner also asks: binding to a video and a match report). torchvision is imported only when a
detector is built, so that command lines start fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from detection.errors import DetectionError
from detection.precomputed import PrecomputedDetections, from_file
from detection.protocol import BoxSource, FrameBoxes, FrameKey, ImageBoxSource, VideoBoxSource

if TYPE_CHECKING:
    from common.weight_files import WeightFile
    from detection.torchvision_detector import TorchvisionDetector

__all__ = ["NAMES", "BoxSource", "DetectionError", "FrameBoxes", "FrameKey", "ImageBoxSource", "PrecomputedDetections",
           "VideoBoxSource", "create", "from_file", "weight_file"]

# detector name -> (torchvision builder, its weights enum), both in torchvision.models.detection
_BACKENDS: dict[str, tuple[str, str]] = {
    # the default: COCO box AP 46.7
    "fasterrcnn_resnet50_fpn_v2": ("fasterrcnn_resnet50_fpn_v2", "FasterRCNN_ResNet50_FPN_V2_Weights"),
    "fasterrcnn_resnet50_fpn": ("fasterrcnn_resnet50_fpn", "FasterRCNN_ResNet50_FPN_Weights"),
    "fasterrcnn_mobilenet_v3_large_fpn": ("fasterrcnn_mobilenet_v3_large_fpn",
                                          "FasterRCNN_MobileNet_V3_Large_FPN_Weights"),
    "retinanet_resnet50_fpn_v2": ("retinanet_resnet50_fpn_v2", "RetinaNet_ResNet50_FPN_V2_Weights"),
    # Keypoint R-CNN used for its person boxes only
    "keypointrcnn_resnet50_fpn": ("keypointrcnn_resnet50_fpn", "KeypointRCNN_ResNet50_FPN_Weights"),
}
NAMES: tuple[str, ...] = tuple(_BACKENDS)
"""Detector names `create` accepts; the first is the default."""


def _backend(name: str) -> tuple[str, str]:
    """The torchvision builder and weights enum of the detector `name`; DetectionError for an unknown name."""
    if name not in _BACKENDS:
        raise DetectionError(f"unknown detector {name!r}; choose one of {', '.join(NAMES)}, or "
                             f"give a detections file.")
    return _BACKENDS[name]


def create(name: str = NAMES[0], **options) -> TorchvisionDetector:
    """The detector called `name` (one of NAMES), built with `options` (weights, device,
    score_threshold, min_box_size, batch_size, min_size, max_size; see TorchvisionDetector)."""
    builder, weights_enum = _backend(name)
    from torchvision.models import detection as tv

    from detection.torchvision_detector import TorchvisionDetector

    return TorchvisionDetector(getattr(tv, builder), getattr(tv, weights_enum), **options)


def weight_file(name: str, weights: str = "DEFAULT") -> WeightFile:
    """The file `create(name, weights=weights)` loads from torchvision's cache (`$TORCH_HOME/hub/checkpoints`)."""
    _, weights_enum = _backend(name)
    from torchvision.models import detection as tv

    from common.torchvision_weights import torchvision_weight_file

    return torchvision_weight_file(getattr(tv, weights_enum)[weights], name=name, kind="detector",
                                   alternative="pass --detector NAME of a detector whose file you have, or "
                                               "--detections FILE (boxes found elsewhere)")
