"""Pair the frames of a predicted sequence with those of its ground truth, by image name or id."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eval.posetrack.types import Frame, Sequence


@dataclass
class FramePairs:
    """Ground-truth frames each with its prediction frame (or None), and unmatched prediction frames."""

    matched: list[tuple[Frame, Frame | None]]
    extra: list[Frame]


def pair_frames(gt: Sequence, pred: Sequence) -> FramePairs:
    """Pair frames by file name, else by image id (poseval pairs by position; we do not, Q1)."""
    by_name: dict[str, Frame] = {}
    by_id: dict[Any, Frame] = {}
    for frame in pred.frames:
        by_name.setdefault(normalise_name(frame.file_name), frame)
        if frame.image_id is not None:
            by_id.setdefault(frame.image_id, frame)
    used: set[int] = set()
    matched: list[tuple[Frame, Frame | None]] = []
    for gt_frame in gt.frames:
        found = by_name.get(normalise_name(gt_frame.file_name))
        if found is None and gt_frame.image_id is not None:
            found = by_id.get(gt_frame.image_id)
        if found is not None and id(found) in used:
            found = None
        if found is not None:
            used.add(id(found))
        matched.append((gt_frame, found))
    extra = [frame for frame in pred.frames if id(frame) not in used]
    return FramePairs(matched, extra)


def normalise_name(name: str) -> str:
    """An image name as compared: forward slashes, no leading ``./``."""
    name = name.replace("\\", "/")
    return name[2:] if name.startswith("./") else name
