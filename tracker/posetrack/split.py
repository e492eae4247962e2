"""A PoseTrack split as the tracker's input: every sequence of an annotation folder, with its images.

`tracker.run --posetrack ANNOTATIONS_DIR --images ROOT` tracks each sequence the folder's ground-truth
files describe (PoseTrack18 `annotations/val/` or PoseTrack21 `posetrack_data/val/`, one layout) and writes one
prediction file per sequence under the ground truth's file name, listing the ground truth's images (file names,
image ids, `is_labeled`, `nframes`) in its order, which is what poseval, the PoseTrack21 kit and the leaderboard
pair frames by. Everything is read and checked here, before a model loads.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from common.jsonio import read_json
from eval.errors import EvalError
from eval.posetrack.read import read_sequence
from eval.posetrack.types import Frame
from tracker.errors import TrackerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitSequence:
    """One ground-truth sequence to track: its name (the file's stem, which the prediction file takes),
    its frames as the ground truth lists them (persons dropped), their image files, and `nframes`."""

    name: str
    annotation: Path
    frames: list[Frame]
    images: list[Path]
    nframes: int

    @property
    def image_ids(self) -> list[object]:
        """The ground truth's image id of each frame, in order (official detections use them)."""
        return [frame.image_id for frame in self.frames]


def read_split(annotations: str | os.PathLike, images_root: str | os.PathLike) -> list[SplitSequence]:
    """The sequences of a ground-truth folder (`annotations/val/`), sorted by name, with their images
    found under `images_root`; TrackerError naming the first file or image that is missing or unreadable."""
    folder, root = Path(annotations), Path(images_root)
    if not folder.is_dir():
        raise TrackerError(f"--posetrack {folder} is not a folder; give the folder of ground-truth files of a "
                           "split, such as posetrack_data/annotations/val.")
    if not root.is_dir():
        raise TrackerError(f"--images {root} is not a folder; give the dataset folder that holds images/val/...")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise TrackerError(f"{folder} holds no .json ground-truth files; give the folder of a split, "
                           "such as posetrack_data/annotations/val.")
    return [_sequence(file, root) for file in files]


def _sequence(file: Path, root: Path) -> SplitSequence:
    try:
        gt = read_sequence(file)
    except EvalError as error:
        raise TrackerError(str(error)) from None
    if not gt.frames:
        raise TrackerError(f"{file} lists no images, so there is nothing to track; is it a PoseTrack "
                           "ground-truth file?")
    frames = [replace(frame, persons=[], ignore_regions=[]) for frame in gt.frames]
    return SplitSequence(file.stem, file, frames, _images(file, frames, root), _nframes(file, len(frames)))


def _images(file: Path, frames: list[Frame], root: Path) -> list[Path]:
    """The image file of each frame: ROOT joined with its `file_name`, or with the end of it that exists under
    ROOT (so ROOT may be the dataset folder, its images/ or images/val/), the same end for every frame."""
    names = [PurePosixPath(frame.file_name.replace("\\", "/")) for frame in frames]
    first = names[0]
    skip = next((count for count in range(len(first.parts)) if root.joinpath(*first.parts[count:]).is_file()),
                None)
    if skip is None:
        raise TrackerError(f"{file.name}: its first image {first} is not under {root}; give --images the dataset "
                           "folder that holds images/<split>/<sequence>/.")
    images = [root.joinpath(*name.parts[skip:]) for name in names]
    missing = [path for path in images if not path.is_file()]
    if missing:
        raise TrackerError(f"{file.name}: {len(missing)} of its {len(images)} images are missing under {root}, "
                           f"first {missing[0]}.")
    return images


def _nframes(file: Path, listed: int) -> int:
    """The `nframes` the ground truth gives its images (the video's length), else the number of images listed."""
    data = read_json(file, "ground-truth", error=TrackerError)
    images = (data.get("images") if isinstance(data, dict) else None) or [{}]
    value = images[0].get("nframes") if isinstance(images[0], dict) else None
    return value if isinstance(value, int) and value > 0 else listed

