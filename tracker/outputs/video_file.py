"""The annotated video of a tracked video: each frame drawn (skeletons, boxes, ids, trails, overlay) and appended."""
from __future__ import annotations

import contextlib
from pathlib import Path

import cv2
import numpy as np

from pose.skeleton import KeypointSet
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.video import VideoInfo
from tracker.io.video_writer import VideoWriter
from tracker.outputs.render import Renderer, RenderOptions


class VideoOutput:
    """Draws each frame's tracks and writes the MP4, which appears under `path` when the block ends without an error.

    The encoder keeps frames it has not written yet, so a frame cannot be taken back (`rolls_back`)."""

    unit = "frames"
    rolls_back = False

    _writer: VideoWriter  # from __enter__ on

    def __init__(self, path: Path, info: VideoInfo, keypoint_set: KeypointSet, keypoint_threshold: float,
                 timer: StageTimer, render: RenderOptions | None = None):
        self.path = path
        self.info = info
        self.keypoint_set = keypoint_set
        self.keypoint_threshold = keypoint_threshold
        self.timer = timer
        self._stack = contextlib.ExitStack()
        self._last_canvas: np.ndarray | None = None
        self._renderer = Renderer(keypoint_set, keypoint_threshold, render or RenderOptions())

    def __enter__(self) -> VideoOutput:
        self._writer = self._stack.enter_context(VideoWriter(self.path, self.info.fps, self.info.width,
                                                             self.info.height))
        return self

    def add_written(self, path: Path) -> int:
        """Start with the frames of the video an interrupted earlier run wrote (decoded and encoded again)."""
        reader = cv2.VideoCapture(str(path))
        count = 0
        try:
            while True:
                ok, bgr = reader.read()
                if not ok:
                    break
                self._last_canvas = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                self._writer.write(self._last_canvas)
                count += 1
        finally:
            reader.release()
        return count

    def held(self) -> int:
        """Frames written so far."""
        return self._writer.frames

    @staticmethod
    def room_needed() -> int:
        """Bytes finishing takes on disk beyond the frames written: the MP4's small index only."""
        return 0

    def drop_last(self) -> None:
        """Not possible (`rolls_back` is False): the encoder has taken the frame."""
        raise TrackerError(f"{self.path.name} cannot take back a frame it encoded")

    def add(self, result: FrameResult) -> None:
        """Draw and append one frame."""
        with self.timer("render"):
            canvas = self._render(result)
        with self.timer("write"):
            self._writer.write(canvas)

    def _render(self, result: FrameResult) -> np.ndarray:
        if result.image is None:  # an undecodable frame: repeat the last picture to keep the timing
            if self._last_canvas is None:
                return np.zeros((self.info.height, self.info.width, 3), np.uint8)
            return self._last_canvas
        self._last_canvas = self._renderer.draw(result.image, result.poses, result.boxes, result.ids, result.index,
                                                result.time)
        return self._last_canvas

    def __exit__(self, kind, error, trace) -> bool | None:
        return self._stack.__exit__(kind, error, trace)
