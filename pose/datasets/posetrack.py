"""PoseTrack 2018 annotation files as single-frame `PersonRecord`s (PoseTrack18 joint slots).

As the HRNet paper fine-tunes on PoseTrack: the person box is the extent of the labelled
keypoints, grown by 15% in width and height (7.5% on each side), clipped to the image.
Only labelled frames and persons with at least one labelled keypoint are used.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.jsonio import read_json
from pose.boxes import BOX_GROWTH, joint_extents
from pose.crops import box_to_center_scale
from pose.datasets.records import PersonRecord, check_images_exist, joints_from_flat
from pose.errors import PoseError
from pose.skeleton import POSETRACK18


def keypoint_box(joints: np.ndarray, visibility: np.ndarray, width: float, height: float,
                 growth: float = BOX_GROWTH) -> np.ndarray:
    """x1,y1,x2,y2 float32 around the labelled joints, grown by `growth` of its size, in the image."""
    extent = joint_extents(joints[None], visibility[None] > 0, growth)[0]
    low = np.maximum(extent[:2], 0.0)
    high = np.minimum(extent[2:], [width - 1.0, height - 1.0])
    return np.concatenate([low, high]).astype(np.float32)


def _annotation_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise PoseError(f"PoseTrack annotation folder {path} holds no .json file.")
        return files
    return [path]


def load_posetrack18(annotations: str | os.PathLike, image_root: str | os.PathLike, aspect_ratio: float,
                     check_images: bool = True) -> list[PersonRecord]:
    """Persons of one PoseTrack18 file or of every `*.json` in a folder.

    `image_root` is the folder the files' `file_name`s (`images/val/...`) are relative to.
    Raises PoseError naming the file and the annotation id for malformed entries.
    """
    records = []
    for source in _annotation_files(Path(annotations)):
        data = read_json(source, "PoseTrack 2018 annotation", error=PoseError)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
                or not isinstance(data.get("annotations"), list):
            raise PoseError(f"{source} is not a PoseTrack 2018 file: it needs 'images' and 'annotations' lists.")
        images = {}
        for number, image in enumerate(data["images"]):
            if not isinstance(image, dict) or not {"id", "file_name"} <= image.keys():
                raise PoseError(f"image entry {number} in {source} lacks 'id' or 'file_name'.")
            images[image["id"]] = image
        for number, ann in enumerate(data["annotations"]):
            name = f"annotation {ann.get('id', number) if isinstance(ann, dict) else number}"
            if not isinstance(ann, dict) or ann.get("image_id") not in images:
                raise PoseError(f"{name} in {source} has no 'image_id' of an image in the file.")
            image = images[ann["image_id"]]
            if not image.get("is_labeled", True):
                continue
            joints, visibility = joints_from_flat(ann.get("keypoints"), POSETRACK18.num_joints, source, name)
            if not visibility.any():
                continue
            width, height = image.get("width", np.inf), image.get("height", np.inf)
            box = keypoint_box(joints, visibility, width, height)
            centers, scales = box_to_center_scale(box[None], aspect_ratio)
            records.append(PersonRecord(
                image_path=Path(image_root) / image["file_name"], image_id=image["id"],
                record_id=ann.get("id", number), center=np.asarray(centers[0], np.float32),
                scale=np.asarray(scales[0], np.float32), joints=joints, visibility=visibility, box=box,
            ))
        if check_images:
            check_images_exist(records, source)
    return records
