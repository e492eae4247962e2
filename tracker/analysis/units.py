"""Calibration of distances: pixels by default, metres from a known scale or from an athlete's height.

With `--height-m H` the chosen track's standing height in pixels is the sum of its shank, thigh,
trunk (hip midpoint to shoulder midpoint) and shoulder-midpoint-to-head-top lengths, each side's
legs averaged, taken as the median over the frames where all of them are seen. The ankle-to-sole
height is not in that sum, so the scale is a few percent high for a barefoot standing height.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose.skeleton import POSETRACK18
from tracker.errors import TrackerError


@dataclass(frozen=True)
class Calibration:
    """Distances are divided by `pixels_per_unit` to be in `unit` ("px" or "m"); `source` says how it was set."""

    unit: str
    pixels_per_unit: float
    source: str


PIXELS = Calibration("px", 1.0, "none: distances in pixels")


def _joint(poses: np.ndarray, name: str) -> np.ndarray:
    return poses[:, POSETRACK18.index(name), :2]


def standing_height_px(poses: np.ndarray) -> float:
    """Median over frames of the pose's ankle-to-head-top chain length in pixels; NaN when never fully seen."""
    def length(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a - b, axis=1)

    legs = np.mean([length(_joint(poses, f"{side}_ankle"), _joint(poses, f"{side}_knee"))
                    + length(_joint(poses, f"{side}_knee"), _joint(poses, f"{side}_hip"))
                    for side in ("left", "right")], axis=0)
    hips = (_joint(poses, "left_hip") + _joint(poses, "right_hip")) / 2
    shoulders = (_joint(poses, "left_shoulder") + _joint(poses, "right_shoulder")) / 2
    chain = legs + length(hips, shoulders) + length(shoulders, _joint(poses, "head_top"))
    seen = chain[np.isfinite(chain)]
    return float(np.median(seen)) if len(seen) else float("nan")


def calibrate(scale: float | None, height_m: float | None, poses: np.ndarray | None = None,
              track_id: int | None = None) -> Calibration:
    """The calibration the options ask for; `poses` (T,17,2+) of `track_id` are needed with `height_m`."""
    if scale is not None and height_m is not None:
        raise TrackerError("give either --scale or --height-m, not both.")
    if scale is not None:
        if scale <= 0:
            raise TrackerError(f"--scale {scale} must be a positive number of pixels per metre.")
        return Calibration("m", float(scale), f"--scale {scale:g} pixels per metre")
    if height_m is None:
        return PIXELS
    if height_m <= 0:
        raise TrackerError(f"--height-m {height_m} must be a positive height in metres.")
    height_px = standing_height_px(poses) if poses is not None else float("nan")
    if not np.isfinite(height_px) or height_px <= 0:
        raise TrackerError(f"track {track_id} is never seen whole (ankles to head top), so --height-m cannot "
                           "calibrate from it; choose another with --height-track or give --scale.")
    return Calibration("m", height_px / height_m,
                       f"--height-m {height_m:g}: track {track_id} measures {height_px:.1f} px tall "
                       f"(median), {height_px / height_m:.1f} pixels per metre")
