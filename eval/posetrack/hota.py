"""Keypoint HOTA as the PoseTrack21 kit computes it (``HOTAeypoints``), from a sequence's matched joints.

Arrays are (19, 16): one row per alpha (0.05 ... 0.95), one column per kit joint and the ``Total``
column. A sequence's Total is the mean over the 15 joints of each ratio field (the sum of each count),
joints without ground truth included (README §5.6 of ``../shared/reference/posetrack21``, Q8); totals
over sequences sum the counts, weight AssA, AssRe, AssPr, FragA and LocA by HOTA_TP element by element,
and derive the rest from those (Q9). What is printed is the mean over the alphas, in percent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHAS = np.arange(0.05, 0.99, 0.05)  # the kit's alphas (np.arange, so 0.15000000000000002 and so on)
NUM_ALPHAS = len(ALPHAS)
NUM_JOINTS = 15
COUNTS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
# Fields a sequence total averages over joints and sequences weight by HOTA_TP.
ASSOCIATION = ("AssA", "AssRe", "AssPr", "FragA")
# Every printed field, in the kit's order of the result file and then the counts.
FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "FragA", "RHOTA", "FA-HOTA",
          "FA-RHOTA", "HOTA(0)", "LocA(0)", "HOTALocA(0)", "HOTA_TP", "HOTA_FN", "HOTA_FP", "HOTA_TP(0)",
          "HOTA_FN(0)", "HOTA_FP(0)")
_EPS = np.finfo(float).eps


@dataclass
class SequenceMatches:
    """The matched joints of one sequence and the counts HOTA needs.

    joint, gt, pred, sim (M,): for every pair the per-frame, per-joint assignment matched with a
    positive similarity, its joint column, GT and predicted id (0..n-1 in the sequence) and similarity,
    listed in frame order. gt_frames (n_gt, 15) and pred_frames (n_pred, 15): in how many evaluated
    frames each id has each joint. missed (15,): the ground-truth joints to find, before matches
    (Q6 and Q7 included); predicted (15,): the predicted joints.
    """

    joint: np.ndarray
    gt: np.ndarray
    pred: np.ndarray
    sim: np.ndarray
    gt_frames: np.ndarray
    pred_frames: np.ndarray
    missed: np.ndarray
    predicted: np.ndarray


def sequence_fields(matches: SequenceMatches) -> dict[str, np.ndarray]:
    """Every field of one sequence: (19, 16) per alpha and column, the (0) fields (16,)."""
    tp_mask = matches.sim[None] >= ALPHAS[:, None] - _EPS  # (19, M)
    tp = _per_joint(tp_mask, matches.joint)
    fields = {"HOTA_TP": tp, "HOTA_FN": matches.missed[None] - tp, "HOTA_FP": matches.predicted[None] - tp,
              "LocA": np.maximum(1e-10, _per_joint(tp_mask * matches.sim[None], matches.joint))
              / np.maximum(1e-10, tp)}
    fields.update(_association(matches, tp_mask, tp))
    fields.update(_derived(fields))
    return _with_totals(fields)


def _association(matches: SequenceMatches, tp_mask: np.ndarray, tp: np.ndarray) -> dict[str, np.ndarray]:
    """AssA, AssRe, AssPr and FragA (19, 15) from the matched pairs (README §5.4)."""
    num_pred = max(1, matches.pred_frames.shape[0])
    pair_key = (matches.gt * num_pred + matches.pred) * NUM_JOINTS + matches.joint
    keys, key_of = np.unique(pair_key, return_inverse=True)
    key_of = key_of.reshape(-1)
    key_joint = keys % NUM_JOINTS
    key_pred = keys // NUM_JOINTS % num_pred
    key_gt = keys // NUM_JOINTS // num_pred
    rows, columns = np.nonzero(tp_mask)
    match_count = np.bincount(rows * len(keys) + key_of[columns],
                              minlength=NUM_ALPHAS * len(keys)).reshape(NUM_ALPHAS, len(keys)).astype(np.float64)
    gt_count = matches.gt_frames[key_gt, key_joint][None]
    pred_count = matches.pred_frames[key_pred, key_joint][None]
    union = np.maximum(1.0, gt_count + pred_count - match_count)
    squared = match_count ** 2
    per_tp = np.maximum(1.0, tp)
    result = {"AssA": _per_joint(squared / union, key_joint) / per_tp,
              "AssRe": _per_joint(squared / np.maximum(1.0, gt_count), key_joint) / per_tp,
              "AssPr": _per_joint(squared / np.maximum(1.0, pred_count), key_joint) / per_tp}
    # FragA: runs of one GT id matched to one predicted id, frames where it is unmatched not ending a run.
    order = np.lexsort((matches.gt, matches.joint))  # stable: frame order within a GT id and joint
    cells, weights = [], []
    for alpha in range(NUM_ALPHAS):
        taken = order[tp_mask[alpha, order]]
        if not len(taken):
            continue
        group = matches.joint[taken] * (matches.gt_frames.shape[0] + 1) + matches.gt[taken]
        starts = np.ones(len(taken), bool)
        starts[1:] = (group[1:] != group[:-1]) | (matches.pred[taken][1:] != matches.pred[taken][:-1])
        first = np.flatnonzero(starts)
        lengths = np.diff(np.append(first, len(taken)))
        keys_of_runs = key_of[taken[first]]
        cells.append(alpha * NUM_JOINTS + key_joint[keys_of_runs])
        weights.append(lengths ** 2 / union[alpha, keys_of_runs])
    fragments = np.bincount(np.concatenate(cells or [np.zeros(0, np.int64)]),
                            np.concatenate(weights or [np.zeros(0)]), minlength=NUM_ALPHAS * NUM_JOINTS)
    result["FragA"] = fragments.reshape(NUM_ALPHAS, NUM_JOINTS) / per_tp
    return result


def _per_joint(values: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """(19, 15): the sums of ``values`` (19, M) over the M items of each joint column ``joint`` (M,)."""
    cells = np.arange(NUM_ALPHAS)[:, None] * NUM_JOINTS + joint[None]
    return np.bincount(cells.ravel(), values.ravel().astype(np.float64),
                       minlength=NUM_ALPHAS * NUM_JOINTS).reshape(NUM_ALPHAS, NUM_JOINTS)


def _derived(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """DetRe, DetPr, DetA, HOTA, RHOTA, FA-HOTA and FA-RHOTA from the counts and association fields."""
    tp, fn, fp = (fields[name] for name in COUNTS)
    det_re = tp / np.maximum(1.0, tp + fn)
    det_a = tp / np.maximum(1.0, tp + fn + fp)
    frag = np.sqrt(fields["AssA"] * fields["FragA"])
    return {"DetRe": det_re, "DetPr": tp / np.maximum(1.0, tp + fp), "DetA": det_a,
            "HOTA": np.sqrt(det_a * fields["AssA"]), "RHOTA": np.sqrt(det_re * fields["AssA"]),
            "FA-HOTA": np.sqrt(det_a * frag), "FA-RHOTA": np.sqrt(det_re * frag)}


def _with_zero_alpha(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    zero = {f"{name}(0)": fields[name][0] for name in ("HOTA", "LocA") + COUNTS}
    return fields | zero | {"HOTALocA(0)": zero["HOTA(0)"] * zero["LocA(0)"]}


def _with_totals(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A sequence's arrays with the Total column: counts summed over joints, everything else averaged."""
    per_joint = _with_zero_alpha(fields)
    result = {}
    for name, values in per_joint.items():
        total = values.sum(axis=-1) if name.startswith("HOTA_") else values.mean(axis=-1)
        result[name] = np.concatenate([values, total[..., None]], axis=-1)
    return result


def combine(sequences: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The kit's totals over sequences: counts summed, association and LocA weighted by HOTA_TP, the
    other fields derived again from those, column by column (the Total column included)."""
    combined = {name: np.sum([fields[name] for fields in sequences], axis=0) for name in COUNTS}
    tp = combined["HOTA_TP"]
    for name in ASSOCIATION:
        weighted = np.sum([fields[name] * fields["HOTA_TP"] for fields in sequences], axis=0)
        combined[name] = weighted / np.maximum(1.0, tp)
    located = np.sum([fields["LocA"] * fields["HOTA_TP"] for fields in sequences], axis=0)
    combined["LocA"] = np.maximum(1e-10, located) / np.maximum(1e-10, tp)
    combined.update(_derived(combined))
    return _with_zero_alpha(combined)


def printed(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The values the kit prints, (16,) per field: ratios as percent means over the alphas, counts as the
    truncated mean over the alphas, the (0) fields at alpha 0.05 (ratios in percent)."""
    result = {}
    for name in FIELDS:
        values = fields[name]
        if name.startswith("HOTA_"):
            result[name] = np.trunc(values.mean(axis=0)) if values.ndim == 2 else values.astype(np.float64)
        else:
            result[name] = 100.0 * (values.mean(axis=0) if values.ndim == 2 else values)
    return result
