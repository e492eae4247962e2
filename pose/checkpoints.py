"""`python -m pose.checkpoints list | fetch NAME...`: the known HRNet weights and the download cache.

The detector and RAFT files, and which preset needs which file, are listed by `python -m tracker.weights`: only
the tracker sees the presets and every kind of weights.
"""
from __future__ import annotations

import argparse
import sys

from common.cli import run_cli
from common.weight_files import describe
from pose.weights import resolve_weights, weight_file
from pose.weights_registry import REGISTRY


def _print_registry() -> None:
    for entry in REGISTRY.values():
        metric = f"{entry.metric[1]:g} {entry.metric[0]}" if entry.metric else "ImageNet backbone (training)"
        print("\n".join(describe(weight_file(entry.name), metric)))
    print("Detector and RAFT weights, and the files of each preset: python -m tracker.weights list")


def main(argv: list[str] | None = None) -> int:
    """`python -m pose.checkpoints list | fetch NAME...`: show the registry, or fill the cache."""
    parser = argparse.ArgumentParser(prog="python -m pose.checkpoints",
                                     description="Known HRNet weights and the download cache (detector and "
                                                 "RAFT weights, and whole presets: python -m tracker.weights).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list known weights: file, URL, size, sha256, folder, cached or not")
    fetch = commands.add_parser("fetch", help="download weights into the cache, print the paths")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    return run_cli(_run_command, parser.parse_args(argv))


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "list":
        _print_registry()
    else:
        for name in args.names:
            print(resolve_weights(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
