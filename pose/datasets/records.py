"""One person to train or validate on, as every dataset loader returns it.

A loader turns its annotation file into a list of `PersonRecord`s once, checks them while it still
knows the file and the record, and the training dataset only ever sees this one shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pose.errors import PoseError


@dataclass(frozen=True)
class PersonRecord:
    """A person crop to learn from or to predict in.

    `center` (2,) and `scale` (2,) float32 are the crop in image pixels and units of
    `pose.crops.PIXEL_STD` (padding already applied); `joints` (K,2) float32 are image pixels
    (pixel centres at integers) and `visibility` (K,) float32 is 1 for labelled joints, 0 otherwise.
    `box` is x1,y1,x2,y2 in image pixels and `score` its confidence (1 for ground truth boxes).
    `image_id` and `record_id` name the record in error messages and results.
    """

    image_path: Path
    image_id: int | str
    record_id: int | str
    center: np.ndarray
    scale: np.ndarray
    joints: np.ndarray
    visibility: np.ndarray
    box: np.ndarray
    score: float = 1.0


def joints_from_flat(values: Any, num_joints: int, source: Path, record: str) -> tuple[np.ndarray, np.ndarray]:
    """Split a flat [x1,y1,v1, x2,...] keypoint list into joints (K,2) and visibility (K,) float32.

    Visibility is 1 where the file's flag is positive, so COCO's 1 (occluded) and 2 (visible) both
    count as labelled. Raises PoseError naming `source` and `record` when the list is missing or has
    the wrong length.
    """
    try:
        flat = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        flat = np.zeros(0, np.float32)
    if flat.shape != (num_joints * 3,):
        raise PoseError(f"{record} in {source} has no list of {num_joints} joints "
                        f"(expected {num_joints * 3} numbers x, y, visibility).")
    triples = flat.reshape(num_joints, 3)
    return triples[:, :2].copy(), (triples[:, 2] > 0).astype(np.float32)


def check_images_exist(records: list[PersonRecord], source: Path) -> None:
    """Raise PoseError for the first record whose image file is missing, before any worker starts."""
    seen: set[Path] = set()
    for record in records:
        if record.image_path in seen:
            continue
        if not record.image_path.is_file():
            raise PoseError(f"image {record.image_path} of record {record.record_id} in {source} "
                            "does not exist; check the image folder in the config.")
        seen.add(record.image_path)
