"""The analysis CSV of a tracked video: one row per joint per person per frame, streamed as frames come."""
from __future__ import annotations

import contextlib
import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from common.files import atomic_open
from pose.skeleton import KeypointSet
from tracker.core.pipeline import FrameResult
from tracker.errors import TrackerError
from tracker.outputs.joint_angles import joint_angles
from tracker.outputs.smoothing import PoseSmoother

if TYPE_CHECKING:
    from _csv import Writer

HEADER = ["frame", "time", "track_id", "joint", "x", "y", "score"]


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2f}"


class CsvOutput:
    """Writes `path` row by row; it appears under its name when the block ends without an error."""

    _rows: Writer  # from __enter__ on

    def __init__(self, path: Path, keypoint_set: KeypointSet, keypoint_threshold: float,
                 smoother: PoseSmoother | None = None):
        self.path = path
        self.keypoint_set = keypoint_set
        self.keypoint_threshold = keypoint_threshold
        self.smoother = smoother
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> CsvOutput:
        handle = self._stack.enter_context(atomic_open(self.path, "w", encoding="utf-8", newline=""))
        self._rows = csv.writer(handle)
        self._rows.writerow(self._header())
        return self

    def add_written(self, path: Path) -> int:
        """Start with the rows an interrupted earlier run wrote to `path` (same columns); returns their frames."""
        with open(path, newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            if next(rows, None) != self._header():
                raise TrackerError(f"{path} has other columns than this run writes (--smooth differs?); "
                                   "resume with the options of the first run.")
            frames = set()
            for row in rows:
                self._rows.writerow(row)
                frames.add(row[0])
        return len(frames)

    def _header(self) -> list[str]:
        return [*HEADER, *(["x_smooth", "y_smooth"] if self.smoother else []), "angle_deg"]

    def add(self, result: FrameResult) -> None:
        """The rows of one frame."""
        poses = result.poses
        smoothed = self.smoother.step(poses, result.ids) if self.smoother else None
        angles = joint_angles(poses if smoothed is None else np.concatenate([smoothed, poses[:, :, 2:]], axis=2),
                              self.keypoint_set, self.keypoint_threshold)
        for person, track_id in enumerate(result.ids.tolist()):
            for joint, joint_name in enumerate(self.keypoint_set.joints):
                x, y, score = poses[person, joint].tolist()
                row = [result.index, f"{result.time:.4f}", track_id, joint_name,
                       f"{x:.2f}", f"{y:.2f}", f"{score:.4f}"]
                if smoothed is not None:
                    row += [f"{smoothed[person, joint, 0]:.2f}", f"{smoothed[person, joint, 1]:.2f}"]
                row.append(_number(angles[person, joint]))
                self._rows.writerow(row)

    def __exit__(self, kind, error, trace) -> bool | None:
        return self._stack.__exit__(kind, error, trace)
