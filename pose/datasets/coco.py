"""COCO person keypoints: ground-truth persons and detection boxes as `PersonRecord`s.

Follows the official HRNet loader: only persons (category 1) with at least one labelled keypoint;
ground-truth boxes are first shrunk to `[x1, y1, min(W-1, x1 + max(0, w-1)), ...]` and clipped to
the image; detection boxes (the SimpleBaseline results file) are used as given, above a score
threshold. Boxes become (center, scale) through `pose.crops.box_to_center_scale`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from common.jsonio import read_json
from pose.crops import box_to_center_scale
from pose.datasets.records import PersonRecord, check_images_exist, joints_from_flat
from pose.errors import PoseError
from pose.skeleton import COCO, KeypointSet

PERSON_CATEGORY = 1


def _images_by_id(data: Any, source: Path) -> dict[Any, dict]:
    """The `images` table of a COCO file keyed by id; PoseError when the file lacks it."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise PoseError(f"{source} is not a COCO keypoint file: it has no list of 'images'.")
    table = {}
    for number, image in enumerate(data["images"]):
        if not isinstance(image, dict) or not {"id", "file_name", "width", "height"} <= image.keys():
            raise PoseError(f"image entry {number} in {source} lacks one of id, file_name, width, height.")
        table[image["id"]] = image
    return table


def _record(image: dict, image_dir: Path, record_id: Any, box: np.ndarray, score: float,
            joints: np.ndarray, visibility: np.ndarray, aspect_ratio: float) -> PersonRecord:
    centers, scales = box_to_center_scale(box[None, :4], aspect_ratio)
    return PersonRecord(
        image_path=image_dir / image["file_name"], image_id=image["id"], record_id=record_id,
        center=np.asarray(centers[0], np.float32), scale=np.asarray(scales[0], np.float32),
        joints=joints, visibility=visibility, box=box.astype(np.float32), score=float(score),
    )


def shrink_gt_box(box_xywh: Any, width: int, height: int) -> np.ndarray | None:
    """Official ground-truth box cleaning: x1,y1,x2,y2 with x2 = min(W-1, x1 + max(0, w-1)).

    Returns None for a box that is empty after clipping. Detection boxes are not shrunk.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    if x2 < x1 or y2 < y1:
        return None
    return np.array([x1, y1, x2, y2], np.float32)


def load_coco_persons(annotation_file: str | os.PathLike, image_dir: str | os.PathLike,
                      aspect_ratio: float, keypoint_set: KeypointSet = COCO,
                      check_images: bool = True) -> list[PersonRecord]:
    """Persons with at least one labelled keypoint and a non-empty box, with ground-truth boxes.

    `aspect_ratio` is the network input's width / height. Raises PoseError with one sentence naming
    the file and the annotation id for malformed entries, and for a missing image file.
    """
    source = Path(annotation_file)
    data = read_json(source, "COCO keypoint annotation", error=PoseError)
    images = _images_by_id(data, source)
    if not isinstance(data.get("annotations"), list):
        raise PoseError(f"{source} is not a COCO keypoint file: it has no list of 'annotations'.")
    records = []
    for number, ann in enumerate(data["annotations"]):
        name = f"annotation {ann.get('id', number) if isinstance(ann, dict) else number}"
        if not isinstance(ann, dict) or "bbox" not in ann or "image_id" not in ann:
            raise PoseError(f"{name} in {source} lacks 'bbox' or 'image_id'.")
        if ann.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY:
            continue
        joints, visibility = joints_from_flat(ann.get("keypoints"), keypoint_set.num_joints, source, name)
        if not visibility.any():
            continue
        image = images.get(ann["image_id"])
        if image is None:
            raise PoseError(f"{name} in {source} refers to image id {ann['image_id']}, "
                            "which is not in its 'images' list.")
        if float(ann.get("area", 1.0)) <= 0:
            continue
        box = shrink_gt_box(ann["bbox"], image["width"], image["height"])
        if box is None:
            continue
        records.append(_record(image, Path(image_dir), ann.get("id", number), box, 1.0,
                               joints, visibility, aspect_ratio))
    if check_images:
        check_images_exist(records, source)
    return records


def load_coco_detections(detection_file: str | os.PathLike, annotation_file: str | os.PathLike,
                         image_dir: str | os.PathLike, aspect_ratio: float,
                         score_threshold: float = 0.0, num_joints: int = COCO.num_joints,
                         check_images: bool = True) -> list[PersonRecord]:
    """Person detections (`bbox` x,y,w,h, `score`, `image_id`, `category_id`) as records to predict in.

    Boxes scoring below `score_threshold` are dropped (the official IMAGE_THRE); image file names
    come from the `images` list of `annotation_file`. Joints are zeros with visibility 0.
    """
    source = Path(detection_file)
    detections = read_json(source, "person detection", error=PoseError)
    if not isinstance(detections, list):
        raise PoseError(f"{source} is not a detection results file: expected a list of boxes.")
    annotations = read_json(annotation_file, "COCO keypoint annotation", error=PoseError)
    images = _images_by_id(annotations, Path(annotation_file))
    records = []
    for number, det in enumerate(detections):
        name = f"detection {number}"
        if not isinstance(det, dict) or not {"bbox", "image_id", "score"} <= det.keys():
            raise PoseError(f"{name} in {source} lacks one of bbox, image_id, score.")
        if det.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY or det["score"] < score_threshold:
            continue
        image = images.get(det["image_id"])
        if image is None:
            raise PoseError(f"{name} in {source} refers to image id {det['image_id']}, "
                            f"which is not in {annotation_file}.")
        x, y, w, h = (float(v) for v in det["bbox"])
        box = np.array([x, y, x + w, y + h], np.float32)
        records.append(_record(image, Path(image_dir), number, box, det["score"],
                               np.zeros((num_joints, 2), np.float32), np.zeros(num_joints, np.float32),
                               aspect_ratio))
    if check_images:
        check_images_exist(records, source)
    return records
