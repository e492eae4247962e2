"""What a tracked video leaves behind: annotated MP4, PoseTrack JSON and the analysis CSV.

`VideoOutputs` opens the writers the options ask for (`tracker.outputs.video_file`, `tracker.outputs.posetrack_file`,
`tracker.outputs.csv_file`), hands each frame to all of them, and finishes them together. Each writer
streams to a temporary file and renames it when finished, so memory stays flat however long the
video, and a file under its final name is always complete. Finishing runs with signals deferred
(`common.signals`), and it also happens on Ctrl-C or SIGTERM: the outputs then hold the frames done.
Only an error of the outputs themselves leaves no outputs.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Literal

from common.signals import deferred_signals
from pose.skeleton import KeypointSet
from tracker.config import OutputOptions
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.video import VideoInfo
from tracker.outputs.csv_file import CsvOutput
from tracker.outputs.posetrack_file import PoseTrackOutput
from tracker.outputs.render import RenderOptions
from tracker.outputs.smoothing import PoseSmoother
from tracker.outputs.video_file import VideoOutput, drawing_path
from tracker.posetrack.split import SplitSequence

log = logging.getLogger(__name__)
SUFFIXES = {"video": "mp4", "json": "json", "csv": "csv"}


def output_name(source: Path) -> str:
    """The stem of a video's outputs: the file's stem, or the folder's real name (`.` is named as the folder it is)."""
    return source.stem if source.is_file() else Path(os.path.abspath(source)).name


def remove_stale_parts(out_dir: Path, name: str) -> list[Path]:
    """Remove the temporary files (`.NAME.SUFFIX.*.part.SUFFIX`) a killed earlier run of `name` left; returns them."""
    stale = [path for suffix in SUFFIXES.values() for path in out_dir.glob(f".{name}.{suffix}.*.part.{suffix}")]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.warning("removed %d unfinished file(s) of an earlier run that was killed: %s", len(stale),
                    ", ".join(path.name for path in stale))
    return stale


class VideoOutputs:
    """Writes the outputs of one video into `out_dir` as `<name>.mp4`, `<name>.json`, `<name>.csv`.

    Use as a context manager; call `add` once per processed frame, in order. `resume_frames` > 0
    continues outputs of an interrupted run that hold that many frames: they are copied in first.
    `sequence`: the PoseTrack ground-truth sequence being tracked, whose images the JSON lists.
    """

    def __init__(self, out_dir: Path, source: Path, info: VideoInfo, keypoint_set: KeypointSet,
                 options: OutputOptions, *, keypoint_threshold: float, max_age: int, timer: StageTimer | None = None,
                 render: RenderOptions | None = None, resume_frames: int = 0, sequence: SplitSequence | None = None):
        self.name = output_name(source)
        self.source = source
        self.out_dir = out_dir
        self.paths = {kind: out_dir / f"{self.name}.{suffix}" for kind, suffix in SUFFIXES.items()
                      if getattr(options, kind)}
        if "video" in self.paths:
            self.paths["video"] = drawing_path(out_dir, self.name, source)
        if any(path.resolve() == source.resolve() for path in self.paths.values()):
            raise TrackerError(f"the output {source.name} would overwrite the input video; "
                               "choose another folder with -o.")
        self.timer = timer or StageTimer()
        self.resume_frames = resume_frames
        self.frames = resume_frames
        self._writers: list = []
        if "video" in self.paths:
            self._writers.append(VideoOutput(self.paths["video"], info, keypoint_set, keypoint_threshold, self.timer,
                                             render, crf=options.crf, resume=resume_frames > 0))
        if "json" in self.paths:
            self._writers.append(PoseTrackOutput(self.paths["json"], source, self.name, keypoint_set,
                                                 kpt_thr=options.kpt_thr, layout=options.format,
                                                 width=info.width, height=info.height,
                                                 nframes=sequence.nframes if sequence else info.video_frames,
                                                 listed=sequence.frames if sequence else None))
        if "csv" in self.paths:
            smoother = (PoseSmoother(process_noise=options.smoothing_process_noise,
                                     measurement_noise=options.smoothing_measurement_noise,
                                     keypoint_threshold=keypoint_threshold, max_age=max_age)
                        if options.smoothing else None)
            self._writers.append(CsvOutput(self.paths["csv"], keypoint_set, keypoint_threshold, smoother))
        self._stack = contextlib.ExitStack()
        remove_stale_parts(out_dir, self.name)

    def __enter__(self) -> VideoOutputs:
        with self._stack:
            try:
                for writer in self._writers:
                    self._stack.enter_context(writer)
                    if self.resume_frames:
                        self._carry_over(writer)
            except OSError as error:
                raise TrackerError(f"cannot write into {error.filename or self.source.name}: {error.strerror}; "
                                   "choose a writable output folder with -o.") from None
            self._stack = self._stack.pop_all()
        return self

    def _carry_over(self, writer) -> None:
        """Give `writer` the frames of the interrupted run its file holds; they must be the frames resumed from."""
        found = writer.add_written(writer.path)
        if found != self.resume_frames:
            raise TrackerError(f"{writer.path} holds {found} frames, but the run being resumed did "
                               f"{self.resume_frames}; it was changed since, so run again without --resume.")

    def add(self, result: FrameResult) -> None:
        """Record one frame in every output."""
        for writer in self._writers:
            if isinstance(writer, VideoOutput):
                writer.add(result)
            else:
                with self.timer("write"):
                    writer.add(result)
        self.frames += 1

    def __exit__(self, kind, error, trace) -> Literal[False]:
        """Finish every output (also on an interruption after some frames), or, on an error, remove them all."""
        keep = kind is None or (issubclass(kind, KeyboardInterrupt) and self.frames > 0)
        with deferred_signals():
            try:
                if keep:
                    self._stack.close()
                else:
                    self._stack.__exit__(kind, error, trace)
            except OSError as failure:
                raise TrackerError(f"cannot finish the outputs in {self.out_dir}: {failure.strerror}; "
                                   "choose a writable output folder with -o.") from None
        return False


def check_output_dir(out_dir: Path) -> None:
    """Create `out_dir` if needed; TrackerError when it cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrackerError(f"cannot create the output folder {out_dir}: {error.strerror}.") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise TrackerError(f"the output folder {out_dir} is not writable; choose another with -o.")
