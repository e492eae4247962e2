"""Checks and tensor conversions for the frame pairs every flow backend takes."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from flow.errors import FlowError


def check_pair(prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> tuple[int, int]:
    """(height, width) of two RGB uint8 HxWx3 frames of equal size; FlowError otherwise."""
    for which, frame in (("previous", prev_rgb), ("current", cur_rgb)):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise FlowError(f"flow takes RGB uint8 HxWx3 frames; the {which} frame is "
                            f"{frame.dtype} of shape {frame.shape}.")
    if prev_rgb.shape != cur_rgb.shape:
        raise FlowError(f"flow needs two frames of one size, not {prev_rgb.shape[:2]} and "
                        f"{cur_rgb.shape[:2]}.")
    return prev_rgb.shape[0], prev_rgb.shape[1]


def padded_batch(frames: list[np.ndarray], multiple: int, device: torch.device, minimum: int = 1
                 ) -> tuple[torch.Tensor, tuple[int, int]]:
    """Frames HxWx3 uint8 -> (N,3,H',W') float tensor in [0,1], replicate-padded at the bottom and
    right to multiples of `multiple` and at least `minimum`; also returns the original (H, W)."""
    height, width = frames[0].shape[:2]
    batch = torch.from_numpy(np.stack(frames)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    pad_h = max(height + -height % multiple, minimum) - height
    pad_w = max(width + -width % multiple, minimum) - width
    if pad_h or pad_w:
        batch = F.pad(batch, (0, pad_w, 0, pad_h), mode="replicate")
    return batch, (height, width)


def field_from_tensor(field: torch.Tensor, size_hw: tuple[int, int]) -> np.ndarray:
    """A (1,2,H',W') flow tensor -> (H,W,2) float32 array cropped to `size_hw` (top-left part)."""
    height, width = size_hw
    cropped = field[0, :, :height, :width].permute(1, 2, 0)
    return np.ascontiguousarray(cropped.float().cpu().numpy())
