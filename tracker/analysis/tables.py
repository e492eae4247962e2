"""The analysis CSVs: tracks.csv (one row per track) and frames.csv (wide: one row per frame per track), and their
README.txt.

Numbers are written with a fixed precision; a value that is not defined (an unseen joint, an angle
that needs it) is an empty cell.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from common.files import atomic_open
from pose.skeleton import POSETRACK18
from tracker.analysis.angles import CONVENTIONS
from tracker.analysis.process import TrackAnalysis
from tracker.analysis.units import Calibration

JOINT_FIELDS = ("x", "y", "score", "visible", "x_filtered", "y_filtered")


def frame_columns(angle_names: list[str]) -> list[str]:
    """The header of frames.csv."""
    joints = [f"{joint}_{field}" for joint in POSETRACK18.joints for field in JOINT_FIELDS]
    angles = [f"{name}_deg" for name in angle_names] + [f"{name}_velocity_deg_per_s" for name in angle_names]
    return ["frame", "time_s", "track_id", *joints, *angles]


def _text(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def frame_matrix(analysis: TrackAnalysis, fps: float) -> np.ndarray:
    """frames.csv values of one track (T, columns) float64, first to last frame; NaN where undefined."""
    series = analysis.series
    columns = [series.frames, series.frames / fps, np.full(len(series.poses), series.track_id)]
    visible = np.isfinite(series.poses[:, :, 0])
    for joint in range(series.poses.shape[1]):
        columns += [series.poses[:, joint, 0], series.poses[:, joint, 1], series.poses[:, joint, 2],
                    visible[:, joint], analysis.positions[:, joint, 0], analysis.positions[:, joint, 1]]
    columns += list(analysis.angles.values()) + list(analysis.velocities.values())
    return np.column_stack(columns).astype(np.float64)


def _row_format(angle_count: int) -> str:
    """printf format of a frames.csv row: integers as such, pixels and degrees to 0.01, times and scores to 0.0001."""
    joint = ["%.2f", "%.2f", "%.4f", "%d", "%.2f", "%.2f"]
    return ",".join(["%d", "%.4f", "%d", *joint * POSETRACK18.num_joints, *["%.2f"] * (2 * angle_count)])


def write_frames_csv(path: Path, analyses: list[TrackAnalysis], fps: float) -> None:
    """frames.csv, rows ordered by frame, then track id."""
    names = list(analyses[0].angles) if analyses else []
    header = ",".join(frame_columns(names)) + "\n"
    matrix = np.concatenate([frame_matrix(a, fps) for a in analyses]) if analyses else np.zeros((0, 3))
    matrix = matrix[np.lexsort((matrix[:, 2], matrix[:, 0]))]
    row = _row_format(len(names))
    # "nan" appears in no number or header, so it marks exactly the undefined cells
    text = "".join(row % tuple(values) + "\n" for values in matrix.tolist()).replace("nan", "")
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(header + text)


def write_tracks_csv(path: Path, rows: list[dict]) -> None:
    """tracks.csv from track_statistics rows (floats with 4 decimals, NaN empty)."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if not rows:
            writer.writerow(["track_id"])
            return
        writer.writerow(list(rows[0]))
        for row in rows:
            writer.writerow([value if isinstance(value, int) else _text(value, 4)
                             for value in row.values()])


def readme_text(calibration: Calibration, fps: float, settings: str) -> str:
    """README.txt of the analysis folder: what each file and column means, and the settings used."""
    return f"""hrtrack analysis: what the files in this folder hold

Settings: {settings}
Frame rate: {fps:g} frames/s. Calibration: {calibration.source} (distances and speeds in {calibration.unit}).

tracks.csv, one row per track:
  track_id, first_frame, last_frame (frame indices in file order, from 0), duration_s (frames spanned / fps),
  frames_seen, coverage (frames seen / frames spanned), joints_filled (joint samples interpolated over gaps),
  outliers_replaced (joint samples replaced by the Hampel filter), mean_score (joint scores as seen),
  hip_path_{calibration.unit} and hip_mean_speed_{calibration.unit}_per_s (filtered hip midpoint),
  and for every angle NAME: NAME_range_deg (max - min), NAME_mean_deg, NAME_peak_velocity_deg_per_s (largest |deg/s|).

frames.csv, one row per frame per track, from each track's first to its last frame:
  frame, time_s (frame / fps), track_id;
  for every PoseTrack18 joint J: J_x, J_y (pixels, as detected, empty when unseen), J_score, J_visible (1 = seen),
  J_x_filtered, J_y_filtered (pixels, after outlier rejection, gap filling and the filter; empty in long gaps);
  then NAME_deg for every angle and NAME_velocity_deg_per_s for each.
  Image coordinates: x to the right, y down, pixel centres at integer positions.

Angles (degrees):
{CONVENTIONS}

Plots: angles_track_ID.png (angles over time), timeline.png (which track is seen when; gaps
between sightings are left blank), trajectories.png (filtered hip midpoints, over a video frame when
the video was found). report.html holds the table and the plots in one file.
selected.json (only when --merge, --tracks, --longest or --largest is given): the chosen tracks as PoseTrack 2018.
selected.mp4 (only with --draw): the analysed tracks' filtered skeletons over the video, with a one-second hip trail.
"""
