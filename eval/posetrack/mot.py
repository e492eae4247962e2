"""CLEAR-MOT counts per joint for one sequence, as poseval gets them from py-motmetrics (README §4.3).

Objects are GT persons that have the joint, hypotheses the predicted persons that have it, both
identified by track id; a pair can match when its head-normalised distance is within the PCKh
threshold. All channels are updated together, with track ids mapped to dense indices: a channel
is one joint, or one joint at one joint-score threshold when several thresholds are scored at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MotCounts:
    """Per-channel event counts, (J,) each; distance is the sum of matched distances (head sizes)."""

    objects: np.ndarray
    misses: np.ndarray
    false_positives: np.ndarray
    switches: np.ndarray
    detections: np.ndarray
    distance: np.ndarray

    @staticmethod
    def zeros(channels: int) -> MotCounts:
        """No events yet in any of ``channels`` channels."""
        counts = {name: np.zeros(channels, np.int64)
                  for name in ("objects", "misses", "false_positives", "switches", "detections")}
        return MotCounts(**counts, distance=np.zeros(channels))

    def rows(self, count: int) -> list[MotCounts]:
        """The counts of ``count`` equal consecutive groups of channels (one per threshold)."""
        fields = [getattr(self, name).reshape(count, -1) for name in self.__dataclass_fields__]
        return [MotCounts(*(values[row] for values in fields)) for row in range(count)]

    def __add__(self, other: MotCounts) -> MotCounts:
        return MotCounts(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))

    def metrics(self) -> dict[str, np.ndarray]:
        """MOTA, MOTP, precision and recall per channel in percent, with poseval's NaN rules.

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
    """Accumulates MOT events of one sequence for ``channels`` channels; frames must come in file order.

    gt_ids / pred_ids: every track id that can appear in the sequence (to index them densely).
    """

    def __init__(self, gt_ids: np.ndarray, pred_ids: np.ndarray, channels: int):
        self.gt_ids = np.unique(gt_ids)
        self.pred_ids = np.unique(pred_ids)
        # last[c, object] = dense index of the hypothesis the object was last paired with, or -1.
        self.last = np.full((channels, len(self.gt_ids)), -1, np.int64)
        self.counts = MotCounts.zeros(channels)

    def placeholder(self, channels: np.ndarray | None = None) -> None:
        """A frame without GT or without predictions after filtering (Q11): per channel (all, or
        where the (J,) mask ``channels`` is set) one object and one hypothesis that cannot match."""
        add = 1 if channels is None else channels.astype(np.int64)
        self.counts.objects += add
        self.counts.misses += add
        self.counts.false_positives += add

    def all_missed(self, gt_has: np.ndarray) -> None:
        """A GT frame the predictions lack: every GT joint ((J,G) ``gt_has``) is a miss."""
        present = gt_has.sum(axis=1)
        self.counts.objects += present
        self.counts.misses += present

    def update(self, gt_track_ids: np.ndarray, pred_track_ids: np.ndarray, gt_has: np.ndarray,
               pred_has: np.ndarray, within: np.ndarray, distance: np.ndarray) -> None:
        """One frame with GT (G,) and predictions (P,): track ids, joints present per channel (J,G)
        and (J,P), pairs that may match (J,G,P) and their distances (J,G,P). Keep previous pairs
        within the threshold, pair the rest with most pairs first and least total distance second,
        count switches and misses."""
        counts = self.counts
        channels = len(gt_has)
        objects = np.searchsorted(self.gt_ids, gt_track_ids)
        hypotheses = np.searchsorted(self.pred_ids, pred_track_ids)
        num_pred = len(pred_track_ids)
        num_objects, num_hyps = gt_has.sum(axis=1), pred_has.sum(axis=1)
        counts.objects += num_objects
        # within[c, g, p]: object g and hypothesis p may pair in channel c.
        within = within & gt_has[:, :, None] & pred_has[:, None, :]
        free = within.copy()
        pairs_c, pairs_g, pairs_p = [], [], []

        # 1. an object keeps its previous hypothesis when that one is here and within reach.
        column_of = np.full(len(self.pred_ids) + 1, -1, np.int64)
        column_of[hypotheses] = np.arange(num_pred)
        previous = self.last[:, objects]  # (J, G)
        column = column_of[previous]  # -1 maps to the spare last entry
        channel_index, object_index = np.nonzero(column >= 0)
        keep = within[channel_index, object_index, column[channel_index, object_index]]
        channel_index, object_index = channel_index[keep], object_index[keep]
        hyp_index = column[channel_index, object_index]
        # two objects may remember the same hypothesis: the first listed takes it.
        _, first = np.unique(channel_index * num_pred + hyp_index, return_index=True)
        channel_index, object_index, hyp_index = channel_index[first], object_index[first], hyp_index[first]
        free[channel_index, object_index, :] = False
        free[channel_index, :, hyp_index] = False
        counts.distance += np.bincount(channel_index, distance[channel_index, object_index, hyp_index], channels)
        matched = np.bincount(channel_index, minlength=channels)

        # 2. the remaining pairs: forced where each object and hypothesis has one candidate.
        per_object = free.sum(axis=2).max(axis=1, initial=0)
        per_hyp = free.sum(axis=1).max(axis=1, initial=0)
        simple = (per_object <= 1) & (per_hyp <= 1)
        c, g, p = np.nonzero(free & simple[:, None, None])
        pairs_c.append(c)
        pairs_g.append(g)
        pairs_p.append(p)
        solved: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        for channel in np.flatnonzero(~simple):
            # channels of one joint at nearby thresholds often pose the same problem: solve it once.
            key = free[channel].tobytes() + distance[channel].tobytes()
            if key not in solved:
                solved[key] = _assign(free[channel], distance[channel])
            g, p = solved[key]
            pairs_c.append(np.full(len(g), channel))
            pairs_g.append(g)
            pairs_p.append(p)
        c, g, p = (np.concatenate(values) for values in (pairs_c, pairs_g, pairs_p))
        before = self.last[c, objects[g]]
        now = hypotheses[p]
        switched = (before >= 0) & (before != now)
        self.last[c, objects[g]] = now
        counts.distance += np.bincount(c, distance[c, g, p], channels)
        counts.switches += np.bincount(c[switched], minlength=channels)
        paired = matched + np.bincount(c, minlength=channels)
        counts.detections += paired
        counts.misses += num_objects - paired
        counts.false_positives += num_hyps - paired


def _assign(allowed: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows, cols) using only allowed entries: as many pairs as possible, then the least
    total distance. Forbidden entries cost more than any set of allowed ones could save."""
    from scipy.optimize import linear_sum_assignment  # here, so that `python -m eval --help` stays fast

    rows = np.flatnonzero(allowed.any(axis=1))
    cols = np.flatnonzero(allowed.any(axis=0))
    sub_allowed = allowed[np.ix_(rows, cols)]
    sub = distance[np.ix_(rows, cols)]
    forbidden_cost = min(sub.shape) * sub[sub_allowed].max() + 1.0
    cost = np.where(sub_allowed, sub, forbidden_cost)
    r, c = linear_sum_assignment(cost)
    ok = sub_allowed[r, c]
    return rows[r[ok]], cols[c[ok]]
