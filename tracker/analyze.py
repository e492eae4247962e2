"""`python -m tracker.analyze OUT/NAME.json [options]`: sports analysis of a finished tracker run.

Writes into OUT/NAME_analysis/ (or -o DIR): tracks.csv, frames.csv, README.txt (columns and angle
conventions), selected.json (the chosen tracks as PoseTrack, with a selection option), PNG plots,
a self-contained report.html and, with --draw, selected.mp4 (the chosen tracks drawn, filtered,
over the video). Heavy imports (scipy, matplotlib, OpenCV) happen inside `run`, so --help is quick.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from common.cli import add_renamed, run_cli
from tracker.analysis.options import (
    INTERPOLATIONS,
    NAMES,
    FilterOptions,
    ProcessOptions,
)

if TYPE_CHECKING:
    from tracker.analysis.folder import AnalyzeOptions

DEFAULT_FILTER, DEFAULT_STEPS = FilterOptions(), ProcessOptions()


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m tracker.analyze`."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.analyze",
        description="Choose athletes in a tracker run, fill and filter their tracks offline (zero-lag by "
                    "default), measure joint and segment angles, and write tables, plots and an HTML report.")
    parser.add_argument("json", metavar="NAME.json", help="the PoseTrack JSON written by tracker.run")
    parser.add_argument("-o", "--output", metavar="DIR", help="output folder (default: NAME_analysis beside the JSON)")
    parser.add_argument("--video", metavar="PATH", help="video for the trajectory picture and the frame rate "
                                                       "(default: NAME.mp4 beside the JSON, when there)")
    parser.add_argument("--fps", type=float, metavar="F", help="frame rate (default: the video's, else 30)")
    add_renamed(parser, "--kpt-thr", "--min-score", type=float, default=0.0, metavar="T",
                help="joints scoring at or below T count as unseen, 0-1 (default 0)")
    choose = parser.add_argument_group("choosing athletes (applied in this order)")
    choose.add_argument("--merge", default="", metavar="A=B,...",
                        help="give track A's persons id B (fragments of one person)")
    choose.add_argument("--tracks", default="", metavar="ID,...", help="keep only these track ids")
    choose.add_argument("--longest", type=int, default=0, metavar="N",
                        help="keep the N tracks seen in most frames (default 0: all)")
    choose.add_argument("--largest", type=int, default=0, metavar="N",
                        help="keep the N tracks of largest mean box (default 0: all)")
    steps = parser.add_argument_group("gaps, outliers and filters")
    steps.add_argument("--max-gap", type=int, default=DEFAULT_STEPS.max_gap, metavar="N",
                       help="interpolate gaps of at most N frames (default %(default)s, as Sports2D)")
    steps.add_argument("--interpolation", choices=INTERPOLATIONS, default=DEFAULT_STEPS.interpolation,
                       help="how gaps are filled (default %(default)s)")
    steps.add_argument("--hampel-window", type=int, default=DEFAULT_STEPS.hampel_half_window, metavar="N",
                       help="Hampel outlier window, frames either side (default %(default)s; 0 = off)")
    steps.add_argument("--hampel-sigmas", type=float, default=DEFAULT_STEPS.hampel_sigmas, metavar="K",
                       help="Hampel threshold in scaled MADs (default %(default)s)")
    steps.add_argument("--filter", choices=NAMES, default=DEFAULT_FILTER.name,
                       help="default %(default)s (zero-lag); one-euro and kalman are causal")
    steps.add_argument("--order", type=int, default=DEFAULT_FILTER.order,
                       help="Butterworth order, even (default %(default)s, as Sports2D)")
    steps.add_argument("--cutoff", type=float, default=DEFAULT_FILTER.cutoff_hz, metavar="HZ",
                       help="Butterworth cutoff (default %(default)s Hz)")
    steps.add_argument("--window", type=int, default=DEFAULT_FILTER.window, metavar="N",
                       help="Savitzky-Golay/Gaussian window, frames (default %(default)s)")
    steps.add_argument("--polyorder", type=int, default=DEFAULT_FILTER.polyorder,
                       help="Savitzky-Golay polynomial order (default %(default)s)")
    steps.add_argument("--sigma", type=float, default=DEFAULT_FILTER.sigma, metavar="FRAMES",
                       help="Gaussian sigma (default %(default)s)")
    steps.add_argument("--min-cutoff", type=float, default=DEFAULT_FILTER.min_cutoff_hz, metavar="HZ",
                       help="One-Euro minimum cutoff (default %(default)s Hz)")
    steps.add_argument("--beta", type=float, default=DEFAULT_FILTER.beta,
                       help="One-Euro speed coefficient (default %(default)s)")
    steps.add_argument("--d-cutoff", type=float, default=DEFAULT_FILTER.d_cutoff_hz, metavar="HZ",
                       help="One-Euro speed cutoff (default %(default)s Hz)")
    steps.add_argument("--process-noise", type=float, default=DEFAULT_FILTER.process_noise, metavar="PX",
                       help="Kalman/RTS acceleration noise, px/frame^2 (default %(default)s)")
    steps.add_argument("--measurement-noise", type=float, default=DEFAULT_FILTER.measurement_noise, metavar="PX",
                       help="Kalman/RTS measurement noise, px (default %(default)s)")
    units = parser.add_argument_group("units (default: pixels)")
    units.add_argument("--scale", type=float, metavar="PX_PER_M", help="pixels per metre (default: none, pixels)")
    units.add_argument("--height-m", type=float, metavar="H",
                       help="standing height in metres of --height-track (default: none, pixels)")
    units.add_argument("--height-track", type=int, metavar="ID", help="track measured for --height-m "
                                                                     "(default: the one seen in most frames)")
    parser.add_argument("--no-plots", action="store_true", help="tables and report without pictures")
    parser.add_argument("--draw", action="store_true", help="also write selected.mp4: the analysed tracks' filtered "
                                                            "skeletons over --video (best the original clip)")
    parser.add_argument("--quiet", action="store_true", help="no summary line")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def options_from(args: argparse.Namespace) -> AnalyzeOptions:
    """The AnalyzeOptions the flags ask for."""
    from tracker.analysis.folder import AnalyzeOptions
    from tracker.analysis.selection import Selection, parse_ids, parse_merges

    filter_options = FilterOptions(args.filter, args.order, args.cutoff, args.window, args.polyorder, args.sigma,
                                   args.min_cutoff, args.beta, args.d_cutoff, args.process_noise,
                                   args.measurement_noise)
    process = ProcessOptions(args.max_gap, args.interpolation, args.hampel_window, args.hampel_sigmas, filter_options)
    selection = Selection(parse_merges(args.merge), parse_ids(args.tracks), args.longest, args.largest)
    return AnalyzeOptions(selection, process, args.kpt_thr, args.fps, Path(args.video) if args.video else None,
                          args.scale, args.height_m, args.height_track, not args.no_plots, args.draw)


def run(args: argparse.Namespace) -> int:
    """Analyse one run and write its folder; returns the exit status."""
    from common.config import check_ranges
    from tracker.analysis.filters import check
    from tracker.analysis.folder import DEFAULT_FPS, analyze
    from tracker.errors import TrackerError

    options = options_from(args)
    check_ranges(options, TrackerError)
    source = Path(args.json)
    out_dir = Path(args.output) if args.output else source.with_name(f"{source.stem}_analysis")
    check(options.process.filter, options.fps or DEFAULT_FPS)
    result = analyze(source, out_dir, options)
    if not args.quiet:
        print(f"{source.name}: {len(result.tracks)} track(s), {result.frame_count} frames at {result.fps:g} "
              f"frames/s -> {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and a non-zero status on error (traceback with --debug)."""
    return run_cli(run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
