"""Read PoseTrack 2017 (``annolist``) and 2018 (COCO-like) files, one per sequence, into Sequences.

Readers are lenient: structural problems they meet are kept in ``Sequence.problems`` (one sentence
each), which ``eval.posetrack.validate.validate`` returns together with its own checks.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, overload

import numpy as np

from common.jsonio import read_json
from eval.errors import EvalError
from eval.posetrack.types import (
    MISSING_SCORE,
    NUM_SLOTS,
    POSEVAL_TO_SLOT,
    Frame,
    Person,
    Sequence,
    present_mask,
    sequence_name,
)
from pose.skeleton import POSETRACK18

# PoseTrack18 keypoint names poseval also accepts under another name.
_NAME_ALIASES = {"neck": "head_bottom"}


def read_sequence(path: str | os.PathLike) -> Sequence:
    """Read one PoseTrack 2017 or 2018 file (ground truth or predictions) into a Sequence.

    The format is chosen as poseval does: a top-level ``annolist`` means 2017, anything else 2018.
    """
    data = read_json(path, error=EvalError)
    if not isinstance(data, dict):
        raise EvalError(f"{path} holds a JSON {type(data).__name__}, not an object with "
                        "'annolist' (PoseTrack 2017) or 'images'/'annotations' (PoseTrack 2018).")
    reader = _Reader(Path(path))
    if "annolist" in data:
        return reader.read_2017(data)
    return reader.read_2018(data)


def read_folder(path: str | os.PathLike) -> dict[str, Sequence]:
    """Read every ``*.json`` of a folder; the dict is keyed by sequence name in sorted order."""
    folder = Path(path)
    if not folder.is_dir():
        raise EvalError(f"{folder} is not a folder; pass the folder that holds one JSON file per sequence.")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise EvalError(f"{folder} holds no .json files; expected one PoseTrack file per sequence.")
    sequences: dict[str, Sequence] = {}
    for file in files:
        sequence = read_sequence(file)
        if sequence.name in sequences:
            raise EvalError(f"{file} and {sequences[sequence.name].source} both name sequence "
                            f"{sequence.name!r}; keep one file per sequence.")
        sequences[sequence.name] = sequence
    return sequences


class _Reader:
    """Turns the parsed JSON of one file into a Sequence, noting every problem it meets."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []
        self.malformed: list[str] = []

    def problem(self, where: str, text: str, *, malformed: bool = False) -> None:
        self.problems.append(f"{self.path.name}: {where}{text}")
        if malformed:
            self.malformed.append(self.problems[-1])

    def strict(self, where: str, text: str) -> None:
        """A deviation poseval accepts but the PoseTrack21 kit crashes on: noted as malformed only."""
        self.malformed.append(f"{self.path.name}: {where}{text}")

    def finish(self, frames: list[Frame]) -> Sequence:
        return Sequence(sequence_name(self.path), frames, str(self.path), self.problems, self.malformed)

    # -- 2018 --------------------------------------------------------------------------------

    def read_2018(self, data: dict) -> Sequence:
        slots = self.keypoint_slots(data.get("categories"))
        images = data.get("images")
        if not isinstance(images, list):
            self.problem("", "has no 'images' list (PoseTrack 2018) and no 'annolist' (PoseTrack 2017).",
                         malformed=True)
            images = []
        frames: list[Frame] = []
        by_id: dict[Any, Frame] = {}
        for index, image in enumerate(images):
            frame = self.image_2018(index, image)
            if frame is None:
                continue
            if frame.image_id is not None:
                if frame.image_id in by_id:
                    self.problem(f"image {frame.file_name}: ", f"id {frame.image_id} is used by two images.")
                by_id.setdefault(frame.image_id, frame)
            frames.append(frame)
        annotations = data.get("annotations", [])
        if not isinstance(annotations, list):
            self.problem("", "'annotations' is not a list.")
            annotations = []
        for index, annotation in enumerate(annotations):
            where = f"annotation {index}: "
            if not isinstance(annotation, dict):
                self.problem(where, "is not an object.", malformed=True)
                continue
            if "image_id" not in annotation:
                self.problem(where, "has no 'image_id'.", malformed=True)
                continue
            frame = by_id.get(annotation["image_id"])
            if frame is None:
                self.problem(where, f"refers to image_id {annotation['image_id']!r}, which no image has.",
                             malformed=True)
                continue
            where = f"frame {frame.file_name}, person {len(frame.persons)}: "
            frame.persons.append(self.person_2018(where, annotation, slots))
        return self.finish(frames)

    def keypoint_slots(self, categories: Any) -> np.ndarray | None:
        """PoseTrack18 slot of each keypoint name in the file's category; None = the 17 standard names."""
        if not isinstance(categories, list) or not categories or not isinstance(categories[0], dict):
            self.problem("", "has no 'categories' with the keypoint names; assuming PoseTrack18's 17 keypoints.")
            return None
        category = categories[0]
        if category.get("name") != "person":
            self.problem("", f"categories[0] is named {category.get('name')!r}, poseval needs 'person'.")
        names = category.get("keypoints")
        if not isinstance(names, list):
            self.problem("", "categories[0] has no 'keypoints' name list; assuming PoseTrack18's 17 keypoints.")
            return None
        if list(names) == list(POSETRACK18.joints):
            return None
        slots = np.full(len(names), -1, dtype=np.int64)
        for position, given in enumerate(names):
            name = _NAME_ALIASES.get(given, given)
            if name in POSETRACK18.joints:
                slots[position] = POSETRACK18.index(name)
            else:
                self.problem("", f"keypoint name {name!r} is not a PoseTrack joint and is ignored.")
        return slots

    def image_2018(self, index: int, image: Any) -> Frame | None:
        where = f"image {index}: "
        if not isinstance(image, dict):
            self.problem(where, "is not an object.", malformed=True)
            return None
        name = image.get("file_name")
        if not isinstance(name, str):
            self.problem(where, "has no 'file_name'.")
            name = f"<image {index}>"
        image_id = image.get("id")
        if image_id is None:
            self.problem(f"image {name}: ", "has no 'id', so no annotation can refer to it.", malformed=True)
        regions = self.polygons_2018(f"image {name}: ", image.get("ignore_regions_x"), image.get("ignore_regions_y"))
        labeled = image.get("is_labeled")
        return Frame(file_name=name, image_id=image_id, ignore_regions=regions,
                     frame_id=image.get("frame_id"), is_labeled=None if labeled is None else bool(labeled),
                     width=image.get("width"), height=image.get("height"))

    def polygons_2018(self, where: str, xs: Any, ys: Any) -> list[np.ndarray]:
        if xs is None and ys is None:
            return []
        if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
            self.problem(where, "ignore_regions_x and ignore_regions_y are not lists of equal length.")
            return []
        polygons = []
        for x, y in zip(xs, ys):
            if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y):
                self.problem(where, "an ignore region has x and y lists of different lengths.")
                continue
            polygons.append(self.numbers(where, "ignore region", list(zip(x, y))).reshape(-1, 2))
        return polygons

    def person_2018(self, where: str, annotation: dict, slots: np.ndarray | None) -> Person:
        keypoints = np.zeros((NUM_SLOTS, 3))
        raw = annotation.get("keypoints")
        width = NUM_SLOTS if slots is None else len(slots)
        if raw is None:
            self.problem(where, "has no 'keypoints'.", malformed=True)
        else:
            values = self.numbers(where, "keypoints", raw, malformed=True)
            if values is None:
                pass
            elif values.size != 3 * width:
                self.problem(where, f"'keypoints' has {values.size} numbers, expected {3 * width} "
                                    f"({width} joints x 3).", malformed=True)
            else:
                self.place(keypoints, values.reshape(width, 3), slots)
        scores = None
        raw_scores = annotation.get("scores")
        if isinstance(raw_scores, list) and raw_scores:
            values = self.numbers(where, "scores", raw_scores, malformed=True)
            if values is None:
                pass
            elif values.size != width:
                self.problem(where, f"'scores' has {values.size} numbers, expected {width} (one per joint).",
                             malformed=True)
            else:
                scores = np.zeros(NUM_SLOTS)
                self.place(scores, values, slots)
        elif raw_scores == []:
            self.strict(where, f"'scores' is an empty list; write {width} numbers or leave the key out.")
        elif raw_scores is not None and not isinstance(raw_scores, list):
            self.problem(where, "'scores' is not a list.", malformed=True)
        return Person(track_id=self.track_id(where, annotation.get("track_id")), keypoints=keypoints,
                      scores=scores, head_box=self.xywh_box(where, "bbox_head", annotation.get("bbox_head")),
                      box=self.xywh_box(where, "bbox", annotation.get("bbox")),
                      score=self.scalar(where, "score", annotation.get("score")))

    @staticmethod
    def place(target: np.ndarray, values: np.ndarray, slots: np.ndarray | None) -> None:
        if slots is None:
            target[:] = values
        else:
            keep = slots >= 0
            target[slots[keep]] = values[keep]

    def xywh_box(self, where: str, key: str, raw: Any) -> tuple[float, float, float, float] | None:
        if raw is None:
            return None
        values = self.numbers(where, key, raw)
        if values.size != 4:
            self.problem(where, f"'{key}' has {values.size} numbers, expected 4 (x, y, width, height).")
            return None
        x, y, w, h = values.tolist()
        return (x, y, x + w, y + h)

    # -- 2017 --------------------------------------------------------------------------------

    def read_2017(self, data: dict) -> Sequence:
        self.strict("", "is a PoseTrack 2017 ('annolist') file; PoseTrack21 files use the 2018 layout "
                        "('images', 'annotations').")
        annolist = data["annolist"]
        if not isinstance(annolist, list):
            self.problem("", "'annolist' is not a list.")
            annolist = []
        frames = []
        for index, entry in enumerate(annolist):
            if not isinstance(entry, dict):
                self.problem(f"annolist entry {index}: ", "is not an object.")
                continue
            name = self.image_name_2017(index, entry)
            regions = []
            for polygon in entry.get("ignore_regions") or []:
                points = polygon.get("point", []) if isinstance(polygon, dict) else []
                xy = [(self.first(p.get("x")), self.first(p.get("y"))) for p in points if isinstance(p, dict)]
                regions.append(self.numbers(f"frame {name}: ", "ignore region", xy).reshape(-1, 2))
            labeled = self.first(entry.get("is_labeled"))
            frame = Frame(file_name=name, image_id=self.first(entry.get("image_id")), ignore_regions=regions,
                          frame_id=self.first(entry.get("imgnum")),
                          is_labeled=None if labeled is None else bool(labeled))
            for rect in entry.get("annorect") or []:
                person = self.person_2017(f"frame {name}, person {len(frame.persons)}: ", rect)
                if person is not None:
                    frame.persons.append(person)
            frames.append(frame)
        return self.finish(frames)

    def image_name_2017(self, index: int, entry: dict) -> str:
        image = entry.get("image")
        name = self.first(image).get("name") if isinstance(self.first(image), dict) else None
        if isinstance(name, list):
            name = self.first(name)
        if not isinstance(name, str):
            self.problem(f"annolist entry {index}: ", "has no image[0].name.")
            return f"<image {index}>"
        return name

    def person_2017(self, where: str, rect: Any) -> Person | None:
        """A 2017 ``annorect``; None for one without ``annopoints``/``point``, which poseval drops."""
        if not isinstance(rect, dict):
            self.problem(where, "is not an object.")
            return None
        annopoints = rect.get("annopoints")
        if not isinstance(annopoints, list) or not annopoints or not isinstance(annopoints[0], dict) \
                or "point" not in annopoints[0]:
            return None
        keypoints = np.zeros((NUM_SLOTS, 3))
        scores = np.full(NUM_SLOTS, np.nan)
        for point in annopoints[0]["point"] or []:
            joint = self.first(point.get("id")) if isinstance(point, dict) else None
            if not isinstance(joint, (int, float)) or not 0 <= joint < 15 or joint != int(joint):
                self.problem(where, f"a point has id {joint!r}, expected a joint id 0-14.")
                continue
            slot = POSEVAL_TO_SLOT[int(joint)]
            x, y = (self.scalar(where, key, self.first(point.get(key))) for key in ("x", "y"))
            if x is None or y is None:
                self.problem(where, f"point {int(joint)} has no x or y.")
                continue
            visible = self.scalar(where, "is_visible", self.first(point.get("is_visible")))
            # A listed point is a joint even at (0, 0); keep v non-zero so it stays present in memory.
            v = 1.0 if visible is None or (x == 0 and y == 0 and visible == 0) else visible
            keypoints[slot] = (x, y, v)
            score = self.scalar(where, "score", self.first(point.get("score")))
            if score is not None:
                scores[slot] = score
        present = present_mask(keypoints)
        has_score = ~np.isnan(scores)
        scores[present & ~has_score] = MISSING_SCORE
        scores[~present] = 0.0
        head = [self.first(rect.get(key)) for key in ("x1", "y1", "x2", "y2")]
        head_box = None
        if all(value is not None for value in head):
            values = self.numbers(where, "head box", head)
            head_box = tuple(values.tolist()) if values.size == 4 else None
        return Person(track_id=self.track_id(where, self.first(rect.get("track_id"))), keypoints=keypoints,
                      scores=scores if has_score[present].any() else None, head_box=head_box,
                      score=self.scalar(where, "score", self.first(rect.get("score"))))

    # -- values ------------------------------------------------------------------------------

    @staticmethod
    def first(value: Any) -> Any:
        """2017 files wrap every value in a one-element list."""
        if isinstance(value, list):
            return value[0] if value else None
        return value

    @overload
    def numbers(self, where: str, key: str, raw: Any) -> np.ndarray: ...

    @overload
    def numbers(self, where: str, key: str, raw: Any, *, malformed: bool) -> np.ndarray | None: ...

    def numbers(self, where: str, key: str, raw: Any, *, malformed: bool | None = None) -> np.ndarray | None:
        """The numbers of ``raw`` flattened; on failure a problem and an empty array, or None when
        ``malformed`` is given (the failure then also counts as malformed when it is True)."""
        try:
            return np.asarray(raw, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            self.problem(where, f"'{key}' holds something other than numbers.", malformed=bool(malformed))
            return None if malformed is not None else np.zeros(0)

    def scalar(self, where: str, key: str, raw: Any) -> float | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            self.problem(where, f"'{key}' is {raw!r}, not a number.")
            return None
        return float(raw)

    def track_id(self, where: str, raw: Any) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
                or raw != int(raw):
            self.problem(where, f"track_id {raw!r} is not an integer.", malformed=True)
            return None
        if isinstance(raw, float):
            self.strict(where, f"track_id {raw!r} is written as a decimal number; write an integer.")
        return int(raw)
