"""Person boxes read from a JSON file of precomputed detections.

Accepted layouts:
- COCO results: a list of `{"image_id", "bbox": [x, y, w, h], "score", "category_id"}`, as in
  SimpleBaseline/HRNet's `COCO_val2017_detections_AP_H_56_person.json` and PoseTrack's
  `*_human_detections.json` (those use PoseTrack image ids, `1VVVVVVFFFF`: video, frame).
- an object with `"annotations"` in that form and optionally `"images"` (`id`, `file_name`).
Boxes of other categories than person (1) are dropped. Width is x2 - x1 (COCO, no +1).

Frames are found by file name or frame index. With an image list (the file's own `"images"` or the
annotation file passed as `images`, e.g. PoseTrack's `*_val.json`) a name matches the listed
`file_name` that ends with it (or that it ends with), and frame index n is the n-th listed image.
Without one, a frame's number is taken from the image id (PoseTrack ids: the last 4 digits; other
ids: the id itself) and a file name gives its number by its stem (`000000000785.jpg` -> 785).

`for_video` binds the file to one video and says how its frames are matched: by the image ids of the
video's ground truth (the `--posetrack` split run), by image path (ids that are the ground truth's file
names, or an image list), by folder name (a
PoseTrack video number, `003418_mpii_test`, picks that video's ids in a file holding several), or by
the number in the file name / the frame index.
"""
from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from common.jsonio import read_json
from detection.errors import DetectionError
from detection.protocol import FrameKey
from pose.posetrack_ids import frame_number, is_posetrack_id, video_number
from pose.posetrack_ids import image_id as posetrack_image_id

log = logging.getLogger(__name__)

PERSON_CATEGORY = 1
EARLY_CHECK_FRAMES = 10
"""After this many frames without a single detection, warn at once rather than at the end of the run."""
_VIDEO_NUMBER = re.compile(r"^(\d{6})(_|$)")
"""A PoseTrack sequence name starts with its 6-digit video number: `003418_mpii_test`."""


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _box_row(entry: object, index: int, path: Path) -> tuple[object, np.ndarray] | None:
    """One detection entry -> (image id, [x1,y1,x2,y2,score]); None for non-person entries."""
    where = f"{path}: detection {index}"
    if not isinstance(entry, dict):
        raise DetectionError(f"{where} is a {type(entry).__name__}, not an object with image_id, "
                             f"bbox and score.")
    for key in ("image_id", "bbox", "score"):
        if key not in entry:
            raise DetectionError(f"{where} has no {key!r} (each detection needs image_id, bbox "
                                 f"[x, y, width, height] and score).")
    if entry.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY:
        return None
    bbox, score = entry["bbox"], entry["score"]
    if (not isinstance(bbox, list) or len(bbox) != 4 or not all(map(_is_number, bbox))
            or bbox[2] < 0 or bbox[3] < 0):
        raise DetectionError(f"{where} has bbox {bbox!r}, which is not 4 finite numbers x, y, "
                             f"width, height with width and height >= 0.")
    if not _is_number(score):
        raise DetectionError(f"{where} has score {score!r}, which is not a finite number.")
    x, y, w, h = bbox
    return entry["image_id"], np.array([x, y, x + w, y + h, score], dtype=np.float64)


def _image_table(images: object, source: Path) -> list[tuple[object, PurePosixPath]]:
    if not isinstance(images, list):
        raise DetectionError(f"{source}: 'images' is a {type(images).__name__}, not a list.")
    table = []
    for index, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise DetectionError(f"{source}: image {index} lacks 'id' or 'file_name'.")
        table.append((image["id"], PurePosixPath(str(image["file_name"]).replace("\\", "/"))))
    return table


def _frame_number(image_id: object) -> object:
    if isinstance(image_id, int) and is_posetrack_id(image_id):
        return frame_number(image_id)
    return image_id


def _ends_with(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    return len(shorter) <= len(longer) and longer[len(longer) - len(shorter):] == shorter


class PrecomputedDetections:
    """Boxes per image read from a detections file; see the module docstring for the matching."""

    def __init__(self, boxes: dict[object, np.ndarray], source: Path,
                 table: list[tuple[object, PurePosixPath]] | None = None,
                 table_source: Path | None = None) -> None:
        self.source = source
        self._boxes = boxes
        self._table = table
        self._table_source = table_source if table_source is not None else source
        self._by_number: dict[object, list[object]] = {}
        for image_id in boxes:
            self._by_number.setdefault(_frame_number(image_id), []).append(image_id)
        self._default = VideoBoxes(self, self._id_for_frame, "their file names" if table is not None
                                   else "the number in their file name, or their index")

    def __len__(self) -> int:
        """Number of images that have at least one person box."""
        return len(self._boxes)

    def image_ids(self) -> list[object]:
        """Ids of the images that have at least one person box, in file order."""
        return list(self._boxes)

    def boxes(self, frame: FrameKey, image: np.ndarray | None = None) -> np.ndarray:
        """The `BoxSource` call: boxes of the frame by its file name when known, else by its index
        (counted for `report_matches`)."""
        return self._default.boxes(frame, image)

    def report_matches(self, before: int | None = None) -> tuple[int, int]:
        """Log how many of the frames asked since the last report had detections; see VideoBoxes."""
        return self._default.report_matches(before)

    def for_video(self, source: str | os.PathLike, image_ids: Sequence[object] | None = None,
                  image_paths: Sequence[str] | None = None) -> VideoBoxes:
        """This file's boxes for the frames of one video (`image_ids`, `image_paths`: its ground truth's ids
        and file names, frame by frame), matched by the first way that fits (module docstring); logs which."""
        source = Path(source)
        by_path = self._ids_by_path(image_paths) if image_paths is not None else None
        if image_ids is not None and any(image_id in self._boxes for image_id in image_ids):
            found = VideoBoxes(self, _by_position(list(image_ids)), "image id")
        elif by_path is not None:
            found = VideoBoxes(self, _by_position(by_path), "image path")
        elif self._table is not None:
            found = VideoBoxes(self, self._id_for_frame, f"image path (the images listed in {self._table_source.name})")
        else:
            found = self._by_folder_name(source) or VideoBoxes(self, self._id_for_frame, (
                "the number in the file name" if source.is_dir() else "frame index"))
        log.info("%s: detections of %s matched by %s", source.name, self.source.name, found.how)
        return found

    def _ids_by_path(self, image_paths: Sequence[str]) -> list[object] | None:
        """The ids whose file name (the id itself when a string, else its name in the image list) ends in each
        frame's folder and file (`003418_mpii_test/000000.jpg`), frame by frame; None when no frame has one."""
        ends: dict[tuple[str, ...], object] = {
            PurePosixPath(image_id.replace("\\", "/")).parts[-2:]: image_id for image_id in self._boxes
            if isinstance(image_id, str)}
        ends.update((name.parts[-2:], image_id) for image_id, name in self._table or ())
        ids: list[object] = [ends.get(PurePosixPath(path.replace("\\", "/")).parts[-2:]) for path in image_paths]
        return ids if any(image_id is not None for image_id in ids) else None

    def _by_folder_name(self, source: Path) -> VideoBoxes | None:
        """Matching by the PoseTrack video number the folder or file name starts with, when the file
        holds PoseTrack ids; None when it holds one video's ids (frame numbers then suffice)."""
        videos = sorted({video_number(image_id) for image_id in self._boxes
                         if isinstance(image_id, int) and is_posetrack_id(image_id)})
        if len(videos) < 2:
            return None
        match = _VIDEO_NUMBER.match(source.stem if source.is_file() else source.name)
        if match is None or int(match.group(1)) not in videos:
            raise DetectionError(f"{self.source} holds detections of {len(videos)} PoseTrack videos "
                                 f"({', '.join(f'{video:06d}' for video in videos[:3])}), and the name "
                                 f"{source.name} starts with none of their numbers; name the folder or video "
                                 f"after its sequence (such as {videos[0]:06d}_mpii_test) or run the split "
                                 f"with --posetrack.")
        video = int(match.group(1))

        def image_id(frame: FrameKey) -> int:
            stem = PurePosixPath(frame.file_name).stem if frame.file_name else ""
            number = int(stem) if stem.isdigit() else frame.index
            return posetrack_image_id(video, number)
        return VideoBoxes(self, image_id, f"folder name (video {video:06d})")

    def _id_for_frame(self, frame: FrameKey) -> object:
        return self._id_for_name(frame.file_name) if frame.file_name is not None else self._id_for_index(frame.index)

    def boxes_of(self, image_id: object) -> np.ndarray:
        """(N,5) float32 x1,y1,x2,y2,score of one image id; (0,5) when it has none."""
        found = self._boxes.get(image_id)
        return np.zeros((0, 5), dtype=np.float32) if found is None else found.copy()

    def id_hint(self, how: str) -> str:
        """What to check when frames find no detections."""
        ids = ", ".join(repr(image_id) for image_id in list(self._boxes)[:3]) or "none"
        return (f"frames are matched to its image ids (such as {ids}) by {how}; do the detections belong "
                "to this video?")

    def boxes_for(self, frame_index: int, file_name: str | os.PathLike | None = None) -> np.ndarray:
        """(N,5) float32 x1,y1,x2,y2,score of one frame, by `file_name` if given, else by index.

        A frame without detections gives a (0,5) array.
        """
        return self.boxes_of(self._id_for_frame(FrameKey(frame_index, None if file_name is None else str(file_name))))

    def _id_for_name(self, file_name: str | os.PathLike) -> object:
        query = PurePosixPath(str(file_name).replace("\\", "/"))
        if self._table is None:
            stem = query.stem
            if not stem.isdigit():
                raise DetectionError(f"{self.source} has no image list, so frames are matched by "
                                     f"the number in their file name, which {query.name} lacks; "
                                     f"name the frames by number (000000.jpg) or give a file with an "
                                     f"'images' list.")
            return self._unique_number(int(stem), f"file name {query.name}")
        matches = [image_id for image_id, name in self._table
                   if _ends_with(name.parts, query.parts) or _ends_with(query.parts, name.parts)]
        if not matches:
            raise DetectionError(f"{query} is not among the {len(self._table)} images listed in "
                                 f"{self._table_source}.")
        if len(matches) > 1:
            raise DetectionError(f"{query} matches {len(matches)} images listed in "
                                 f"{self._table_source}; give the name with its folder.")
        return matches[0]

    def _id_for_index(self, frame_index: int) -> object:
        if frame_index < 0:
            raise DetectionError(f"frame index {frame_index} is negative.")
        if self._table is None:
            return self._unique_number(frame_index, f"frame index {frame_index}")
        folders = sorted({str(name.parent) for _, name in self._table})
        if len(folders) > 1:
            raise DetectionError(f"{self._table_source} lists images of {len(folders)} folders "
                                 f"({', '.join(folders[:3])}), so a frame index does not say "
                                 f"which image is meant; match frames by file name instead.")
        if frame_index >= len(self._table):
            raise DetectionError(f"frame index {frame_index} is beyond the {len(self._table)} "
                                 f"images listed in {self._table_source}.")
        return self._table[frame_index][0]

    def _unique_number(self, number: int, what: str) -> object:
        ids = self._by_number.get(number, [])
        if len(ids) > 1:
            raise DetectionError(f"{what} fits {len(ids)} images of {self.source} "
                                 f"({', '.join(map(str, ids[:3]))}); name the folder or video after "
                                 f"its PoseTrack sequence (such as 003418_mpii_test) or run the split "
                                 f"with --posetrack.")
        return ids[0] if ids else None


def _by_position(ids: list[object]) -> Callable[[FrameKey], object]:
    """Frame -> the id listed at its index (None past the end)."""
    return lambda frame: ids[frame.index] if frame.index < len(ids) else None


class VideoBoxes:
    """A detections file bound to one video: boxes per frame by one way of matching (`how`), counted."""

    def __init__(self, detections: PrecomputedDetections, image_id: Callable[[FrameKey], object], how: str):
        self.detections = detections
        self.how = how
        self._image_id = image_id
        self._found: dict[int, bool] = {}  # frame index -> had a box, for the frames asked since the last report
        self._warned_early = False

    def boxes(self, frame: FrameKey, image: np.ndarray | None = None) -> np.ndarray:
        """The `BoxSource` call; warns once when the first EARLY_CHECK_FRAMES frames all had no box
        (image ids that name other frames look so)."""
        found = self.detections.boxes_of(self._image_id(frame))
        self._found[frame.index] = bool(len(found))
        if len(self._found) == EARLY_CHECK_FRAMES and not any(self._found.values()) and not self._warned_early:
            self._warned_early = True
            log.warning("none of the first %d frames has a detection in %s; %s", len(self._found),
                        self.detections.source, self.detections.id_hint(self.how))
        return found

    def report_matches(self, before: int | None = None) -> tuple[int, int]:
        """Log how many of the frames asked since the last report had detections, and count anew.

        `before`: count only frames of a lower index (the frames done, when a run stopped after asking
        for a frame it did not finish). Returns (frames with detections, frames counted); a
        warning when fewer than half had any, since that is what detections of another video, or ids
        naming no frame, look like.
        """
        counted = [found for index, found in self._found.items() if before is None or index < before]
        matched, asked = sum(counted), len(counted)
        self._found = {}
        self._warned_early = False
        if asked and matched * 2 < asked:
            log.warning("only %d of %d frames had detections in %s; %s", matched, asked, self.detections.source,
                        self.detections.id_hint(self.how))
        elif asked:
            log.info("%d of %d frames had detections in %s", matched, asked, self.detections.source)
        return matched, asked


def from_file(path: str | os.PathLike, images: str | os.PathLike | None = None
              ) -> PrecomputedDetections:
    """Read precomputed person detections; `images`: a COCO/PoseTrack annotation file whose
    `"images"` list gives file names and frame order (optional, see the module docstring)."""
    path = Path(path)
    data = read_json(path, "detections", error=DetectionError)
    table_data, table_source = None, path
    if isinstance(data, dict):
        if "annotations" not in data:
            raise DetectionError(f"{path} holds an object without 'annotations'; expected a list "
                                 f"of detections (COCO results) or an object with 'annotations'.")
        entries = data["annotations"]
        if "images" in data:
            table_data, table_source = data["images"], path
    else:
        entries = data
    if not isinstance(entries, list):
        raise DetectionError(f"{path} holds a {type(entries).__name__} where a list of detections "
                             f"(COCO results: image_id, bbox, score) belongs.")
    if images is not None:
        table_source = Path(images)
        annotation = read_json(table_source, "image list", error=DetectionError)
        if not isinstance(annotation, dict) or "images" not in annotation:
            raise DetectionError(f"{table_source} has no 'images' list to match frames with.")
        table_data = annotation["images"]
    rows: dict[object, list[np.ndarray]] = {}
    for index, entry in enumerate(entries):
        row = _box_row(entry, index, path)
        if row is not None:
            rows.setdefault(row[0], []).append(row[1])
    boxes = {image_id: np.stack(found).astype(np.float32) for image_id, found in rows.items()}
    table = None if table_data is None else _image_table(table_data, table_source)
    return PrecomputedDetections(boxes, path, table, table_source)
