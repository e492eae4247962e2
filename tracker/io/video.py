"""Frames in and frames out: a video file or an image folder read ahead in a thread, and the writer.

Frames leave this module as uint8 HxWx3 **RGB** arrays (OpenCV's BGR is converted where it enters
and where it leaves). A video file is opened with decord (exact frame count and fps from its
packet index; a file that is no video fails here) and decoded in order by OpenCV; without decord
(no wheel off x86_64) OpenCV alone opens it. Reading happens in one prefetch thread that fills a
bounded queue, so decoding overlaps the model and memory stays flat however long the video is.
"""
from __future__ import annotations

import contextlib
import glob as globlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

from common.stderr import silenced_stderr
from tracker.errors import TrackerError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# Frames the prefetch thread may decode ahead of the pipeline (each 1280x720 frame is 2.8 MB).
DEFAULT_PREFETCH = 8


@dataclass(frozen=True)
class VideoInfo:
    """What a source knows before reading: frame count, size (pixels) and frames per second, and the
    frame count of the whole video when the source takes only some of its frames (`--stride`)."""

    num_frames: int
    width: int
    height: int
    fps: float
    video_frames: int | None = None


@dataclass(frozen=True)
class VideoFrame:
    """One frame of a source: its index in the source, time in seconds and the RGB image.

    `image` is None when that frame failed to decode; the index still counts, so numbering holds.
    `name` is the image file name for folders and None for video files.
    """

    index: int
    time: float
    image: np.ndarray | None
    name: str | None = None


class _Undecodable(Exception):
    """One frame the decoder gave no image for (OpenCV returns None or False); the video goes on."""


class _Reader:
    """Random access to frames by index; subclasses open one kind of source."""

    info: VideoInfo

    def read(self, index: int) -> np.ndarray:
        """Decode frame `index` as uint8 HxWx3 RGB; `_Undecodable` when the decoder gives no image."""
        raise NotImplementedError

    def name(self, index: int) -> str | None:
        """The file name of frame `index` (folders) or None (video files)."""
        return None

    def close(self) -> None:
        """Let go of the file, camera or connection (nothing to do for image files)."""


_warned_no_decord = False


def _library_lines_hidden() -> contextlib.AbstractContextManager:
    """FFmpeg's and decord's own lines kept off stderr while a file is opened, unless debug logging is on
    (--debug); the user gets our one sentence instead. Opening runs before the reading thread starts,
    so no line of ours is lost with them."""
    return contextlib.nullcontext() if log.isEnabledFor(logging.DEBUG) else silenced_stderr()


def _unopenable(path: Path) -> str:
    return f"{path} could not be opened as a video (it is not a video file, or it is damaged)."


def _probe_decord(path: Path) -> VideoInfo | None:
    """Exact frame count, size and fps from decord's packet index; None where decord is not installed.

    Frames are not decoded with decord: its decoding thread runs ahead of a slow consumer without
    bound (dmlc/decord issues 157 and 304; measured here: a 500-frame clip read at HRNet's pace held
    about 1 GB of decoded frames), which would make memory grow with the video.
    """
    global _warned_no_decord
    try:
        import decord  # decord ships wheels for x86_64 only
    except ImportError:
        if not _warned_no_decord:
            log.warning("decord is not installed on this machine; reading videos with OpenCV alone")
            _warned_no_decord = True
        return None
    try:
        with _library_lines_hidden():
            video = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
            info = VideoInfo(len(video), 0, 0, float(video.get_avg_fps()))
            if info.num_frames:
                height, width = video[0].shape[:2]
                info = VideoInfo(info.num_frames, int(width), int(height), info.fps)
    except (decord.DECORDError, RuntimeError):
        raise TrackerError(_unopenable(path)) from None
    del video
    return info


class _OpenCVReader(_Reader):
    """Frames decoded in order by OpenCV (FFmpeg); memory is one frame whatever the video's length.

    `info` (from decord's probe, exact) replaces OpenCV's container-estimated frame count when given.
    Reading forward skips frames with grab(); going back seeks.
    """

    def __init__(self, path: Path, info: VideoInfo | None = None):
        with _library_lines_hidden():
            self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise TrackerError(_unopenable(path))
        self._next = 0
        self.info = info or VideoInfo(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                                      int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                      int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                      float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0))

    def read(self, index: int) -> np.ndarray:
        if index < self._next:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
        while self._next < index:
            self._capture.grab()
            self._next += 1
        self._next = index + 1
        ok, bgr = self._capture.read()
        if not ok:
            raise _Undecodable(f"the decoder returned no image for frame {index}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class _ImagesReader(_Reader):
    """Image files in the order given: a folder's in sorted name order (the PoseTrack layout), a glob's
    matches, one image, or the frames a PoseTrack ground truth lists.

    The first readable image sets the size (unreadable ones before it are skipped when their turn
    comes); an image of another size is resized to it, with a warning naming the file.
    """

    def __init__(self, files: list[Path], fps: float):
        self._files = files
        width = height = 0
        for file in self._files:
            first = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if first is not None:
                height, width = first.shape[:2]
                break
        self.info = VideoInfo(len(self._files), width, height, float(fps))

    def read(self, index: int) -> np.ndarray:
        file = self._files[index]
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise _Undecodable(f"{file.name} is not a readable image")
        size = (self.info.width, self.info.height)
        if (bgr.shape[1], bgr.shape[0]) != size:
            log.warning("%s is %dx%d, unlike the %dx%d of the folder's first readable image; resizing it to that size",
                        file.name, bgr.shape[1], bgr.shape[0], *size)
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def name(self, index: int) -> str:
        return self._files[index].name


class _StreamReader(_Reader):
    """A webcam or a stream URL read frame after frame by OpenCV; no frame count (`num_frames` 0) and no
    going back. The stream's end (or a lost connection) ends the video."""

    def __init__(self, where: int | str):
        with _library_lines_hidden():
            self._capture = cv2.VideoCapture(where)
        if not self._capture.isOpened():
            kind = "the webcam" if isinstance(where, int) else "the stream"
            raise TrackerError(f"{kind} {where} could not be opened; check that it is connected and not in use.")
        self._first: tuple[bool, np.ndarray] | None = self._capture.read()
        height, width = self._first[1].shape[:2] if self._first[0] else (0, 0)
        self.info = VideoInfo(0, width, height, float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0))

    def read(self, index: int) -> np.ndarray:
        ok, bgr = self._first if self._first is not None else self._capture.read()
        self._first = None
        if not ok:
            raise _EndOfStream()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class _EndOfStream(Exception):
    """The stream gave no more frames."""


STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://")
GLOB_CHARACTERS = "*?["
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def is_stream(source: str) -> bool:
    """A webcam index (`0`) or a stream URL, which OpenCV reads frame after frame."""
    return source.isdigit() or source.lower().startswith(STREAM_PREFIXES)


def stream_name(source: str) -> str:
    """The output name of a stream: `webcam0`, or the URL's last path part (else its host)."""
    if source.isdigit():
        return f"webcam{source}"
    url = urlsplit(source)
    return Path(url.path).stem or (url.hostname or "stream").replace(".", "_")


def glob_files(pattern: str) -> list[Path]:
    """The image files a glob matches, sorted by name."""
    return sorted(Path(match) for match in globlib.glob(pattern) if Path(match).suffix.lower() in IMAGE_SUFFIXES)


def glob_folder(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard (it names the outputs)."""
    parts = Path(pattern).parts
    fixed = next(index for index, part in enumerate(parts) if any(c in part for c in GLOB_CHARACTERS))
    return Path(*parts[:fixed]) if fixed else Path.cwd()


def folder_entries(path: Path) -> list[Path]:
    """The entries of a folder in name order; TrackerError naming it when it cannot be read (no permission)."""
    try:
        return sorted(path.iterdir())
    except OSError as error:
        raise TrackerError(f"cannot read the folder {path}: {error.strerror}.") from None


def expand_inputs(inputs: list[str]) -> list[str]:
    """The videos the inputs name: a folder holding videos (and no images) gives each of its videos, in name
    order; every other input stands for itself."""
    videos = []
    for source in inputs:
        path = Path(source)
        if not is_stream(source) and path.is_dir():
            files = folder_entries(path)
            if not any(file.suffix.lower() in IMAGE_SUFFIXES for file in files):
                found = [str(file) for file in files if file.suffix.lower() in VIDEO_SUFFIXES]
                if found:
                    videos.extend(found)
                    continue
        videos.append(source)
    return videos


def check_input(source: str) -> Path:
    """Open `source` as the tracker will, then close it; returns the path that names its outputs.
    TrackerError naming it when it cannot be opened."""
    opened = VideoSource(source, prefetch=1)
    opened.close()
    return opened.path


class VideoSource:
    """Frames `start, start+stride, ... < end` of a video file or image folder, read ahead in a thread.

    Iterate it (once) to get `VideoFrame`s in order. A frame that fails to decode comes out with
    `image=None` after a logged warning. `folder_fps` is the frame rate assumed for image folders.
    """

    def __init__(self, path: str | os.PathLike, *, start: int = 0, end: int | None = None, stride: int = 1,
                 prefetch: int = DEFAULT_PREFETCH, folder_fps: float = 30.0, files: list[Path] | None = None):
        if stride < 1 or start < 0 or (end is not None and end <= start):
            raise TrackerError(f"the frame range start={start}, end={end}, stride={stride} is empty or invalid; "
                               "use 0 <= --start < --end and --stride >= 1.")
        self.path, self._reader = _open(str(path), folder_fps, files)
        self.streaming = isinstance(self._reader, _StreamReader)
        full = self._reader.info
        if full.num_frames == 0 and not self.streaming:
            kind = "image files" if self.path.is_dir() else "frames"
            raise TrackerError(f"{self.path} has no {kind}; give a video with at least one frame.")
        if full.width <= 0 or full.height <= 0:
            raise TrackerError(f"none of the {full.num_frames} images of {self.path} could be read; "
                               "they may be damaged." if isinstance(self._reader, _ImagesReader) else
                               f"the first frame of {self.path} could not be decoded; the file may be damaged.")
        if start >= full.num_frames and not self.streaming:
            raise TrackerError(f"--start {start} is past the last frame of {self.path} ({full.num_frames} frames).")
        stop = (end or sys.maxsize) if self.streaming else full.num_frames if end is None else min(end, full.num_frames)
        self.indices = range(start, stop, stride)
        self.stride = stride
        self.source_info = full
        self._prefetch = max(1, prefetch)
        self.decode_seconds = 0.0  # summed in the prefetch thread

    @property
    def info(self) -> VideoInfo:
        """Frames this source yields (0 for a stream: not known), the image size, and the frame rate of the
        yielded frames."""
        src = self.source_info
        if self.streaming:
            return VideoInfo(0, src.width, src.height, src.fps / self.stride)
        whole = src.num_frames if len(self.indices) != src.num_frames else None
        return VideoInfo(len(self.indices), src.width, src.height, src.fps / self.stride, whole)

    def close(self) -> None:
        """Release a stream or video file now (frames are not read after)."""
        self._reader.close()

    def _decode(self, index: int) -> VideoFrame | None:
        """Frame `index`; None when a stream has ended."""
        seconds = index / self.source_info.fps if self.source_info.fps > 0 else 0.0
        start = time.perf_counter()
        try:
            image = self._reader.read(index)
        except _EndOfStream:
            return None
        except _Undecodable as error:  # one bad frame must not end the video; any other error is a bug
            log.warning("frame %d of %s could not be decoded (%s); skipping it", index, self.path, error)
            image = None
        self.decode_seconds += time.perf_counter() - start
        return VideoFrame(index, seconds, image, self._reader.name(index))

    def __iter__(self) -> Iterator[VideoFrame]:
        yield from self.frames_from(0)

    def frames_from(self, position: int) -> Iterator[VideoFrame]:
        """The frames from the `position`-th this source yields on (a resumed run skips the ones done)."""
        yield from prefetched(self._decode, self.indices[position:], self._prefetch)

    def frame(self, index: int) -> VideoFrame:
        """Frame `index` of the video, decoded now (not through the prefetch thread)."""
        found = self._decode(index)
        if found is None:
            raise TrackerError(f"{self.path} ended before frame {index}.")
        return found


def _open(source: str, fps: float, files: list[Path] | None) -> tuple[Path, _Reader]:
    """The path that names a source's outputs, and its reader; TrackerError naming a source that cannot be opened."""
    if files is not None:
        return Path(source), _ImagesReader(files, fps)
    if is_stream(source):
        return Path(stream_name(source)), _StreamReader(int(source) if source.isdigit() else source)
    if any(character in source for character in GLOB_CHARACTERS) and not Path(source).exists():
        matches = glob_files(source)
        if not matches:
            raise TrackerError(f"{source} matches no image file; quote the pattern so the shell leaves it "
                               "to the tracker, e.g. 'frames/*.jpg'.")
        return glob_folder(source), _ImagesReader(matches, fps)
    path = Path(source)
    if not path.exists():
        raise TrackerError(f"{path} does not exist; give a video file, an image, a folder of frames or videos, "
                           "a glob, a webcam index or a stream URL.")
    if path.is_dir():
        return path, _ImagesReader([p for p in folder_entries(path) if p.suffix.lower() in IMAGE_SUFFIXES], fps)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return path, _ImagesReader([path], fps)
    return path, _OpenCVReader(path, _probe_decord(path))


def prefetched(produce: Callable[[int], VideoFrame | None], indices: range, depth: int) -> Iterator[VideoFrame]:
    """Call `produce` on each index in a daemon thread, `depth` results ahead of the consumer; a None
    result ends the frames (a stream's end).

    Exceptions in the thread re-raise in the consumer; leaving the loop early stops the thread.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for index in indices:
                item = produce(index)
                if item is None:
                    break
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as error:  # handed to the consumer, which re-raises it
            slots.put(error)

    thread = threading.Thread(target=work, name="hrtrack-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                slots.get_nowait()
        thread.join(timeout=5.0)
