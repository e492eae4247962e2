"""The annotated video of a tracked video: each frame drawn (skeletons, boxes, ids, trails, overlay) and appended."""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from pose.skeleton import KeypointSet
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.video import VideoInfo, is_image
from tracker.io.video_writer import DEFAULT_CRF, ImageWriter, VideoWriter, count_frames, last_frame
from tracker.outputs.render import Renderer, RenderOptions


def drawing_path(out_dir: Path, name: str, source: Path) -> Path:
    """Where the drawn frames go: NAME.mp4, or for a one-image input NAME.png (a PNG input) or NAME.jpg."""
    if is_image(source):
        return out_dir / f"{name}{'.png' if source.suffix.lower() == '.png' else '.jpg'}"
    return out_dir / f"{name}.mp4"


class VideoOutput:
    """Draws each frame's tracks and writes the MP4, which appears under `path` when the block ends without an error.

    `resume`: continue the MP4 an interrupted run left under `path`: its frames are kept as they are
    (copied, not encoded again) and the new ones follow. Trails (`--trail`) start anew at that point.
    The encoder keeps frames it has not written yet, so a frame cannot be taken back (`rolls_back`).
    """

    unit = "frames"
    rolls_back = False

    def __init__(self, path: Path, info: VideoInfo, keypoint_set: KeypointSet, keypoint_threshold: float,
                 timer: StageTimer, render: RenderOptions | None = None, *, crf: int = DEFAULT_CRF,
                 resume: bool = False):
        self.path = path
        self.info = info
        self.keypoint_set = keypoint_set
        self.keypoint_threshold = keypoint_threshold
        self.timer = timer
        self.crf = crf
        self.resume = resume
        self._stack = contextlib.ExitStack()
        self._writer: VideoWriter | ImageWriter | None = None
        self._last_canvas: np.ndarray | None = None
        self._earlier = 0  # frames of the video continued (a resumed run)
        self._renderer = Renderer(keypoint_set, keypoint_threshold, render or RenderOptions())

    def __enter__(self) -> VideoOutput:
        if self.path.suffix != ".mp4":  # one image in, its drawing out as an image (drawing_path)
            self._writer = self._stack.enter_context(ImageWriter(self.path))
            return self
        self._writer = self._stack.enter_context(VideoWriter(
            self.path, self.info.fps, self.info.width, self.info.height, crf=self.crf,
            continues=self.path if self.resume and self.path.is_file() else None))
        return self

    def add_written(self, path: Path) -> int:
        """The frames of the video an interrupted earlier run wrote, which this one continues (0 when there is none)."""
        self._earlier = count_frames(path) if self._continues() is not None else 0
        return self._earlier

    def held(self) -> int:
        """Frames the video holds so far: those continued and those written."""
        return self._earlier + self._opened().frames

    def room_needed(self) -> int:
        """Bytes finishing takes on disk beyond the frames written: the MP4's small index, and the continued video's
        size (joining copies it into the new file)."""
        earlier = self._continues()
        return earlier.stat().st_size if earlier is not None and earlier.is_file() else 0

    def drop_last(self) -> None:
        """Not possible (`rolls_back` is False): the encoder has taken the frame."""
        raise TrackerError(f"{self.path.name} cannot take back a frame it encoded")

    def add(self, result: FrameResult) -> None:
        """Draw and append one frame."""
        with self.timer("render"):
            canvas = self._render(result)
        with self.timer("write"):
            self._opened().write(canvas)

    def _render(self, result: FrameResult) -> np.ndarray:
        if result.image is None:  # an undecodable frame: repeat the last picture to keep the timing
            earlier = self._continues()
            if self._last_canvas is None and earlier is not None:
                self._last_canvas = last_frame(earlier, (self.info.width, self.info.height))
            if self._last_canvas is None:
                return np.zeros((self.info.height, self.info.width, 3), np.uint8)
            return self._last_canvas
        self._last_canvas = self._renderer.draw(result.image, result.poses, result.boxes, result.ids, result.index,
                                                result.time)
        return self._last_canvas

    def _opened(self) -> VideoWriter | ImageWriter:
        if self._writer is None:
            raise RuntimeError("VideoOutput is used outside its with-block")
        return self._writer

    def _continues(self) -> Path | None:
        """The earlier video this one continues (a resumed run), else None."""
        return self._opened().continues

    def __exit__(self, kind, error, trace) -> bool | None:
        return self._stack.__exit__(kind, error, trace)
