"""Test a pose model as the official HRNet ``tools/test.py`` does: ``python -m training.test coco|mpii``.

coco: person boxes from a COCO detections file (or the ground truth's) -> poses with the flip test
-> the official rescoring and OKS-NMS -> a COCO keypoint results JSON (what ``python -m eval coco``
scores) and its AP/AR through pycocotools. mpii: the records' boxes -> poses -> a predictions JSON
(what ``python -m eval mpii`` scores) and PCKh. Scores are printed, and written by --json, in percent.
The prediction and scoring are training.validate's and eval's; this module only wires them to files.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common.cli import add_renamed, run_cli
from common.files import atomic_open
from common.jsonio import write_json
from training.errors import TrainingError


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    add_renamed(parser, "--pose-config", "--model-config", required=True, metavar="FILE",
                help="model YAML (ours or an official experiment file) or a shipped config name")
    add_renamed(parser, "--pose-weights", "--weights", required=True, metavar="PATH",
                help="checkpoint file or registry name")
    parser.add_argument("--annotations", required=True, metavar="FILE", help="the split's annotation file")
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="folder the annotation file's image names are in")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the predictions JSON to write")
    parser.add_argument("--json", metavar="OUT", help="also write the scores to this JSON file (percent, as printed)")
    parser.add_argument("--no-flip", dest="flip", action="store_false",
                        help="predict without the flip test (on by default, as in the paper)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default auto)")
    parser.add_argument("--batch-size", type=int, default=32, help="crops per forward pass (default 32)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m training.test``."""
    parser = argparse.ArgumentParser(prog="python -m training.test", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    coco = commands.add_parser("coco", help="COCO keypoint AP/AR of a model on detected (or ground-truth) boxes")
    _common_arguments(coco)
    coco.add_argument("--detections", metavar="FILE",
                      help="COCO person detections (bbox, score, image_id), e.g. the official "
                           "COCO_val2017_detections_AP_H_56_person.json; default: the ground-truth boxes")
    coco.add_argument("--box-thr", type=float, default=0.0, metavar="T",
                      help="drop detections scoring under T (the official IMAGE_THRE; default 0.0)")
    coco.set_defaults(run=_coco)
    mpii = commands.add_parser("mpii", help="MPII PCKh of a model on the records' boxes")
    _common_arguments(mpii)
    mpii.add_argument("--gt", metavar="FILE",
                      help="gt_valid.mat or a JSON with head boxes to score against (default: --annotations)")
    mpii.set_defaults(run=_mpii)
    return parser


def _model(args: argparse.Namespace, keypoint_set: str):
    """(model, config, device) from the arguments; TrainingError when the model predicts other joints."""
    from common.runtime import resolve_device
    from pose.config import load_model_config
    from pose.hrnet import build_model
    from pose.state_dict import load_checkpoint
    from pose.weights import resolve_weights

    config = load_model_config(args.pose_config)
    if config.keypoint_set != keypoint_set:
        raise TrainingError(f"the model config {args.pose_config} predicts {config.keypoint_set} joints; "
                        f"{args.dataset} needs a {keypoint_set} model.")
    device = str(resolve_device(args.device, TrainingError))
    model = load_checkpoint(build_model(config), resolve_weights(args.pose_weights, option="--pose-weights PATH"))
    return model, config, device


def _coco(args: argparse.Namespace) -> int:
    from eval.coco import evaluate_keypoints, format_stats, in_percent
    from pose.datasets.coco import load_coco_detections, load_coco_persons
    from pose.skeleton import KEYPOINT_SETS
    from training.validate import predict_coco

    model, config, device = _model(args, "coco")
    if args.detections:
        records = load_coco_detections(args.detections, args.annotations, args.images, config.aspect_ratio,
                                       args.box_thr, config.num_joints)
    else:
        records = load_coco_persons(args.annotations, args.images, config.aspect_ratio, KEYPOINT_SETS["coco"])
    results = predict_coco(model, config, records, args.annotations, flip=args.flip, device=device,
                           batch_size=args.batch_size)
    _write_compact(results, args.output)
    stats = in_percent(evaluate_keypoints(args.annotations, results))
    print(format_stats(stats))
    _report(args, stats, f"{len(results)} results of {len(records)} boxes")
    return 0


def _mpii(args: argparse.Namespace) -> int:
    from eval.mpii import evaluate_files, format_table
    from pose.datasets.mpii import load_mpii
    from training.validate import predict

    model, config, device = _model(args, "mpii")
    records = load_mpii(args.annotations, args.images)
    poses = predict(model, config, records, flip=args.flip, device=device, batch_size=args.batch_size)
    _write_compact([{"image": record.image_id, "joints": pose[:, :2].tolist()}
                    for record, pose in zip(records, poses)], args.output)
    result = evaluate_files(args.gt or args.annotations, args.output)
    print(format_table(result))
    _report(args, result, f"{len(records)} predictions")
    return 0


def _write_compact(data: list, path: str | os.PathLike) -> None:
    """Write a (possibly large) results list atomically as compact JSON."""
    try:
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
    except OSError as failure:
        raise TrainingError(f"cannot write {path}: {failure.strerror}.") from None


def _report(args: argparse.Namespace, scores: dict, what: str) -> None:
    if args.json:
        write_json(args.json, scores, error=TrainingError)
    print(f"{what} written to {Path(args.output)}" + (f", scores to {args.json}" if args.json else "") + ".")


def main(argv: list[str] | None = None) -> int:
    """Run one test; returns the exit status (one sentence on stderr for bad input)."""
    args = build_parser().parse_args(argv)
    return run_cli(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
