"""``python -m eval``: PoseTrack mAP/MOTA, PoseTrack21 keypoint HOTA (both also over a range of joint-score
thresholds), COCO AP, MPII PCKh, a PoseTrack submission check, and pruning a submission at a threshold.

One name per concept in every command: ``--gt DIR`` the ground-truth folder, ``--pred DIR`` the prediction
folder read, ``-o/--output DIR`` a folder written, ``--json OUT`` the numbers as JSON, ``--kpt-thr`` the
joint-score threshold. Bad input ends with one sentence on stderr and exit status 1 (a traceback only
with ``--debug``).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Callable, Sequence

from common.cli import run_cli
from common.jsonio import write_json
from eval.errors import EvalError
from eval.posetrack.evaluate import MOTP_NOTE, evaluate_folders, format_tables, sweep
from eval.posetrack.prune import prune_folder
from eval.posetrack.read import read_folder
from eval.posetrack.submission import check_submission
from eval.posetrack.sweep import format_sweep, parse_thresholds, sweep_json

_KPT_THR_NOTE = "score as if predicted joints with a score under T were absent"
FORMATS = ("posetrack18", "posetrack21")
METRIC_CHOICES = ("mota", "hota", "all")
log = logging.getLogger("eval")


def _threshold(text: str) -> float:
    """argparse type of one joint-score threshold: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _posetrack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, metavar="DIR", help="ground-truth folder, one JSON file per sequence")
    parser.add_argument("--pred", required=True, metavar="DIR",
                        help="prediction folder, one JSON file per sequence named as in --gt (2017 or 2018 format)")
    parser.add_argument("--json", metavar="OUT", help="also write every number (percent, NaN as null) to this file")
    parser.add_argument("--per-sequence", action="store_true", help="also print mAP and MOTA totals per sequence")
    parser.add_argument("--kpt-thr", type=_threshold, metavar="T", help=f"{_KPT_THR_NOTE} (default: keep all)")


def _posetrack(args: argparse.Namespace) -> int:
    result = evaluate_folders(args.gt, args.pred, args.kpt_thr)
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


def _posetrack21_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, metavar="DIR",
                        help="PoseTrack21 ground-truth folder (posetrack_data/val), one JSON file per sequence")
    parser.add_argument("--pred", required=True, metavar="DIR",
                        help="prediction folder, one JSON file per sequence named as in --gt")
    parser.add_argument("--json", metavar="OUT", help="also write every number (percent; counts as integers) to "
                                                      "this file")
    parser.add_argument("--per-sequence", action="store_true",
                        help="also print each sequence's Count row and main totals")
    parser.add_argument("--kpt-thr", type=_threshold, metavar="T", help=f"{_KPT_THR_NOTE} (default: keep all)")


def _posetrack21(args: argparse.Namespace) -> int:
    from eval.posetrack.evaluate21 import evaluate21_folders, format_hota
    result = evaluate21_folders(args.gt, args.pred, args.kpt_thr)
    print(format_hota(result, per_sequence=args.per_sequence))
    if args.json:
        write_json(args.json, result.to_json(), error=EvalError)
    return 0


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, metavar="DIR", help="ground-truth folder, one JSON file per sequence")
    parser.add_argument("--pred", required=True, metavar="DIR",
                        help="prediction folder written without a joint threshold, so every joint is there")
    parser.add_argument("--kpt-thr", required=True, metavar="START:STOP:STEP",
                        help=f"the thresholds T to try, e.g. 0.1:0.9:0.05 or 0.2,0.3; at each, {_KPT_THR_NOTE}")
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="mota",
                        help="mota: PoseTrack mAP and MOTA (poseval); hota: PoseTrack21 keypoint HOTA, DetA and "
                             "AssA (the PoseTrack21 kit); all: both (default: %(default)s)")
    parser.add_argument("--json", metavar="OUT",
                        help="also write every metric's total per threshold and the best ones (percent, NaN as "
                             "null) to this file")


def _sweep(args: argparse.Namespace) -> int:
    thresholds = parse_thresholds(args.kpt_thr)
    gt, pred = read_folder(args.gt), read_folder(args.pred)
    results = sweep(gt, pred, thresholds) if args.metric in ("mota", "all") else None
    hota = None
    if args.metric in ("hota", "all"):
        from eval.posetrack.evaluate21 import sweep21
        hota = sweep21(gt, pred, thresholds)
    print(format_sweep(thresholds, results, hota))
    if args.json:
        write_json(args.json, sweep_json(thresholds, results, hota), error=EvalError)
    return 0


def _renamed(args: argparse.Namespace, positional: str, option: str, flag: str) -> str | None:
    """The value of ``flag`` or, given the old way as a positional argument, that one with a warning."""
    old, new = getattr(args, positional), getattr(args, option)
    if old is not None and new is not None:
        raise EvalError(f"give the folder once, as {flag} {new} (the positional {old} is its old spelling).")
    if old is not None:
        log.warning("the folder as a positional argument is the old spelling of %s and goes in the next "
                    "release; write %s %s", flag, flag, old)
    return new if new is not None else old


def _prune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kpt-thr", required=True, type=_threshold, metavar="T",
                        help="remove the predicted joints with a score under T (what eval posetrack --kpt-thr T "
                             "and eval posetrack21 --kpt-thr T score as absent)")
    parser.add_argument("--pred", metavar="DIR", help="prediction folder, one JSON file per sequence (PoseTrack "
                                                      "2017, 2018 or 21)")
    parser.add_argument("-o", "--output", metavar="DIR", help="folder to write the pruned files to (the upload)")
    parser.add_argument("old_input", nargs="?", metavar="IN_DIR", help="old spelling of --pred (one more release)")
    parser.add_argument("old_output", nargs="?", metavar="OUT_DIR", help="old spelling of -o (one more release)")


def _prune(args: argparse.Namespace) -> int:
    source = _renamed(args, "old_input", "pred", "--pred")
    target = _renamed(args, "old_output", "output", "-o")
    if source is None or target is None:
        raise EvalError("eval prune needs the prediction folder and the output folder: --pred IN_DIR -o OUT_DIR.")
    files, kept, pruned = prune_folder(source, target, args.kpt_thr)
    print(f"{files} file(s) written to {target} at kpt-thr {args.kpt_thr:g}: "
          f"{kept} joint(s) kept, {pruned} removed.")
    return 0


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", metavar="DIR", help="the submission folder, one JSON file per sequence")
    parser.add_argument("--gt", metavar="DIR", help="ground-truth folder to check file names and frame lists against")
    parser.add_argument("--format", choices=FORMATS, default="posetrack18",
                        help="posetrack18: what poseval and the 2017/2018 leaderboard need; posetrack21: what the "
                             "PoseTrack21 kit needs (default: %(default)s)")
    parser.add_argument("old_folder", nargs="?", metavar="DIR", help="old spelling of --pred (one more release)")


def _check(args: argparse.Namespace) -> int:
    folder = _renamed(args, "old_folder", "pred", "--pred")
    if folder is None:
        raise EvalError("eval check-submission needs the submission folder: --pred DIR.")
    problems, count = check_submission(folder, args.gt, layout=args.format)
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
    """The argument parser of ``python -m eval`` with its seven commands."""
    parser = argparse.ArgumentParser(
        prog="python -m eval", description="PoseTrack mAP/MOTA, PoseTrack21 keypoint HOTA (both also over "
                                           "joint-score thresholds), COCO AP, MPII PCKh, a PoseTrack submission "
                                           "check and pruning.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    posetrack = commands.add_parser("posetrack", help="PoseTrack per-joint mAP, MOTA, MOTP, precision, recall",
                                    description=f"PoseTrack evaluation equal to poseval. {MOTP_NOTE}.")
    _posetrack_arguments(posetrack)
    posetrack.set_defaults(run=_posetrack)
    posetrack21 = commands.add_parser(
        "posetrack21", help="PoseTrack21 keypoint HOTA per joint (HOTA, DetA, AssA, ...), equal to the official kit",
        description="PoseTrack21 keypoint HOTA family per joint and in total, and the Count table, equal to the "
                    "official PoseTrack21 kit (eval/posetrack21, run_posetrack_challenge.py); percent, mean over "
                    "the 19 localisation thresholds alpha = 0.05 ... 0.95.")
    _posetrack21_arguments(posetrack21)
    posetrack21.set_defaults(run=_posetrack21)
    sweeping = commands.add_parser("sweep", help="PoseTrack mAP and MOTA, or HOTA, at each of several joint-score "
                                                 "thresholds",
                                   description="PoseTrack mAP and MOTA, or PoseTrack21 HOTA, DetA and AssA, at each "
                                               "joint-score threshold and the best of each, in one pass over the "
                                               "files (percent).")
    _sweep_arguments(sweeping)
    sweeping.set_defaults(run=_sweep)
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
    prune = commands.add_parser("prune", help="copy a PoseTrack prediction folder without joints under a threshold")
    _prune_arguments(prune)
    prune.set_defaults(run=_prune)
    for sub in commands.choices.values():  # --debug also after the command; SUPPRESS keeps an earlier one
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_cli(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
