"""Interior joint angles of the tracker's CSV: the angle at a joint between the two limbs that meet there
(`pose.angles`, the definition the analysis uses too)."""
from __future__ import annotations

import numpy as np

from pose.angles import ANGLE_JOINTS, interior_angle
from pose.skeleton import KeypointSet


def joint_angles(poses: np.ndarray, keypoint_set: KeypointSet, keypoint_threshold: float) -> np.ndarray:
    """Angle in degrees (0-180) at each joint of ANGLE_JOINTS -> (N,K) float64, NaN where not defined.

    Defined when the vertex and both arm joints exist in the set and score above the threshold.
    """
    angles = np.full(poses.shape[:2], np.nan)
    for vertex, first, second in ANGLE_JOINTS:
        try:
            v, a, b = (keypoint_set.index(name) for name in (vertex, first, second))
        except KeyError:
            continue
        valid = (poses[:, [v, a, b], 2] > keypoint_threshold).all(axis=1)
        angles[:, v] = np.where(valid, interior_angle(poses[:, v, :2], poses[:, a, :2], poses[:, b, :2]), np.nan)
    return angles
