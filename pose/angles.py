"""Interior joint angles: the angle at a joint between the two limbs that meet there, one definition for the
tracker's CSV and for the analysis.

The angle comes from atan2(|cross|, dot) of the two limb vectors, which stays exact near 0 and 180 degrees
(arccos of their normalised dot product loses digits there) and needs no guard against a zero-length limb.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ANGLE_JOINTS", "interior_angle"]

ANGLE_JOINTS = tuple(
    (f"{side}_{vertex}", f"{side}_{first}", f"{side}_{second}")
    for side in ("left", "right")
    for vertex, first, second in (("elbow", "shoulder", "wrist"), ("knee", "hip", "ankle"),
                                  ("hip", "shoulder", "knee"), ("shoulder", "hip", "elbow"))
)
"""(vertex joint, the joints its two limbs point to), for each side: elbows, knees, hips and shoulders."""


def interior_angle(vertex: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Angle (N,) in degrees, 0-180 (180 = straight), at `vertex` between the limbs to `first` and `second`
    ((N,2) x, y each); NaN where a point is NaN, 0 where a limb has no length."""
    arm_a = np.asarray(first, np.float64) - vertex
    arm_b = np.asarray(second, np.float64) - vertex
    cross = arm_a[:, 0] * arm_b[:, 1] - arm_a[:, 1] * arm_b[:, 0]
    dot = (arm_a * arm_b).sum(axis=1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))
