"""The analysis pictures as PNG (matplotlib, Agg backend, imported only when drawing).

Colours per track id are the tracker's (tracker.outputs.render.track_colour), so a plot and the annotated
video agree on who is who. Every plot draws the very arrays frames.csv and tracks.csv are written from
(`TrackAnalysis.angles`, `stats.hip_speed`). Legends sit outside the axes, in as many columns as the
tracks need (1 to 100 stay readable). Plots against time return where their time axis lies in the PNG
(`TimeAxis`), so report.html can put a cursor on it and turn a click into a time.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.files import atomic_path
from pose.skeleton import POSETRACK18
from tracker.analysis.process import TrackAnalysis, hip_midpoint
from tracker.analysis.stats import hip_speed
from tracker.analysis.units import Calibration
from tracker.outputs.render import track_colour

# Angles drawn first per track: the ones analysts read first; every angle is in frames.csv.
PLOTTED_ANGLES = ("left_knee_flexion", "right_knee_flexion", "left_elbow_flexion", "right_elbow_flexion",
                  "left_hip", "right_hip", "trunk_lean")
MAX_ANGLES = len(PLOTTED_ANGLES)
LEGEND_ROWS = 25  # entries per legend column
DPI = 100
MARKED_FRAMES = 300  # shorter series get a dot per frame (a lone frame between gaps shows); longer ones plain lines


@dataclass(frozen=True)
class TimeAxis:
    """A plot's time axis in its PNG: `left` and `right` as fractions of the image width, at `start` and `end` s."""

    left: float
    right: float
    start: float
    end: float


def angles_to_plot(analysis: TrackAnalysis) -> list[str]:
    """The angles a track's plot draws: those of PLOTTED_ANGLES that are defined somewhere, else (when the joints
    they need are never seen) the first MAX_ANGLES other angles that are."""
    defined = [name for name, values in analysis.angles.items() if np.isfinite(values).any()]
    first = [name for name in PLOTTED_ANGLES if name in defined]
    return first or defined[:MAX_ANGLES]


def unseen_joints(analysis: TrackAnalysis) -> list[str]:
    """Joints with no position in any frame of the track (after gap filling), in skeleton order."""
    known = np.isfinite(analysis.positions).all(axis=2).any(axis=0)
    return [name for name, seen in zip(POSETRACK18.joints, known) if not seen]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _colour(track_id: int) -> tuple[float, float, float]:
    red, green, blue = (channel / 255.0 for channel in track_colour(track_id))
    return red, green, blue


def _save(figure, path: Path, axes=None, times: tuple[float, float] | None = None) -> TimeAxis | None:
    """Write the figure as PNG (atomically); with `axes`, where its x axis (`times` at its ends) lies in the image."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)  # runs the layout: the axes' position is final after it
    where = None
    if axes is not None and times is not None:
        box = axes.get_position()
        where = TimeAxis(float(box.x0), float(box.x1), float(times[0]), float(times[1]))
    _pyplot().close(figure)
    return where


def _legend(figure, count: int) -> None:
    """The figure's legend right of the axes, LEGEND_ROWS entries a column."""
    if count:
        figure.legend(loc="outside right upper", ncol=math.ceil(count / LEGEND_ROWS), fontsize=7 if count <= 40 else 6,
                      frameon=False)


def _legend_width(count: int) -> float:
    """Inches the figure grows by for its legend."""
    return 1.3 * math.ceil(count / LEGEND_ROWS) if count else 0.0


def _time_limits(frames: np.ndarray, fps: float) -> tuple[float, float]:
    return float(frames[0] / fps - 0.5 / fps), float(frames[-1] / fps + 0.5 / fps)


def plot_angles(path: Path, analysis: TrackAnalysis, fps: float) -> TimeAxis | None:
    """The angles of `angles_to_plot` over time (s) for one track, exactly frames.csv's values."""
    pyplot = _pyplot()
    names = angles_to_plot(analysis)
    figure, axes = pyplot.subplots(figsize=(9 + _legend_width(len(names)), 4.5), layout="constrained")
    times = analysis.series.frames / fps
    for name in names:
        axes.plot(times, analysis.angles[name], label=name.replace("_", " "), linewidth=1.2,
                  marker="." if len(times) <= MARKED_FRAMES else None, markersize=3)
    limits = _time_limits(analysis.series.frames, fps)
    axes.set(xlabel="time (s)", ylabel="angle (deg)", title=f"track {analysis.series.track_id}: joint angles",
             xlim=limits)
    axes.grid(alpha=0.3)
    if names:
        _legend(figure, len(names))
    else:
        axes.text(0.5, 0.5, "no angle defined: never seen are\n" + ", ".join(unseen_joints(analysis)),
                  transform=axes.transAxes, ha="center", va="center", wrap=True)
    return _save(figure, path, axes, limits)


def plot_speeds(path: Path, analyses: list[TrackAnalysis], fps: float, calibration: Calibration,
                frame_count: int) -> TimeAxis | None:
    """Hip-midpoint speed over time, one line per track (stats.hip_speed: what tracks.csv's mean speed averages)."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(9 + _legend_width(len(analyses)), 4), layout="constrained")
    for analysis in analyses:
        axes.plot(analysis.series.frames / fps, hip_speed(analysis, fps, calibration),
                  color=_colour(analysis.series.track_id), linewidth=1.2, label=f"track {analysis.series.track_id}")
    limits = _time_limits(np.array([0, max(frame_count, 1) - 1]), fps)
    axes.set(xlabel="time (s)", ylabel=f"speed ({calibration.unit}/s)", xlim=limits,
             title="hip midpoint speed (filtered)")
    if not any(line.get_ydata().size and np.isfinite(line.get_ydata()).any() for line in axes.get_lines()):
        axes.text(0.5, 0.5, "no speed: no track has both hips in two frames in a row", transform=axes.transAxes,
                  ha="center", va="center")
    axes.grid(alpha=0.3)
    _legend(figure, len(analyses))
    return _save(figure, path, axes, limits)


def plot_timeline(path: Path, analyses: list[TrackAnalysis], fps: float, frame_count: int) -> TimeAxis | None:
    """One bar per track where it is seen; gaps (frames it is not seen between sightings) are hatched."""
    pyplot = _pyplot()
    count = max(len(analyses), 1)
    figure, axes = pyplot.subplots(figsize=(9, 1.2 + (0.3 if count <= 40 else 0.16) * count), layout="constrained")
    for row, analysis in enumerate(analyses):
        series = analysis.series
        colour = _colour(series.track_id)
        spans = _spans(series.present)
        seen = [((series.first + start - 0.5) / fps, (stop - start) / fps) for start, stop, on in spans if on]
        gaps = [((series.first + start - 0.5) / fps, (stop - start) / fps) for start, stop, on in spans if not on]
        axes.broken_barh(seen, (row - 0.35, 0.7), facecolors=colour)
        if gaps:
            axes.broken_barh(gaps, (row - 0.35, 0.7), facecolors="none", edgecolors=colour, hatch="///",
                             linewidth=0.5)
    axes.set_yticks(range(len(analyses)), [str(a.series.track_id) for a in analyses],
                    fontsize=8 if count <= 40 else 6)
    limits = _time_limits(np.array([0, max(frame_count, 1) - 1]), fps)
    axes.set(xlim=limits, ylim=(-0.7, len(analyses) - 0.3), xlabel="time (s)",
             ylabel="track", title="tracks over time (hatched: gaps)")
    axes.invert_yaxis()
    return _save(figure, path, axes, limits)


def _spans(present: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, stop, seen) runs of a bool array."""
    edges = np.flatnonzero(np.diff(present.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), len(present)]
    return [(start, stop, bool(present[start])) for start, stop in itertools.pairwise(bounds)]


def plot_trajectories(path: Path, analyses: list[TrackAnalysis], size: tuple[int, int],
                      background: np.ndarray | None) -> None:
    """Filtered hip-midpoint paths in image pixels, over `background` (RGB) when given; `size` is (width, height)."""
    pyplot = _pyplot()
    width, height = size
    figure, axes = pyplot.subplots(figsize=(9 + _legend_width(len(analyses)), 9 * height / width),
                                   layout="constrained")
    if background is not None:
        axes.imshow(background, extent=(0, width, height, 0))
    for analysis in analyses:
        hips = hip_midpoint(analysis.positions)
        colour = _colour(analysis.series.track_id)
        axes.plot(hips[:, 0], hips[:, 1], color=colour, linewidth=2, label=f"track {analysis.series.track_id}")
        seen = np.flatnonzero(np.isfinite(hips[:, 0]))
        if len(seen):
            axes.plot(*hips[seen[-1]], marker="o", color=colour)
    axes.set(xlim=(0, width), ylim=(height, 0), title="hip midpoint trajectories (dot: last position)")
    axes.set_aspect("equal")
    _legend(figure, len(analyses))
    _save(figure, path)
