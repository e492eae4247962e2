"""The annotated-video writer: RGB frames in, an H.264 MP4 that appears whole under its name, or not at all.

Videos are written through PyAV (FFmpeg's libx264, bundled in its wheels): H.264, yuv420p, the
input's frame rate, constant-quality `crf`, and the index at the front of the file (faststart),
so every browser plays them and starts before the whole file is loaded. Without PyAV or libx264,
OpenCV writes MPEG-4 Part 2 (mp4v) instead, said in one log line per process.

A writer can continue an earlier MP4 (`--resume`): its packets are copied as they are (no decoding,
no encoding) in front of the new frames, so the frames done before an interruption stay bit for bit.
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from common.files import atomic_path
from common.stderr import silenced_stderr
from tracker.errors import TrackerError

log = logging.getLogger(__name__)
DEFAULT_CRF = 23  # libx264's own default: visually clean at a tenth of the raw size
_warned_fallback: list[bool] = []  # one log line per process when OpenCV writes instead of PyAV


def even_size(width: int, height: int) -> tuple[int, int]:
    """The encoded size: yuv420p halves the colour planes, so H.264 needs even sides; odd ones grow by one."""
    return width + width % 2, height + height % 2


def pad_even(image: np.ndarray) -> np.ndarray:
    """The image with its last column and/or row repeated once where width or height is odd (nothing is cut)."""
    height, width = image.shape[:2]
    if width % 2 == 0 and height % 2 == 0:
        return image
    return np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _rate(fps: float) -> Fraction:
    """The frame rate as a fraction a container stores exactly (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001)


class _Encoder(Protocol):
    codec: str

    def write(self, image_rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...


def pyav_h264() -> bool:
    """Whether PyAV is installed with FFmpeg's libx264 encoder."""
    try:
        import av
    except ImportError:
        return False
    return "libx264" in av.codecs_available


class _PyAVEncoder:
    """H.264 through PyAV: yuv420p, constant quality `crf`, faststart."""

    codec = "h264"

    def __init__(self, path: Path, fps: float, size: tuple[int, int], crf: int):
        import av

        self._av = av
        self._container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream("libx264", rate=_rate(fps))
            self._stream.width, self._stream.height = size
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(crf)}
            self._stream.codec_context.open()  # fails here, named, when the encoder refuses the size
        except (av.FFmpegError, ValueError):
            self._container.close()
            raise TrackerError(f"the H.264 encoder cannot take a {size[0]}x{size[1]} video; pass "
                               "--no-video to track without the annotated video.") from None
        self._frames = 0

    def write(self, image_rgb: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image_rgb), format="rgb24")
        frame.pts = self._frames
        self._frames += 1
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()


class _OpenCVEncoder:
    """MPEG-4 Part 2 (mp4v) through OpenCV, for machines without PyAV's libx264."""

    codec = "mp4v"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        with silenced_stderr():
            self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            self._writer.release()
            raise TrackerError(f"the MPEG-4 encoder cannot take a {size[0]}x{size[1]} video at {path}; pass "
                               "--no-video to track without the annotated video.")

    def write(self, image_rgb: np.ndarray) -> None:
        self._writer.write(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()


def _open_encoder(path: Path, fps: float, size: tuple[int, int], crf: int) -> _Encoder:
    if pyav_h264():
        return _PyAVEncoder(path, fps, size, crf)
    if not _warned_fallback:
        log.info("PyAV with libx264 is not installed (pip install av); videos are MPEG-4 Part 2 (mp4v), "
                 "which browsers do not play")
        _warned_fallback.append(True)
    return _OpenCVEncoder(path, fps, size)


def count_frames(path: Path) -> int:
    """Frames in an MP4, counted from its packets (nothing is decoded) where PyAV is installed; 0 for a file that
    is missing, damaged or holds no video."""
    if pyav_h264():
        import av

        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                return sum(1 for packet in container.demux(stream) if packet.size)
        except (av.FFmpegError, OSError, IndexError):
            return 0
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return count


def last_frame(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The last frame of an MP4 as uint8 RGB of `size` (width, height; the padding of odd sides cut), None if empty."""
    capture = cv2.VideoCapture(str(path))
    last = None
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            last = bgr
    finally:
        capture.release()
    return None if last is None else cv2.cvtColor(last[:size[1], :size[0]], cv2.COLOR_BGR2RGB)


def join_videos(parts: list[Path], target: Path) -> None:
    """Write the MP4s `parts` one after another into `target` by stream copy: packets as they are, times shifted.

    The parts must come from the same encoder settings (size, rate, codec parameters); TrackerError otherwise.
    """
    import av

    with av.open(str(parts[0])) as first:
        template = first.streams.video[0]
        with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream_from_template(template)
            offset = 0
            for part in parts:
                offset = _copy_packets(part, template, stream, out, offset)


def _copy_packets(part: Path, template: Any, stream: Any, out: Any, offset: int) -> int:
    """Mux every packet of `part` into `out` shifted by `offset` (in the stream's time base); returns the next
    offset."""
    import av

    end = offset
    with av.open(str(part)) as source:
        video = source.streams.video[0]
        if (video.codec_context.extradata != template.codec_context.extradata
                or video.time_base != template.time_base):
            raise TrackerError(f"{part} was encoded with other settings than the video it continues; "
                               "run again without --resume.")
        for packet in source.demux(video):
            if packet.dts is None or packet.pts is None:  # the demuxer's empty packet at the end
                continue
            packet.pts, packet.dts = packet.pts + offset, packet.dts + offset
            end = max(end, packet.pts + (packet.duration or 0))
            packet.stream = stream
            try:
                out.mux(packet)
            except av.FFmpegError as error:
                raise TrackerError(f"{part} cannot be appended to the video it continues ({error}); "
                                   "run again without --resume.") from None
    return end


class VideoWriter:
    """Writes RGB frames to an MP4 that appears under `path` only when `close()` succeeds.

    Use as a context manager: leaving the block with an exception leaves no file behind (and an
    earlier file under `path` as it was). `crf`: H.264 constant quality, 0 (lossless) to 51 (worst).
    Odd widths or heights are padded to even by repeating the last column or row (yuv420p needs
    even sides), so such a video is one pixel wider or taller than its frames; nothing is cropped.
    `continues`: an MP4 this writer wrote before (a resumed run), whose frames come first, copied as they are.
    """

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, *, crf: int = DEFAULT_CRF,
                 continues: Path | None = None):
        self.path = Path(path)
        self.size = (int(width), int(height))
        self.fps = float(fps) if fps > 0 else 30.0
        self.crf = crf
        self.continues = continues
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._encoder: _Encoder | None = None
        self._final: Path | None = None  # the temporary file that becomes `path`
        self._segment: Path | None = None  # where the new frames are encoded (`_final`, unless continuing)
        self.codec = ""

    def __enter__(self) -> VideoWriter:
        with self._stack:
            self._final = self._stack.enter_context(atomic_path(self.path))
            if self.continues is not None and not pyav_h264():
                raise TrackerError("continuing a video without re-encoding needs PyAV (pip install av); "
                                   "run again without --resume, or with --no-video.")
            self._segment = self._final if self.continues is None else self._stack.enter_context(_temporary(self.path))
            self._encoder = _open_encoder(self._segment, self.fps, even_size(*self.size), self.crf)
            self.codec = self._encoder.codec
            self._stack = self._stack.pop_all()
        return self

    def write(self, image_rgb: np.ndarray) -> None:
        """Append one uint8 HxWx3 RGB frame of the writer's size."""
        if image_rgb.shape[1::-1] != self.size:
            raise TrackerError(f"frame of size {image_rgb.shape[1]}x{image_rgb.shape[0]} does not match the "
                               f"video's {self.size[0]}x{self.size[1]}.")
        if self._encoder is None:
            raise RuntimeError("VideoWriter.write is called outside its with-block")
        self._encoder.write(pad_even(image_rgb))
        self.frames += 1

    def __exit__(self, kind, error, trace) -> None:
        try:
            if self._encoder is not None:
                self._encoder.close()
            if kind is None and self.continues is not None and self._segment is not None and self._final is not None:
                join_videos([self.continues, self._segment] if self.frames else [self.continues], self._final)
        except BaseException as failure:  # nothing is kept: the temporary files go, an earlier video stays
            self._stack.__exit__(type(failure), failure, failure.__traceback__)
            raise
        self._stack.__exit__(kind, error, trace)


@contextlib.contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, named like atomic_path's (so a killed run's leftover is found), removed after."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


class ImageWriter:
    """The drawing of a one-image input: written as an image (its format from `path`'s suffix) when the block
    ends without an error; `write` takes the one uint8 HxWx3 RGB frame. The same use as VideoWriter."""

    continues = None

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.frames = 0
        self._image: np.ndarray | None = None

    def __enter__(self) -> ImageWriter:
        return self

    def write(self, image_rgb: np.ndarray) -> None:
        """Keep the frame (a later one replaces it)."""
        self._image = image_rgb
        self.frames += 1

    def __exit__(self, kind, error, trace) -> None:
        if kind is not None or self._image is None:
            return
        with atomic_path(self.path) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(self._image, cv2.COLOR_RGB2BGR)):
                raise TrackerError(f"OpenCV could not write the image {self.path}.")
