"""What every optical-flow backend gives: a dense field that moves the previous frame onto the current one."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FlowEstimator(Protocol):
    """Dense flow: RGB uint8 HxWx3 `prev`, `cur` -> (H,W,2) float32 (dx, dy) moving prev to cur."""

    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """The field at the frames' own size, in pixels."""
        ...
