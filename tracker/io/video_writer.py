"""The annotated-video writer: RGB frames in, an MP4 that appears whole under its name, or not at all.

The codec is H.264 (avc1), which browsers play, where this OpenCV build can encode it; otherwise
MPEG-4 Part 2 (mp4v), said in one log line per process.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from common.files import atomic_path
from common.stderr import silenced_stderr
from tracker.errors import TrackerError

log = logging.getLogger(__name__)
_codec_that_opened: list[str] = []  # filled by the first writer: the probe runs once per process


def _open_writer(path: Path, fps: float, size: tuple[int, int]) -> tuple[cv2.VideoWriter, str]:
    """Open a VideoWriter with H.264 (avc1) where this OpenCV build can, else MPEG-4 Part 2 (mp4v)."""
    for code in _codec_that_opened or ["avc1", "mp4v"]:
        with silenced_stderr():
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*code), fps, size)
        if writer.isOpened():
            if code != "avc1" and not _codec_that_opened:
                log.info("this OpenCV build cannot encode H.264 (avc1); videos are MPEG-4 Part 2 (mp4v), "
                         "which some browsers do not play")
            _codec_that_opened[:] = [code]
            return writer, code
        writer.release()
    raise TrackerError(f"OpenCV cannot write an MP4 video at {path} (neither avc1 nor mp4v opened); "
                       "check that the output folder is writable and OpenCV has FFmpeg support.")


class VideoWriter:
    """Writes RGB frames to an MP4 that appears under `path` only when `close()` succeeds.

    Use as a context manager: leaving the block with an exception leaves no file behind.
    """

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int):
        self.path = Path(path)
        self.size = (int(width), int(height))
        self.fps = float(fps) if fps > 0 else 30.0
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._writer: cv2.VideoWriter | None = None
        self.codec = ""

    def __enter__(self) -> VideoWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._writer, self.codec = _open_writer(tmp, self.fps, self.size)
        return self

    def write(self, image_rgb: np.ndarray) -> None:
        """Append one uint8 HxWx3 RGB frame of the writer's size."""
        if image_rgb.shape[1::-1] != self.size:
            raise TrackerError(f"frame of size {image_rgb.shape[1]}x{image_rgb.shape[0]} does not match the "
                               f"video's {self.size[0]}x{self.size[1]}.")
        if self._writer is None:
            raise RuntimeError("VideoWriter.write is called outside its `with` block.")
        self._writer.write(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def __exit__(self, kind, error, trace) -> None:
        if self._writer is not None:
            self._writer.release()
        self._stack.__exit__(kind, error, trace)
