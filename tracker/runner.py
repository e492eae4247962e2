"""Tracking a list of videos: build the models once, run the pipeline over each video, write its outputs.

Threads: on a CPU, torch, OpenCV and OpenVINO get every core of this process's share (cores / ranks
on this node; `--threads`, `runtime.threads`, overrides); on a machine other jobs keep busy, use 1. Flow, crops and
drawing run in the main thread between forward passes, and the decoding thread mostly sleeps on its bounded queue.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import cv2
import torch
from tqdm import tqdm

import detection
import flow
from common.errors import UserError
from common.jsonio import read_json
from common.runtime import Runtime, resolve_device
from common.signals import deferred_signals
from detection.lookahead import LookAhead
from detection.protocol import BoxSource, FrameKey, VideoBoxSource
from flow.protocol import FlowEstimator
from pose.config import load_model_config
from pose.estimator import PoseEstimator
from pose.protocol import PoseModel
from tracker import resume as resume_state
from tracker.config import TrackConfig, load_track_config, resolve_config_path
from tracker.core.pipeline import Pipeline
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError
from tracker.io.naming import SUFFIXES, output_name, output_path, state_path
from tracker.io.video import VideoFrame, VideoSource, check_input, expand_inputs, is_stream
from tracker.io.video_writer import count_frames
from tracker.outputs.render import RenderOptions
from tracker.outputs.run_record import RunRecord, write_record
from tracker.outputs.writers import VideoOutputs, check_output_dir
from tracker.posetrack.split import SplitSequence
from tracker.preflight import check_weights, pose_weights, warn_if_busy

if TYPE_CHECKING:
    from detection.torchvision_detector import TorchvisionDetector

log = logging.getLogger(__name__)
T = TypeVar("T")
VIDEO_ON_RESUME = ("; the video's frames done are kept bit for bit, and the new ones start a new H.264 segment, so "
                   "they differ from an uninterrupted run's by the encoder's rounding (and --trail starts anew)")


def thread_count(requested: int, device: str) -> int:
    """The threads a run uses: `requested`, or (0) on CPU every core of this process's share (cores / ranks on
    this node), 1 beside a GPU."""
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    share = max(1, (os.cpu_count() or 1) // ranks_here)
    return requested or (share if device == "cpu" else 1)


def configure_threads(requested: int, device: str) -> int:
    """Set torch's intra-op and OpenCV's thread counts to `thread_count` (their only setting is global: torch's
    own operations and OpenCV's flow read it); returns it. The networks get the count passed (`build_models`).
    When other processes keep the cores of the automatic choice busy, one log line suggests fewer."""
    threads = thread_count(requested, device)
    if not requested and device == "cpu":
        warn_if_busy(threads, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
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
                              thread_count(config.runtime.threads, device), error=TrackerError)
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
    state after the last frame done (for `--resume`)."""

    frames: int = 0
    persons: int = 0
    stop: BaseException | None = None
    failed_at: int | None = None
    state: resume_state.ResumeState | None = None


def process_frames(frames: Iterator[VideoFrame], pipeline: Pipeline, outputs: VideoOutputs, progress: Progress,
                   bar: tqdm) -> None:
    """Run the pipeline over the frames into the outputs; an interruption or error ends it, noted in `progress`.

    A frame is recorded with signals held: every output and the resume state take it, or none does."""
    frame = None
    try:
        for frame in frames:
            result = pipeline.step(frame)
            with deferred_signals():
                outputs.add(result)
                progress.frames += 1
                progress.persons += len(result.ids)
                progress.state = resume_state.ResumeState(outputs.frames, pipeline.state(), outputs.state())
            bar.update(1)
    except KeyboardInterrupt as interruption:
        progress.stop = interruption
    except Exception as error:  # any failure: the frames done are kept, then it is reported
        progress.stop, progress.failed_at = error, (frame.index if frame is not None else None)
    finally:
        bar.close()


def video_boxes(boxes: BoxSource, video: Path, sequence: SplitSequence | None = None) -> VideoBoxSource:
    """The box source for one video: a detections file bound to it (matched as it says; a PoseTrack sequence's
    image ids and file names first), a detector as it is."""
    if sequence is None:
        return boxes.for_video(video)
    return boxes.for_video(video, sequence.image_ids, [frame.file_name for frame in sequence.frames])


def restore_point(point: resume_state.ResumeState, outputs: VideoOutputs, pipeline: Pipeline,
                  source: VideoSource) -> None:
    """Set `pipeline` to go on where `outputs` go on: after the frames done, or from the first frame when an output
    of the run being resumed was lost (it is written again; the others keep what they hold)."""
    name = source.path.name
    if outputs.frames == point.frames:
        pipeline.restore(point.pipeline, lambda index: source.frame(index).image)
        log.info("%s: resuming after the %d frames done%s", name, point.frames,
                 VIDEO_ON_RESUME if "video" in outputs.paths else "")
    elif outputs.frames == 0:
        lost = ", ".join(f"{kind} ({why})" for kind, why in point.outputs.lost.items()) or "an output"
        log.warning("%s: the run being resumed lost its %s; tracking its %d frames done again for it",
                    name, lost, point.frames)
    else:
        raise TrackerError(f"the resume state of {name} does not fit its outputs; run again without --resume.")


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
    resumable = not source.streaming  # a stream cannot go back to a frame
    if resume and resumable and not state_path(out_dir, name).exists() and any(
            output_path(out_dir, name, kind).exists() for kind in SUFFIXES):
        source.close()
        check_complete(out_dir, name, len(source.indices))
        return VideoSummary(source.path.name, 0, 0, 0, 0.0, {}, False, skipped=True)
    sequence = video if isinstance(video, SplitSequence) else None
    timer = StageTimer()
    boxes = video_boxes(models.boxes, source.path, sequence)
    pipeline = Pipeline(models.estimator, boxes, models.flow, config, timer)
    keypoint_set = models.estimator.keypoint_set
    point = resume_state.load(out_dir, name, config, keypoint_set.num_joints) if resume and resumable else None
    done = Progress(state=point)
    if point is None:
        log_replaced(out_dir, name, config)
    start = time.perf_counter()
    outputs = VideoOutputs(out_dir, source.path, source.info, keypoint_set, config.output,
                           keypoint_threshold=config.poses.keypoint_threshold, max_age=config.association.max_age,
                           timer=timer, render=render, resume=point.outputs if point else None,
                           resume_frames=point.frames if point else 0, sequence=sequence)
    try:
        with outputs:
            if point is not None:
                restore_point(point, outputs, pipeline, source)
            begin = outputs.frames
            bar = tqdm(total=None if source.streaming else len(source.indices), initial=begin,  # a stream: frames/s
                       desc=source.path.name, unit="frame", disable=not progress)
            frames = source.frames_from(begin)
            if isinstance(boxes, LookAhead):  # the detector sees the frames due next
                frames = boxes.watch(frames, lambda frame: (FrameKey(frame.index, frame.name), frame.image))
            process_frames(frames, pipeline, outputs, done, bar)
            if done.stop is not None and not outputs.frames:  # nothing to keep: no outputs, the error as it was
                raise done.stop
    except KeyboardInterrupt as late:  # a signal while the outputs were finished: they are complete
        done.stop = done.stop or late
    finish_state(out_dir, name, config, done, outputs, resumable)
    if not isinstance(video, SplitSequence):  # the outputs are written: say what they were made from
        try:
            with deferred_signals():
                write_record(out_dir, name, run_record(video, config, source.info.fps))
        except KeyboardInterrupt as late:
            done.stop = done.stop or late
        except OSError as error:
            log.warning("could not write %s.run.json (%s); tracker.analyze then needs --video", name, error.strerror)
    stopped = outputs.frames  # precomputed detections: how many of the frames done they matched
    boxes.report_matches(source.indices[stopped] if done.stop is not None and stopped < len(source.indices) else None)
    if done.frames and not done.persons and outputs.frames == done.frames:  # nobody in a whole run
        warn_no_person(source.path.name, done.frames, pipeline, config.detection.min_box_score)
    stages = {"decode": source.decode_seconds, **timer.seconds}
    summary = VideoSummary(source.path.name, done.frames, done.persons, pipeline.tracks_started(),
                           time.perf_counter() - start, stages, isinstance(done.stop, KeyboardInterrupt))
    if done.stop is not None:
        raise_stop(done, summary, source, out_dir, outputs, resumable)
    if outputs.lost:
        raise TrackerError(f"{source.path.name}: could not write {lost_outputs(outputs)}; the other outputs in "
                           f"{out_dir} are complete, and --resume writes the rest once there is room.")
    return summary


def warn_no_person(name: str, frames: int, pipeline: Pipeline, floor: float) -> None:
    """Say why a video's outputs hold no person: no box at all, or every box below the score floor."""
    if pipeline.boxes_detected and pipeline.boxes_below_floor == pipeline.boxes_detected:
        log.warning("%s: no person in any of the %d frames: every one of the %d detected boxes scored below "
                    "--box-thr %g (a negative score counts as none); check the detections' scores",
                    name, frames, pipeline.boxes_detected, floor)
    else:
        log.warning("%s: no person in any of the %d frames (%d boxes detected above --box-thr %g)", name, frames,
                    pipeline.boxes_detected - pipeline.boxes_below_floor, floor)


def run_record(video: str, config: TrackConfig, fps: float) -> RunRecord:
    """What tracker.analyze needs to read the frames of this run again: the source, made absolute, and the range."""
    runtime = config.runtime
    where = video if is_stream(video) else os.path.abspath(video)
    return RunRecord(where, is_stream(video), runtime.start, runtime.end, runtime.stride, fps)


def check_complete(out_dir: Path, name: str, frames: int) -> None:
    """Refuse to take outputs without a resume state beside them for finished when the JSON or the video holds
    fewer than the `frames` the run tracks (an interrupted run whose state was removed, or a version without one)."""
    found = {}
    if output_path(out_dir, name, "json").is_file():
        data = read_json(output_path(out_dir, name, "json"), "PoseTrack file", error=TrackerError)
        entries = data.get("images", data.get("annolist")) if isinstance(data, dict) else None
        found["json"] = len(entries) if isinstance(entries, list) else -1
    if output_path(out_dir, name, "video").is_file():
        found["video"] = count_frames(output_path(out_dir, name, "video"))
    partial = [f"{output_path(out_dir, name, kind).name} holds {count} of its {frames} frames"
               for kind, count in found.items() if count != frames]
    if partial:
        raise TrackerError(f"{'; '.join(partial)}, and no resume state is beside it ({state_path(out_dir, name).name}),"
                           " so the run cannot be continued; run again without --resume.")


def log_replaced(out_dir: Path, name: str, config: TrackConfig) -> None:
    """Say which outputs of an earlier run in `out_dir` this run replaces (`--resume` would continue them)."""
    earlier = [path.name for kind in SUFFIXES
               if getattr(config.output, kind) and (path := output_path(out_dir, name, kind)).exists()]
    if earlier:
        log.info("%s: replacing the earlier outputs %s in %s", name, ", ".join(earlier), out_dir)


def finish_state(out_dir: Path, name: str, config: TrackConfig, done: Progress, outputs: VideoOutputs,
                 resumable: bool) -> None:
    """Save the resume state of a video stopped early, or whose outputs were not all written; remove it when the
    outputs are complete. When nothing was kept this time, a state an earlier run left stays as it was."""
    with deferred_signals():
        if done.stop is None and not outputs.lost:
            resume_state.clear(out_dir, name)
        elif resumable and outputs.frames and done.state is not None:
            held = {kind: counts for kind, counts in done.state.outputs.held.items() if kind not in outputs.lost}
            earlier = {kind: why for kind, why in done.state.outputs.lost.items() if kind not in held}
            kept = dataclasses.replace(done.state.outputs, held=held, lost={**earlier, **outputs.lost})
            try:
                resume_state.save(out_dir, name, dataclasses.replace(done.state, outputs=kept), config)
            except OSError as error:
                raise TrackerError(f"{name}: the resume state could not be written into {out_dir} "
                                   f"({error.strerror}); run again without --resume.") from None


def lost_outputs(outputs: VideoOutputs) -> str:
    """The outputs that could not be written, and why."""
    return ", ".join(f"{outputs.paths[kind].name} ({why.rstrip('.')})" for kind, why in outputs.lost.items())


def raise_stop(done: Progress, summary: VideoSummary, source: VideoSource, out_dir: Path, outputs: VideoOutputs,
               resumable: bool) -> None:
    """Raise what stopped the video again, saying what its outputs hold and how to go on."""
    kept = (f"the outputs in {out_dir} hold the {outputs.frames} frames done" if outputs.frames
            else "no frame was done")
    if outputs.frames and outputs.lost:
        kept += f", but not {lost_outputs(outputs)}"
    if outputs.frames and resumable:
        kept += " (--resume continues)"
    if isinstance(done.stop, KeyboardInterrupt):
        raise type(done.stop)(f"{summary.line()}; {kept}") from None
    error = done.stop
    reason = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    where = f"frame {done.failed_at}" if done.failed_at is not None else "reading the first frame"
    raise TrackerError(f"{source.path.name}: {where} failed ({reason.rstrip('.')}); {kept}.") from error


def track_all(videos: list[str] | list[SplitSequence], output: str | os.PathLike,
              overrides: list[Mapping[str, Mapping[str, Any]]], *,
              config_file: str | None = None, preset: str | None = None, progress: bool = False,
              quiet: bool = False, render: RenderOptions | None = None, resume: bool = False,
              each_image: bool = False) -> list[VideoSummary]:
    """Track every input of this rank (videos as the command line names them, or the sequences of a PoseTrack
    split) into `output`; returns each video's summary (printed unless `quiet`). Thread counts are restored after.
    `each_image`: the images of a folder or glob are unrelated, each tracked on its own."""
    config = load_track_config(config_file, preset=preset, overrides=overrides)
    device = str(resolve_device(config.runtime.device, TrackerError))
    if videos and isinstance(videos[0], SplitSequence):
        check_whole_sequences(config)
        videos = my_share(videos)
    else:
        videos = my_share(expand_inputs(cast("list[str]", videos), each_image))
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


def track_videos(videos: list[str] | list[SplitSequence], output: str | os.PathLike,
                 overrides: list[Mapping[str, Mapping[str, Any]]], *,
                 config_file: str | None = None, preset: str | None = None, progress: bool = False,
                 quiet: bool = False, render: RenderOptions | None = None, resume: bool = False,
                 each_image: bool = False) -> int:
    """`track_all` for the command line: ends with the folder the results are in; returns the exit status."""
    track_all(videos, output, overrides, config_file=config_file, preset=preset, progress=progress, quiet=quiet,
              render=render, resume=resume, each_image=each_image)
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
