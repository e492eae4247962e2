"""PoseTrack per-joint mAP and MOTA/MOTP/precision/recall, equal to the official poseval.

What is scored follows poseval (README of ``../shared/reference/posetrack``): frames with GT persons,
ignore regions, PCKh@0.5 with the GT head size, its per-frame greedy assignment for AP, CLEAR-MOT
per joint for tracking, and its totals (plain means of the per-joint values that are not NaN).
Deliberate differences: frames are paired by image name or id, not by position (Q1); frames or
sequences the predictions lack count as all missed and are listed, extra ones are listed and
ignored; a sequence with a single evaluated frame (poseval crashes, Q12) gets its AP and is left
out of MOT with a warning. MOTP is the leaderboard's: 100 (1 - mean matched distance).
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from eval.errors import EvalError
from eval.posetrack.ap import Detections, average_precision
from eval.posetrack.mot import MotCounts
from eval.posetrack.read import read_folder
from eval.posetrack.sequence import MAX_LISTED, SequenceScore, score_sequence, shared_sequences
from eval.posetrack.types import Sequence
from pose.skeleton import POSEVAL_GROUPS, POSEVAL_JOINTS

log = logging.getLogger(__name__)

METRICS = ("mAP", "MOTA", "MOTP", "precision", "recall")
MOTP_NOTE = ("MOTP = 100 x (1 - mean matched distance in head sizes), as the PoseTrack leaderboard "
             "computed it (poseval with py-motmetrics 1.0.2)")


def mean_of_valid(values: np.ndarray) -> float:
    """poseval's total: the plain mean of the values that are not NaN (NaN when none is)."""
    valid = values[~np.isnan(values)]
    return float(valid.mean()) if valid.size else float("nan")


@dataclass
class Scores:
    """Per-joint values (15,) in poseval order for each metric of METRICS (percent; NaN allowed).
    The MOT metrics are None for a sequence left out of tracking."""

    values: dict[str, np.ndarray | None]
    ap_precision: np.ndarray
    ap_recall: np.ndarray
    mot_counts: MotCounts | None = None

    def total(self, metric: str) -> float:
        """Mean over the joints whose value is not NaN (Q13)."""
        values = self.values[metric]
        return float("nan") if values is None else mean_of_valid(values)

    def groups(self, metric: str) -> dict[str, float]:
        """The HRNet paper's column groups (Head, Sho., ..., Ank.) and Total; NaN members make NaN."""
        values = self.values[metric]
        if values is None:
            return {name: float("nan") for name, _ in POSEVAL_GROUPS} | {"Total": float("nan")}
        result = {name: float(np.mean([values[POSEVAL_JOINTS.index(j)] for j in joints]))
                  for name, joints in POSEVAL_GROUPS}
        result["Total"] = self.total(metric)
        return result

    def to_json(self) -> dict:
        """{metric: {"per_joint": {joint: value}, "total": value}} with NaN as None."""
        result = {}
        for metric in METRICS:
            values = self.values[metric]
            per_joint = {name: _number(None if values is None else values[i])
                         for i, name in enumerate(POSEVAL_JOINTS)}
            result[metric] = {"per_joint": per_joint, "total": _number(self.total(metric))}
        return result


@dataclass
class PoseTrackResult:
    """Totals, per-sequence scores, the sequences evaluated, those in MOT, and warnings."""

    total: Scores
    per_sequence: dict[str, Scores]
    sequences: list[str]
    mot_sequences: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The stable JSON layout of ``python -m eval posetrack --json``."""
        return {**self.total.to_json(),
                "per_sequence": {name: scores.to_json() for name, scores in self.per_sequence.items()},
                "sequences": list(self.sequences), "warnings": list(self.warnings)}


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def evaluate_folders(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike,
                     kpt_thr: float | None = None) -> PoseTrackResult:
    """Read a GT folder and a prediction folder (one file per sequence) and evaluate them."""
    return evaluate(read_folder(gt_dir), read_folder(pred_dir), kpt_thr)


def evaluate(gt: dict[str, Sequence], pred: dict[str, Sequence], kpt_thr: float | None = None) -> PoseTrackResult:
    """Score predicted sequences against GT sequences (keyed by sequence name); with ``kpt_thr``,
    predicted joints scoring under it count as absent.

    Raises EvalError when no sequence is shared or predictions hold NaN/inf coordinates or scores.
    """
    return sweep(gt, pred, [kpt_thr])[0]


def sweep(gt: dict[str, Sequence], pred: dict[str, Sequence],
          thresholds: Iterable[float | None]) -> list[PoseTrackResult]:
    """``evaluate`` at each joint-score threshold (None: keep every joint), sharing the reading,
    pairing, ignore regions and distances, which do not depend on the threshold."""
    limits = np.array([-np.inf if value is None else value for value in thresholds], dtype=np.float64)
    common, unpaired = shared_sequences(gt, pred)
    shared = []
    for name in common:
        problems = pred[name].problems
        shared += problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            shared.append(f"{name}: {len(problems) - MAX_LISTED} more problem(s) like these; "
                          "python -m eval check-submission lists them all.")
    shared += unpaired
    warnings = [list(shared) for _ in limits]
    scored: dict[str, SequenceScore] = {}
    for name in gt:
        score = score_sequence(gt[name], pred.get(name), limits, warnings)
        if score is not None:
            scored[name] = score
    if not scored:
        raise EvalError("no ground-truth sequence has a frame with annotated persons; nothing to evaluate.")
    sequence_ap = {name: average_precision(score.detections, limits) for name, score in scored.items()}
    total_ap = average_precision(Detections.concatenate([s.detections for s in scored.values()], len(limits)),
                                 limits)
    results = []
    for row, texts in enumerate(warnings):
        per_sequence = {name: _scores(sequence_ap[name], row, score.counts[row]) for name, score in scored.items()}
        mot_counts = {name: found for name, score in scored.items() if (found := score.counts[row]) is not None}
        mot_sequences, counts = list(mot_counts), list(mot_counts.values())
        if len(mot_sequences) < len(per_sequence):
            texts.append(f"MOT totals cover {len(mot_sequences)} of {len(per_sequence)} sequences.")
        total = _scores(total_ap, row, sum(counts[1:], counts[0]) if counts else None)
        results.append(PoseTrackResult(total, per_sequence, list(per_sequence), mot_sequences, texts))
    for text in dict.fromkeys(text for texts in warnings for text in texts):
        log.warning(text)
    return results


def _scores(ap: tuple[np.ndarray, np.ndarray, np.ndarray], row: int, counts: MotCounts | None) -> Scores:
    """The Scores at threshold ``row`` from AP arrays (T, 15) and that threshold's MOT counts."""
    values: dict[str, np.ndarray | None] = {"mAP": ap[0][row]}
    mot = counts.metrics() if counts is not None else dict.fromkeys(METRICS[1:])
    values.update(mot)
    return Scores(values, ap[1][row], ap[2][row], counts)


def format_tables(result: PoseTrackResult) -> str:
    """The mAP and MOTA tables in the layout of the HRNet paper's Tables 8 and 9, plus MOTP,
    precision and recall totals, as printable text."""
    columns = [name for name, _ in POSEVAL_GROUPS] + ["Total"]
    groups = {metric: list(result.total.groups(metric).values()) for metric in ("mAP", "MOTA")}
    width = max(7, *(len(_cell_text(v)) + 1 for values in groups.values() for v in values))
    header = "".join(f"{c:>{width}}" for c in columns)
    lines = []
    for metric, values in groups.items():
        lines += [f"{metric} per joint group", header, "".join(format_cell(v, width) for v in values), ""]
    totals = [result.total.total(m) for m in ("MOTA", "MOTP", "precision", "recall")]
    width = max(11, *(len(_cell_text(v)) + 1 for v in totals))
    lines.append("".join(f"{c:>{width}}" for c in ("MOTA", "MOTP", "Precision", "Recall")))
    lines.append("".join(format_cell(v, width) for v in totals))
    lines.append("")
    lines.append(f"{MOTP_NOTE}.")
    lines.append(f"{len(result.sequences)} sequence(s) evaluated, {len(result.mot_sequences)} of them in MOT.")
    return "\n".join(lines)


def format_cell(value: float, width: int = 7) -> str:
    """A table cell: the value with one decimal, or '-' for NaN, right-aligned in `width` characters and
    wider when the value needs it, always after a space so that cells never run together."""
    return f" {_cell_text(value):>{max(width - 1, 1)}}"


def _cell_text(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"
