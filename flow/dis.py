"""OpenCV's DIS optical flow (Kroeger et al., ECCV 2016): the CPU default, no weights."""
from __future__ import annotations

import cv2
import numpy as np

from flow.errors import FlowError
from flow.frames import check_pair

PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST,
    "fast": cv2.DISOpticalFlow_PRESET_FAST,
    "medium": cv2.DISOpticalFlow_PRESET_MEDIUM,
}
"""DIS presets by name, fastest first."""


class DisFlow:
    """Dense flow by DIS, computed on a pair downscaled by `scale` and brought back to full size.

    The field found at the working size is resized to the frame's size and its vectors are
    multiplied by the size ratio, so it is in full-frame pixels. `scale` = 1 works at full size.
    """

    def __init__(self, preset: str = "ultrafast", scale: float = 1.0) -> None:
        if preset not in PRESETS:
            raise FlowError(f"unknown DIS preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        if not 0.0 < scale <= 1.0:
            raise FlowError(f"the DIS working scale must be in (0, 1], not {scale}.")
        self.preset = preset
        self.scale = float(scale)
        self._dis = cv2.DISOpticalFlow.create(PRESETS[preset])

    def _gray(self, rgb: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # input is RGB, as everywhere in hrtrack
        if size_wh == (gray.shape[1], gray.shape[0]):
            return gray
        return cv2.resize(gray, size_wh, interpolation=cv2.INTER_AREA)

    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 HxWx3 pair -> (H,W,2) float32 (dx, dy) moving pixels of prev to cur."""
        height, width = check_pair(prev_rgb, cur_rgb)
        small = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        # OpenCV's stubs require an initial flow, which calc takes as optional (None: start from zero)
        field = self._dis.calc(self._gray(prev_rgb, small), self._gray(cur_rgb, small), None)  # type: ignore[call-overload]
        if small == (width, height):
            return field
        field = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
        field[..., 0] *= width / small[0]
        field[..., 1] *= height / small[1]
        return field
