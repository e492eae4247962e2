"""The flow stage: optical flow from the previous frame to this one, given as a `Motion` that carries poses.

It owns what flow needs between frames, the previous image and that frame's index, so the per-frame step
asks it once per frame and `--resume` restores it through `FlowState` (the image is decoded again from the
video by its index, not saved).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flow.propagate import move_poses
from flow.protocol import FlowEstimator
from tracker.core.timing import StageTimer

Motion = Callable[[np.ndarray], np.ndarray]
"""Carries (N,K,3) poses of the previous frame into the current one (a flow field, applied)."""


@dataclass(frozen=True)
class FlowState:
    """Which frame's image the next flow starts from (None: no frame yet)."""

    image_index: int | None

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file."""
        return {"image_index": self.image_index}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> FlowState:
        """The state `to_data` gave."""
        index = data["image_index"]
        return cls(None if index is None else int(index))


class FlowStage:
    """Gives the motion from the previous frame to each new one; `flow` None means no motion at all."""

    def __init__(self, flow: FlowEstimator | None, timer: StageTimer | None = None):
        self.flow = flow
        self.timer = timer or StageTimer()
        self._image: np.ndarray | None = None
        self._index: int | None = None

    def motion(self, index: int, image: np.ndarray, needed: bool = True) -> Motion | None:
        """The motion from the previous image to `image` (frame `index`), or None when there is no flow, no
        previous image, or nothing to move (`needed` False: the flow is then not computed). `image` becomes the
        previous image of the next call."""
        previous = self._image
        self._image, self._index = image, index
        if self.flow is None or previous is None or not needed:
            return None
        with self.timer("flow"):
            field = self.flow.flow(previous, image)
        return lambda poses: move_poses(poses, field)

    def state(self) -> FlowState:
        """What `restore` needs to go on from here."""
        return FlowState(self._index)

    def restore(self, state: FlowState, image_of: Callable[[int], np.ndarray | None]) -> None:
        """Continue from `state`; `image_of(index)` decodes a frame of the video again."""
        self._index = state.image_index
        self._image = None if state.image_index is None else image_of(state.image_index)
