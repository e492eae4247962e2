"""Filling short gaps in joint trajectories by interpolation (scipy); longer gaps stay gaps.

A gap is a run of NaN between two seen samples; only gaps of at most `max_gap` frames are filled,
and nothing is extrapolated before a track's first or after its last sighting of a joint.
"""
from __future__ import annotations

import numpy as np

from tracker.analysis.options import INTERPOLATIONS
from tracker.analysis.runs import finite_runs
from tracker.errors import TrackerError


def fill_gaps(signal: np.ndarray, max_gap: int, method: str = "linear") -> np.ndarray:
    """A copy of a 1-D signal with NaN gaps of at most `max_gap` samples interpolated.

    `cubic` fits a natural cubic spline through all seen samples (linear where fewer than 4 are seen).
    """
    if method not in INTERPOLATIONS:
        raise TrackerError(f"unknown interpolation {method!r}; choose one of {', '.join(INTERPOLATIONS)}.")
    out = np.array(signal, np.float64)
    seen = np.flatnonzero(np.isfinite(out))
    if len(seen) < 2 or max_gap <= 0:
        return out
    holes = np.zeros(len(out), bool)
    for run in finite_runs(np.where(np.isfinite(out), np.nan, 0.0)):  # runs of NaN
        if run.start > seen[0] and run.stop <= seen[-1] and run.stop - run.start <= max_gap:
            holes[run] = True
    if not holes.any():
        return out
    where = np.flatnonzero(holes)
    if method == "cubic" and len(seen) >= 4:
        from scipy.interpolate import CubicSpline

        out[where] = CubicSpline(seen, out[seen], bc_type="natural")(where)
    else:
        out[where] = np.interp(where, seen, out[seen])
    return out


def fill_pose_gaps(poses: np.ndarray, max_gap: int, method: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Poses (T,K,3) with each joint's x and y gaps filled -> (filled poses, (T,K) bool filled mask).

    Filled joints keep score NaN: they were not seen.
    """
    out = np.array(poses, np.float64)
    for joint in range(out.shape[1]):
        for axis in (0, 1):
            out[:, joint, axis] = fill_gaps(out[:, joint, axis], max_gap, method)
    filled = np.isnan(poses[:, :, 0]) & ~np.isnan(out[:, :, 0])
    return out, filled
