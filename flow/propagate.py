"""Carrying poses into the next frame by optical flow, and boxes from poses (HRNet paper 4.3,
FlowTrack): previous poses moved by the flow become extra person boxes for the current frame.

Coordinates: pixel centres at integer positions; flow[y, x] is the motion of pixel (x, y).
Boxes are (N,5) float32 x1, y1, x2, y2, score in those pixels.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import nms

from flow.errors import FlowError

MIN_BOX_SIDE = 4.0
"""Pixels: a box narrower or lower than this holds no person a pose model can resolve (ours)."""


def sample_flow(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear read of a (H,W,2) field at (M,2) sub-pixel points x,y -> (M,2) float64.

    Points outside the frame read the field at the nearest border position (clamped).
    """
    height, width = flow.shape[:2]
    x = np.clip(points[:, 0].astype(np.float64), 0.0, width - 1.0)
    y = np.clip(points[:, 1].astype(np.float64), 0.0, height - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.intp), max(width - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.intp), max(height - 2, 0))
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = flow[y0, x0] * (1.0 - fx) + flow[y0, x1] * fx
    bottom = flow[y1, x0] * (1.0 - fx) + flow[y1, x1] * fx
    return top * (1.0 - fy) + bottom * fy


def move_poses(poses: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Poses (N,K,3) x,y,score in prev-frame pixels -> (N,K,3) float32 in the current frame.

    Each keypoint moves by the flow read bilinearly at its sub-pixel position (clamped at the
    border); scores carry over; keypoints with non-finite coordinates stay as they are.
    """
    poses = np.asarray(poses)
    if poses.ndim != 3 or poses.shape[2] != 3:
        raise FlowError(f"poses must be (N,K,3) x,y,score, not of shape {poses.shape}.")
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FlowError(f"the flow must be (H,W,2) dx,dy, not of shape {flow.shape}.")
    moved = poses.astype(np.float64, copy=True)
    points = moved[..., :2].reshape(-1, 2)
    finite = np.isfinite(points).all(axis=1)
    points[finite] += sample_flow(flow, points[finite])
    return moved.astype(np.float32)


def poses_to_boxes(poses: np.ndarray, keypoint_threshold: float = 0.3, grow: float = 0.15,
                   min_keypoints: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Boxes around poses: ((M,5) float32 x1,y1,x2,y2,score, (M,) int index of the source pose).

    A box spans the keypoints scoring above `keypoint_threshold`, grown by `grow` of its width and height
    (half on each side; paper 4.3 uses 15%); its score is the mean score of those keypoints.
    Poses with fewer than `min_keypoints` such keypoints give no box.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[2] != 3:
        raise FlowError(f"poses must be (N,K,3) x,y,score, not of shape {poses.shape}.")
    confident = (poses[..., 2] > keypoint_threshold) & np.isfinite(poses[..., :2]).all(axis=2)
    source = np.flatnonzero(confident.sum(axis=1) >= max(min_keypoints, 1))
    if len(source) == 0:
        return np.zeros((0, 5), dtype=np.float32), source
    chosen, mask = poses[source], confident[source]
    xs, ys = chosen[..., 0], chosen[..., 1]
    low = np.stack([np.where(mask, xs, np.inf).min(1), np.where(mask, ys, np.inf).min(1)], 1)
    high = np.stack([np.where(mask, xs, -np.inf).max(1), np.where(mask, ys, -np.inf).max(1)], 1)
    margin = (high - low) * (grow / 2.0)
    score = (chosen[..., 2] * mask).sum(1) / mask.sum(1)
    boxes = np.concatenate([low - margin, high + margin, score[:, None]], axis=1)
    return boxes.astype(np.float32), source


def bound_boxes(boxes: np.ndarray, limits: np.ndarray, factor: float) -> np.ndarray:
    """Boxes (N,5) made no wider or higher than `factor` times their limit boxes (N,4+), about their centres.

    The rule (the tracker passes each propagated box the box its pose was estimated in, and the
    crop padding 1.25 as `factor`): the model saw nothing outside that box's padded crop, so a
    box drawn around its pose has no reason to be larger. Real poses lie inside their boxes (the
    annotated joints of COCO persons span at most 1.02 times their boxes, so the paper's 15% growth
    gives at most 1.17 < 1.25) and are left as the paper makes them. A pose spread over its whole
    crop (random weights, no person there) made each propagated box about 1.4 times the last,
    without end; bounded, a chain grows at most `factor` a frame, and `clip_boxes` caps it at the frame.
    """
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 5)
    if len(boxes) == 0:  # no pose gave a box (reshape cannot infer a width from nothing)
        return boxes.astype(np.float32)
    limits = np.asarray(limits, dtype=np.float64).reshape(len(boxes), -1)
    centre = (boxes[:, :2] + boxes[:, 2:4]) / 2.0
    half = np.minimum(boxes[:, 2:4] - boxes[:, :2], (limits[:, 2:4] - limits[:, :2]) * factor) / 2.0
    boxes[:, :2], boxes[:, 2:4] = centre - half, centre + half
    return boxes.astype(np.float32)


def clip_boxes(boxes: np.ndarray, width: int, height: int, min_side: float = MIN_BOX_SIDE
               ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N,5) clipped to a width x height frame: ((M,5) float32, (M,) int indices of those kept).

    Corners are clipped to the pixel centres, x in [0, width - 1] and y in [0, height - 1]; boxes
    with a non-finite number, or narrower or lower than `min_side` pixels once clipped, are dropped
    (a box outside the frame clips to nothing).
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    finite = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    clipped = boxes[finite].copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0.0, width - 1.0)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0.0, height - 1.0)
    sides = clipped[:, 2:4] - clipped[:, :2]
    wide = (sides >= min_side).all(axis=1)
    return clipped[wide], finite[wide]


def merge_boxes(detected: np.ndarray, propagated: np.ndarray, iou_threshold: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray]:
    """Union of detected and propagated (N,5) boxes after box NMS (torchvision.ops.nms).

    Returns the kept boxes (M,5) float32, best score first, and (M,) int indices into the
    concatenation [detected; propagated] (an index >= len(detected) is a propagated box).
    """
    both = np.concatenate([np.asarray(detected, np.float32).reshape(-1, 5),
                           np.asarray(propagated, np.float32).reshape(-1, 5)])
    keep = nms(torch.from_numpy(both[:, :4]), torch.from_numpy(both[:, 4]),
               float(iou_threshold)).numpy()
    return both[keep], keep

