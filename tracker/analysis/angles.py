"""Joint and segment angles of PoseTrack18 poses, in degrees, and their angular velocities.

The conventions are in CONVENTIONS below, which the analysis folder's README.txt repeats.
"""
from __future__ import annotations

import numpy as np

from pose.angles import ANGLE_JOINTS, interior_angle
from pose.skeleton import POSETRACK18
from tracker.analysis.runs import per_run

SIDES = ("left", "right")
# Interior angle at a vertex joint between the segments to two other joints (the CSV's angles too).
INTERIOR = {vertex: (vertex, first, second) for vertex, first, second in ANGLE_JOINTS}
# Segments from a proximal to a distal joint; the trunk is computed from midpoints.
SEGMENTS = {f"{side}_{name}": (f"{side}_{start}", f"{side}_{end}")
            for side in SIDES
            for name, start, end in (("thigh", "hip", "knee"), ("shank", "knee", "ankle"),
                                     ("upper_arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"))}
CONVENTIONS = """\
- interior angles (`*_elbow`, `*_knee`, `*_hip`, `*_shoulder`) are the angle at the joint between
  its two segments, 0-180 deg (180 = straight);
- flexion (`*_knee_flexion`, `*_elbow_flexion`) is 180 minus the interior angle: 0 = straight;
- segment angles (`trunk`, `*_thigh`, `*_shank`, `*_upper_arm`, `*_forearm`) are the direction from
  the proximal to the distal point, against the image horizontal pointing right, counter-clockwise
  positive as seen on screen (image y points down, so the formula is atan2(-dy, dx)). The trunk
  goes from the hip midpoint to the shoulder midpoint. Each starts in -180..180 and is unwrapped
  over time: it moves on past ±180 instead of jumping by 360;
- trunk lean is the trunk's angle from the image vertical, positive when the shoulders are right
  of the hips on screen (90 minus the trunk segment angle, unwrapped likewise);
- angular velocities are central differences over time in deg/s.
A value is NaN (an empty CSV cell) where a joint it needs is unseen.
"""
FLEXION = tuple(f"{side}_{joint}_flexion" for side in SIDES for joint in ("knee", "elbow"))


def _points(poses: np.ndarray, joint: str) -> np.ndarray:
    return poses[:, POSETRACK18.index(joint), :2]


def _midpoint(poses: np.ndarray, side_joint: str) -> np.ndarray:
    return (_points(poses, f"left_{side_joint}") + _points(poses, f"right_{side_joint}")) / 2.0


def segment_angle(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Direction (T,) in degrees of start -> end against the image horizontal, counter-clockwise on screen,
    unwrapped over time (across gaps too) from a first value in -180..180."""
    delta = end - start
    return unwrap_degrees(np.degrees(np.arctan2(-delta[:, 1], delta[:, 0])))


def unwrap_degrees(angles: np.ndarray) -> np.ndarray:
    """Angles (T,) with 360-degree jumps between consecutive seen samples removed; NaN stays."""
    out = np.array(angles, np.float64)
    seen = np.isfinite(out)
    out[seen] = np.unwrap(out[seen], period=360.0)
    return out


def pose_angles(poses: np.ndarray) -> dict[str, np.ndarray]:
    """Every angle of the conventions above for poses (T,17,2+) in PoseTrack18 slots -> name: (T,) degrees."""
    angles = {name: interior_angle(*(_points(poses, joint) for joint in joints)) for name, joints in INTERIOR.items()}
    for name in FLEXION:
        angles[name] = 180.0 - angles[name.removesuffix("_flexion")]
    trunk_start, trunk_end = _midpoint(poses, "hip"), _midpoint(poses, "shoulder")
    delta = trunk_end - trunk_start
    angles["trunk"] = segment_angle(trunk_start, trunk_end)
    angles["trunk_lean"] = unwrap_degrees(np.degrees(np.arctan2(delta[:, 0], -delta[:, 1])))
    for name, (start, end) in SEGMENTS.items():
        angles[name] = segment_angle(_points(poses, start), _points(poses, end))
    return angles


def angular_velocity(angles: np.ndarray, fps: float) -> np.ndarray:
    """Deg/s (T,) by central differences (one-sided at run ends) within each gap-free run; NaN elsewhere."""
    return per_run(angles, lambda run: np.gradient(run, 1.0 / fps) if len(run) > 1 else np.full(1, np.nan))
