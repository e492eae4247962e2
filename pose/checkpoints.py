"""`python -m pose.checkpoints list | fetch NAME...`: the known HRNet weights and the download cache."""
from __future__ import annotations

import argparse
import sys

from common.cli import run_cli
from common.download import weights_dir
from pose.weights import resolve_weights
from pose.weights_registry import REGISTRY


def _print_registry() -> None:
    cached = weights_dir()
    for entry in REGISTRY.values():
        metric = f"{entry.metric[1]:g} {entry.metric[0]}" if entry.metric else "ImageNet backbone"
        mark = "cached" if (cached / entry.file_name).is_file() else (
            "download" if entry.url else "manual")
        print(f"{entry.name:36s} {mark:8s} {metric}")


def main(argv: list[str] | None = None) -> int:
    """`python -m pose.checkpoints list | fetch NAME...`: show the registry, or fill the cache."""
    parser = argparse.ArgumentParser(prog="python -m pose.checkpoints",
                                     description="Known HRNet weights and the download cache.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list known weights and whether each is cached")
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
