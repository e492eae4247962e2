"""Person crops: box -> (center, scale), the affine crop around a person, and the way back.

Geometry follows the official HRNet code exactly, so that official checkpoints see the inputs they
were trained on and their outputs map back to the same image pixels:

* a person is described by a ``center`` (x, y) in image pixels and a ``scale`` (sx, sy) in units of
  ``PIXEL_STD`` pixels, the box grown to the model's aspect ratio and padded by ``PADDING``;
* the crop maps a source square of width ``scale[0] * PIXEL_STD`` (only ``scale[0]`` is used, as in
  the official code) to the network input, rotated by ``rot_deg`` degrees;
* pixel centres sit at integer coordinates and no half-pixel offset is applied anywhere.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = [
    "PIXEL_STD",
    "PADDING",
    "box_to_center_scale",
    "get_affine_transform",
    "warp_crop",
    "affine_points",
    "heatmap_to_image",
    "crops_to_tensor",
]

PIXEL_STD = 200.0  # pixels per unit of scale
PADDING = 1.25  # the box is enlarged by this factor around its centre


def box_to_center_scale(
    boxes: np.ndarray, aspect_ratio: float, padding: float = PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Turn boxes (N,4+) x1,y1,x2,y2 in image pixels into centers (N,2) and scales (N,2), float32.

    The box is widened or heightened to ``aspect_ratio`` (width / height of the model input),
    divided by ``PIXEL_STD`` and multiplied by ``padding``; nothing is clipped and a zero-size box
    gives a zero scale. Extra columns (a score) are ignored.

    Official quirk, reproduced on purpose: the padding is **not** applied when the centre's x is
    exactly -1 (an unexplained ``center[0] != -1`` test in the official ``_xywh2cs`` and demo).
    Only a box centred on x = -1 meets it; the official results (and ``postprocess.npz``) carry
    it, so we do too, and official numbers stay reproducible.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    x1, y1 = boxes[:, 0], boxes[:, 1]
    width, height = boxes[:, 2] - x1, boxes[:, 3] - y1
    centers = np.stack([x1 + width * 0.5, y1 + height * 0.5], axis=1).astype(np.float32)
    too_wide = width > aspect_ratio * height
    too_tall = width < aspect_ratio * height
    height = np.where(too_wide, width / aspect_ratio, height)
    width = np.where(too_tall, height * aspect_ratio, width)
    scales = np.stack([width / PIXEL_STD, height / PIXEL_STD], axis=1).astype(np.float32)
    padded = centers[:, 0] != -1
    scales[padded] *= np.float32(padding)
    return centers, scales


def get_affine_transform(
    center: ArrayLike,
    scale: ArrayLike,
    rot_deg: float,
    output_size_wh: Sequence[int],
    shift: Sequence[float] = (0.0, 0.0),
    inverse: bool = False,
) -> np.ndarray:
    """The (2,3) float64 matrix mapping image pixels to crop pixels (or back with ``inverse``).

    The source centre ``center + shift * scale * PIXEL_STD`` goes to the crop centre (W/2, H/2),
    source width ``scale[0] * PIXEL_STD`` becomes W, and the crop shows the image turned
    counter-clockwise (as displayed, y down) by ``rot_deg`` degrees.
    Like the official code, three point pairs in float32 go through ``cv2.getAffineTransform``,
    so ``cv2.warpAffine`` gives bit-identical crops.
    """
    center = np.asarray(center, dtype=np.float32)
    scale_px = np.asarray(scale, dtype=np.float32) * np.float32(PIXEL_STD)
    shift_px = scale_px * np.asarray(shift, dtype=np.float32)
    out_w, out_h = float(output_size_wh[0]), float(output_size_wh[1])
    angle = np.pi * float(rot_deg) / 180.0
    # The point half a source width "above" the centre, turned by the angle (float64, as official).
    half = 0.5 * float(scale_px[0])
    up = np.array([half * np.sin(angle), -half * np.cos(angle)])
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center + shift_px
    src[1] = center + up + shift_px
    dst[0] = (out_w * 0.5, out_h * 0.5)
    dst[1] = (out_w * 0.5, out_h * 0.5 - out_w * 0.5)
    for points in (src, dst):  # a third point at a right angle fixes the similarity
        direction = points[0] - points[1]
        points[2] = points[1] + np.array([-direction[1], direction[0]], dtype=np.float32)
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def warp_crop(
    image: np.ndarray,
    center: ArrayLike,
    scale: ArrayLike,
    output_size_wh: Sequence[int],
    rot_deg: float = 0.0,
) -> np.ndarray:
    """Cut the (H,W,C) uint8 crop of ``output_size_wh`` around a person out of an HxWxC image.

    Bilinear sampling (cv2.INTER_LINEAR), pixels outside the image are 0; channel order is kept.
    """
    matrix = get_affine_transform(center, scale, rot_deg, output_size_wh)
    size = (int(output_size_wh[0]), int(output_size_wh[1]))
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2,3) affine matrix to points (...,2); returns float64 (...,2)."""
    points = np.asarray(points, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def heatmap_to_image(
    coords: np.ndarray, centers: np.ndarray, scales: np.ndarray, heatmap_size_wh: Sequence[int]
) -> np.ndarray:
    """Map heatmap pixel coords (N,K,2) of each person's crop to image pixels (N,K,2), float64.

    The official ``transform_preds`` (inverse crop transform without rotation) in closed form:
    x = cx + (u - W/2) * s, y = cy + (v - H/2) * s with s = scale[0] * PIXEL_STD / W for both axes.
    """
    coords = np.asarray(coords, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    width, height = float(heatmap_size_wh[0]), float(heatmap_size_wh[1])
    step = scales[:, 0] * PIXEL_STD / width
    offset = coords - np.array([width / 2.0, height / 2.0])
    return centers[:, None, :] + offset * step[:, None, None]


def crops_to_tensor(
    crops: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Network input (N,3,H,W) from uint8 crops (N,H,W,3): /255, then (x - mean) / std per channel.

    The same arithmetic as torchvision's ToTensor + Normalize, so float32 results are bit-identical
    to the official test input. The uint8 crops go to ``device`` first (a quarter of the bytes).
    """
    pixels = torch.from_numpy(np.ascontiguousarray(crops)).to(device)
    pixels = pixels.permute(0, 3, 1, 2).to(dtype).div(255)
    mean_t = torch.as_tensor(mean, dtype=dtype, device=pixels.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=dtype, device=pixels.device).view(1, -1, 1, 1)
    return pixels.sub(mean_t).div(std_t)
