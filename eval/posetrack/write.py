"""Write a Sequence as a PoseTrack 2018 or 2017 file, atomically and without NaN or infinite values."""
from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from common.files import atomic_open
from common.jsonio import read_json
from eval.errors import EvalError
from eval.posetrack.types import NUM_SLOTS, POSEVAL_TO_SLOT, Frame, Person, Sequence
from pose.posetrack_ids import image_id as posetrack_image_id
from pose.skeleton import POSETRACK18

log = logging.getLogger(__name__)

_POSETRACK_NAME = re.compile(r"(\d{6})_[^/\\]*[/\\](\d+)\.\w+$")


def write_posetrack18(sequence: Sequence, path: str | os.PathLike) -> None:
    """Write a sequence as a PoseTrack 2018 file (atomic). Non-finite values are never written:
    such joints become absent, such scores 0, such boxes are left out (with a logged warning)."""
    _write(sequence, path, "posetrack18")


def write_posetrack17(sequence: Sequence, path: str | os.PathLike) -> None:
    """Write a sequence as a PoseTrack 2017 ``annolist`` file (atomic; the ears, which the 2017
    format has no id for, are dropped). Non-finite values are handled as in write_posetrack18."""
    _write(sequence, path, "posetrack17")


def _write(sequence: Sequence, path: str | os.PathLike, layout: str) -> None:
    with SequenceWriter(path, sequence.name, layout=layout) as writer:
        for frame in sequence.frames:
            writer.add(frame)


# posetrack21 is the 2018 layout, which the PoseTrack21 kit reads; every person must then carry a
# non-negative track id (the kit crashes otherwise), which the writer checks.
LAYOUTS = ("posetrack18", "posetrack17", "posetrack21")


class SequenceWriter:
    """Writes a PoseTrack file one frame at a time, holding no frame in memory.

    Entries go to anonymous spool files beside the target (unlinked at once, so even a killed
    process leaves nothing behind); `close` joins them into the target atomically, with the bytes
    `json.dump` would give for the whole sequence. A frame is spooled whole or, when a write fails (a
    full disk), not at all: the spools are cut back, and the frames before it can still be joined.
    Use as a context manager: leaving with an
    exception writes nothing. `nframes` (PoseTrack 2018) is the video's frame count when given (a strided
    run adds fewer frames than the video has), else the number of frames added.
    """

    def __init__(self, path: str | os.PathLike, name: str, *, layout: str = "posetrack18",
                 nframes: int | None = None):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
        self.path = Path(path)
        self.layout = layout
        self.frames = 0
        self.nframes = nframes
        self._annotations = 0
        self._cleaner = _Cleaner(name)
        self._entries: IO[bytes] | None = None  # images (2018) or annolist entries (2017), one JSON a line
        self._persons: IO[bytes] | None = None  # annotations (2018), one JSON a line
        self._before_last: tuple[list[int], int] | None = None  # spool sizes and annotations before the last frame

    def __enter__(self) -> SequenceWriter:
        self._entries = tempfile.TemporaryFile("w+b", buffering=0, dir=self.path.parent)
        if self.layout != "posetrack17":
            self._persons = tempfile.TemporaryFile("w+b", buffering=0, dir=self.path.parent)
        return self

    def add(self, frame: Frame) -> None:
        """Spool one frame, its image entry and its persons, whole or (raising the OSError) not at all."""
        if self.layout != "posetrack17":
            image_id = _image_id(frame, self.frames)
            for person in frame.persons:
                if self.layout == "posetrack21" and (person.track_id is None or person.track_id < 0):
                    raise EvalError(f"{self.path.name}: frame {frame.file_name} has a person without a non-negative "
                                    "track_id, which the PoseTrack21 kit needs.")
            annotations = [_annotation(person, self._annotations + number, image_id, self._cleaner)
                           for number, person in enumerate(frame.persons)]
            self._spool([_image_entry(frame, image_id, self._cleaner)], annotations)
        else:
            self._spool([_annolist_entry(frame, self.frames, self._cleaner)], [])
        self.frames += 1

    def spooled_bytes(self) -> int:
        """Bytes spooled so far: about what joining them into the file will take on disk."""
        return sum(os.fstat(spool.fileno()).st_size for spool in (self._entries, self._persons) if spool is not None)

    def drop_last(self) -> None:
        """Take back the frame `add` spooled last (another output could not write it)."""
        if self._before_last is None:
            raise ValueError("drop_last takes back one frame that add spooled")
        marks, self._annotations = self._before_last
        for spool, mark in zip((self._entries, self._persons), marks):
            if spool is not None:
                spool.truncate(mark)
        self.frames -= 1
        self._before_last = None

    def add_written(self, path: str | os.PathLike) -> int:
        """Spool every frame of a file this writer wrote before (same layout), unchanged; returns how many.

        A resumed run starts with the frames its earlier run wrote: their bytes come out as they were.
        """
        data = read_json(path, "PoseTrack file", error=EvalError)
        key = "annolist" if self.layout == "posetrack17" else "images"
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise EvalError(f"{path} is not a {self.layout} file of this writer (no {key!r} list).")
        for entry in data[key]:
            entry.pop("nframes", None)
        self._spool(data[key], data.get("annotations", []) if self.layout != "posetrack17" else [])
        self._before_last = None
        self.frames += len(data[key])
        return len(data[key])

    def _spool(self, entries: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> None:
        """Append entries and annotations, one JSON a line, all of them or (raising the OSError) none."""
        spools = [(_opened(self._entries), entries)]
        if self._persons is not None:
            spools.append((self._persons, annotations))
        marks = [spool.seek(0, os.SEEK_END) for spool, _ in spools]
        try:
            for spool, items in spools:
                if items:
                    view = memoryview("".join(json.dumps(item, allow_nan=False) + "\n" for item in items).encode())
                    while view:
                        view = view[spool.write(view) or 0:]
        except OSError:
            for (spool, _), mark in zip(spools, marks):
                spool.truncate(mark)
            raise
        self._before_last = (marks, self._annotations)
        self._annotations += len(annotations)

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self._join()
        finally:
            for spool in (self._entries, self._persons):
                if spool is not None:
                    spool.close()

    def _join(self) -> None:
        self._cleaner.report()
        with atomic_open(self.path, "w", encoding="utf-8") as handle:
            if self.layout == "posetrack17":
                handle.write('{"annolist": ')
                self._copy_list(self._entries, handle)
                handle.write("}")
                return
            handle.write('{"images": ')
            nframes = self.frames if self.nframes is None else self.nframes
            self._copy_list(self._entries, handle, lambda line: _with_nframes(line, nframes))
            handle.write(', "annotations": ')
            self._copy_list(self._persons, handle)
            handle.write(', "categories": ')
            json.dump(_CATEGORIES, handle)
            handle.write("}")

    @staticmethod
    def _copy_list(spool: IO[bytes] | None, handle: IO[str], edit=None) -> None:
        """Write the spooled lines as one JSON list, separated as json.dump separates items."""
        spool = _opened(spool)
        spool.seek(0)
        handle.write("[")
        with open(spool.fileno(), encoding="utf-8", closefd=False) as lines:
            for number, line in enumerate(lines):
                if number:
                    handle.write(", ")
                handle.write(edit(line) if edit else line.rstrip("\n"))
        handle.write("]")


def _opened(spool: IO[bytes] | None) -> IO[bytes]:
    if spool is None:
        raise RuntimeError("a SequenceWriter is used outside its `with` block.")
    return spool


_CATEGORIES = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(POSETRACK18.joints),
                "skeleton": [[a + 1, b + 1] for a, b in POSETRACK18.limbs]}]


def _image_entry(frame: Frame, image_id: int, cleaner: _Cleaner) -> dict[str, Any]:
    """A 2018 `images` entry without `nframes`, which is known only when the sequence ends."""
    image: dict[str, Any] = {"id": image_id, "file_name": frame.file_name}
    for key in ("frame_id", "width", "height"):
        if getattr(frame, key) is not None:
            image[key] = getattr(frame, key)
    if frame.is_labeled is not None:
        image["is_labeled"] = frame.is_labeled
    regions = [cleaner.polygon(polygon) for polygon in frame.ignore_regions]
    if regions:
        image["ignore_regions_x"] = [polygon[:, 0].tolist() for polygon in regions]
        image["ignore_regions_y"] = [polygon[:, 1].tolist() for polygon in regions]
    return image


def _with_nframes(line: str, nframes: int) -> str:
    """A spooled image entry with `nframes` in its place: after the frame keys, before the ignore regions."""
    image = json.loads(line)
    ordered = {key: image.pop(key) for key in ("id", "file_name", "frame_id", "width", "height", "is_labeled")
               if key in image}
    ordered["nframes"] = nframes
    ordered.update(image)
    return json.dumps(ordered, allow_nan=False)


def _annotation(person: Person, number: int, image_id: int, cleaner: _Cleaner) -> dict[str, Any]:
    keypoints, scores = cleaner.person(person)
    annotation: dict[str, Any] = {"id": number, "image_id": image_id, "category_id": 1}
    if person.track_id is not None:
        annotation["track_id"] = int(person.track_id)
    annotation["keypoints"] = keypoints.reshape(-1).tolist()
    if scores is not None:
        annotation["scores"] = scores.tolist()
    for key, given in (("bbox", person.box), ("bbox_head", person.head_box)):
        box = cleaner.box(given)
        if box is not None:
            annotation[key] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
    if person.score is not None and math.isfinite(person.score):
        annotation["score"] = float(person.score)
    return annotation


def _annolist_entry(frame: Frame, index: int, cleaner: _Cleaner) -> dict[str, Any]:
    entry: dict[str, Any] = {"image": [{"name": frame.file_name}], "imgnum": [index + 1]}
    if frame.is_labeled is not None:
        entry["is_labeled"] = [int(frame.is_labeled)]
    regions = [cleaner.polygon(polygon) for polygon in frame.ignore_regions]
    if regions:
        entry["ignore_regions"] = [{"point": [{"x": [x], "y": [y]} for x, y in polygon.tolist()]}
                                   for polygon in regions]
    entry["annorect"] = [_rect_2017(person, cleaner) for person in frame.persons]
    return entry


def _rect_2017(person: Person, cleaner: _Cleaner) -> dict[str, Any]:
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
            log.warning("sequence %s: %d NaN or infinite values were left out of the written file",
                           self.name, self.count)


def _image_id(frame: Frame, index: int) -> int:
    """The frame's image id, else PoseTrack's scheme (1, 6-digit video, 4-digit frame), else the index."""
    if frame.image_id is not None:
        return frame.image_id
    match = _POSETRACK_NAME.search(frame.file_name)
    if match:
        return posetrack_image_id(int(match.group(1)), int(match.group(2)))
    return index
