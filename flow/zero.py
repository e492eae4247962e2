"""The "none" flow backend: no motion, for association without frames."""
from __future__ import annotations

import numpy as np


class ZeroFlow:
    """A field of zeros at the frame's size: poses stay where they were."""

    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """(H,W,2) float32 zeros, H and W of `cur_rgb`."""
        return np.zeros((*cur_rgb.shape[:2], 2), dtype=np.float32)
