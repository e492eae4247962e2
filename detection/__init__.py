"""Person detection: the Detector protocol and its backends, chosen by name in `create`.

Backends: torchvision COCO detectors (`detection.torchvision_detector`), precomputed detections
from a JSON file (`from_file`), and any object with a matching `detect` method.
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Protocol, runtime_checkable

import numpy as np
from torchvision.models import detection as tv

from detection.errors import DetectionError
from detection.precomputed import PrecomputedDetections, from_file
from detection.torchvision_detector import TorchvisionDetector

__all__ = ["Detector", "DetectionError", "NAMES", "PrecomputedDetections", "TorchvisionDetector",
           "create", "from_file"]


@runtime_checkable
class Detector(Protocol):
    """Finds persons: RGB uint8 HxWx3 frames -> per frame (N,5) float32 x1,y1,x2,y2,score."""

    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Person boxes of each frame, in that frame's pixels."""
        ...


_BACKENDS: dict[str, Callable[..., Detector]] = {
    # the default: COCO box AP 46.7
    "fasterrcnn_resnet50_fpn_v2": partial(TorchvisionDetector, tv.fasterrcnn_resnet50_fpn_v2,
                                          tv.FasterRCNN_ResNet50_FPN_V2_Weights),
    "fasterrcnn_resnet50_fpn": partial(TorchvisionDetector, tv.fasterrcnn_resnet50_fpn,
                                       tv.FasterRCNN_ResNet50_FPN_Weights),
    "fasterrcnn_mobilenet_v3_large_fpn": partial(TorchvisionDetector,
                                                 tv.fasterrcnn_mobilenet_v3_large_fpn,
                                                 tv.FasterRCNN_MobileNet_V3_Large_FPN_Weights),
    "retinanet_resnet50_fpn_v2": partial(TorchvisionDetector, tv.retinanet_resnet50_fpn_v2,
                                         tv.RetinaNet_ResNet50_FPN_V2_Weights),
    # Keypoint R-CNN used for its person boxes only
    "keypointrcnn_resnet50_fpn": partial(TorchvisionDetector, tv.keypointrcnn_resnet50_fpn,
                                         tv.KeypointRCNN_ResNet50_FPN_Weights),
}
NAMES: tuple[str, ...] = tuple(_BACKENDS)
"""Detector names `create` accepts; the first is the default."""


def create(name: str = NAMES[0], **options) -> Detector:
    """The detector called `name` (one of NAMES), built with `options` (weights, device,
    score_threshold, min_box_size, batch_size, min_size, max_size; see TorchvisionDetector)."""
    if name not in _BACKENDS:
        raise DetectionError(f"unknown detector {name!r}; choose one of {', '.join(NAMES)}, or "
                             f"give a detections file.")
    return _BACKENDS[name](**options)
