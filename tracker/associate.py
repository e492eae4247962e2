"""`python -m tracker.associate POSES -o OUT [--frames DIR] [--flow NAME]`: track existing poses.

Reads a PoseTrack file (or a folder of them) whose poses come from elsewhere, ignores any track ids
in it, and writes the same poses with our track ids: the association of `tracker.run` (greedy OKS
against tracks carried along by optical flow). Flow is computed between the frames' images when
`--frames` gives the folder they live in (image paths are the files' `file_name`s below it), and
is zero otherwise. The work is in `tracker.posetrack.association`, imported after parsing.
"""
from __future__ import annotations

import argparse
import sys

import flow
from common.cli import run_cli


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m tracker.associate`."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.associate",
        description="Give the poses of PoseTrack files our track ids (greedy OKS against flow-propagated "
                    "tracks). Existing ids are ignored.")
    parser.add_argument("poses", metavar="POSES", help="a PoseTrack JSON file, or a folder of them")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file (for one POSES file) or folder (for a POSES folder)")
    parser.add_argument("--frames", metavar="DIR", help="folder the files' image paths start from; "
                                                          "without it motion between frames is taken as zero")
    parser.add_argument("--flow", default=None, metavar="NAME",
                        help=f"optical flow with --frames: {', '.join(flow.NAMES)} (default: the config's, dis)")
    parser.add_argument("--config", metavar="FILE", help="tracking YAML (its association section is used)")
    parser.add_argument("--format", choices=("posetrack18", "posetrack17"), default="posetrack18",
                        help="JSON layout (default %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def run(args: argparse.Namespace) -> int:
    """Associate every sequence and write it; returns the exit status."""
    from tracker.posetrack.association import associate_files

    return associate_files(args.poses, args.output, frames=args.frames, flow_name=args.flow,
                           config_file=args.config, layout=args.format)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and a non-zero status on error (traceback with --debug)."""
    return run_cli(run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
