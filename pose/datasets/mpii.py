"""MPII in the JSON layout of the official HRNet release (`image`, `center`, `scale`, `joints`, `joints_vis`).

MPII stores 1-based (MATLAB) pixel coordinates and a person scale (body height / 200). As the
official loader does, the center moves down by 15 scale units, the scale grows by 1.25, and
coordinates become 0-based. The crop is square (the MPII input is 256x256).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.jsonio import read_json
from pose.crops import PADDING, PIXEL_STD
from pose.datasets.records import PersonRecord, check_images_exist
from pose.errors import PoseError
from pose.skeleton import MPII

CENTER_SHIFT = 15.0  # official: center y += 15 * scale, to keep the feet inside the crop
SCALE_GROWTH = 1.25  # official: scale *= 1.25 after the shift


def _vector(value, shape: tuple[int, ...], source: Path, name: str, field: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        array = np.zeros(0, np.float32)
    if array.shape != shape:
        raise PoseError(f"{name} in {source} has a malformed '{field}' (expected shape {shape}).")
    return array


def load_mpii(annotation_file: str | os.PathLike, image_dir: str | os.PathLike,
              check_images: bool = True) -> list[PersonRecord]:
    """Every person of an MPII JSON file, center/scale adjusted and coordinates 0-based.

    Raises PoseError naming the file and the record (its position and image) for a malformed
    entry or one without any labelled joint, and for a missing image file.
    """
    source = Path(annotation_file)
    data = read_json(source, "MPII annotation", error=PoseError)
    if not isinstance(data, list):
        raise PoseError(f"{source} is not an MPII annotation file: expected a list of persons.")
    num_joints = MPII.num_joints
    records = []
    for number, entry in enumerate(data):
        if not isinstance(entry, dict) or not {"image", "center", "scale"} <= entry.keys():
            raise PoseError(f"record {number} in {source} lacks one of image, center, scale.")
        name = f"record {number} ({entry['image']})"
        if "joints" not in entry or "joints_vis" not in entry:
            raise PoseError(f"{name} in {source} has no joints; training and validation need "
                            "'joints' and 'joints_vis'.")
        joints = _vector(entry["joints"], (num_joints, 2), source, name, "joints") - 1.0
        visibility = (_vector(entry["joints_vis"], (num_joints,), source, name, "joints_vis") > 0)
        if not visibility.any():
            raise PoseError(f"{name} in {source} has no labelled joint.")
        center = _vector(entry["center"], (2,), source, name, "center")
        scale = float(entry["scale"])
        if center[0] != -1:
            center[1] += CENTER_SHIFT * scale
            scale *= SCALE_GROWTH
        center = center - 1.0
        side = scale * PIXEL_STD / PADDING  # the box whose padded crop is this scale
        box = np.array([center[0] - side / 2, center[1] - side / 2,
                        center[0] + side / 2, center[1] + side / 2], np.float32)
        records.append(PersonRecord(
            image_path=Path(image_dir) / entry["image"], image_id=entry["image"], record_id=number,
            center=center.astype(np.float32), scale=np.array([scale, scale], np.float32),
            joints=joints, visibility=visibility.astype(np.float32), box=box,
        ))
    if check_images:
        check_images_exist(records, source)
    return records
