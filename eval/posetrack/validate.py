"""Check a PoseTrack sequence (ground truth or predictions): every problem, one sentence each."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.posetrack.pairs import normalise_name, pair_frames
from eval.posetrack.types import MAX_TRACK_ID, NUM_SLOTS, Person, Sequence, present_mask
from pose.skeleton import POSETRACK18


def validate(sequence: Sequence, gt: Sequence | None = None, *, is_gt: bool = False) -> list[str]:
    """Every problem of a sequence, one sentence each naming file, frame, person and field.

    Checks what the reader noted plus: non-finite numbers, track ids missing, negative, >= 10000
    or repeated within a frame, per-joint scores of a prediction, head boxes of ground truth, and,
    when ``gt`` is given, frames that do not line up with the ground truth's.
    """
    problems = list(sequence.problems)
    label = Path(sequence.source).name if sequence.source else sequence.name
    for frame in sequence.frames:
        seen: set[int] = set()
        for index, person in enumerate(frame.persons):
            where = f"{label}: frame {frame.file_name}, person {index}"
            problems.extend(f"{where}: {text}" for text in _person_problems(person, is_gt))
            if person.track_id is not None:
                if person.track_id in seen:
                    problems.append(f"{where}: track_id {person.track_id} appears twice in this frame.")
                seen.add(person.track_id)
        for polygon in frame.ignore_regions:
            if not np.isfinite(polygon).all():
                problems.append(f"{label}: frame {frame.file_name}: an ignore region has NaN or infinite points.")
    if gt is not None:
        problems.extend(f"{label}: {text}" for text in _lineup_problems(sequence, gt))
    return problems


def _person_problems(person: Person, is_gt: bool) -> list[str]:
    problems = []
    keypoints = np.asarray(person.keypoints, dtype=np.float64)
    if keypoints.shape != (NUM_SLOTS, 3):
        return [f"keypoints have shape {keypoints.shape}, expected (17, 3)."]
    bad = ~np.isfinite(keypoints).all(axis=1)
    if bad.any():
        names = ", ".join(POSETRACK18.joints[i] for i in np.flatnonzero(bad))
        problems.append(f"keypoints of {names} are NaN or infinite.")
    if person.track_id is None:
        problems.append("has no track_id (needed for MOTA).")
    elif not 0 <= person.track_id < MAX_TRACK_ID:
        problems.append(f"track_id {person.track_id} is outside 0-{MAX_TRACK_ID - 1}.")
    if is_gt:
        if person.head_box is None:
            problems.append("has no head box (bbox_head), which sets the PCKh distance scale.")
        elif not np.isfinite(person.head_box).all():
            problems.append("head box is NaN or infinite.")
    elif person.scores is None:
        if present_mask(keypoints).any():
            problems.append("has no per-joint 'scores'; every joint would be scored -9999.")
    elif not np.isfinite(person.scores).all():
        problems.append("'scores' hold NaN or infinite values.")
    return problems


def _lineup_problems(sequence: Sequence, gt: Sequence) -> list[str]:
    pairs = pair_frames(gt, sequence)
    problems = []
    missing = [gt_frame.file_name for gt_frame, frame in pairs.matched if frame is None and gt_frame.persons]
    if missing:
        problems.append(f"{len(missing)} labelled ground-truth frame(s) are missing, first {missing[0]}.")
    if pairs.extra:
        problems.append(f"{len(pairs.extra)} frame(s) are not in the ground truth, first {pairs.extra[0].file_name}.")
    names = [normalise_name(frame.file_name) for frame in sequence.frames]
    gt_names = [normalise_name(frame.file_name) for frame in gt.frames]
    if not missing and not pairs.extra and names != gt_names:
        if len(names) != len(gt_names):
            problems.append(f"lists {len(names)} images, the ground truth {len(gt_names)}; poseval pairs "
                            "frames by position and needs every ground-truth image in the same order.")
        else:
            position = next(i for i, (a, b) in enumerate(zip(names, gt_names)) if a != b)
            problems.append(f"image {position} is {names[position]}, the ground truth's is "
                            f"{gt_names[position]}; poseval pairs frames by position, so keep the GT order.")
    return problems
