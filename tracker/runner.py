"""Tracking a list of videos: build the models once, run the pipeline over each video, write its outputs.

Threads: on a CPU, torch, OpenCV and OpenVINO get every core of this process's share (cores / ranks
on this node; `--threads`, `runtime.threads`, overrides); on a machine other jobs keep busy, use 1. Flow, crops and
drawing run in the main thread between forward passes, and the decoding thread mostly sleeps on its bounded queue.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import cv2
import torch
from tqdm import tqdm

import detection
import flow
from common.errors import UserError
from common.runtime import Runtime, resolve_device
from common.signals import deferred_signals
from detection.lookahead import LookAhead
from detection.precomputed import PrecomputedDetections
from detection.protocol import BoxSource, FrameKey
from flow.protocol import FlowEstimator
from pose.config import load_model_config
from pose.estimator import PoseEstimator
from pose.protocol import PoseModel
from tracker import resume as resume_state
from tracker.config import TrackConfig, load_track_config, resolve_config_path
from tracker.core.pipeline import Pipeline
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.video import VideoFrame, VideoSource, check_input, expand_inputs
from tracker.outputs.render import RenderOptions
from tracker.outputs.writers import SUFFIXES, VideoOutputs, check_output_dir, output_name
from tracker.posetrack.split import SplitSequence
from tracker.preflight import check_weights, pose_weights, warn_if_busy

if TYPE_CHECKING:
    from detection.torchvision_detector import TorchvisionDetector

log = logging.getLogger(__name__)
T = TypeVar("T")


def configure_threads(requested: int, device: str) -> int:
    """Set torch's intra-op and OpenCV's thread counts; returns torch's.

    On CPU the automatic choice is every core of this process's share (cores / ranks on this node); when other
    processes keep those cores busy, one log line suggests fewer.
    """
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    share = max(1, (os.cpu_count() or 1) // ranks_here)
    threads = requested or (share if device == "cpu" else 1)
    if not requested and device == "cpu":
        warn_if_busy(threads, ranks_here)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return threads


def my_share(inputs: list[T]) -> list[T]:
    """This rank's share of the videos or sequences under torchrun (RANK / WORLD_SIZE), all of them otherwise."""
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    return inputs[rank::world]


@dataclass
class Models:
    """What the pipeline runs, built once for all videos."""

    estimator: PoseModel
    boxes: BoxSource
    flow: FlowEstimator


def build_models(config: TrackConfig, device: str) -> Models:
    """The pose estimator, box source and flow backend the config names.

    Files the user gave are read first (detections, the model config), so a bad one is reported
    before weights are looked up; then every weights file is found or fetched before any model loads.
    """
    detections = detection.from_file(config.detection.detections) if config.detection.detections else None
    model_config = load_model_config(resolve_config_path(config.pose.config))
    check_weights(config)
    weights = pose_weights(config)
    runtime = Runtime.resolve(device, config.runtime.engine, config.runtime.precision,
                              torch.get_num_threads(), error=TrackerError)  # the count configure_threads chose
    estimator = PoseEstimator.from_config(model_config, weights, flip=config.pose.flip,
                                          batch_size=config.pose.batch_size, runtime=runtime)
    boxes: BoxSource = detections if detections is not None else looking_ahead(detection.create(
        config.detection.detector, score_threshold=config.detection.min_box_score, runtime=runtime), config)
    return Models(estimator, boxes, flow.create(config.flow.name, runtime=runtime))


def looking_ahead(detector: TorchvisionDetector, config: TrackConfig) -> BoxSource:
    """The detector, batching the frames due next (`detection.lookahead`) unless its batch size is 1."""
    if detector.batch_size == 1:
        return detector  # a BoxSource itself
    every = config.detection.detect_every
    return LookAhead(detector, every, window=every * (detector.batch_size - 1))


@dataclass
class VideoSummary:
    """What one video gave: counts and seconds per stage."""

    name: str
    frames: int
    persons: int
    tracks: int
    seconds: float
    stages: dict[str, float]
    interrupted: bool
    skipped: bool = False  # its outputs were complete already (--resume, or a PoseTrack split run again)

    def line(self) -> str:
        """One human-readable summary line."""
        if self.skipped:
            return f"{self.name}: its outputs are complete already; skipped"
        stages = ", ".join(f"{stage} {value:.2f}s" for stage, value in self.stages.items())
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        status = " (interrupted)" if self.interrupted else ""
        return (f"{self.name}: {self.frames} frames, {self.persons} persons, {self.tracks} tracks in "
                f"{self.seconds:.1f}s ({rate:.2f} frames/s){status}; {stages}")


@dataclass
class Progress:
    """How far a video got: frames and persons done, what stopped it (None: it ran to the end), and the
    pipeline's state after the last frame done (for `--resume`)."""

    frames: int = 0
    persons: int = 0
    stop: BaseException | None = None
    failed_at: int | None = None
    state: dict | None = None


def process_frames(frames: Iterator[VideoFrame], pipeline: Pipeline, outputs: VideoOutputs, progress: Progress,
                   bar: tqdm) -> None:
    """Run the pipeline over the frames into the outputs; an interruption or error ends it, noted in `progress`."""
    frame = None
    try:
        for frame in frames:
            result = pipeline.step(frame)
            outputs.add(result)
            progress.frames += 1
            progress.persons += len(result.ids)
            progress.state = pipeline.state()
            bar.update(1)
    except KeyboardInterrupt as interruption:
        progress.stop = interruption
    except Exception as error:  # any failure: the frames done are kept, then it is reported
        progress.stop, progress.failed_at = error, (frame.index if frame is not None else None)
    finally:
        bar.close()


def video_boxes(boxes: BoxSource, video: Path, sequence: SplitSequence | None = None) -> BoxSource:
    """The box source for one video: a detections file bound to it (matched as it says; a PoseTrack sequence's
    image ids and file names first), a detector as it is."""
    if not isinstance(boxes, PrecomputedDetections):
        return boxes
    if sequence is None:
        return boxes.for_video(video)
    return boxes.for_video(video, sequence.image_ids, [frame.file_name for frame in sequence.frames])


def resume_point(source: VideoSource, config: TrackConfig, out_dir: Path, pipeline: Pipeline
                 ) -> resume_state.ResumePoint | None:
    """Restore `pipeline` to where an interrupted run of this video stopped; None when there is none."""
    point = resume_state.load(out_dir, output_name(source.path), config)
    if point is None:
        return None
    index = point.pipeline["image_index"]
    pipeline.restore(point.pipeline, source.frame(index).image if index is not None else None)
    log.info("%s: resuming after the %d frames done", source.path.name, point.frames)
    return point


def open_video(video: str | SplitSequence, config: TrackConfig) -> VideoSource:
    """The frames to track: a video, folder, glob, image or stream as the config's range takes them, or every
    image of a PoseTrack sequence in its ground truth's order."""
    runtime = config.runtime
    if isinstance(video, SplitSequence):
        return VideoSource(video.name, prefetch=runtime.prefetch, folder_fps=runtime.folder_fps, files=video.images)
    return VideoSource(video, start=runtime.start, end=runtime.end, stride=runtime.stride,
                       prefetch=runtime.prefetch, folder_fps=runtime.folder_fps)


def track_video(video: str | SplitSequence, models: Models, config: TrackConfig, out_dir: Path, *,
                progress: bool = False, render: RenderOptions | None = None, resume: bool = False) -> VideoSummary:
    """Track one video (or PoseTrack sequence) and write its outputs.

    On Ctrl-C or SIGTERM, and on an error in any frame, the outputs are finished with the frames done
    (and a resume state beside them) before the interruption or the error is raised again, saying so.
    With `resume`, a run interrupted before continues from its last frame done.
    """
    source = open_video(video, config)
    name = output_name(source.path)
    if resume and not resume_state.state_path(out_dir, name).exists() and any(
            (out_dir / f"{name}.{suffix}").exists() for suffix in SUFFIXES.values()):
        source.close()
        return VideoSummary(source.path.name, 0, 0, 0, 0.0, {}, False, skipped=True)
    sequence = video if isinstance(video, SplitSequence) else None
    timer = StageTimer()
    boxes = video_boxes(models.boxes, source.path, sequence)
    pipeline = Pipeline(models.estimator, boxes, models.flow, config, timer)
    point = resume_point(source, config, out_dir, pipeline) if resume else None
    earlier = point.frames if point else 0
    resumable = resume_state.resumable(config) and not source.streaming  # a stream cannot go back to a frame
    done = Progress(state=point.pipeline if point else None)
    if not earlier:
        log_replaced(out_dir, name, config)
    start = time.perf_counter()
    try:
        with VideoOutputs(out_dir, source.path, source.info, models.estimator.keypoint_set, config.output,
                          keypoint_threshold=config.poses.keypoint_threshold, max_age=config.association.max_age,
                          timer=timer, render=render, resume_frames=earlier, sequence=sequence) as outputs:
            bar = tqdm(total=None if source.streaming else len(source.indices), initial=earlier,  # a stream: frames/s
                       desc=source.path.name, unit="frame", disable=not progress)
            frames = source.frames_from(earlier)
            if isinstance(boxes, LookAhead):  # the detector sees the frames due next
                frames = boxes.watch(frames, lambda frame: (FrameKey(frame.index, frame.name), frame.image))
            process_frames(frames, pipeline, outputs, done, bar)
            if done.stop is not None and not outputs.frames:  # nothing to keep: no outputs, the error as it was
                raise done.stop
            with deferred_signals():
                if done.stop is None or not resumable or done.state is None:
                    resume_state.clear(out_dir, outputs.name)
                else:
                    resume_state.save(out_dir, outputs.name, outputs.frames, done.state, config)
    except KeyboardInterrupt as late:  # a signal while the outputs were finished: they are complete
        done.stop = done.stop or late
    report = getattr(boxes, "report_matches", None)
    if report is not None:  # precomputed detections: how many frames they matched
        report()
    stages = {"decode": source.decode_seconds, **timer.seconds}
    summary = VideoSummary(source.path.name, done.frames, done.persons, pipeline.tracks_started(),
                           time.perf_counter() - start, stages, isinstance(done.stop, KeyboardInterrupt))
    if done.stop is not None:
        raise_stop(done, summary, source, out_dir, earlier + done.frames, resumable)
    return summary


def log_replaced(out_dir: Path, name: str, config: TrackConfig) -> None:
    """Say which outputs of an earlier run in `out_dir` this run replaces (`--resume` would continue them)."""
    earlier = [path.name for kind, suffix in SUFFIXES.items()
               if getattr(config.output, kind) and (path := out_dir / f"{name}.{suffix}").exists()]
    if earlier:
        log.info("%s: replacing the earlier outputs %s in %s", name, ", ".join(earlier), out_dir)


def raise_stop(done: Progress, summary: VideoSummary, source: VideoSource, out_dir: Path, kept_frames: int,
               resumable: bool) -> None:
    """Raise what stopped the video again, saying what its outputs hold and how to go on."""
    kept = (f"the outputs in {out_dir} hold the {kept_frames} frames done" + (" (--resume continues)" if resumable
                                                                               else "") if kept_frames
            else "no frame was done")
    if isinstance(done.stop, KeyboardInterrupt):
        raise type(done.stop)(f"{summary.line()}; {kept}") from None
    error = done.stop
    reason = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    where = f"frame {done.failed_at}" if done.failed_at is not None else "reading the first frame"
    raise TrackerError(f"{source.path.name}: {where} failed ({reason.rstrip('.')}); {kept}.") from error


def track_all(videos: list[str] | list[SplitSequence], output: str | os.PathLike, overrides: list[Mapping], *,
              config_file: str | None = None, preset: str | None = None, progress: bool = False,
              quiet: bool = False, render: RenderOptions | None = None, resume: bool = False) -> list[VideoSummary]:
    """Track every input of this rank (videos as the command line names them, or the sequences of a PoseTrack
    split) into `output`; returns each video's summary (printed unless `quiet`). Thread counts are restored after."""
    config = load_track_config(config_file, preset=preset, overrides=overrides)
    device = str(resolve_device(config.runtime.device, TrackerError))
    if videos and isinstance(videos[0], SplitSequence):
        check_whole_sequences(config)
        videos = my_share(videos)
    else:
        videos = my_share(expand_inputs(cast("list[str]", videos)))
        check_inputs(videos)
    out_dir = Path(output)
    check_output_dir(out_dir)
    previous = torch.get_num_threads(), cv2.getNumThreads()
    configure_threads(config.runtime.threads, device)
    summaries = []
    try:
        models = build_models(config, device)
        for video in videos:
            summaries.append(track_video(video, models, config, out_dir, progress=progress, render=render,
                                         resume=resume))
            if not quiet:
                print(summaries[-1].line())
    finally:
        torch.set_num_threads(previous[0])
        cv2.setNumThreads(previous[1])
    return summaries


def track_videos(videos: list[str] | list[SplitSequence], output: str | os.PathLike, overrides: list[Mapping], *,
                 config_file: str | None = None, preset: str | None = None, progress: bool = False,
                 quiet: bool = False, render: RenderOptions | None = None, resume: bool = False) -> int:
    """`track_all` for the command line: ends with the folder the results are in; returns the exit status."""
    track_all(videos, output, overrides, config_file=config_file, preset=preset, progress=progress, quiet=quiet,
              render=render, resume=resume)
    if not quiet:
        print(f"results saved in {Path(output).resolve()}")
    return 0


def check_whole_sequences(config: TrackConfig) -> None:
    """Refuse a frame range for a PoseTrack split: poseval pairs frames by position, so every image is tracked."""
    runtime = config.runtime
    if (runtime.start, runtime.end, runtime.stride) != (0, None, 1):
        raise TrackerError("--posetrack tracks every image of each sequence, which the leaderboard needs in the "
                           "ground truth's order; leave out --start, --end and --stride.")


def check_inputs(videos: list[str]) -> None:
    """Open every input once, before any model loads or folder is made: one that cannot be opened, or two
    that would write outputs of the same name, are refused, named."""
    names: dict[str, str] = {}
    for video in videos:
        name = output_name(check_input(video))
        if name in names:
            raise TrackerError(f"{names[name]} and {video} would both write outputs named {name}; "
                               "track them into separate folders with -o.")
        names[name] = video
