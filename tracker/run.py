"""`python -m tracker.run VIDEO [VIDEO ...]`: track human poses through videos with HRNet.

For each video (a file, a folder of frames or of videos, an image, a glob, a webcam or a stream) it
writes, into the output folder: `<name>.mp4` (skeletons, boxes and track ids drawn), `<name>.json`
(PoseTrack 2018 or 2017) and `<name>.csv` (one row per joint per person per frame, with joint angles).
`--posetrack ANN_DIR` tracks a whole PoseTrack split instead, one leaderboard JSON per sequence.

This module is the command line only; the work is in `tracker.runner`, imported after the
arguments are parsed so that `--help` answers at once.
"""
from __future__ import annotations

from common.signals import exit_quietly_on_signals, hold_signals_until_exit

if __name__ == "__main__":  # a signal during the imports ends the process quietly: nothing is written yet
    exit_quietly_on_signals()

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import detection
import flow
from common.cli import add_renamed, run_cli
from common.config import parse_overrides
from common.runtime import ENGINES, PRECISIONS
from eval.posetrack.write import LAYOUTS
from tracker.config import OVERLAY_CORNERS as CORNERS
from tracker.config import PRESETS, preset_default
from tracker.errors import TrackerError

DEFAULT_OUTPUT = "hrtrack_output"


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
    parser.add_argument("videos", nargs="*", metavar="VIDEO",
                        help="a video file, a folder of frames or of videos, an image, a glob ('frames/*.jpg'), "
                             "a webcam index (0) or a stream URL (rtsp://, http://)")
    split = parser.add_argument_group("a PoseTrack split (leaderboard submission)")
    split.add_argument("--posetrack", metavar="ANN_DIR",
                       help="track every sequence of this folder of ground-truth files (PoseTrack18 annotations/val "
                            "or PoseTrack21 posetrack_data/val; with --format posetrack21 for the PoseTrack21 kit) "
                            "and write "
                            "one JSON per sequence, named and listing images as the ground truth does (no video, "
                            "no CSV); sequences written already are skipped, interrupted ones continued")
    split.add_argument("--images", metavar="ROOT", help="the dataset folder holding images/<split>/<sequence>/ "
                                                        "(default: ANN_DIR/../..)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs written earlier (a plain run does, and says so; with --posetrack "
                             "sequences written already are skipped unless this is given)")
    parser.add_argument("--images-independent", action="store_true",
                        help="the images of a folder or glob are unrelated photos, not a sequence: track each alone")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="OUTDIR",
                        help=f"output folder (default: ./{DEFAULT_OUTPUT})")
    parser.add_argument("--config", metavar="FILE", help="tracking YAML laid over configs/track_posetrack.yaml "
                                                         "and the preset")
    parser.add_argument("--preset", choices=PRESETS,
                        help="accurate (default, the paper's setting): W48 384x288, flip test, Faster R-CNN every "
                             "frame; fast: W32 256x192, no flip, MobileNet detector every 5th frame")
    parser.add_argument("--pose-config", metavar="FILE",
                        help="model YAML: ours (configs/hrnet_*.yaml) or an official HRNet experiment YAML "
                             f"(default: {preset_default('pose', 'config')})")
    parser.add_argument("--pose-weights", metavar="PATH", help="weights file (.pth) or registry name (default: the "
                                                                "PoseTrack18 weights of --pose-config)")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--detector", metavar="NAME", help=f"person detector: {', '.join(detection.NAMES)} "
                                                          f"(default: {preset_default('detection', 'detector')})")
    boxes.add_argument("--detections", metavar="FILE", help="precomputed person boxes (COCO results JSON) "
                                                            "instead of a detector")
    parser.add_argument("--flow", metavar="NAME", help=f"optical flow: {', '.join(flow.NAMES)} "
                                                       f"(default: {preset_default('flow', 'name')})")
    parser.add_argument("--device", help="auto, cpu or cuda[:N] (default: auto)")
    parser.add_argument("--detect-every", type=int, metavar="N", help="run the detector on every N-th frame "
                        f"(default: {preset_default('detection', 'detect_every')})")
    parser.add_argument("--no-flip", action="store_true", help="no flip test (half the pose work)")
    add_renamed(parser, "--batch-size", "--batch", type=int, metavar="N",
                help=f"crops per pose forward pass (default: {preset_default('pose', 'batch_size')})")
    parser.add_argument("--max-age", type=int, metavar="N", help="frames a track may go unseen before it ends "
                        f"(default: {preset_default('association', 'max_age')})")
    parser.add_argument("--kpt-thr", type=float, metavar="T",
                        help="leave joints scoring below T out of the JSON (default 0: every joint, with its "
                             "score, so that python -m eval sweep chooses T afterwards)")
    parser.add_argument("--box-thr", type=float, metavar="T",
                        help=f"drop detected boxes scoring below T (0-1; default: "
                             f"{preset_default('detection', 'min_box_score')})")
    parser.add_argument("--nms-thr", type=float, metavar="IOU",
                        help="IoU above which box NMS merges detected and propagated boxes (0-1; "
                             f"default: {preset_default('detection', 'box_nms_iou')})")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="set any key of the tracking config (configs/track_posetrack.yaml), e.g. "
                             "--set association.oks_threshold=0.4; values are YAML; may repeat")
    parser.add_argument("--format", choices=LAYOUTS,
                        help=f"JSON layout (default: {preset_default('output', 'format')})")
    parser.add_argument("--smooth", action="store_true", help="add Kalman-smoothed x, y to the CSV")
    parser.add_argument("--no-video", action="store_true", help="do not write the annotated video")
    parser.add_argument("--crf", type=int, metavar="Q", help="the video's H.264 quality, 0 (lossless) to 51 "
                                                             "(default 23; +6 halves the size)")
    parser.add_argument("--no-csv", action="store_true", help="do not write the CSV")
    parser.add_argument("--analyze", action="store_true", help="then run tracker.analyze with its defaults on each "
                                                               "NAME.json, into NAME_analysis/")
    drawing = parser.add_argument_group("drawing the video")
    drawing.add_argument("--line-width", type=int, default=0, metavar="PX",
                         help="limb width, 0-100 (default 0: from the frame size)")
    drawing.add_argument("--radius", type=int, default=0, metavar="PX",
                         help="joint radius, 0-100 (default 0: from the frame size)")
    drawing.add_argument("--no-boxes", action="store_true", help="do not draw person boxes")
    drawing.add_argument("--show-scores", action="store_true", help="write each person's score by its id")
    drawing.add_argument("--trail", type=int, default=0, metavar="N",
                         help="draw the last N positions of each track (default 0: none)")
    drawing.add_argument("--trail-joint", default="hip_midpoint", metavar="NAME",
                         help="joint the trail follows, e.g. right_ankle (default: the hip midpoint)")
    drawing.add_argument("--no-overlay", action="store_true", help="no frame number and time in the corner")
    drawing.add_argument("--overlay-corner", choices=CORNERS, default=CORNERS[0],
                         help="where the frame number and time go (default %(default)s, away from a scoreboard)")
    parser.add_argument("--start", type=int, metavar="I", help="first frame index (default: 0)")
    parser.add_argument("--end", type=int, metavar="I", help="stop before this frame index (default: the last)")
    parser.add_argument("--stride", type=int, metavar="N", help="take every N-th frame (default: 1)")
    parser.add_argument("--runtime", choices=ENGINES, help="network runtime: auto (default: OpenVINO on a CPU, "
                                                            "torch on CUDA), torch or openvino")
    parser.add_argument("--precision", choices=PRECISIONS, help="auto (default: bf16 on OpenVINO where the CPU "
                                                                "has AMX or AVX-512 bf16, fp16 on CUDA, else fp32), "
                                                                "fp32, bf16, fp16 (CUDA)")
    parser.add_argument("--threads", type=int, metavar="N", help="threads for torch, OpenCV and OpenVINO "
                                                                 "(default 0: every core; 1 on a busy machine)")
    parser.add_argument("--resume", action="store_true",
                        help="continue runs that were interrupted or failed, from the frames their outputs hold "
                             "(same options as the first run); videos with complete outputs are skipped")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    return parser


def overrides_from(args: argparse.Namespace) -> list[Mapping]:
    """The config layers of the command line, in order: the `--set` keys, then the flags (flags not given set
    nothing)."""
    table = {
        ("pose", "config"): args.pose_config, ("pose", "weights"): args.pose_weights,
        ("pose", "flip"): False if args.no_flip else None, ("pose", "batch_size"): args.batch_size,
        ("detection", "detector"): args.detector, ("detection", "detections"): args.detections,
        ("detection", "detect_every"): args.detect_every, ("flow", "name"): args.flow,
        ("association", "max_age"): args.max_age, ("output", "kpt_thr"): args.kpt_thr,
        ("detection", "min_box_score"): args.box_thr, ("detection", "box_nms_iou"): args.nms_thr,
        ("output", "format"): args.format, ("output", "smoothing"): True if args.smooth else None,
        ("output", "video"): False if args.no_video else None, ("output", "crf"): args.crf,
        ("output", "csv"): False if args.no_csv else None,
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
    return [parse_overrides(args.set, TrackerError), overrides]


def run(args: argparse.Namespace) -> int:
    """Track the videos the arguments name (the heavy imports happen here, not at start-up)."""
    from tracker.outputs.render import RenderOptions
    from tracker.runner import track_videos

    render = RenderOptions(args.line_width, args.radius, not args.no_boxes, args.show_scores, args.trail,
                           args.trail_joint, not args.no_overlay, args.overlay_corner)
    inputs, overrides, resume = args.videos, overrides_from(args), args.resume
    if args.posetrack:
        from tracker.posetrack.split import read_split

        inputs = read_split(args.posetrack, args.images or Path(args.posetrack).resolve().parents[1])
        overrides = [{"output": {"video": False, "csv": False}}, *overrides]  # a submission folder: JSON only
        resume = not args.overwrite
    status = track_videos(inputs, args.output, overrides, config_file=args.config, preset=args.preset,
                          progress=not args.quiet and sys.stderr.isatty(), quiet=args.quiet, render=render,
                          resume=resume, each_image=args.images_independent)
    if args.analyze:
        from tracker.analysis.folder import analyze_run_outputs
        from tracker.io.naming import output_names

        analyze_run_outputs(output_names(args.videos, args.images_independent), args.output)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and a non-zero status on error (traceback with --debug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.videos and not args.posetrack:
        parser.error("an input is missing: give the videos to track, or --posetrack ANN_DIR for a PoseTrack split")
    if args.videos and args.posetrack:
        parser.error("give the videos to track, or --posetrack ANN_DIR for a PoseTrack split, not both")
    if args.images and not args.posetrack:
        parser.error("--images goes with --posetrack")
    if args.overwrite and args.resume:
        parser.error("--overwrite replaces earlier outputs and --resume continues them: give one")
    if args.posetrack and args.analyze:
        parser.error("--analyze needs the CSV, which --posetrack does not write")
    return run_cli(run, args)


if __name__ == "__main__":
    status = main()
    hold_signals_until_exit()
    sys.exit(status)
