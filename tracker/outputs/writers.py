"""What a tracked video leaves behind: annotated MP4, PoseTrack JSON and the analysis CSV.

`VideoOutputs` opens the writers the options ask for (`tracker.outputs.video_file`, `tracker.outputs.posetrack_file`,
`tracker.outputs.csv_file`), all `FrameWriter`s, hands each frame to every one, and finishes them together.
Each writer streams to a temporary file and renames it when finished, so memory stays flat however long the
video, and a file under its final name is always complete. Finishing runs with signals deferred
(`common.signals`), and it also happens on Ctrl-C or SIGTERM: the outputs then hold the frames done.
A write that fails (a full disk) ends the video with the frames before it: the JSON and CSV take that
frame back and are finished; the MP4, whose encoder cannot take a frame back, is given up at once (it is
also the largest), named in `lost`, and a resumed run tracks its frames again.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2

from common.signals import deferred_signals
from pose.skeleton import KeypointSet
from tracker.config import OutputOptions
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.naming import SUFFIXES, output_name, output_path, part_paths
from tracker.io.video import VideoInfo
from tracker.outputs.csv_file import CsvOutput
from tracker.outputs.posetrack_file import PoseTrackOutput
from tracker.outputs.render import RenderOptions
from tracker.outputs.smoothing import PoseSmoother, SmootherState
from tracker.outputs.video_file import VideoOutput
from tracker.posetrack.split import SplitSequence

log = logging.getLogger(__name__)


class FrameWriter(Protocol):
    """One output file of a tracked video, written a frame at a time, as a context manager."""

    path: Path
    unit: str  # what `held` counts: "frames", or the CSV's "rows"
    rolls_back: bool  # a failed `add` leaves nothing of its frame, and `drop_last` takes the last frame back

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: Any, error: Any, trace: Any) -> Any: ...

    def add(self, result: FrameResult) -> None:
        """Write one frame."""

    def add_written(self, path: Path) -> int:
        """Start with what an interrupted earlier run wrote to `path`; returns it counted as `held` counts."""

    def held(self) -> int:
        """What the file holds so far, in `unit`s."""

    def drop_last(self) -> None:
        """Take back the frame `add` wrote last (only where `rolls_back`)."""

    def room_needed(self) -> int:
        """Bytes of disk that finishing the file takes beyond what it holds now."""


@dataclass(frozen=True)
class OutputsState:
    """What the outputs hold after the frames done: per output kind (a key of SUFFIXES) its frames and its count
    in its writer's unit (the CSV counts rows: a frame without persons has none), the outputs lost and why, and
    the CSV smoother's filters (None without --smooth)."""

    held: dict[str, tuple[int, int]]
    lost: dict[str, str]
    smoother: SmootherState | None

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file."""
        return {"held": {kind: list(counts) for kind, counts in self.held.items()}, "lost": self.lost,
                "smoother": None if self.smoother is None else self.smoother.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> OutputsState:
        """The state `to_data` gave."""
        smoother = data["smoother"]
        return cls({kind: (int(frames), int(count)) for kind, (frames, count) in data["held"].items()},
                   {str(kind): str(why) for kind, why in data["lost"].items()},
                   None if smoother is None else SmootherState.from_data(smoother))


def remove_stale_parts(out_dir: Path, name: str) -> list[Path]:
    """Remove the temporary files a killed earlier run of `name` left; returns them."""
    stale = part_paths(out_dir, name)
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.warning("removed %d unfinished file(s) of an earlier run that was killed: %s", len(stale),
                    ", ".join(path.name for path in stale))
    return stale


class VideoOutputs:
    """Writes the outputs of one video into `out_dir` as `<name>.mp4`, `<name>.json`, `<name>.csv`.

    Use as a context manager; call `add` once per processed frame, in order, from frame `frames` on.
    `resume`: what the outputs of an interrupted run hold (after its `resume_frames` frames): they are copied
    in first, and an output it lost starts again from the first frame (so `frames` is 0 then).
    `sequence`: the PoseTrack ground-truth sequence being tracked, whose images the JSON lists.
    """

    def __init__(self, out_dir: Path, source: Path, info: VideoInfo, keypoint_set: KeypointSet,
                 options: OutputOptions, *, keypoint_threshold: float, max_age: int, timer: StageTimer | None = None,
                 render: RenderOptions | None = None, resume: OutputsState | None = None, resume_frames: int = 0,
                 sequence: SplitSequence | None = None):
        self.name = output_name(source)
        self.source = source
        self.out_dir = out_dir
        self.paths = {kind: output_path(out_dir, self.name, kind) for kind in SUFFIXES if getattr(options, kind)}
        if any(path.resolve() == source.resolve() for path in self.paths.values()):
            raise TrackerError(f"the output {source.name} would overwrite the input video; "
                               "choose another folder with -o.")
        timer = timer or StageTimer()
        self._resume = resume
        self._frames = {kind: resume.held[kind][0] if resume is not None and kind in resume.held else 0
                        for kind in self.paths}
        self.frames = min(self._frames.values(), default=resume_frames)
        """Frames done: the next `add` is this frame of the video's range."""
        self.lost: dict[str, str] = {}
        self._smoother = (PoseSmoother(process_noise=options.smoothing_process_noise,
                                       measurement_noise=options.smoothing_measurement_noise,
                                       keypoint_threshold=keypoint_threshold, max_age=max_age)
                          if options.smoothing and "csv" in self.paths else None)
        if self._smoother is not None and resume is not None and resume.smoother is not None and self._frames["csv"]:
            self._smoother.restore(resume.smoother, keypoint_set.num_joints)
        self._writers: dict[str, FrameWriter] = {}
        if "json" in self.paths:
            self._writers["json"] = PoseTrackOutput(
                self.paths["json"], source, self.name, keypoint_set, kpt_thr=options.kpt_thr, layout=options.format,
                width=info.width, height=info.height, nframes=sequence.nframes if sequence else info.video_frames,
                listed=sequence.frames if sequence else None, timer=timer)
        if "csv" in self.paths:
            self._writers["csv"] = CsvOutput(self.paths["csv"], keypoint_set, keypoint_threshold, self._smoother, timer)
        if "video" in self.paths:  # last: when the JSON or CSV cannot write a frame, the video has not taken it
            self._writers["video"] = VideoOutput(self.paths["video"], info, keypoint_set, keypoint_threshold, timer,
                                                 render)
        self._open: dict[str, FrameWriter] = {}
        remove_stale_parts(out_dir, self.name)

    def __enter__(self) -> VideoOutputs:
        try:
            for kind, writer in self._writers.items():
                writer.__enter__()
                self._open[kind] = writer
                if self._frames[kind]:
                    self._carry_over(kind, writer)
        except BaseException as error:
            self._give_up(error)
            if isinstance(error, OSError):
                raise TrackerError(f"cannot write into {error.filename or self.source.name}: {error.strerror}; "
                                   "choose a writable output folder with -o.") from None
            raise
        return self

    def _carry_over(self, kind: str, writer: FrameWriter) -> None:
        """Give `writer` what the interrupted run's file holds; it must be what that run recorded."""
        assert self._resume is not None  # only outputs a resume state lists are carried over
        found, recorded = writer.add_written(writer.path), self._resume.held[kind][1]
        if found != recorded:
            raise TrackerError(f"{writer.path} holds {found} {writer.unit}, but the run being resumed wrote "
                               f"{recorded}; it was changed since, so run again without --resume.")

    def add(self, result: FrameResult) -> None:
        """Record one frame in every output that does not hold it yet. A write that fails (OSError) takes the
        frame back from the outputs that wrote it, gives up those that cannot, and raises TrackerError naming
        the output and the reason."""
        wrote: list[str] = []
        for kind, writer in self._open.items():
            if self._frames[kind] > self.frames:  # carried over from the run being resumed
                continue
            try:
                writer.add(result)
            except OSError as error:
                self._failed(kind, wrote, error)
            wrote.append(kind)
        for kind in wrote:
            self._frames[kind] += 1
        self.frames += 1

    def _failed(self, kind: str, wrote: list[str], error: OSError) -> None:
        """Frame `self.frames` could not be written to `kind`: keep every output at the frames before it."""
        failing = self._open[kind]
        reason = error.strerror or str(error)
        for name, writer in list(self._open.items()):
            if not writer.rolls_back:
                self._lose(name, reason if name == kind else f"given up with {failing.path.name}")
            elif name in wrote:
                writer.drop_last()
        raise TrackerError(f"cannot write {failing.path.name}: {reason}")

    def _lose(self, kind: str, why: str) -> None:
        """Give up one output: its temporary file is removed, and `lost` says why."""
        writer = self._open.pop(kind)
        with contextlib.suppress(OSError):  # removing a temporary file that could not be finished
            writer.__exit__(OSError, OSError(why), None)
        self.lost[kind] = why
        log.warning("%s is not written: %s", writer.path.name, why)

    def state(self) -> OutputsState:
        """What the outputs hold now (after `frames` frames), for `--resume`."""
        return OutputsState({kind: (self._frames[kind], writer.held()) for kind, writer in self._open.items()},
                            dict(self.lost), None if self._smoother is None else self._smoother.state())

    def __exit__(self, kind, error, trace) -> Literal[False]:
        """Finish every output (also on an interruption after some frames), or, on an error, remove them all.
        An output that cannot be finished (a full disk) is given up and named in `lost`; the others are kept."""
        keep = kind is None or (issubclass(kind, KeyboardInterrupt) and self.frames > 0)
        with deferred_signals():
            if not keep:
                self._give_up(error)
                return False
            self._make_room()
            for name, writer in list(self._open.items()):
                try:
                    writer.__exit__(None, None, None)
                except OSError as failure:
                    self.lost[name] = failure.strerror or str(failure)
                    log.warning("%s could not be finished: %s", writer.path.name, self.lost[name])
                else:
                    self._check_finished(name, writer)
                del self._open[name]
        return False

    def _make_room(self) -> None:
        """When the disk lacks the room the JSON needs to be finished, give up the outputs that cannot take a frame
        back (the video, the largest): the JSON and the CSV are the results, the video a picture of them."""
        needed = sum(writer.room_needed() for writer in self._open.values())
        if needed and shutil.disk_usage(self.out_dir).free < needed:
            for name, writer in list(self._open.items()):
                if not writer.rolls_back:
                    self._lose(name, "given up to make room on a full disk")

    def _check_finished(self, kind: str, writer: FrameWriter) -> None:
        """A finished video must hold its frames: OpenCV's encoder does not report a disk that filled up."""
        if kind != "video":
            return
        reader = cv2.VideoCapture(str(writer.path))
        frames = int(reader.get(cv2.CAP_PROP_FRAME_COUNT)) if reader.isOpened() else 0
        reader.release()
        if frames != writer.held():
            writer.path.unlink(missing_ok=True)
            self.lost[kind] = f"the file holds {frames} of its {writer.held()} frames (a full disk?)"
            log.warning("%s could not be finished: %s", writer.path.name, self.lost[kind])

    def _give_up(self, error: BaseException | None) -> None:
        """Leave every open output unfinished: their temporary files are removed."""
        for name in list(self._open):
            writer = self._open.pop(name)
            with contextlib.suppress(OSError):
                writer.__exit__(type(error) if error is not None else OSError, error, None)


def check_output_dir(out_dir: Path) -> None:
    """Create `out_dir` if needed; TrackerError when it cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrackerError(f"cannot create the output folder {out_dir}: {error.strerror}.") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise TrackerError(f"the output folder {out_dir} is not writable; choose another with -o.")
