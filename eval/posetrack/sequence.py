"""Score one PoseTrack sequence at T joint-score thresholds at once: its AP detections and MOT counts.

Everything that does not depend on the threshold is done once per frame: pairing, ignore regions,
the head-normalised distances; only the person assignment, the AP labels and the MOT events are
computed per threshold, vectorised (README §4 of ``../shared/reference/posetrack``). A joint under
a threshold is scored exactly as if it were absent from the file: in frames with ignore regions a
person left without any joint then disappears (Q6), which can make the frame a MOT placeholder (Q11).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.errors import EvalError
from eval.posetrack.ap import Detections
from eval.posetrack.frames import NUM_JOINTS, People, frame_people, kept_joints, match_frame, people
from eval.posetrack.mot import MotCounts, SequenceAccumulator
from eval.posetrack.pairs import pair_frames
from eval.posetrack.types import Sequence, present_mask

# Warnings list at most this many names of one kind.
MAX_LISTED = 5


@dataclass
class _Frame:
    """One evaluated frame as poseval sees it; pred is None when the predictions lack the frame."""

    gt: People
    pred: People | None
    has_ignore_regions: bool


@dataclass
class SequenceScore:
    """AP detections (one true_positive row per threshold) and, per threshold, the MOT counts
    (None where the sequence is left out of MOT)."""

    detections: Detections
    counts: list[MotCounts | None]


def score_sequence(gt: Sequence, pred: Sequence | None, thresholds: np.ndarray,
                   warnings: list[list[str]]) -> SequenceScore | None:
    """Score ``pred`` against ``gt`` at each of the (T,) thresholds (-inf keeps every joint); None
    when the sequence has no evaluated frame. Warnings go to ``warnings[t]`` of each threshold t."""
    if pred is None:
        pred = Sequence(gt.name, [])
    pairs = pair_frames(gt, pred)
    evaluated = [(gt_frame, frame) for gt_frame, frame in pairs.matched if gt_frame.persons]
    if not evaluated:
        _warn(warnings, f"sequence {gt.name}: no frame has annotated persons; it is left out.")
        return None
    _check_numbers(gt, [gt_frame for gt_frame, _ in evaluated], is_gt=True)
    _check_numbers(pred, [frame for _, frame in evaluated if frame is not None], is_gt=False)
    lacking = [gt_frame.file_name for gt_frame, frame in evaluated if frame is None]
    if lacking and pred.frames:
        _warn(warnings, f"sequence {gt.name}: {len(lacking)} labelled frame(s) have no prediction and count "
                        f"as all missed: {listing(lacking)}.")
    if pairs.extra:
        _warn(warnings, f"sequence {gt.name}: {len(pairs.extra)} predicted frame(s) are not in the ground "
                        f"truth and are ignored, first {pairs.extra[0].file_name}.")
    frames = []
    for g, f in evaluated:
        gt_people, pred_people = frame_people(g.persons, None if f is None else f.persons, g.ignore_regions)
        frames.append(_Frame(gt_people, pred_people, bool(g.ignore_regions)))
    return _score_frames(gt.name, frames, thresholds, warnings)


def _score_frames(name: str, frames: list[_Frame], thresholds: np.ndarray,
                  warnings: list[list[str]]) -> SequenceScore:
    num_thresholds = len(thresholds)
    in_mot = _mot_thresholds(name, frames, thresholds, warnings)
    accumulator = None
    if in_mot.any():
        mot_frames = frames[:-1]
        gt_ids = np.concatenate([frame.gt.track_ids for frame in mot_frames])
        pred_ids = np.concatenate([frame.pred.track_ids for frame in mot_frames if frame.pred is not None]
                                  or [np.zeros(0, np.int64)])
        accumulator = SequenceAccumulator(gt_ids, pred_ids, num_thresholds * NUM_JOINTS)
    parts = []
    for index, frame in enumerate(frames):
        gt_people = frame.gt
        pred_people = frame.pred if frame.pred is not None else people([], [])
        kept = kept_joints(pred_people, thresholds)
        match = match_frame(gt_people, pred_people, kept)
        has = pred_people.has
        parts.append(Detections(np.nonzero(has)[1], pred_people.scores[has], match.true_positive[:, has],
                                gt_people.has.sum(axis=0)))
        # Q10: the last evaluated frame of a sequence takes no part in MOT.
        if accumulator is None or index == len(frames) - 1:
            continue
        gt_has = np.tile(gt_people.has.T, (num_thresholds, 1))  # (T*15, G), threshold-major channels
        if frame.pred is None:
            accumulator.all_missed(gt_has)
        elif len(gt_people) == 0 or len(pred_people) == 0:
            accumulator.placeholder()
        else:
            # where every predicted person lost all its joints in a frame with ignore regions, no
            # prediction is left: the frame is a placeholder at that threshold.
            emptied = np.repeat(frame.has_ignore_regions & ~kept.any(axis=(1, 2)), NUM_JOINTS)
            gt_has[emptied] = False
            accumulator.update(gt_people.track_ids, pred_people.track_ids, gt_has,
                               kept.transpose(0, 2, 1).reshape(-1, len(pred_people)),
                               match.within.transpose(0, 3, 2, 1).reshape(-1, len(gt_people), len(pred_people)),
                               np.tile(match.distance.transpose(2, 1, 0), (num_thresholds, 1, 1)))
            if emptied.any():
                accumulator.placeholder(emptied)
    rows = accumulator.counts.rows(num_thresholds) if accumulator is not None else [None] * num_thresholds
    counts = [row if ok else None for row, ok in zip(rows, in_mot)]
    return SequenceScore(Detections.concatenate(parts, num_thresholds), counts)


def _mot_thresholds(name: str, frames: list[_Frame], thresholds: np.ndarray,
                    warnings: list[list[str]]) -> np.ndarray:
    """(T,) bool: at which thresholds MOT can score the sequence; a warning for each where it cannot."""
    in_mot = np.ones(len(thresholds), bool)
    if len(frames) < 2:
        _warn(warnings, f"sequence {name}: only one evaluated frame, so it is left out of MOT "
                        "(poseval crashes on it); its AP is reported.")
        return ~in_mot
    for frame in frames[:-1]:
        # a subset of persons without a track-id problem has none either: most frames stop here.
        if frame.pred is None or _track_id_problem(frame.gt.track_ids, frame.pred.track_ids) is None:
            continue
        present = np.ones((len(thresholds), len(frame.pred)), bool)
        if frame.has_ignore_regions:
            present = np.any(kept_joints(frame.pred, thresholds), axis=2)
        for row in np.flatnonzero(in_mot):
            problem = _track_id_problem(frame.gt.track_ids, frame.pred.track_ids[present[row]])
            if problem is not None:
                in_mot[row] = False
                warnings[row].append(f"sequence {name}: {problem}, so it is left out of MOT.")
    return in_mot


def _track_id_problem(gt_ids: np.ndarray, pred_ids: np.ndarray) -> str | None:
    if (gt_ids < 0).any() or (pred_ids < 0).any():
        return "some persons have no track_id"
    if len(np.unique(pred_ids)) < len(pred_ids):
        return "a predicted track_id repeats within a frame"
    return None


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


def _warn(warnings: list[list[str]], text: str) -> None:
    for texts in warnings:
        texts.append(text)


def listing(names: list[str]) -> str:
    """At most MAX_LISTED names, comma-separated, and how many more there are."""
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def shared_sequences(gt: dict[str, Sequence], pred: dict[str, Sequence],
                     missing_note: str = "") -> tuple[list[str], list[str]]:
    """(the sequence names both folders have, in GT order; warnings naming those only one has), for
    the sequences that count as all missed (``missing_note`` added) and the predictions ignored.
    EvalError when no sequence is shared."""
    common = [name for name in gt if name in pred]
    if not common:
        raise EvalError(f"the ground truth ({_some(gt)}) and the predictions ({_some(pred)}) have no "
                        "sequence in common; prediction files must carry the ground-truth file names.")
    warnings = []
    missing = [name for name in gt if name not in pred]
    if missing:
        warnings.append(f"{len(missing)} sequence(s) have no prediction file and count as all missed"
                        f"{missing_note}: {listing(missing)}.")
    extra = [name for name in pred if name not in gt]
    if extra:
        warnings.append(f"{len(extra)} prediction file(s) match no ground-truth sequence and are ignored: "
                        f"{listing(extra)}.")
    return common, warnings


def _some(sequences: dict) -> str:
    names = list(sequences)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") if names else "none"

