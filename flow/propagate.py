"""Carrying poses into the next frame by optical flow (HRNet paper 4.3, FlowTrack): previous poses moved
by the flow, whose boxes (`pose.boxes.poses_to_boxes`) become extra person boxes for the current frame.

Coordinates: pixel centres at integer positions; flow[y, x] is the motion of pixel (x, y).
"""
from __future__ import annotations

import numpy as np

from flow.errors import FlowError


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
