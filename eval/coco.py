"""COCO keypoint AP/AR through pycocotools (the official evaluator) and HRNet's test post-processing.

`evaluate_keypoints` checks a results list or file first, so that a malformed submission gives one
sentence instead of an assertion deep inside pycocotools, then runs COCOeval with stdout silenced.
`rescore_and_nms` turns per-box poses into the results list exactly as the official HRNet test does.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from common.jsonio import read_json, write_json
from eval.errors import EvalError
from pose.oks import oks_nms, rescore
from pose.skeleton import COCO

__all__ = ["STAT_NAMES", "evaluate_keypoints", "format_stats", "in_percent", "rescore_and_nms", "add_arguments",
           "cli"]

log = logging.getLogger(__name__)

# Names of COCOeval.stats for keypoints, in its order (AP/AR averaged over OKS 0.50:0.95, at 0.5,
# at 0.75, for medium and large persons). pycocotools reports -1 where no ground truth qualifies.
STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")

# The official test's rescoring keeps joints whose score is above this, and suppresses at this OKS.
RESCORE_THRESHOLD = 0.2
NMS_THRESHOLD = 0.9
PERSON_CATEGORY = 1


def _load_ground_truth(path: str | os.PathLike):
    """Read a COCO keypoint annotation file into a pycocotools COCO object (prints silenced)."""
    from pycocotools.coco import COCO as CocoApi

    data = read_json(path, "ground-truth", error=EvalError)
    missing = [key for key in ("images", "annotations", "categories")
               if not isinstance(data, dict) or not isinstance(data.get(key), list)]
    if missing:
        raise EvalError(f"ground-truth file {path} is not a COCO annotation file: it has no "
                        f"{', '.join(repr(key) for key in missing)} list.")
    api = CocoApi()
    api.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    return api


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_id(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _entry_problem(entry: Any, image_ids: set, category_joints: dict[int, int]) -> str | None:
    """What is wrong with one result entry, as the end of a sentence; None when it is usable."""
    if not isinstance(entry, dict):
        return f"is a {type(entry).__name__}, not an object"
    for key in ("image_id", "category_id", "keypoints", "score"):
        if key not in entry:
            return f"has no {key!r}"
    if not _is_id(entry["image_id"]) or int(entry["image_id"]) not in image_ids:
        return f"has image_id {entry['image_id']!r}, which is not an image of the ground truth"
    if not _is_id(entry["category_id"]) or int(entry["category_id"]) not in category_joints:
        return f"has category_id {entry['category_id']!r}, which the ground truth does not define"
    if not _is_number(entry["score"]):
        return f"has score {entry['score']!r}, not a finite number"
    keypoints = entry["keypoints"]
    expected = 3 * category_joints[int(entry["category_id"])]
    sized = isinstance(keypoints, (list, tuple, np.ndarray))
    if not sized or len(keypoints) != expected:
        size = len(keypoints) if sized else type(keypoints).__name__
        return f"has 'keypoints' of length {size}; expected {expected} numbers (x, y, score per joint)"
    if not all(_is_number(value) for value in keypoints):
        return "has a keypoint value that is not a finite number"
    return None


def _check_results(entries: Any, source: str, gt) -> list[dict]:
    """Validate results and return fresh dicts holding only the fields pycocotools needs.

    Only image_id, category_id, keypoints and score are passed on, as plain Python numbers:
    pycocotools' loadRes would otherwise take a 'bbox' field as a box result and size the person
    by it, not by its keypoints.
    """
    if not isinstance(entries, list):
        raise EvalError(f"{source} must be a list of result objects, got a {type(entries).__name__}.")
    if not entries:
        raise EvalError(f"{source} has no results; there is nothing to evaluate.")
    image_ids = set(gt.getImgIds())
    category_joints = {cat["id"]: len(cat.get("keypoints", COCO.joints))
                       for cat in gt.dataset["categories"]}
    for cat_id, joints in category_joints.items():
        if joints != COCO.num_joints:
            raise EvalError(f"ground-truth category {cat_id} has {joints} keypoints; COCO keypoint "
                            f"evaluation needs {COCO.num_joints} (the COCO OKS sigmas).")
    checked = []
    for index, entry in enumerate(entries):
        problem = _entry_problem(entry, image_ids, category_joints)
        if problem is not None:
            raise EvalError(f"{source}: result {index} {problem}.")
        checked.append({"image_id": int(entry["image_id"]), "category_id": int(entry["category_id"]),
                        "keypoints": [float(v) for v in entry["keypoints"]],
                        "score": float(entry["score"])})
    return checked


def evaluate_keypoints(gt_json_path: str | os.PathLike,
                       results: str | os.PathLike | Sequence[dict]) -> dict[str, float]:
    """COCO keypoint AP/AR of `results` against a COCO annotation file, via pycocotools COCOeval.

    `results` is a list of COCO keypoint results ({image_id, category_id, keypoints: 3K numbers,
    score}) or the path of a JSON file holding one. Returns the 10 COCOeval stats named by
    STAT_NAMES, as fractions in [0, 1] (-1 where no ground truth falls in that range). All images
    of the ground truth are evaluated, as the official test does: images without results count as
    missed. Raises EvalError for unreadable or malformed input.
    """
    from pycocotools.cocoeval import COCOeval

    gt = _load_ground_truth(gt_json_path)
    if isinstance(results, (str, os.PathLike)):
        source = f"results file {results}"
        results = read_json(results, "results", error=EvalError)
    else:
        source = "results list"
        results = list(results)
    checked = _check_results(results, source, gt)
    with contextlib.redirect_stdout(io.StringIO()):
        detections = gt.loadRes(checked)
        evaluator = COCOeval(gt, detections, "keypoints")
        evaluator.params.useSegm = None
        evaluator.params.kpt_oks_sigmas = np.array(COCO.sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    log.info("COCO keypoint evaluation of %d results on %d images", len(checked),
                len(evaluator.params.imgIds))
    return {name: float(value) for name, value in zip(STAT_NAMES, evaluator.stats)}


def in_percent(stats: dict[str, float]) -> dict[str, float | None]:
    """The stats of evaluate_keypoints in percent, as printed and written by ``python -m eval coco``;
    None where pycocotools reports -1 (no ground truth in that range)."""
    return {name: 100.0 * value if value >= 0 else None for name, value in stats.items()}


def format_stats(stats: dict[str, float | None]) -> str:
    """The 10 stats in percent (from in_percent) as a two-line table, 'n/a' where None."""
    return "\n".join([" | ".join(f"{name:>6}" for name in stats),
                      " | ".join(f"{value:6.2f}" if value is not None else f"{'n/a':>6}" for value in stats.values())])


def rescore_and_nms(
    poses: np.ndarray,
    box_scores: np.ndarray,
    areas: np.ndarray,
    image_ids: Sequence[int] | np.ndarray,
    *,
    centers: np.ndarray | None = None,
    scales: np.ndarray | None = None,
    keypoint_threshold: float = RESCORE_THRESHOLD,
    oks_threshold: float = NMS_THRESHOLD,
    category_id: int = PERSON_CATEGORY,
    sigmas: np.ndarray = COCO.sigmas,
) -> list[dict]:
    """The official HRNet COCO test post-processing: poses per box -> COCO keypoint results.

    poses (N,K,3) x, y, joint score in image pixels; box_scores (N,) detector scores; areas (N,)
    the area NMS uses, which the official test takes from the padded crop box (prod(scale * 200));
    image_ids (N,). Each pose is rescored as box score x the mean of its joint scores that are
    > keypoint_threshold (0 when none is), the mean taken in float32 as the official test does. Then,
    per image, OKS-NMS at oks_threshold with all joints (the official test gives NMS no visibility
    threshold). Results list images in order of first appearance and, within an image, in NMS
    keep order. `centers`/`scales` (N,2), when given, are
    copied into the results as the official writer does; pycocotools ignores them.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[2] != 3:
        raise EvalError(f"poses must have shape (N, K, 3), got {poses.shape}.")
    count = poses.shape[0]
    box_scores = np.asarray(box_scores, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    image_ids = np.asarray(image_ids)
    extras: dict[str, np.ndarray | None] = {"center": centers, "scale": scales}
    for name, array in (("box_scores", box_scores), ("areas", areas), ("image_ids", image_ids)):
        if array.shape != (count,):
            raise EvalError(f"{name} must have shape ({count},) to match the poses, got {array.shape}.")
    for name, extra in extras.items():
        if extra is not None and np.shape(extra) != (count, 2):
            raise EvalError(f"{name}s must have shape ({count}, 2), got {np.shape(extra)}.")

    scores = rescore(poses, box_scores, keypoint_threshold)

    _, first_seen = np.unique(image_ids, return_index=True)
    results = []
    for image_id in image_ids[np.sort(first_seen)]:
        members = np.flatnonzero(image_ids == image_id)
        keep = oks_nms(poses[members], scores[members], areas[members], oks_threshold, sigmas)
        for index in members[keep]:
            result = {
                "image_id": image_id.item(),
                "category_id": category_id,
                "keypoints": poses[index].reshape(-1).tolist(),
                "score": float(scores[index]),
            }
            for name, extra in extras.items():
                if extra is not None:
                    result[name] = np.asarray(extra[index], dtype=np.float64).tolist()
            results.append(result)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `python -m eval coco` to its subparser."""
    parser.add_argument("--gt", required=True, metavar="ANN.json",
                        help="COCO keypoint annotation file (e.g. person_keypoints_val2017.json)")
    parser.add_argument("--pred", required=True, metavar="RESULTS.json",
                        help="COCO keypoint results: a JSON list of {image_id, category_id, "
                             "keypoints, score}")
    parser.add_argument("--json", metavar="OUT",
                        help="also write the 10 numbers to this JSON file (percent, as printed; n/a as null)")


def cli(args: argparse.Namespace) -> int:
    """Run `python -m eval coco`: print AP/AR as a table (percent), write JSON when asked.

    Raises EvalError for bad input; the caller prints it as one sentence.
    """
    stats = in_percent(evaluate_keypoints(args.gt, args.pred))
    print(format_stats(stats))
    if args.json:
        write_json(args.json, stats, error=EvalError)
    return 0
