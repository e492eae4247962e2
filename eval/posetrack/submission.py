"""Check a PoseTrack leaderboard submission folder: every problem, one sentence each."""
from __future__ import annotations

import os
import re
from pathlib import Path

from eval.errors import EvalError
from eval.posetrack.read import read_folder, read_sequence
from eval.posetrack.types import Sequence, sequence_name
from eval.posetrack.validate import posetrack21_problems, validate

# poseval parses the video folder and frame number out of every image name.
_IMAGE_NAME = re.compile(r"(?:^|[/\\])((\d{6})_(?:mpii|bonn|mpiinew)_[a-z]+)[/\\](\d+)\.\w+$")


def check_submission(folder: str | os.PathLike, gt_folder: str | os.PathLike | None = None,
                     *, layout: str = "posetrack18") -> tuple[list[str], int]:
    """(problems, number of files checked) for a folder of prediction files.

    ``posetrack18``: checks that every file reads, passes ``validate``, names its images the way poseval
    parses them (one video per file, named like the file) and, with ``gt_folder``, that the files and
    their image lists match the ground truth's. ``posetrack21``: every input the PoseTrack21 kit crashes
    on or silently skips (``validate.posetrack21_problems``, file names without ``_test``), and, with
    ``gt_folder``, files missing or unknown and image lists that do not line up by position.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalError(f"{folder} is not a folder; pass the submission folder with one JSON file per sequence.")
    gt = read_folder(gt_folder) if gt_folder is not None else {}
    files = sorted(folder.glob("*.json"))
    problems: list[str] = []
    if not files:
        problems.append(f"{folder} holds no .json files; a submission has one file per sequence.")
    names = set()
    for file in files:
        names.add(sequence_name(file))
        try:
            sequence = read_sequence(file)
        except EvalError as error:
            problems.append(str(error))
            continue
        if gt and sequence.name not in gt:
            problems.append(f"{file.name}: no ground-truth sequence {sequence.name!r}; name files as the "
                            "ground truth's.")
        if layout == "posetrack21":
            problems.extend(posetrack21_problems(sequence, gt.get(sequence.name)))
            if "_test" not in file.name:
                problems.append(f"{file.name}: the name lacks '_test', so the official PoseTrack21 kit takes the "
                                "folder for a folder of trackers and evaluates nothing; keep the ground truth's "
                                "file names.")
            continue
        problems.extend(validate(sequence, gt.get(sequence.name)))
        problems.extend(_image_name_problems(file, sequence))
    problems.extend(f"sequence {name} of the ground truth has no file ({name}.json)."
                    for name in gt if name not in names)
    return problems, len(files)


def _image_name_problems(file: Path, sequence: Sequence) -> list[str]:
    if not sequence.frames:
        return [f"{file.name}: lists no images."]
    videos = set()
    for frame in sequence.frames:
        match = _IMAGE_NAME.search(frame.file_name)
        if match is None:
            return [f"{file.name}: image name {frame.file_name!r} is not of the form "
                    "images/<split>/<6-digit video>_<mpii|bonn|mpiinew>_<split>/<frame>.jpg that poseval parses."]
        videos.add(match.group(1))
    if len(videos) > 1:
        return [f"{file.name}: images come from {len(videos)} videos ({', '.join(sorted(videos))}); "
                "poseval scores only the first, so keep one video per file."]
    video = videos.pop()
    if video != sequence.name:
        return [f"{file.name}: its images are from video {video}; name the file {video}.json."]
    return []
