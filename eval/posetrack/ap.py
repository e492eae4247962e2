"""Per-joint average precision over scored joint detections, as poseval computes it (README §4.2)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.posetrack.frames import NUM_JOINTS


@dataclass
class Detections:
    """Predicted joints of some frames: joint (D,) int poseval id, score (D,) float64, true_positive
    (T, D) bool, the label at each of T joint-score thresholds; and num_gt (15,) int, the GT joints
    of each type in the same frames."""

    joint: np.ndarray
    score: np.ndarray
    true_positive: np.ndarray
    num_gt: np.ndarray

    @staticmethod
    def concatenate(parts: list[Detections], num_thresholds: int) -> Detections:
        """All detections of several frames or sequences, in order."""
        if not parts:
            return Detections(np.zeros(0, np.int64), np.zeros(0), np.zeros((num_thresholds, 0), bool),
                              np.zeros(NUM_JOINTS, np.int64))
        return Detections(np.concatenate([p.joint for p in parts]), np.concatenate([p.score for p in parts]),
                          np.concatenate([p.true_positive for p in parts], axis=1),
                          np.sum([p.num_gt for p in parts], axis=0))


def average_precision(detections: Detections,
                      thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AP, precision, recall) per threshold and joint, (T, 15) float64 each, in percent.

    At threshold t only the detections scoring at least ``thresholds[t]`` count, labelled by row t
    of ``true_positive``. Detections are ranked by score, highest first (equal scores keep their
    listed order; poseval's order for ties is arbitrary, Q9), so those of one threshold are a prefix
    of the ranking, which is sorted once. AP is the area under the precision/recall curve with
    precision made non-increasing from the right (VOC "all points"); precision and recall are the
    curve's last point. A joint without detections gets 0 for all three; one without GT joints gets
    NaN AP/recall.
    """
    shape = (len(thresholds), NUM_JOINTS)
    ap, precision, recall = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    order = np.lexsort((-detections.score, detections.joint))
    joints = detections.joint[order]
    descending = -detections.score[order]
    hits = detections.true_positive[:, order].astype(np.float64)
    bounds = np.searchsorted(joints, np.arange(NUM_JOINTS + 1))
    for joint in range(NUM_JOINTS):
        start = bounds[joint]
        stops = start + np.searchsorted(descending[start:bounds[joint + 1]], -thresholds, side="right")
        num_gt = detections.num_gt[joint]
        for row, stop in enumerate(stops):
            if stop == start:
                continue
            found = np.cumsum(hits[row, start:stop])
            curve_precision = found / np.arange(1, stop - start + 1)
            curve_recall = found / num_gt if num_gt > 0 else np.full(stop - start, np.nan)
            ap[row, joint] = _area(curve_recall, curve_precision) * 100.0
            precision[row, joint] = curve_precision[-1] * 100.0
            recall[row, joint] = curve_recall[-1] * 100.0
    return ap, precision, recall


def _area(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under a PR curve: recall 0 prepended, recall 1 at precision 0 appended, precision made
    non-increasing from the right, summed over the points where recall changes."""
    if np.isnan(recall).any():
        return float("nan")
    points_recall = np.concatenate(([0.0], recall, [1.0]))
    points_precision = np.concatenate(([0.0], precision, [0.0]))
    points_precision = np.maximum.accumulate(points_precision[::-1])[::-1]
    changes = np.flatnonzero(points_recall[1:] != points_recall[:-1]) + 1
    return float(np.sum((points_recall[changes] - points_recall[changes - 1]) * points_precision[changes]))
