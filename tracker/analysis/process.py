"""One track from raw detections to analysed signals: outliers rejected, short gaps filled, filtered, angles measured.

Order per joint coordinate: Hampel rejection (on the seen samples), gap filling up to `max_gap`
frames, then the chosen filter inside each remaining gap-free run. Angles and their velocities are
computed from the filtered positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose.skeleton import POSETRACK18
from tracker.analysis.angles import angular_velocity, pose_angles
from tracker.analysis.filters import smooth
from tracker.analysis.gaps import fill_pose_gaps
from tracker.analysis.options import ProcessOptions
from tracker.analysis.outliers import hampel
from tracker.analysis.series import TrackSeries


@dataclass
class TrackAnalysis:
    """A processed track: its raw series, filtered positions (T,17,2) in pixels (NaN where neither seen
    nor filled), which joints were filled (T,17) and rejected as outliers (T,17), angles and deg/s by name."""

    series: TrackSeries
    positions: np.ndarray
    filled: np.ndarray
    outliers: np.ndarray
    angles: dict[str, np.ndarray]
    velocities: dict[str, np.ndarray]


def process_track(series: TrackSeries, fps: float, options: ProcessOptions) -> TrackAnalysis:
    """Run the steps of the module docstring on one track."""
    positions = np.array(series.poses[:, :, :2], np.float64)
    outliers = np.zeros(positions.shape[:2], bool)
    if options.hampel_half_window > 0:
        for joint in range(positions.shape[1]):
            for axis in (0, 1):
                positions[:, joint, axis], rejected = hampel(positions[:, joint, axis], options.hampel_half_window,
                                                             options.hampel_sigmas)
                outliers[:, joint] |= rejected
    positions, filled = fill_pose_gaps(positions, options.max_gap, options.interpolation)
    for joint in range(positions.shape[1]):
        for axis in (0, 1):
            positions[:, joint, axis] = smooth(positions[:, joint, axis], fps, options.filter)
    angles = pose_angles(positions)
    velocities = {name: angular_velocity(values, fps) for name, values in angles.items()}
    return TrackAnalysis(series, positions, filled, outliers, angles, velocities)


def hip_midpoint(positions: np.ndarray) -> np.ndarray:
    """(T,2) midpoint of the two hips of positions (T,17,2) in PoseTrack18 slots."""
    return (positions[:, POSETRACK18.index("left_hip")] + positions[:, POSETRACK18.index("right_hip")]) / 2.0
