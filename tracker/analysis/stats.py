"""Per-track statistics for tracks.csv: time span, coverage, gaps filled, scores, hip-midpoint motion, angle ranges."""
from __future__ import annotations

import numpy as np

from tracker.analysis.process import TrackAnalysis, hip_midpoint
from tracker.analysis.units import Calibration


def track_statistics(analysis: TrackAnalysis, fps: float, calibration: Calibration) -> dict[str, float | int]:
    """One tracks.csv row: column name -> value (distances in the calibration's unit, times in s, angles in deg)."""
    series = analysis.series
    span = len(series.poses)
    seen = series.present
    unit = calibration.unit
    speeds = hip_speed(analysis, fps, calibration)
    counted = np.isfinite(speeds)
    path = float(speeds[counted].sum() / fps) if counted.any() else float("nan")  # NaN: hips never known twice in a row
    row: dict[str, float | int] = {
        "track_id": series.track_id,
        "first_frame": int(series.first),
        "last_frame": int(series.first + span - 1),
        "duration_s": span / fps,
        "frames_seen": int(seen.sum()),
        "coverage": float(seen.sum() / span),
        "joints_filled": int(analysis.filled.sum()),
        "outliers_replaced": int(analysis.outliers.sum()),
        "mean_score": _mean(series.poses[:, :, 2]),
        f"hip_path_{unit}": path,
        f"hip_mean_speed_{unit}_per_s": float(speeds[counted].mean()) if counted.any() else float("nan"),
    }
    for name, angles in analysis.angles.items():
        finite = angles[np.isfinite(angles)]
        row[f"{name}_range_deg"] = float(finite.max() - finite.min()) if len(finite) else float("nan")
        row[f"{name}_mean_deg"] = float(finite.mean()) if len(finite) else float("nan")
        row[f"{name}_peak_velocity_deg_per_s"] = _peak(analysis.velocities[name])
    return row


def hip_speed(analysis: TrackAnalysis, fps: float, calibration: Calibration) -> np.ndarray:
    """(T,) speed of the filtered hip midpoint in the calibration's unit per second, from each frame's previous one
    (NaN in the first frame and where either frame has no hip midpoint): what the speed plot draws and tracks.csv
    sums."""
    hips = hip_midpoint(analysis.positions) / calibration.pixels_per_unit
    speeds = np.full(len(hips), np.nan)
    speeds[1:] = np.linalg.norm(np.diff(hips, axis=0), axis=1) * fps
    return speeds


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def _peak(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if len(finite) else float("nan")
