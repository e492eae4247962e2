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


def posetrack21_problems(sequence: Sequence, gt: Sequence | None = None, *, is_gt: bool = False) -> list[str]:
    """Every problem of a PoseTrack21 file that makes the official kit crash (README §6 of
    ``../shared/reference/posetrack21``), one sentence each naming file, frame and person.

    Predictions: malformed annotations, track ids missing, negative, not integers or repeated within a
    frame, and, with ``gt``, fewer images than the ground truth or other image ids at its labelled
    positions (the kit pairs images by position). Ground truth: malformed annotations, images without
    ``is_labeled``, and persons with joints on labelled frames without a usable head box.
    """
    label = Path(sequence.source).name if sequence.source else sequence.name
    # a ground truth's per-joint scores are never read (the kit crashes only on a mix of empty and absent ones)
    problems = [text for text in sequence.malformed if not (is_gt and "'scores'" in text)]
    for index, frame in enumerate(sequence.frames):
        if is_gt:
            if frame.is_labeled is None:
                problems.append(f"{label}: image {index} ({frame.file_name}) has no 'is_labeled'.")
                continue
            for number, person in enumerate(frame.persons):
                head = person.head_box
                usable = head is not None and np.isfinite(head).all() and np.hypot(head[2] - head[0],
                                                                                   head[3] - head[1]) > 0
                if frame.is_labeled and not usable and present_mask(person.keypoints).any():
                    problems.append(f"{label}: frame {frame.file_name}, person {number}: has no usable head box "
                                    "(bbox_head), which sets the keypoint similarity's scale.")
            continue
        seen: set[int] = set()
        for number, person in enumerate(frame.persons):
            where = f"{label}: frame {frame.file_name}, person {number}"
            if person.track_id is None:
                problems.append(f"{where}: has no integer track_id.")
            elif person.track_id < 0:
                problems.append(f"{where}: track_id {person.track_id} is negative.")
            elif person.track_id in seen:
                problems.append(f"{where}: track_id {person.track_id} appears twice in this frame.")
            else:
                seen.add(person.track_id)
            if not np.isfinite(person.keypoints).all():
                problems.append(f"{where}: keypoints hold NaN or infinite values.")
    if gt is not None and not is_gt:
        problems.extend(_positions(label, sequence, gt))
    return problems


def _positions(label: str, sequence: Sequence, gt: Sequence) -> list[str]:
    """The kit pairs the images by position and asserts equal ids at the labelled ones."""
    if len(sequence.frames) < len(gt.frames):
        return [f"{label}: lists {len(sequence.frames)} images, the ground truth {len(gt.frames)}; list every "
                "ground-truth image in its order."]
    for index, (gt_frame, frame) in enumerate(zip(gt.frames, sequence.frames)):
        if gt_frame.is_labeled and frame.image_id != gt_frame.image_id:
            return [f"{label}: image {index} has id {frame.image_id}, the ground truth's labelled image {index} "
                    f"({gt_frame.file_name}) has id {gt_frame.image_id}; list the ground truth's images in its order."]
    return []
