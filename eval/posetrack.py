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
from dataclasses import dataclass, field

import numpy as np

from eval.errors import EvalError
from eval.posetrack_ap import Detections, average_precision
from eval.posetrack_pairs import pair_frames
from eval.posetrack_read import read_folder
from eval.posetrack_types import Sequence, present_mask
from eval.posetrack_frames import frame_people, match_frame, people
from eval.posetrack_mot import MotCounts, SequenceAccumulator
from pose.skeleton import POSEVAL_GROUPS, POSEVAL_JOINTS

logger = logging.getLogger(__name__)

# Warnings list at most this many names or problems of one kind.
MAX_LISTED = 5
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


def evaluate_folders(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike) -> PoseTrackResult:
    """Read a GT folder and a prediction folder (one file per sequence) and evaluate them."""
    return evaluate(read_folder(gt_dir), read_folder(pred_dir))


def evaluate(gt: dict[str, Sequence], pred: dict[str, Sequence]) -> PoseTrackResult:
    """Score predicted sequences against GT sequences (keyed by sequence name).

    Raises EvalError when no sequence is shared or predictions hold NaN/inf coordinates or scores.
    """
    common = [name for name in gt if name in pred]
    if not common:
        raise EvalError(f"the ground truth ({_some(gt)}) and the predictions ({_some(pred)}) have no "
                        "sequence in common; prediction files must carry the ground-truth file names.")
    warnings = []
    for name in common:
        problems = pred[name].problems
        warnings += problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            warnings.append(f"{name}: {len(problems) - MAX_LISTED} more problem(s) like these; "
                            "python -m eval check-submission lists them all.")
    missing = [name for name in gt if name not in pred]
    if missing:
        warnings.append(f"{len(missing)} sequence(s) have no prediction file and count as all missed: "
                        f"{_listing(missing)}.")
    extra = [name for name in pred if name not in gt]
    if extra:
        warnings.append(f"{len(extra)} prediction file(s) match no ground-truth sequence and are ignored: "
                        f"{_listing(extra)}.")
    per_sequence: dict[str, Scores] = {}
    detections, counts, mot_sequences = [], [], []
    for name in gt:
        outcome = _evaluate_sequence(gt[name], pred.get(name), warnings)
        if outcome is None:
            continue
        sequence_detections, sequence_counts = outcome
        per_sequence[name] = _scores(sequence_detections, sequence_counts)
        detections.append(sequence_detections)
        if sequence_counts is not None:
            counts.append(sequence_counts)
            mot_sequences.append(name)
    if not per_sequence:
        raise EvalError("no ground-truth sequence has a frame with annotated persons; nothing to evaluate.")
    total_counts = sum(counts[1:], counts[0]) if counts else None
    if len(mot_sequences) < len(per_sequence):
        warnings.append(f"MOT totals cover {len(mot_sequences)} of {len(per_sequence)} sequences.")
    for warning in warnings:
        logger.warning(warning)
    return PoseTrackResult(_scores(Detections.concatenate(detections), total_counts), per_sequence,
                           list(per_sequence), mot_sequences, warnings)


def _scores(detections: Detections, counts: MotCounts | None) -> Scores:
    ap, precision, recall = average_precision(detections)
    values: dict[str, np.ndarray | None] = {"mAP": ap}
    mot = counts.metrics() if counts is not None else dict.fromkeys(METRICS[1:])
    values.update(mot)
    return Scores(values, precision, recall, counts)


def _evaluate_sequence(gt: Sequence, pred: Sequence | None,
                       warnings: list[str]) -> tuple[Detections, MotCounts | None] | None:
    """AP detections and MOT counts of one sequence; None when it has no evaluated frame."""
    if pred is None:
        pred = Sequence(gt.name, [])
    pairs = pair_frames(gt, pred)
    evaluated = [(gt_frame, frame) for gt_frame, frame in pairs.matched if gt_frame.persons]
    if not evaluated:
        warnings.append(f"sequence {gt.name}: no frame has annotated persons; it is left out.")
        return None
    _check_numbers(gt, [gt_frame for gt_frame, _ in evaluated], is_gt=True)
    _check_numbers(pred, [frame for _, frame in evaluated if frame is not None], is_gt=False)
    lacking = [gt_frame.file_name for gt_frame, frame in evaluated if frame is None]
    if lacking and pred.frames:
        warnings.append(f"sequence {gt.name}: {len(lacking)} labelled frame(s) have no prediction and count "
                        f"as all missed: {_listing(lacking)}.")
    if pairs.extra:
        warnings.append(f"sequence {gt.name}: {len(pairs.extra)} predicted frame(s) are not in the ground "
                        f"truth and are ignored, first {pairs.extra[0].file_name}.")
    frames = [frame_people(g.persons, None if f is None else f.persons, g.ignore_regions) for g, f in evaluated]
    accumulator = _accumulator(gt.name, frames, warnings)
    parts = []
    for index, (gt_people, pred_people) in enumerate(frames):
        pred_people = pred_people if pred_people is not None else people([], [])
        match = match_frame(gt_people, pred_people)
        has = pred_people.has
        parts.append(Detections(np.nonzero(has)[1], pred_people.scores[has], match.true_positive[has],
                                gt_people.has.sum(axis=0)))
        # Q10: the last evaluated frame of a sequence takes no part in MOT.
        if accumulator is None or index == len(frames) - 1:
            continue
        if frames[index][1] is None:
            accumulator.all_missed(gt_people)
        elif len(gt_people) == 0 or len(pred_people) == 0:
            accumulator.placeholder()
        else:
            accumulator.update(gt_people, pred_people, match)
    return Detections.concatenate(parts), None if accumulator is None else accumulator.counts


def _accumulator(name: str, frames: list, warnings: list[str]) -> SequenceAccumulator | None:
    """The MOT accumulator of a sequence, or None (with a warning) when MOT cannot score it."""
    if len(frames) < 2:
        warnings.append(f"sequence {name}: only one evaluated frame, so it is left out of MOT "
                        "(poseval crashes on it); its AP is reported.")
        return None
    mot_frames = frames[:-1]
    for gt_people, pred_people in mot_frames:
        if pred_people is None:
            continue
        if (gt_people.track_ids < 0).any() or (pred_people.track_ids < 0).any():
            warnings.append(f"sequence {name}: some persons have no track_id, so it is left out of MOT.")
            return None
        if len(np.unique(pred_people.track_ids)) < len(pred_people):
            warnings.append(f"sequence {name}: a predicted track_id repeats within a frame, so it is left "
                            "out of MOT.")
            return None
    gt_ids = np.concatenate([g.track_ids for g, _ in mot_frames])
    pred_ids = np.concatenate([p.track_ids for _, p in mot_frames if p is not None] or [np.zeros(0, np.int64)])
    return SequenceAccumulator(gt_ids, pred_ids)


def _check_numbers(sequence: Sequence, frames: list, *, is_gt: bool) -> None:
    """EvalError for the first person with NaN/inf coordinates or scores, or a GT person with
    joints but without a usable head box (it sets the distance scale)."""
    for frame in frames:
        for index, person in enumerate(frame.persons):
            values = [person.keypoints] + ([person.scores] if person.scores is not None else [])
            where = f"{sequence.source or sequence.name}: frame {frame.file_name}, person {index}"
            if not all(np.isfinite(v).all() for v in values):
                raise EvalError(f"{where} has NaN or infinite keypoints or scores; fix the file "
                                "(python -m eval check-submission lists every problem).")
            has_joints = present_mask(np.asarray(person.keypoints)).any()
            if is_gt and has_joints and (person.head_box is None or not np.isfinite(person.head_box).all()):
                raise EvalError(f"{where} has no finite head box (bbox_head), which PCKh needs; "
                                "use PoseTrack ground truth with head boxes.")


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _some(sequences: dict) -> str:
    names = list(sequences)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") if names else "none"


def format_tables(result: PoseTrackResult) -> str:
    """The mAP and MOTA tables in the layout of the HRNet paper's Tables 8 and 9, plus MOTP,
    precision and recall totals, as printable text."""
    columns = [name for name, _ in POSEVAL_GROUPS] + ["Total"]
    header = "".join(f"{c:>7}" for c in columns)
    lines = []
    for metric in ("mAP", "MOTA"):
        row = "".join(_cell(v) for v in result.total.groups(metric).values())
        lines += [f"{metric} per joint group", header, row, ""]
    lines.append("".join(f"{c:>11}" for c in ("MOTA", "MOTP", "Precision", "Recall")))
    lines.append("".join(f"{result.total.total(m):>11.1f}" if not math.isnan(result.total.total(m))
                         else f"{'-':>11}" for m in ("MOTA", "MOTP", "precision", "recall")))
    lines.append("")
    lines.append(f"{MOTP_NOTE}.")
    lines.append(f"{len(result.sequences)} sequence(s) evaluated, {len(result.mot_sequences)} of them in MOT.")
    return "\n".join(lines)


def _cell(value: float) -> str:
    return f"{'-':>7}" if math.isnan(value) else f"{value:>7.1f}"
