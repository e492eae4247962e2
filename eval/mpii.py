"""MPII PCKh: the fraction of joints within a fraction of the head size, as HRNet reports it.

What we compute (the facts of the official HRNet `MPIIDataset.evaluate`, which reads MPII's
`gt_valid.mat`):
- head size = 0.6 x the diagonal of the person's head box, sqrt((x2-x1)^2 + (y2-y1)^2);
- a joint is correct when distance(prediction, ground truth) / head size <= threshold (inclusive);
- only joints present in the ground truth count (`joints_vis` > 0, i.e. not `jnt_missing`);
- per-joint PCKh = 100 x correct / present; groups as in the official table: Head (head_top
  only), Shoulder, Elbow, Wrist, Hip, Knee, Ankle (each the plain average of left and right) and
  Mean = 100 x correct / present over all joints except pelvis and thorax (the official code masks
  those two and weights the other 14 by their counts, which is the same number; upper_neck counts
  in Mean but has no column). A joint with no present instance gets NaN and adds nothing to Mean
  (the official code's Mean would turn NaN).
- The official "Mean@0.1" column is computed at threshold 0.11 (row 11 of its 0:0.01:0.5 sweep);
  we report PCKh@0.1 at 0.1 and that figure separately as "Mean@0.1 (HRNet code, threshold 0.11)".
Coordinates: MPII annotations (the HRNet JSON and gt_valid.mat) are 1-based MATLAB pixels; the
CLI adds 1 to predictions in our 0-based pixel frame, as the official test does.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from common.jsonio import read_json, write_json
from eval.errors import EvalError
from pose.skeleton import MPII
from pose.skeleton import MPII_GROUPS as GROUPS

__all__ = ["HEAD_SIZE_FACTOR", "GROUPS", "head_sizes", "pckh", "evaluate", "evaluate_files", "format_table",
           "add_arguments", "cli"]

HEAD_SIZE_FACTOR = 0.6  # MPII's SC_BIAS: head size = 0.6 x head-box diagonal
THRESHOLDS = (0.5, 0.1)
HRNET_MEAN_AT_01_THRESHOLD = 0.11  # what the official "Mean@0.1" column actually uses
EXCLUDED_FROM_MEAN = ("pelvis", "thorax")
# Joint names in MPII's gt_valid.mat `dataset_joints`, mapped to pose.skeleton.MPII names.
_MAT_JOINTS = {
    "rank": "right_ankle", "rkne": "right_knee", "rhip": "right_hip", "lhip": "left_hip",
    "lkne": "left_knee", "lank": "left_ankle", "pelv": "pelvis", "thrx": "thorax",
    "neck": "upper_neck", "head": "head_top", "rwri": "right_wrist", "relb": "right_elbow",
    "rsho": "right_shoulder", "lsho": "left_shoulder", "lelb": "left_elbow", "lwri": "left_wrist",
}


def head_sizes(head_boxes: np.ndarray) -> np.ndarray:
    """MPII head sizes (N,) in pixels from head boxes (N,4) x1, y1, x2, y2: 0.6 x the diagonal."""
    boxes = np.asarray(head_boxes, dtype=np.float64)
    # sqrt(dx^2 + dy^2) as MPII's evaluation computes it (np.hypot may differ in the last bit).
    return HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 2:4] - boxes[:, 0:2], axis=1)


def _normalised_errors(predictions: np.ndarray, ground_truth: np.ndarray, visible: np.ndarray,
                       head_boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check the inputs; return (distance / head size (N,K), present mask (N,K) bool)."""
    pred = np.asarray(predictions, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    present = np.asarray(visible) > 0
    boxes = np.asarray(head_boxes, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[1:] != (MPII.num_joints, 2):
        raise EvalError(f"ground-truth joints must have shape (N, {MPII.num_joints}, 2), got {gt.shape}.")
    count, joints = gt.shape[:2]
    for name, array, shape in (("predictions", pred, (count, joints, 2)),
                               ("visibility", present, (count, joints)),
                               ("head boxes", boxes, (count, 4))):
        if array.shape != shape:
            raise EvalError(f"{name} must have shape {shape} to match the ground truth, got {array.shape}.")
    sizes = head_sizes(boxes)
    used = present.any(axis=1)
    bad = np.flatnonzero(used & ~(np.isfinite(sizes) & (sizes > 0)))
    if bad.size:
        raise EvalError(f"record {bad[0]} has head box {boxes[bad[0]].tolist()}, whose size is not "
                        f"positive; PCKh needs a real head box for every annotated person.")
    for name, array in (("ground-truth", gt), ("predicted", pred)):
        record, joint = np.argwhere(present & ~np.isfinite(array).all(axis=2))[:1].T
        if record.size:
            raise EvalError(f"record {record[0]} has a {name} {MPII.joints[joint[0]]} that is not "
                            f"a finite number.")
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.linalg.norm(pred - gt, axis=2) / sizes[:, None]
    return errors, present


def _correct_and_present(errors: np.ndarray, present: np.ndarray,
                         threshold: float) -> tuple[np.ndarray, np.ndarray]:
    correct = ((errors <= threshold) & present).sum(axis=0)
    return correct, present.sum(axis=0)


def _percent(correct: np.ndarray, present: np.ndarray) -> np.ndarray:
    out = np.full(correct.shape, np.nan)
    np.divide(100.0 * correct, present, out=out, where=present > 0)
    return out


def pckh(predictions: np.ndarray, ground_truth: np.ndarray, visible: np.ndarray,
         head_boxes: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per-joint PCKh (16,) in percent, NaN for a joint present in no record.

    predictions and ground_truth (N,16,2) in one pixel frame, visible (N,16) (>0 = annotated),
    head_boxes (N,4) x1,y1,x2,y2; joints in pose.skeleton.MPII order. Inclusive threshold.
    """
    errors, present = _normalised_errors(predictions, ground_truth, visible, head_boxes)
    return _percent(*_correct_and_present(errors, present, threshold))


def _table(correct: np.ndarray, present: np.ndarray) -> dict[str, Any]:
    per_joint = _percent(correct, present)
    groups = {name: float(np.mean([per_joint[MPII.index(j)] for j in joints]))
              for name, joints in GROUPS}
    in_mean = np.array([name not in EXCLUDED_FROM_MEAN for name in MPII.joints])
    groups["Mean"] = float(_percent(correct[in_mean].sum(keepdims=True),
                                    present[in_mean].sum(keepdims=True))[0])
    return {"per_joint": {name: float(v) for name, v in zip(MPII.joints, per_joint)},
            "groups": groups}


def evaluate(predictions: np.ndarray, ground_truth: np.ndarray, visible: np.ndarray,
             head_boxes: np.ndarray) -> dict[str, Any]:
    """PCKh@0.5 and PCKh@0.1 tables plus the official code's Mean@0.1 (see the module docstring).

    Returns {"PCKh@0.5": {"per_joint": {joint: %}, "groups": {Head..Ankle, Mean: %}},
    "PCKh@0.1": {same}, "Mean@0.1 (HRNet code, threshold 0.11)": %, "present": {joint: count}}.
    """
    errors, present = _normalised_errors(predictions, ground_truth, visible, head_boxes)
    result: dict[str, Any] = {f"PCKh@{t}": _table(*_correct_and_present(errors, present, t))
                              for t in THRESHOLDS}
    official = _table(*_correct_and_present(errors, present, HRNET_MEAN_AT_01_THRESHOLD))
    result["Mean@0.1 (HRNet code, threshold 0.11)"] = official["groups"]["Mean"]
    result["present"] = {name: int(n) for name, n in zip(MPII.joints, present.sum(axis=0))}
    return result


def _read_mat(path: str, what: str) -> dict:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        return loadmat(path)
    except (OSError, ValueError, MatReadError) as error:
        raise EvalError(f"cannot read {what} file {path} as a MATLAB .mat file: {error}.") from None


def _array(path: str, index: int, field: str, value: Any, *shapes: tuple[int, ...]) -> np.ndarray:
    """A record's field as float64, checked against the allowed shapes (the first is preferred)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape not in shapes:
        raise EvalError(f"{path}: record {index} field {field!r} must be numbers of shape {shapes[0]}.")
    return array


def _load_gt_json(path: str) -> tuple[list[str | None], np.ndarray, np.ndarray, np.ndarray]:
    records = read_json(path, "ground-truth", error=EvalError)
    if not isinstance(records, list) or not records:
        raise EvalError(f"{path} must be a non-empty list of MPII records (HRNet layout).")
    joints, vis, boxes = [], [], []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "joints" not in record or "joints_vis" not in record:
            raise EvalError(f"{path}: record {index} has no 'joints' and 'joints_vis'.")
        if "headbox" not in record:
            raise EvalError(f"{path}: record {index} has no 'headbox'; the HRNet MPII JSON has none, "
                            f"so pass gt_valid.mat or add 'headbox': [x1, y1, x2, y2] to every record.")
        joints.append(_array(path, index, "joints", record["joints"], (MPII.num_joints, 2)))
        vis.append(_array(path, index, "joints_vis", record["joints_vis"], (MPII.num_joints,)))
        boxes.append(_array(path, index, "headbox", record["headbox"], (4,)))
    images = [record.get("image") for record in records]
    return images, np.stack(joints), np.stack(vis), np.stack(boxes)


def _load_gt_mat(path: str) -> tuple[list[str | None], np.ndarray, np.ndarray, np.ndarray]:
    data = _read_mat(path, "ground-truth")
    needed = ("dataset_joints", "jnt_missing", "pos_gt_src", "headboxes_src")
    missing = [key for key in needed if key not in data]
    if missing:
        raise EvalError(f"{path} is not an MPII gt_valid.mat: it lacks {', '.join(missing)}.")
    count = np.shape(data["jnt_missing"])[-1]
    for key, shape in (("jnt_missing", (MPII.num_joints, count)),
                       ("pos_gt_src", (MPII.num_joints, 2, count)),
                       ("headboxes_src", (2, 2, count))):
        if np.shape(data[key]) != shape:
            raise EvalError(f"{path}: {key} has shape {np.shape(data[key])}; an MPII gt_valid.mat "
                            f"holds {shape} for its {count} records.")
    names = [str(np.asarray(item).ravel()[0]) for item in np.asarray(data["dataset_joints"]).ravel()]
    if sorted(names) != sorted(_MAT_JOINTS):
        raise EvalError(f"{path}: dataset_joints {names} are not MPII's 16 joint names.")
    order = [names.index(mat) for ours in MPII.joints
             for mat, name in _MAT_JOINTS.items() if name == ours]
    joints = np.transpose(data["pos_gt_src"], (2, 0, 1))[:, order].astype(np.float64)  # (N,16,2)
    visible = 1 - np.asarray(data["jnt_missing"]).T[:, order]
    corners = np.asarray(data["headboxes_src"], dtype=np.float64)  # (2 corners, xy, N)
    boxes = np.concatenate([corners[0].T, corners[1].T], axis=1)
    return [None] * joints.shape[0], joints, visible, boxes


def _load_predictions(path: str, images: list[str | None], one_based: bool) -> np.ndarray:
    """Predictions (N,16,2) in 1-based pixels, one per ground-truth record in `images` order."""
    if path.endswith(".mat"):
        data = _read_mat(path, "predictions")
        if "preds" not in data:
            raise EvalError(f"{path} has no 'preds' array (the official HRNet pred.mat layout).")
        preds = np.asarray(data["preds"], dtype=np.float64)
        one_based = True  # the official pred.mat already holds 1-based coordinates
    else:
        entries = read_json(path, "predictions", error=EvalError)
        if not isinstance(entries, list) or not all(isinstance(e, dict) and "joints" in e
                                                    for e in entries):
            raise EvalError(f"{path} must be a list of {{image, joints}} objects.")
        preds = np.stack([_array(path, index, "joints", entry["joints"],
                                 (MPII.num_joints, 2), (MPII.num_joints, 3))[:, :2]
                          for index, entry in enumerate(entries)]) if entries else np.empty((0,))
        for index, (entry, image) in enumerate(zip(entries, images)):
            if image is not None and "image" in entry and entry["image"] != image:
                raise EvalError(f"{path}: prediction {index} is for image {entry['image']!r} but "
                                f"ground-truth record {index} is {image!r}; predictions must follow "
                                f"the ground-truth record order.")
    if preds.ndim != 3 or preds.shape[0] != len(images) or preds.shape[1] != MPII.num_joints \
            or preds.shape[2] < 2:
        raise EvalError(f"{path} holds predictions of shape {preds.shape} for {len(images)} "
                        f"ground-truth records; give one (16, 2) array per record, in the same order.")
    preds = preds[..., :2]
    return preds if one_based else preds + 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `python -m eval mpii` to its subparser."""
    parser.add_argument("--gt", required=True, metavar="GT",
                        help="MPII ground truth: gt_valid.mat, or an HRNet-layout JSON list of "
                             "{image, joints, joints_vis, headbox: [x1, y1, x2, y2]} (1-based pixels)")
    parser.add_argument("--pred", required=True, metavar="PRED",
                        help="predictions: JSON list of {image, joints (16x2 or 16x3)} in the GT's "
                             "record order, 0-based pixels; or an official pred.mat (1-based)")
    parser.add_argument("--pred-one-based", action="store_true",
                        help="the JSON predictions are already 1-based (MATLAB) pixels")
    parser.add_argument("--json", metavar="OUT",
                        help="also write all numbers to this JSON file (PCKh in percent, as printed; "
                             "'present' counts joints)")


def evaluate_files(gt_path: str | os.PathLike, pred_path: str | os.PathLike, *,
                   pred_one_based: bool = False) -> dict[str, Any]:
    """The PCKh result of a predictions file (JSON in 0-based pixels unless ``pred_one_based``, or an
    official pred.mat) against gt_valid.mat or an HRNet-layout JSON with head boxes."""
    load = _load_gt_mat if str(gt_path).endswith(".mat") else _load_gt_json
    images, gt, visible, boxes = load(str(gt_path))
    preds = _load_predictions(str(pred_path), images, pred_one_based)
    return evaluate(preds, gt, visible, boxes)


def format_table(result: dict[str, Any]) -> str:
    """The official PCKh table (percent) of an ``evaluate`` result, as printable text."""
    names = [name for name, _ in GROUPS] + ["Mean"]
    lines = [f"{'':10}" + " | ".join(f"{name:>8}" for name in names)]
    for key in (f"PCKh@{t}" for t in THRESHOLDS):
        lines.append(f"{key:10}" + " | ".join(f"{result[key]['groups'][name]:8.2f}" for name in names))
    lines.append(f"Mean@0.1 as the HRNet code computes it (threshold 0.11): "
                 f"{result['Mean@0.1 (HRNet code, threshold 0.11)']:.2f}")
    return "\n".join(lines)


def cli(args: argparse.Namespace) -> int:
    """Run `python -m eval mpii`: print the official PCKh table, write JSON when asked.

    Raises EvalError for bad input; the caller prints it as one sentence.
    """
    result = evaluate_files(args.gt, args.pred, pred_one_based=args.pred_one_based)
    print(format_table(result))
    if args.json:
        write_json(args.json, result, error=EvalError)
    return 0
