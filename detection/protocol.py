"""What every box source gives the tracker: person boxes for one frame, asked by `FrameKey`.

Detectors look at the image; precomputed detections look the frame up by its image id, file name or
index. Both implement `BoxSource.boxes`, so the pipeline never needs to know which it has.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class FrameKey:
    """Which frame boxes are asked for.

    `index`: the frame's index in its video or folder (0-based, before any stride). `file_name`: the
    image's file name for frames read from a folder, None for video files.
    """

    index: int
    file_name: str | None = None


@runtime_checkable
class BoxSource(Protocol):
    """Person boxes of one frame: (N,5) float32 x1, y1, x2, y2, score in that frame's pixels."""

    def boxes(self, frame: FrameKey, image: np.ndarray) -> np.ndarray:
        """Boxes of the frame `frame` whose RGB uint8 HxWx3 pixels are `image`."""
        ...
