"""Write a Sequence as a PoseTrack 2018 or 2017 file, atomically and without NaN or infinite values."""
from __future__ import annotations

import json
import logging
import math
import os
import re
from typing import Any

import numpy as np

from common.files import atomic_open
from eval.posetrack_types import NUM_SLOTS, POSEVAL_TO_SLOT, Frame, Person, Sequence
from pose.skeleton import POSETRACK18

logger = logging.getLogger(__name__)

_POSETRACK_NAME = re.compile(r"(\d{6})_[^/\\]*[/\\](\d+)\.\w+$")


def write_posetrack18(sequence: Sequence, path: str | os.PathLike) -> None:
    """Write a sequence as a PoseTrack 2018 file (atomic). Non-finite values are never written:
    such joints become absent, such scores 0, such boxes are left out (with a logged warning)."""
    images, annotations = [], []
    cleaner = _Cleaner(sequence.name)
    for index, frame in enumerate(sequence.frames):
        image_id = _image_id(frame, index)
        image: dict[str, Any] = {"id": image_id, "file_name": frame.file_name}
        for key in ("frame_id", "width", "height"):
            if getattr(frame, key) is not None:
                image[key] = getattr(frame, key)
        if frame.is_labeled is not None:
            image["is_labeled"] = frame.is_labeled
        image["nframes"] = len(sequence.frames)
        regions = [cleaner.polygon(polygon) for polygon in frame.ignore_regions]
        if regions:
            image["ignore_regions_x"] = [polygon[:, 0].tolist() for polygon in regions]
            image["ignore_regions_y"] = [polygon[:, 1].tolist() for polygon in regions]
        images.append(image)
        for number, person in enumerate(frame.persons):
            keypoints, scores = cleaner.person(person)
            annotation: dict[str, Any] = {"id": len(annotations), "image_id": image_id, "category_id": 1}
            if person.track_id is not None:
                annotation["track_id"] = int(person.track_id)
            annotation["keypoints"] = keypoints.reshape(-1).tolist()
            if scores is not None:
                annotation["scores"] = scores.tolist()
            for key, box in (("bbox", person.box), ("bbox_head", person.head_box)):
                box = cleaner.box(box)
                if box is not None:
                    annotation[key] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            if person.score is not None and math.isfinite(person.score):
                annotation["score"] = float(person.score)
            annotations.append(annotation)
    categories = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(POSETRACK18.joints),
                   "skeleton": [[a + 1, b + 1] for a, b in POSETRACK18.limbs]}]
    cleaner.report()
    _dump({"images": images, "annotations": annotations, "categories": categories}, path)


def write_posetrack17(sequence: Sequence, path: str | os.PathLike) -> None:
    """Write a sequence as a PoseTrack 2017 ``annolist`` file (atomic; the ears, which the 2017
    format has no id for, are dropped). Non-finite values are handled as in write_posetrack18."""
    cleaner = _Cleaner(sequence.name)
    annolist = []
    for index, frame in enumerate(sequence.frames):
        entry: dict[str, Any] = {"image": [{"name": frame.file_name}], "imgnum": [index + 1]}
        if frame.is_labeled is not None:
            entry["is_labeled"] = [int(frame.is_labeled)]
        regions = [cleaner.polygon(polygon) for polygon in frame.ignore_regions]
        if regions:
            entry["ignore_regions"] = [{"point": [{"x": [x], "y": [y]} for x, y in polygon.tolist()]}
                                       for polygon in regions]
        entry["annorect"] = [_rect_2017(person, cleaner) for person in frame.persons]
        annolist.append(entry)
    cleaner.report()
    _dump({"annolist": annolist}, path)


def _rect_2017(person: Person, cleaner: "_Cleaner") -> dict[str, Any]:
    keypoints, scores = cleaner.person(person)
    rect: dict[str, Any] = {}
    if person.track_id is not None:
        rect["track_id"] = [int(person.track_id)]
    head = cleaner.box(person.head_box)
    if head is not None:
        rect.update(x1=[head[0]], y1=[head[1]], x2=[head[2]], y2=[head[3]])
    if person.score is not None and math.isfinite(person.score):
        rect["score"] = [float(person.score)]
    points = []
    for joint, slot in enumerate(POSEVAL_TO_SLOT):
        x, y, v = keypoints[slot].tolist()
        if x == 0 and y == 0 and v == 0:
            continue
        point: dict[str, Any] = {"id": [joint], "x": [x], "y": [y], "is_visible": [v]}
        if scores is not None:
            point["score"] = [float(scores[slot])]
        points.append(point)
    rect["annopoints"] = [{"point": points}]
    return rect


class _Cleaner:
    """Replaces non-finite values before writing and counts them for one warning per file."""

    def __init__(self, name: str):
        self.name = name
        self.count = 0

    def person(self, person: Person) -> tuple[np.ndarray, np.ndarray | None]:
        keypoints = np.array(person.keypoints, dtype=np.float64).reshape(NUM_SLOTS, 3)
        bad = ~np.isfinite(keypoints).all(axis=1)
        keypoints[bad] = 0.0
        self.count += int(bad.sum())
        scores = None
        if person.scores is not None:
            scores = np.array(person.scores, dtype=np.float64).reshape(NUM_SLOTS)
            bad_scores = ~np.isfinite(scores)
            scores[bad_scores] = 0.0
            self.count += int(bad_scores.sum())
        return keypoints, scores

    def box(self, box: tuple[float, ...] | None) -> list[float] | None:
        if box is None:
            return None
        if not np.isfinite(box).all():
            self.count += 1
            return None
        return [float(value) for value in box]

    def polygon(self, polygon: np.ndarray) -> np.ndarray:
        polygon = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        finite = np.isfinite(polygon).all(axis=1)
        self.count += int((~finite).sum())
        return polygon[finite]

    def report(self) -> None:
        if self.count:
            logger.warning("sequence %s: %d NaN or infinite values were left out of the written file",
                           self.name, self.count)


def _image_id(frame: Frame, index: int) -> int:
    """The frame's image id, else PoseTrack's scheme (1, 6-digit video, 4-digit frame), else the index."""
    if frame.image_id is not None:
        return frame.image_id
    match = _POSETRACK_NAME.search(frame.file_name)
    if match:
        return int(f"1{match.group(1)}{int(match.group(2)):04d}")
    return index


def _dump(data: dict, path: str | os.PathLike) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, allow_nan=False)
