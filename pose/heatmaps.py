"""Heatmap coding: Gaussian training targets, decoding to keypoints, and flip-back for the flip test.

One object, ``HeatmapCodec``, owns both directions for one input/heatmap size, so training targets
and test-time decoding can never disagree about the stride. All semantics are the official HRNet
ones (``generate_target``, ``get_max_preds``, ``get_final_preds``, ``flip_back`` + SHIFT_HEATMAP).
Heatmaps are (N, K, H, W): batch, joint, row y, column x; pixel centres are integer coordinates.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

from pose.errors import PoseError

__all__ = ["HeatmapCodec", "flip_back", "flip_average"]

Heatmaps = TypeVar("Heatmaps", np.ndarray, torch.Tensor)


class HeatmapCodec:
    """Encode joints as Gaussian heatmaps and decode heatmaps to joints, for one pair of sizes.

    ``image_size_wh`` is the network input (crop) size, ``heatmap_size_wh`` the output size, both
    (width, height); ``sigma`` is the Gaussian's standard deviation in heatmap pixels (the official
    experiments use 2 at 64x48 and 3 at 96x72). The Gaussian is cut at a radius of 3 sigma.
    """

    def __init__(self, image_size_wh: Sequence[int], heatmap_size_wh: Sequence[int],
                 sigma: float = 2.0) -> None:
        if sigma <= 0:
            raise PoseError(f"the heatmap sigma must be positive, got {sigma}.")
        self.image_size = (int(image_size_wh[0]), int(image_size_wh[1]))
        self.heatmap_size = (int(heatmap_size_wh[0]), int(heatmap_size_wh[1]))
        self.sigma = sigma
        self.stride = np.array(self.image_size, dtype=np.float64) / np.array(self.heatmap_size)

    def encode(self, joints: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets (K,H,W) float32 and weights (K,1) float32 for joints (K,2+) in crop pixels.

        Official rules: the Gaussian centre is int(coord / stride + 0.5) (truncated toward zero);
        the weight is the raw ``visibility`` (not binarised), or 0 when the 3-sigma patch lies
        wholly off the map; the patch (peak 1, clipped to the map) is drawn only if weight > 0.5.
        Joints with a non-finite coordinate get weight 0.
        """
        joints = np.asarray(joints, dtype=np.float64)
        visibility = np.asarray(visibility, dtype=np.float64)
        if joints.ndim != 2 or joints.shape[1] < 2 or visibility.shape != (joints.shape[0],):
            raise PoseError(f"encode needs joints (K,2) and visibility (K,), got {joints.shape} "
                            f"and {visibility.shape}.")
        width, height = self.heatmap_size
        radius = self.sigma * 3
        finite = np.isfinite(joints[:, :2]).all(axis=1)
        xy = np.where(finite[:, None], joints[:, :2], 0.0)
        centre = np.trunc(xy / self.stride + 0.5)
        first = np.trunc(centre - radius).astype(np.int64)  # (K,2) patch start, inclusive
        stop = np.trunc(centre + radius + 1).astype(np.int64)  # (K,2) patch end, exclusive
        off_map = (first[:, 0] >= width) | (first[:, 1] >= height) | (stop[:, 0] < 0) | (stop[:, 1] < 0)
        weight = np.where(off_map | ~finite, 0.0, visibility).astype(np.float32)

        patch_size = 2 * radius + 1
        patch_len, patch_mid = math.ceil(patch_size), patch_size // 2
        # Position inside the patch of every map column / row, per joint: (K,W) and (K,H).
        in_x = np.arange(width)[None, :] - first[:, :1]
        in_y = np.arange(height)[None, :] - first[:, 1:]
        use_x = (in_x >= 0) & (in_x < patch_len) & (np.arange(width) < stop[:, :1])
        use_y = (in_y >= 0) & (in_y < patch_len) & (np.arange(height) < stop[:, 1:])
        dx2 = (in_x.astype(np.float32) - np.float32(patch_mid)) ** 2
        dy2 = (in_y.astype(np.float32) - np.float32(patch_mid)) ** 2
        gauss = np.exp(-(dx2[:, None, :] + dy2[:, :, None]) / np.float32(2 * self.sigma ** 2))
        drawn = use_y[:, :, None] & use_x[:, None, :] & (weight > 0.5)[:, None, None]
        target = np.where(drawn, gauss, np.float32(0.0)).astype(np.float32)
        return target, weight[:, None]

    def decode(self, heatmaps: np.ndarray, refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints from heatmaps (N,K,H,W): coords (N,K,2) x,y in heatmap pixels, maxvals (N,K,1).

        Argmax over the map (first index wins ties, row-major); a peak that is not > 0 gives (0,0)
        with its value kept. With ``refine`` (official POST_PROCESS) each coordinate moves 0.25
        toward the higher neighbour (sign of the difference, none on a tie), only where
        1 < x < W-1 and 1 < y < H-1, the official, asymmetric border rule. float32 output.
        """
        heatmaps = np.asarray(heatmaps)
        if heatmaps.ndim != 4:
            raise PoseError(f"decode needs heatmaps of shape (N,K,H,W), got {heatmaps.shape}.")
        num, joints, height, width = heatmaps.shape
        flat = heatmaps.reshape(num, joints, height * width)
        index = np.argmax(flat, axis=2)
        maxvals = np.take_along_axis(flat, index[..., None], axis=2).astype(np.float32)
        x, y = index % width, index // width
        coords = np.stack([x, y], axis=2).astype(np.float32) * (maxvals > 0)
        if refine:
            px, py = coords[..., 0].astype(np.int64), coords[..., 1].astype(np.int64)
            inner = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
            # Off the inner region the indices are clipped only to stay valid; the shift is masked.
            right, left = np.minimum(index + 1, height * width - 1), np.maximum(index - 1, 0)
            down, up = np.minimum(index + width, height * width - 1), np.maximum(index - width, 0)

            def at(positions: np.ndarray) -> np.ndarray:
                return np.take_along_axis(flat, positions[..., None], axis=2)[..., 0]

            step = np.stack([np.sign(at(right) - at(left)), np.sign(at(down) - at(up))], axis=2)
            coords += np.where(inner[..., None], step * 0.25, 0.0).astype(np.float32)
        return coords, maxvals


def flip_back(heatmaps: Heatmaps, flip_permutation: Sequence[int] | np.ndarray,
              shift: bool = True) -> Heatmaps:
    """Heatmaps (N,K,H,W) of horizontally flipped crops, brought back to the unflipped frame.

    Reverses the width axis and reorders joints by ``flip_permutation`` (left <-> right, from
    ``pose.skeleton``). With ``shift`` (official SHIFT_HEATMAP) the map then moves one pixel right:
    column c takes column c-1 and column 0 keeps its value. Returns a new array or tensor of the
    input's kind; the input is never modified (the official function swaps it in place).
    """
    if isinstance(heatmaps, torch.Tensor):
        order = torch.as_tensor(np.asarray(flip_permutation), dtype=torch.long, device=heatmaps.device)
        flipped = heatmaps.flip(-1).index_select(1, order)
        return torch.cat((flipped[..., :1], flipped[..., :-1]), dim=-1) if shift else flipped
    flipped = np.asarray(heatmaps)[..., ::-1][:, np.asarray(flip_permutation)]
    return np.concatenate((flipped[..., :1], flipped[..., :-1]), axis=-1) if shift else flipped


def flip_average(heatmaps: Heatmaps, flipped_heatmaps: Heatmaps,
                 flip_permutation: Sequence[int] | np.ndarray, shift: bool = True) -> Heatmaps:
    """The official flip test: (heatmaps + flip_back(flipped_heatmaps)) * 0.5, both (N,K,H,W).

    ``flipped_heatmaps`` is the network output for the horizontally flipped crops.
    """
    return (heatmaps + flip_back(flipped_heatmaps, flip_permutation, shift)) * 0.5
