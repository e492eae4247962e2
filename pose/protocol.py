"""What the tracker needs of a pose estimator, so that stubs and other runtimes can stand in for HRNet."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from pose.skeleton import KeypointSet


@runtime_checkable
class PoseModel(Protocol):
    """Top-down keypoints: person boxes in an RGB image -> poses (N,K,3) x, y, score in image pixels."""

    @property
    def keypoint_set(self) -> KeypointSet:
        """The joints (order, flip pairs, OKS sigmas) of the poses `estimate` returns."""
        ...

    def estimate(self, image_rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Poses (N,K,3) float32 for boxes (N,4|5) x1,y1,x2,y2[,score] in a uint8 HxWx3 RGB image."""
        ...
