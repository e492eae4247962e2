"""Person boxes: the box a pose spans, clipping to the frame, bounding by another box, and NMS merging.

Coordinates: pixel centres at integer positions. Boxes are x1, y1, x2, y2 in those pixels, (N,5) with a
score where a score goes with them. Used by detection and flow alike (the tracker clips detected boxes and
propagated ones, and merges both), by the association, the analysis and the PoseTrack training data.
"""
from __future__ import annotations

import numpy as np

from pose.errors import PoseError

__all__ = ["BOX_GROWTH", "KEYPOINT_THRESHOLD", "MIN_BOX_SIDE", "bound_boxes", "clip_boxes", "joint_extents",
           "merge_boxes", "poses_to_boxes"]

MIN_BOX_SIDE = 4.0
"""Pixels: a box narrower or lower than this holds no person a pose model can resolve (ours)."""
BOX_GROWTH = 0.15
"""A pose's box is its joints' extent grown by 15% of its width and height (HRNet paper 4.3, FlowTrack)."""
KEYPOINT_THRESHOLD = 0.2
"""Joints scoring above this span a pose's box (the official HRNet test's IN_VIS_THRE)."""


def joint_extents(points: np.ndarray, chosen: np.ndarray, grow: float = 0.0) -> np.ndarray:
    """(N,4) x1, y1, x2, y2 spanning the `chosen` (N,K) joints of (N,K,2) `points`, grown by `grow` of the
    extent's width and height (half on each side); NaN for a pose with no chosen joint. Computed in the
    points' float type."""
    points = np.asarray(points)
    points = points.astype(np.result_type(points.dtype, np.float32), copy=False)
    chosen = np.asarray(chosen, bool)
    x, y = points[..., 0], points[..., 1]
    low = np.stack([np.where(chosen, x, np.inf).min(axis=1, initial=np.inf),
                    np.where(chosen, y, np.inf).min(axis=1, initial=np.inf)], axis=1)
    high = np.stack([np.where(chosen, x, -np.inf).max(axis=1, initial=-np.inf),
                     np.where(chosen, y, -np.inf).max(axis=1, initial=-np.inf)], axis=1)
    margin = (high - low) * (grow / 2.0)
    extents = np.concatenate([low - margin, high + margin], axis=1)
    extents[~chosen.any(axis=1)] = np.nan
    return extents


def poses_to_boxes(poses: np.ndarray, keypoint_threshold: float = KEYPOINT_THRESHOLD, grow: float = BOX_GROWTH,
                   min_keypoints: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Boxes around poses: ((M,5) float32 x1,y1,x2,y2,score, (M,) int index of the source pose).

    A box spans the keypoints scoring above `keypoint_threshold`, grown by `grow` of its width and height
    (half on each side); its score is the mean score of those keypoints.
    Poses with fewer than `min_keypoints` such keypoints give no box.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[2] != 3:
        raise PoseError(f"poses must be (N,K,3) x,y,score, not of shape {poses.shape}.")
    confident = (poses[..., 2] > keypoint_threshold) & np.isfinite(poses[..., :2]).all(axis=2)
    source = np.flatnonzero(confident.sum(axis=1) >= max(min_keypoints, 1))
    if len(source) == 0:
        return np.zeros((0, 5), dtype=np.float32), source
    chosen, mask = poses[source], confident[source]
    score = (chosen[..., 2] * mask).sum(1) / mask.sum(1)
    boxes = np.concatenate([joint_extents(chosen[..., :2], mask, grow), score[:, None]], axis=1)
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
    import torch  # here, so that the box geometry above loads without torch (the analysis uses it)
    from torchvision.ops import nms

    both = np.concatenate([np.asarray(detected, np.float32).reshape(-1, 5),
                           np.asarray(propagated, np.float32).reshape(-1, 5)])
    keep = nms(torch.from_numpy(both[:, :4]), torch.from_numpy(both[:, 4]),
               float(iou_threshold)).numpy()
    return both[keep], keep
