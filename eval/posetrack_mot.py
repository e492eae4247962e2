"""CLEAR-MOT counts per joint for one sequence, as poseval gets them from py-motmetrics (README §4.3).

Objects are GT persons that have the joint, hypotheses the predicted persons that have it, both
identified by track id; a pair can match when its head-normalised distance is within the PCKh
threshold. All 15 joints are updated together, with track ids mapped to dense indices.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from eval.posetrack_frames import NUM_JOINTS, FrameMatch, People


def _zeros() -> np.ndarray:
    return np.zeros(NUM_JOINTS, np.int64)


@dataclass
class MotCounts:
    """Per-joint event counts, (15,) each; distance is the sum of matched distances (head sizes)."""

    objects: np.ndarray = field(default_factory=_zeros)
    misses: np.ndarray = field(default_factory=_zeros)
    false_positives: np.ndarray = field(default_factory=_zeros)
    switches: np.ndarray = field(default_factory=_zeros)
    detections: np.ndarray = field(default_factory=_zeros)
    distance: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS))

    def __add__(self, other: "MotCounts") -> "MotCounts":
        return MotCounts(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))

    def metrics(self) -> dict[str, np.ndarray]:
        """MOTA, MOTP, precision and recall per joint in percent, with poseval's NaN rules.

        MOTP = 100 (1 - mean matched distance), 0 without detections: the leaderboard's MOTP
        (py-motmetrics 1.0.2, `MOTP_total_with_2018_motmetrics` in the reference), not the lower
        value current poseval prints with newer py-motmetrics.
        """
        objects = np.where(self.objects > 0, self.objects, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            mota = 100.0 * (1.0 - (self.misses + self.switches + self.false_positives) / objects)
            motp = np.where(self.detections > 0, 100.0 * (1.0 - self.distance / self.detections), 0.0)
            claimed = self.detections + self.false_positives
            precision = 100.0 * self.detections / np.where(claimed > 0, claimed, np.nan)
            recall = 100.0 * self.detections / objects
        return {"MOTA": mota, "MOTP": motp, "precision": precision, "recall": recall}


class SequenceAccumulator:
    """Accumulates MOT events of one sequence for all joints; frames must come in file order.

    gt_ids / pred_ids: every track id that can appear in the sequence (to index them densely).
    """

    def __init__(self, gt_ids: np.ndarray, pred_ids: np.ndarray):
        self.gt_ids = np.unique(gt_ids)
        self.pred_ids = np.unique(pred_ids)
        # last[j, object] = dense index of the hypothesis the object was last paired with, or -1.
        self.last = np.full((NUM_JOINTS, len(self.gt_ids)), -1, np.int64)
        self.counts = MotCounts()

    def placeholder(self) -> None:
        """A frame without GT or without predictions after filtering (Q11): per joint one object
        and one hypothesis that cannot match."""
        self.counts.objects += 1
        self.counts.misses += 1
        self.counts.false_positives += 1

    def all_missed(self, gt: People) -> None:
        """A GT frame the predictions lack: every GT joint is a miss."""
        present = gt.has.sum(axis=0)
        self.counts.objects += present
        self.counts.misses += present

    def update(self, gt: People, pred: People, match: FrameMatch) -> None:
        """One frame with GT and predictions: keep previous pairs within the threshold, pair the
        rest with most pairs first and least total distance second, count switches and misses."""
        counts = self.counts
        gt_has, pred_has = gt.has, pred.has  # (G,15), (P,15)
        objects = np.searchsorted(self.gt_ids, gt.track_ids)
        hypotheses = np.searchsorted(self.pred_ids, pred.track_ids)
        num_objects, num_hyps = gt_has.sum(axis=0), pred_has.sum(axis=0)
        counts.objects += num_objects
        # within[j, g, p]: object g and hypothesis p may pair for joint j.
        within = np.transpose(match.within, (2, 1, 0)) & gt_has.T[:, :, None] & pred_has.T[:, None, :]
        distance = np.transpose(match.distance, (2, 1, 0))
        free = within.copy()
        pairs_j, pairs_g, pairs_p = [], [], []

        # 1. an object keeps its previous hypothesis when that one is here and within reach.
        column_of = np.full(len(self.pred_ids) + 1, -1, np.int64)
        column_of[hypotheses] = np.arange(len(pred))
        previous = self.last[:, objects]  # (15, G)
        column = column_of[previous]  # -1 maps to the spare last entry
        joint_index, object_index = np.nonzero(column >= 0)
        keep = within[joint_index, object_index, column[joint_index, object_index]]
        joint_index, object_index = joint_index[keep], object_index[keep]
        hyp_index = column[joint_index, object_index]
        # two objects may remember the same hypothesis: the first listed takes it.
        _, first = np.unique(joint_index * len(pred) + hyp_index, return_index=True)
        joint_index, object_index, hyp_index = joint_index[first], object_index[first], hyp_index[first]
        free[joint_index, object_index, :] = False
        free[joint_index, :, hyp_index] = False
        counts.distance += np.bincount(joint_index, distance[joint_index, object_index, hyp_index], NUM_JOINTS)
        matched = np.bincount(joint_index, minlength=NUM_JOINTS)

        # 2. the remaining pairs: forced where each object and hypothesis has one candidate.
        per_object = free.sum(axis=2).max(axis=1, initial=0)
        per_hyp = free.sum(axis=1).max(axis=1, initial=0)
        simple = (per_object <= 1) & (per_hyp <= 1)
        j, g, p = np.nonzero(free & simple[:, None, None])
        pairs_j.append(j), pairs_g.append(g), pairs_p.append(p)
        for joint in np.flatnonzero(~simple):
            g, p = _assign(free[joint], distance[joint])
            pairs_j.append(np.full(len(g), joint)), pairs_g.append(g), pairs_p.append(p)
        j, g, p = (np.concatenate(values) for values in (pairs_j, pairs_g, pairs_p))
        before = self.last[j, objects[g]]
        now = hypotheses[p]
        switched = (before >= 0) & (before != now)
        self.last[j, objects[g]] = now
        counts.distance += np.bincount(j, distance[j, g, p], NUM_JOINTS)
        counts.switches += np.bincount(j[switched], minlength=NUM_JOINTS)
        paired = matched + np.bincount(j, minlength=NUM_JOINTS)
        counts.detections += paired
        counts.misses += num_objects - paired
        counts.false_positives += num_hyps - paired


def _assign(allowed: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows, cols) using only allowed entries: as many pairs as possible, then the least
    total distance. Forbidden entries cost more than any set of allowed ones could save."""
    rows = np.flatnonzero(allowed.any(axis=1))
    cols = np.flatnonzero(allowed.any(axis=0))
    sub_allowed = allowed[np.ix_(rows, cols)]
    sub = distance[np.ix_(rows, cols)]
    forbidden_cost = min(sub.shape) * sub[sub_allowed].max() + 1.0
    cost = np.where(sub_allowed, sub, forbidden_cost)
    r, c = linear_sum_assignment(cost)
    ok = sub_allowed[r, c]
    return rows[r[ok]], cols[c[ok]]
