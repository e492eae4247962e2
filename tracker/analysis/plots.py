"""The analysis pictures as PNG (matplotlib, Agg backend, imported only when drawing).

Colours per track id are the tracker's (tracker.outputs.render.track_colour), so a plot and the annotated
video agree on who is who.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from common.files import atomic_path
from tracker.analysis.process import TrackAnalysis, hip_midpoint
from tracker.outputs.render import track_colour

# Angles drawn per track: the ones analysts read first; every angle is in frames.csv.
PLOTTED_ANGLES = ("left_knee_flexion", "right_knee_flexion", "left_elbow_flexion", "right_elbow_flexion",
                  "left_hip", "right_hip", "trunk_lean")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _colour(track_id: int) -> tuple[float, float, float]:
    red, green, blue = (channel / 255.0 for channel in track_colour(track_id))
    return red, green, blue


def _save(figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    _pyplot().close(figure)


def plot_angles(path: Path, analysis: TrackAnalysis, fps: float) -> None:
    """Angles of PLOTTED_ANGLES over time (s) for one track."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(9, 4.5))
    times = analysis.series.frames / fps
    for name in PLOTTED_ANGLES:
        axes.plot(times, analysis.angles[name], label=name.replace("_", " "), linewidth=1.2)
    axes.set(xlabel="time (s)", ylabel="angle (deg)", title=f"track {analysis.series.track_id}: joint angles",
             xlim=(times[0] - 0.5 / fps, times[-1] + 0.5 / fps))
    axes.grid(alpha=0.3)
    if any(np.isfinite(analysis.angles[name]).any() for name in PLOTTED_ANGLES):
        axes.legend(fontsize=7, ncol=2, loc="upper right")
    else:
        axes.text(0.5, 0.5, "no angle defined: the joints they need are never seen", transform=axes.transAxes,
                  ha="center", va="center")
    figure.tight_layout()
    _save(figure, path)


def plot_timeline(path: Path, analyses: list[TrackAnalysis], fps: float, frame_count: int) -> None:
    """One bar per track where it is seen; gaps (frames it is not seen between sightings) are hatched."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(9, 0.8 + 0.35 * max(len(analyses), 1)))
    for row, analysis in enumerate(analyses):
        series = analysis.series
        colour = _colour(series.track_id)
        spans = _spans(series.present)
        seen = [((series.first + start) / fps, (stop - start) / fps) for start, stop, on in spans if on]
        gaps = [((series.first + start) / fps, (stop - start) / fps) for start, stop, on in spans if not on]
        axes.broken_barh(seen, (row - 0.35, 0.7), facecolors=colour)
        if gaps:
            axes.broken_barh(gaps, (row - 0.35, 0.7), facecolors="none", edgecolors=colour, hatch="///",
                             linewidth=0.5)
    axes.set_yticks(range(len(analyses)), [str(a.series.track_id) for a in analyses])
    axes.set(xlim=(0, max(frame_count, 1) / fps), ylim=(-0.7, len(analyses) - 0.3), xlabel="time (s)",
             ylabel="track", title="tracks over time (hatched: gaps)")
    axes.invert_yaxis()
    figure.tight_layout()
    _save(figure, path)


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
    figure, axes = pyplot.subplots(figsize=(9, 9 * height / width))
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
    if analyses:
        axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    _save(figure, path)
