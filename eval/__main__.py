"""``python -m eval``: PoseTrack mAP/MOTA, COCO AP, MPII PCKh, and a PoseTrack submission check.

Bad input ends with one sentence on stderr and exit status 1 (a traceback only with ``--debug``).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Sequence

from eval.errors import EvalError
from common.cli import run_cli
from common.jsonio import write_json
from eval.posetrack import MOTP_NOTE, evaluate_folders, format_tables
from eval.posetrack_submission import check_submission


def _posetrack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, metavar="DIR", help="ground-truth folder, one JSON file per sequence")
    parser.add_argument("--pred", required=True, metavar="DIR",
                        help="prediction folder, one JSON file per sequence named as in --gt (2017 or 2018 format)")
    parser.add_argument("--json", metavar="OUT", help="also write every number (percent, NaN as null) to this file")
    parser.add_argument("--per-sequence", action="store_true", help="also print mAP and MOTA totals per sequence")


def _posetrack(args: argparse.Namespace) -> int:
    result = evaluate_folders(args.gt, args.pred)
    print(format_tables(result))
    if args.per_sequence:
        print()
        print(f"{'sequence':<28}{'mAP':>7}{'MOTA':>7}")
        for name, scores in result.per_sequence.items():
            cells = [scores.total(metric) for metric in ("mAP", "MOTA")]
            print(f"{name:<28}" + "".join(f"{v:>7.1f}" if v == v else f"{'-':>7}" for v in cells))
    if args.json:
        write_json(args.json, result.to_json(), error=EvalError)
    return 0


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="the submission folder, one JSON file per sequence")
    parser.add_argument("--gt", metavar="DIR", help="ground-truth folder to check file names and frame lists against")


def _check(args: argparse.Namespace) -> int:
    problems, count = check_submission(args.folder, args.gt)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {count} file(s): not ready to upload.", file=sys.stderr)
        return 1
    print(f"{count} file(s) checked: ready to upload.")
    return 0


def _external(module_name: str) -> tuple[Callable | None, Callable]:
    """(add_arguments, cli) of another evaluator module; when that module itself is missing, the
    command reports it instead of breaking the other commands (any other import error propagates)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        reason = str(error)

        def unavailable(args: argparse.Namespace) -> int:
            raise EvalError(f"{module_name} cannot be used here: {reason}.")
        return None, unavailable
    return module.add_arguments, module.cli


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m eval`` with its four commands."""
    parser = argparse.ArgumentParser(
        prog="python -m eval", description="PoseTrack mAP/MOTA, COCO AP, MPII PCKh, and a PoseTrack submission check.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    posetrack = commands.add_parser("posetrack", help="PoseTrack per-joint mAP, MOTA, MOTP, precision, recall",
                                    description=f"PoseTrack evaluation equal to poseval. {MOTP_NOTE}.")
    _posetrack_arguments(posetrack)
    posetrack.set_defaults(run=_posetrack)
    for name, module, text in (("coco", "eval.coco", "COCO keypoint AP/AR (pycocotools)"),
                               ("mpii", "eval.mpii", "MPII PCKh@0.5 and @0.1")):
        add_arguments, cli = _external(module)
        sub = commands.add_parser(name, help=text)
        if add_arguments is not None:
            add_arguments(sub)
        else:
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        sub.set_defaults(run=cli)
    check = commands.add_parser("check-submission", help="list every problem of a PoseTrack submission folder")
    _check_arguments(check)
    check.set_defaults(run=_check)
    for sub in commands.choices.values():  # --debug also after the command; SUPPRESS keeps an earlier one
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_cli(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
