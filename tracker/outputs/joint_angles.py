"""Interior joint angles of the tracker's CSV: the angle at a joint between the two limbs that meet there."""
from __future__ import annotations

import numpy as np

from pose.skeleton import KeypointSet

# (vertex joint, the two joints its arms point to), for each side.
ANGLE_JOINTS = tuple(
    (f"{side}_{vertex}", f"{side}_{first}", f"{side}_{second}")
    for side in ("left", "right")
    for vertex, first, second in (("elbow", "shoulder", "wrist"), ("knee", "hip", "ankle"),
                                  ("hip", "shoulder", "knee"), ("shoulder", "hip", "elbow"))
)


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
        arm_a = poses[:, a, :2] - poses[:, v, :2]
        arm_b = poses[:, b, :2] - poses[:, v, :2]
        cosine = (arm_a * arm_b).sum(axis=1) / (np.linalg.norm(arm_a, axis=1) * np.linalg.norm(arm_b, axis=1) + 1e-9)
        valid = (poses[:, [v, a, b], 2] > keypoint_threshold).all(axis=1)
        angles[:, v] = np.where(valid, np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), np.nan)
    return angles
