"""PoseTrack 2017 (``annolist``) and 2018 (COCO-like) files: one in-memory form, readers, writers, checks.

One file holds one video (a *sequence*). In memory every person carries its keypoints in the 17
PoseTrack18 slots of ``pose.skeleton.POSETRACK18`` whatever the file format; a joint is absent
exactly when its triplet is (0, 0, 0), the rule poseval applies to 2018 files. Readers are
lenient: structural problems they meet are kept in ``Sequence.problems`` (one sentence each) and
returned by ``validate`` together with the checks that need the whole sequence.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.errors import EvalError
from common.jsonio import read_json
from common.files import atomic_open
from pose.skeleton import POSETRACK18, POSETRACK18_TO_POSEVAL

logger = logging.getLogger(__name__)

NUM_SLOTS = POSETRACK18.num_joints
# poseval keeps track ids of different sequences apart by adding multiples of this; ids must stay below.
MAX_TRACK_ID = 10000
# poseval's score for predicted joints without one (Q5); kept when a 2017 file omits some scores.
MISSING_SCORE = -9999.0
# PoseTrack18 keypoint names poseval also accepts under another name.
_NAME_ALIASES = {"neck": "head_bottom"}
# poseval joint id (0-14) -> PoseTrack18 slot.
POSEVAL_TO_SLOT = np.array([int(np.flatnonzero(POSETRACK18_TO_POSEVAL == i)[0]) for i in range(15)])
_POSETRACK_NAME = re.compile(r"(\d{6})_[^/\\]*[/\\](\d+)\.\w+$")


@dataclass
class Person:
    """One person in one frame.

    keypoints: (17, 3) float64, x, y, visibility in image pixels, PoseTrack18 slot order;
    (0, 0, 0) marks an absent joint. scores: (17,) float64 per-joint confidence or None (poseval
    then scores every joint -9999). head_box and box: x1, y1, x2, y2 in pixels or None.
    """

    track_id: int | None
    keypoints: np.ndarray
    scores: np.ndarray | None = None
    head_box: tuple[float, float, float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    score: float | None = None


@dataclass
class Frame:
    """One image of a sequence with its persons and ignore polygons ((P, 2) float64 x, y each)."""

    file_name: str
    image_id: int | None
    persons: list[Person] = field(default_factory=list)
    ignore_regions: list[np.ndarray] = field(default_factory=list)
    frame_id: int | None = None
    is_labeled: bool | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class Sequence:
    """One video: its name (file name without extension), frames in file order, and where it came
    from (``source``) with the problems the reader met (one sentence each)."""

    name: str
    frames: list[Frame]
    source: str | None = None
    problems: list[str] = field(default_factory=list)


def sequence_name(path: str | os.PathLike) -> str:
    """The sequence name poseval uses for a file: its base name up to the first dot."""
    return Path(path).name.split(".")[0]


def present_mask(keypoints: np.ndarray) -> np.ndarray:
    """Which joints of (..., 17, 3) keypoints exist: every triplet except (0, 0, 0) (poseval's Q4)."""
    return np.any(keypoints != 0, axis=-1)


# ----------------------------------------------------------------------------------------------
# reading


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

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{self.path.name}: {where}{text}")

    def finish(self, frames: list[Frame]) -> Sequence:
        return Sequence(sequence_name(self.path), frames, str(self.path), self.problems)

    # -- 2018 --------------------------------------------------------------------------------

    def read_2018(self, data: dict) -> Sequence:
        slots = self.keypoint_slots(data.get("categories"))
        images = data.get("images")
        if not isinstance(images, list):
            self.problem("", "has no 'images' list (PoseTrack 2018) and no 'annolist' (PoseTrack 2017).")
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
                self.problem(where, "is not an object.")
                continue
            if "image_id" not in annotation:
                self.problem(where, "has no 'image_id'.")
                continue
            frame = by_id.get(annotation["image_id"])
            if frame is None:
                self.problem(where, f"refers to image_id {annotation['image_id']!r}, which no image has.")
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
        for position, name in enumerate(names):
            name = _NAME_ALIASES.get(name, name)
            if name in POSETRACK18.joints:
                slots[position] = POSETRACK18.index(name)
            else:
                self.problem("", f"keypoint name {name!r} is not a PoseTrack joint and is ignored.")
        return slots

    def image_2018(self, index: int, image: Any) -> Frame | None:
        where = f"image {index}: "
        if not isinstance(image, dict):
            self.problem(where, "is not an object.")
            return None
        name = image.get("file_name")
        if not isinstance(name, str):
            self.problem(where, "has no 'file_name'.")
            name = f"<image {index}>"
        image_id = image.get("id")
        if image_id is None:
            self.problem(f"image {name}: ", "has no 'id', so no annotation can refer to it.")
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
            self.problem(where, "has no 'keypoints'.")
        else:
            values = self.numbers(where, "keypoints", raw)
            if values.size != 3 * width:
                self.problem(where, f"'keypoints' has {values.size} numbers, expected {3 * width} "
                                    f"({width} joints x 3).")
            else:
                self.place(keypoints, values.reshape(width, 3), slots)
        scores = None
        raw_scores = annotation.get("scores")
        if isinstance(raw_scores, list) and raw_scores:
            values = self.numbers(where, "scores", raw_scores)
            if values.size != width:
                self.problem(where, f"'scores' has {values.size} numbers, expected {width} (one per joint).")
            else:
                scores = np.zeros(NUM_SLOTS)
                self.place(scores, values, slots)
        elif raw_scores is not None and not isinstance(raw_scores, list):
            self.problem(where, "'scores' is not a list.")
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
        if not has_score[present].any():
            scores = None
        else:
            scores[present & ~has_score] = MISSING_SCORE
            scores[~present] = 0.0
        head = [self.first(rect.get(key)) for key in ("x1", "y1", "x2", "y2")]
        head_box = None
        if all(value is not None for value in head):
            values = self.numbers(where, "head box", head)
            head_box = tuple(values.tolist()) if values.size == 4 else None
        return Person(track_id=self.track_id(where, self.first(rect.get("track_id"))), keypoints=keypoints,
                      scores=scores, head_box=head_box,
                      score=self.scalar(where, "score", self.first(rect.get("score"))))

    # -- values ------------------------------------------------------------------------------

    @staticmethod
    def first(value: Any) -> Any:
        """2017 files wrap every value in a one-element list."""
        if isinstance(value, list):
            return value[0] if value else None
        return value

    def numbers(self, where: str, key: str, raw: Any) -> np.ndarray:
        try:
            return np.asarray(raw, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            self.problem(where, f"'{key}' holds something other than numbers.")
            return np.zeros(0)

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
            self.problem(where, f"track_id {raw!r} is not an integer.")
            return None
        return int(raw)


# ----------------------------------------------------------------------------------------------
# validation


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
    names = [_normalise_name(frame.file_name) for frame in sequence.frames]
    gt_names = [_normalise_name(frame.file_name) for frame in gt.frames]
    if not missing and not pairs.extra and names != gt_names:
        if len(names) != len(gt_names):
            problems.append(f"lists {len(names)} images, the ground truth {len(gt_names)}; poseval pairs "
                            "frames by position and needs every ground-truth image in the same order.")
        else:
            position = next(i for i, (a, b) in enumerate(zip(names, gt_names)) if a != b)
            problems.append(f"image {position} is {names[position]}, the ground truth's is "
                            f"{gt_names[position]}; poseval pairs frames by position, so keep the GT order.")
    return problems


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
        by_name.setdefault(_normalise_name(frame.file_name), frame)
        if frame.image_id is not None:
            by_id.setdefault(frame.image_id, frame)
    used: set[int] = set()
    matched = []
    for gt_frame in gt.frames:
        frame = by_name.get(_normalise_name(gt_frame.file_name))
        if frame is None and gt_frame.image_id is not None:
            frame = by_id.get(gt_frame.image_id)
        if frame is not None and id(frame) in used:
            frame = None
        if frame is not None:
            used.add(id(frame))
        matched.append((gt_frame, frame))
    extra = [frame for frame in pred.frames if id(frame) not in used]
    return FramePairs(matched, extra)


def _normalise_name(name: str) -> str:
    name = name.replace("\\", "/")
    return name[2:] if name.startswith("./") else name


# ----------------------------------------------------------------------------------------------
# writing


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
