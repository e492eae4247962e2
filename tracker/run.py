"""`python -m tracker.run VIDEO [VIDEO ...]`: track human poses through videos with HRNet.

For each video (a file, or a folder of frames) it writes, into the output folder:
`<name>.mp4` (skeletons, boxes and track ids drawn), `<name>.json` (PoseTrack 2018 or 2017) and
`<name>.csv` (one row per joint per person per frame, with joint angles).

Threads: on a CPU, torch, OpenCV and OpenVINO get every core of this process's share
(`--threads`, `runtime.threads`, overrides). The decoding thread sleeps on its bounded queue almost all the time, and flow, crops
and drawing run between forwards in the main thread, so they rarely compete with torch. Measured
with bench/pipeline.py on an idle 2-core machine: W32 256x192 without flip tracked the clip at
2.39 frames/s with 2 torch threads and 1.34 with 1. On a machine that other jobs keep busy, torch's
threads wait for each other (0.14 against 0.27 frames/s there): use `--threads 1`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import torch
from tqdm import tqdm

import detection
import flow
from detection.protocol import BoxSource
from flow.protocol import FlowEstimator
from pose.protocol import PoseModel
from pose.weights_registry import preferred_weights
from pose.devices import resolve_device
from pose.estimator import PoseEstimator
from pose.runtime.choice import PRECISIONS, RUNTIMES
from common.cli import run_cli
from tracker.config import PRESETS, TrackConfig, load_track_config, resolve_config_path
from tracker.errors import TrackerError
from tracker.outputs import VideoOutputs, check_output_dir
from tracker.pipeline import Pipeline
from tracker.timing import StageTimer
from tracker.video import VideoSource

DEFAULT_OUTPUT = "hrtrack_output"
# Weights the tracker prefers for a model config: fine-tuned on PoseTrack18 as in the paper, then COCO.
WEIGHT_TAGS = ("posetrack18", "coco", "coco_mmpose1", "coco_official")


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option overrides one key of the tracking config."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.run",
        description="Track human poses through videos with HRNet (detect, flow, pose, OKS association). "
                    "For each VIDEO (a video file or a folder of frames) writes NAME.mp4 (annotated), "
                    "NAME.json (PoseTrack) and NAME.csv (joints and angles) into the output folder.",
        epilog="Weights: by default the PoseTrack18 weights of the chosen model are looked up in "
               "$HRTRACK_HOME/checkpoints (default ~/.cache/hrtrack/checkpoints) and downloaded there if missing; "
               "--pose-weights PATH uses a file you have. Under torchrun each rank tracks its share "
               "of the videos.")
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files or folders of frames")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="OUTDIR",
                        help=f"output folder (default: ./{DEFAULT_OUTPUT})")
    parser.add_argument("--config", metavar="FILE", help="tracking YAML overriding configs/track_posetrack.yaml")
    parser.add_argument("--preset", choices=PRESETS,
                        help="accurate: the paper's W48 384x288, flip test, Faster R-CNN every frame; "
                             "fast: W32 256x192, no flip, MobileNet detector every 5th frame")
    parser.add_argument("--pose-config", metavar="FILE", help="model YAML: ours (configs/hrnet_*.yaml) or an "
                                                               "official HRNet experiment YAML")
    parser.add_argument("--pose-weights", metavar="PATH", help="weights file (.pth) or registry name")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--detector", metavar="NAME", help=f"person detector: {', '.join(detection.NAMES)}")
    boxes.add_argument("--detections", metavar="FILE", help="precomputed person boxes (COCO results JSON)")
    parser.add_argument("--flow", metavar="NAME", help=f"optical flow: {', '.join(flow.NAMES)}")
    parser.add_argument("--device", help="auto, cpu or cuda[:N] (default auto)")
    parser.add_argument("--runtime", choices=RUNTIMES, help="network runtime: auto (default: OpenVINO on a CPU, "
                                                            "torch on CUDA), torch or openvino")
    parser.add_argument("--precision", choices=PRECISIONS, help="auto (default: bf16 on OpenVINO where the CPU "
                                                                "has AMX or AVX-512 bf16, else fp32), fp32, bf16, "
                                                                "fp16 (CUDA)")
    parser.add_argument("--threads", type=int, metavar="N", help="threads for torch, OpenCV and OpenVINO "
                                                                 "(default 0: every core; 1 on a busy machine)")
    parser.add_argument("--detect-every", type=int, metavar="N", help="run the detector on every N-th frame")
    parser.add_argument("--no-flip", action="store_true", help="no flip test (half the pose work)")
    parser.add_argument("--batch", type=int, metavar="N", help="crops per pose forward pass")
    parser.add_argument("--max-age", type=int, metavar="N", help="frames a track may go unseen before it ends")
    parser.add_argument("--kpt-thr", type=float, metavar="T", help="leave joints scoring below T out of the JSON")
    parser.add_argument("--format", choices=("posetrack18", "posetrack17"), help="JSON layout")
    parser.add_argument("--smooth", action="store_true", help="add Kalman-smoothed x, y to the CSV")
    parser.add_argument("--no-video", action="store_true", help="do not write the annotated video")
    parser.add_argument("--no-csv", action="store_true", help="do not write the CSV")
    parser.add_argument("--start", type=int, metavar="I", help="first frame index")
    parser.add_argument("--end", type=int, metavar="I", help="stop before this frame index")
    parser.add_argument("--stride", type=int, metavar="N", help="take every N-th frame")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    return parser


def overrides_from(args: argparse.Namespace) -> dict:
    """The config keys the command-line flags set (flags not given set nothing)."""
    table = {
        ("pose", "config"): args.pose_config, ("pose", "weights"): args.pose_weights,
        ("pose", "flip"): False if args.no_flip else None, ("pose", "batch_size"): args.batch,
        ("detection", "detector"): args.detector, ("detection", "detections"): args.detections,
        ("detection", "detect_every"): args.detect_every, ("flow", "name"): args.flow,
        ("association", "max_age"): args.max_age, ("output", "kpt_thr"): args.kpt_thr,
        ("output", "format"): args.format, ("output", "smoothing"): True if args.smooth else None,
        ("output", "video"): False if args.no_video else None, ("output", "csv"): False if args.no_csv else None,
        ("runtime", "device"): args.device, ("runtime", "start"): args.start, ("runtime", "end"): args.end,
        ("runtime", "stride"): args.stride, ("runtime", "engine"): args.runtime,
        ("runtime", "precision"): args.precision, ("runtime", "threads"): args.threads,
    }
    overrides: dict[str, dict] = {}
    for (section, key), value in table.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    if args.detector is not None:  # a detector named on the command line replaces a configured file
        overrides["detection"]["detections"] = None
    return overrides


def configure_threads(requested: int, device: str) -> int:
    """Set torch's intra-op and OpenCV's thread counts; returns torch's.

    On CPU the automatic choice is every core of this process's share (cores / ranks on this node).
    """
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    share = max(1, (os.cpu_count() or 1) // ranks_here)
    threads = requested or (share if device == "cpu" else 1)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return threads


def my_videos(videos: list[str]) -> list[str]:
    """This rank's share of the videos under torchrun (RANK / WORLD_SIZE), all of them otherwise."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return videos[rank::world]


def default_weights(pose_config: str) -> str:
    """The registry name of the preferred weights for a model config in configs/."""
    name = preferred_weights(pose_config, WEIGHT_TAGS)
    if name is not None:
        return name
    raise TrackerError(f"no known weights fit the model config {pose_config}; pass --pose-weights PATH.")


@dataclass
class Models:
    """What the pipeline runs, built once for all videos."""

    estimator: PoseModel
    boxes: BoxSource
    flow: FlowEstimator


def build_models(config: TrackConfig, device: str) -> Models:
    """The pose estimator, box source and flow backend the config names."""
    pose_config = resolve_config_path(config.pose.config)
    weights = config.pose.weights or default_weights(pose_config)
    networks = {"runtime": config.runtime.engine, "precision": config.runtime.precision,
                "threads": torch.get_num_threads()}  # the count configure_threads chose
    estimator = PoseEstimator.from_config(pose_config, weights, flip=config.pose.flip, device=device,
                                          batch_size=config.pose.batch_size, **networks)
    boxes: BoxSource
    if config.detection.detections:
        boxes = detection.from_file(config.detection.detections)
    else:
        boxes = detection.create(config.detection.detector, device=device,
                                 score_threshold=config.detection.min_box_score, **networks)
    return Models(estimator, boxes, flow.create(config.flow.name, device=device))


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

    def line(self) -> str:
        """One human-readable summary line."""
        stages = ", ".join(f"{stage} {value:.2f}s" for stage, value in self.stages.items())
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        status = " (interrupted)" if self.interrupted else ""
        return (f"{self.name}: {self.frames} frames, {self.persons} persons, {self.tracks} tracks in "
                f"{self.seconds:.1f}s ({rate:.2f} frames/s){status}; {stages}")


def track_video(path: str, models: Models, config: TrackConfig, out_dir: Path, *, progress: bool = False
                ) -> VideoSummary:
    """Track one video and write its outputs; on Ctrl-C the outputs hold the frames done, then it re-raises."""
    runtime = config.runtime
    source = VideoSource(path, start=runtime.start, end=runtime.end, stride=runtime.stride,
                         prefetch=runtime.prefetch, folder_fps=runtime.folder_fps)
    timer = StageTimer()
    pipeline = Pipeline(models.estimator, models.boxes, models.flow, config, timer)
    frames = persons = 0
    interrupted = False
    start = time.perf_counter()
    with VideoOutputs(out_dir, source.path, source.info, models.estimator.keypoint_set, config.output,
                      keypoint_threshold=config.poses.keypoint_threshold, max_age=config.association.max_age,
                      timer=timer) as outputs:
        bar = tqdm(total=len(source.indices), desc=source.path.name, unit="frame", disable=not progress)
        try:
            for frame in source:
                result = pipeline.step(frame)
                outputs.add(result)
                frames += 1
                persons += len(result.ids)
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    stages = {"decode": source.decode_seconds, **timer.seconds}
    summary = VideoSummary(source.path.name, frames, persons, pipeline.tracks_started(),
                           time.perf_counter() - start, stages, interrupted)
    if interrupted:
        raise KeyboardInterrupt(summary.line())
    return summary


def run(args: argparse.Namespace) -> int:
    """Track every video of this rank; returns the exit status. Thread counts are restored after."""
    config = load_track_config(args.config, preset=args.preset, overrides=overrides_from(args))
    device = str(resolve_device(config.runtime.device))
    out_dir = Path(args.output)
    check_output_dir(out_dir)
    videos = my_videos(args.videos)
    for video in videos:  # fail before loading models when an input is missing
        if not Path(video).exists():
            raise TrackerError(f"{video} does not exist; give the path of a video file or an image folder.")
    previous = torch.get_num_threads(), cv2.getNumThreads()
    configure_threads(config.runtime.threads, device)
    try:
        models = build_models(config, device)
        for video in videos:
            summary = track_video(video, models, config, out_dir, progress=not args.quiet and sys.stderr.isatty())
            if not args.quiet:
                print(summary.line())
    finally:
        torch.set_num_threads(previous[0])
        cv2.setNumThreads(previous[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and a non-zero status on error (traceback with --debug)."""
    return run_cli(run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
