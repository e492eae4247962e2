"""`python -m tracker.weights list | fetch`: every weights file the tracker can use, and which preset needs which.

Pose weights (`pose.weights_registry`, in `$HRTRACK_HOME/checkpoints`), detector and RAFT weights (torchvision's, in
`$TORCH_HOME/hub/checkpoints`): `list` shows each file's name, URL, size, sha256, folder, whether it is cached and
which preset uses it; `fetch --preset fast|accurate|all` (or `fetch NAME...`) downloads them, checked. This lives
in the tracker because only the tracker sees the presets and all three kinds of weights; `python -m pose.checkpoints`
stays the pose weights' own command (training uses it too).
"""
from __future__ import annotations

import argparse
import sys

import detection
import flow
from common.cli import run_cli
from common.weight_files import WeightFile, describe, fetch_missing, missing_message
from pose.weights import weight_file as pose_weight_file
from pose.weights_registry import REGISTRY
from tracker.config import PRESETS, load_track_config
from tracker.errors import TrackerError
from tracker.preflight import needed_files

ALL = "all"
_CHOSEN_WITH = {"pose": "--pose-weights {}", "backbone": "training's `pretrained: {}`", "detector": "--detector {}",
                "flow": "--flow {}"}


def known_files() -> list[WeightFile]:
    """Every weights file the tracker can load: the pose registry, every detector, the RAFT networks."""
    files = [pose_weight_file(name) for name in REGISTRY]
    files += [detection.weight_file(name) for name in detection.NAMES]
    return files + [file for file in map(flow.weight_file, flow.NAMES) if file is not None]


def preset_usage() -> dict[WeightFile, list[str]]:
    """Which settings need which file: the default settings and each preset."""
    usage: dict[WeightFile, list[str]] = {}
    for preset in (None, *PRESETS):
        for file in needed_files(load_track_config(preset=preset)):
            usage.setdefault(file, []).append(f"--preset {preset}" if preset else "the default settings")
    return usage


def preset_files(preset: str) -> list[WeightFile]:
    """The files a preset needs (`all`: any preset or the default settings)."""
    return [file for file, users in preset_usage().items()
            if preset == ALL or f"--preset {preset}" in users]


def print_listing(files: list[WeightFile]) -> None:
    """Print each file's facts, then how many are cached."""
    usage = preset_usage()
    for file in sorted(files, key=lambda file: file not in usage):  # the presets' files first
        users = usage.get(file)
        print("\n".join(describe(file, f"used by {', '.join(users)}" if users
                                 else f"in no preset: {_CHOSEN_WITH[file.kind].format(file.name)} chooses it")))
    folders = ", ".join(sorted({str(file.folder) for file in files}))
    print(f"{len(files)} files, {sum(file.cached for file in files)} cached; folders: {folders}")


def fetch_files(files: list[WeightFile]) -> list[str]:
    """Download the missing ones of `files` (checked, a progress bar on a terminal); their paths. TrackerError
    naming every file that could not be had."""
    failed = fetch_missing(files)
    if failed:
        raise TrackerError(missing_message(failed))
    return [str(file.path) for file in files]


def named_file(name: str, files: list[WeightFile]) -> WeightFile:
    """The file `list` names `name`; TrackerError listing the names otherwise."""
    for file in files:
        if file.name == name:
            return file
    raise TrackerError(f"no weights are called {name!r}; choose one of {', '.join(file.name for file in files)}.")


def build_parser() -> argparse.ArgumentParser:
    """The command line: `list [--preset P]`, `fetch --preset P | NAME...`."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.weights",
        description="Weights files of the pose networks, detectors and RAFT: list them, or download them.",
        epilog="Folders: $HRTRACK_HOME/checkpoints (default ~/.cache/hrtrack/checkpoints) for pose weights, "
               "$TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints) for torchvision's.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every known file: name, URL, size, sha256, folder, cached or not, "
                                               "which preset uses it")
    listing.add_argument("--preset", choices=(*PRESETS, ALL), help="only the files of this preset (all: of any)")
    fetch = commands.add_parser("fetch", help="download files into their folders (checked), print their paths")
    fetch.add_argument("--preset", choices=(*PRESETS, ALL), help="every file this preset needs (all: every preset)")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="pose weights (hrnet_w32_256x192.coco), a detector or a flow network, as `list` names them")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and exit 1 on error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "fetch" and bool(args.preset) == bool(args.names):
        parser.error("fetch takes --preset P or NAMEs, one of the two")
    return run_cli(run, args)


def run(args: argparse.Namespace) -> int:
    """List or fetch (torchvision is imported here, not at start-up)."""
    if args.command == "list":
        print_listing(preset_files(args.preset) if args.preset else known_files())
        return 0
    known = known_files()
    files = preset_files(args.preset) if args.preset else [named_file(name, known) for name in args.names]
    for path in fetch_files(files):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
