"""The analysis CSV of a tracked video: one row per joint per person per frame, streamed as frames come.

Each frame's rows are written in one piece, or not at all: a write that fails (a full disk) is cut off
again, so the file keeps whole frames, and the frames done before can still be finished.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from pathlib import Path
from typing import IO

import numpy as np

from common.files import atomic_open
from pose.skeleton import KeypointSet
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.outputs.joint_angles import joint_angles
from tracker.outputs.smoothing import PoseSmoother

HEADER = ["frame", "time", "track_id", "joint", "x", "y", "score"]


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2f}"


class CsvOutput:
    """Writes `path` frame by frame; it appears under its name when the block ends without an error.

    `held()` counts its rows (a frame without persons has none), which is what `--resume` checks again."""

    unit = "rows"
    rolls_back = True  # a failed frame leaves nothing of itself

    def __init__(self, path: Path, keypoint_set: KeypointSet, keypoint_threshold: float,
                 smoother: PoseSmoother | None = None, timer: StageTimer | None = None):
        self.path = path
        self.keypoint_set = keypoint_set
        self.keypoint_threshold = keypoint_threshold
        self.smoother = smoother
        self.timer = timer or StageTimer()
        self._stack = contextlib.ExitStack()
        self._file: IO[bytes]
        self._size = 0
        self._rows = 0
        self._before_last: tuple[int, int] | None = None  # bytes and rows before the last frame

    def __enter__(self) -> CsvOutput:
        self._file = self._stack.enter_context(atomic_open(self.path, "wb", buffering=0))
        self._append(self._lines([self._header()]))
        return self

    def add_written(self, path: Path) -> int:
        """Start with the rows an interrupted earlier run wrote to `path` (same columns), byte for byte; returns
        how many rows it holds."""
        data = path.read_bytes()
        first, _, rows = data.partition(b"\r\n")
        if first.decode("utf-8", "replace") != ",".join(self._header()):
            raise TrackerError(f"{path} has other columns than this run writes (--smooth differs?); "
                               "resume with the options of the first run.")
        count = sum(1 for _ in csv.reader(io.StringIO(rows.decode("utf-8"), newline="")))
        self._append(rows)
        self._rows += count
        return count

    @staticmethod
    def room_needed() -> int:
        """Bytes finishing takes on disk: none, the file is renamed."""
        return 0

    def held(self) -> int:
        """Rows written so far (the header not counted)."""
        return self._rows

    def _header(self) -> list[str]:
        return [*HEADER, *(["x_smooth", "y_smooth"] if self.smoother else []), "angle_deg"]

    @staticmethod
    def _lines(rows: list[list]) -> bytes:
        """Rows as CSV bytes (`csv` quoting, CRLF line ends, UTF-8)."""
        text = io.StringIO(newline="")
        csv.writer(text).writerows(rows)
        return text.getvalue().encode("utf-8")

    def _append(self, data: bytes) -> None:
        """Write `data` at the end of the file, all of it, or (raising the OSError) none of it."""
        try:
            view = memoryview(data)
            while view:
                view = view[self._file.write(view) or 0:]
        except OSError:
            os.ftruncate(self._file.fileno(), self._size)
            self._file.seek(self._size)
            raise
        self._size += len(data)

    def add(self, result: FrameResult) -> None:
        """The rows of one frame, all written or none."""
        with self.timer("write"):
            poses = result.poses
            smoothed = self.smoother.step(poses, result.ids) if self.smoother else None
            angles = joint_angles(poses if smoothed is None else np.concatenate([smoothed, poses[:, :, 2:]], axis=2),
                                  self.keypoint_set, self.keypoint_threshold)
            rows = []
            for person, track_id in enumerate(result.ids.tolist()):
                for joint, joint_name in enumerate(self.keypoint_set.joints):
                    x, y, score = poses[person, joint].tolist()
                    row = [result.index, f"{result.time:.4f}", track_id, joint_name,
                           f"{x:.2f}", f"{y:.2f}", f"{score:.4f}"]
                    if smoothed is not None:
                        row += [f"{smoothed[person, joint, 0]:.2f}", f"{smoothed[person, joint, 1]:.2f}"]
                    row.append(_number(angles[person, joint]))
                    rows.append(row)
            before = (self._size, self._rows)
            self._append(self._lines(rows))
            self._rows += len(rows)
            self._before_last = before

    def drop_last(self) -> None:
        """Take back the rows of the frame `add` wrote last (another output could not write it)."""
        if self._before_last is None:
            raise ValueError("drop_last takes back one frame that add wrote")
        self._size, self._rows = self._before_last
        os.ftruncate(self._file.fileno(), self._size)
        self._file.seek(self._size)
        self._before_last = None

    def __exit__(self, kind, error, trace) -> bool:
        return bool(self._stack.__exit__(kind, error, trace))
