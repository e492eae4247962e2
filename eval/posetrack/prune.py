"""``python -m eval prune``: a copy of a PoseTrack prediction folder without the joints that score
under a threshold, everything else in each file kept as it was (the upload at that threshold).

A pruned joint is what ``python -m eval posetrack --kpt-thr`` scores as absent: in 2018 files its
triplet becomes (0, 0, 0) and its score 0; in 2017 files its point is dropped. A joint without a
score (poseval scores it -9999) is pruned at any threshold above -9999.
"""
from __future__ import annotations

import json
import math
import os
from numbers import Real
from pathlib import Path
from typing import Any

from common.files import atomic_open
from common.jsonio import read_json
from eval.errors import EvalError
from eval.posetrack.types import MISSING_SCORE


def prune_folder(source: str | os.PathLike, target: str | os.PathLike, threshold: float) -> tuple[int, int, int]:
    """Write every ``*.json`` of ``source`` to ``target`` (created if needed, atomic files) without the
    joints scoring under ``threshold``; returns (files, joints kept, joints pruned)."""
    source, target = Path(source), Path(target)
    if not source.is_dir():
        raise EvalError(f"{source} is not a folder; pass the prediction folder with one JSON file per sequence.")
    files = sorted(source.glob("*.json"))
    if not files:
        raise EvalError(f"{source} holds no .json files; expected one PoseTrack file per sequence.")
    if target.exists() and target.resolve() == source.resolve():
        raise EvalError(f"the output folder {target} is the input folder; pass another one, the input is kept.")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise EvalError(f"cannot create the output folder {target}: {failure.strerror}.") from None
    kept = pruned = 0
    for file in files:
        data = read_json(file, error=EvalError)
        counter = _Pruner(file.name, threshold)
        if isinstance(data, dict) and "annolist" in data:
            counter.prune_2017(data["annolist"])
        elif isinstance(data, dict):
            counter.prune_2018(data.get("annotations", []))
        else:
            raise EvalError(f"{file} holds a JSON {type(data).__name__}, not a PoseTrack 2017 or 2018 object.")
        _write(data, target / file.name)
        kept, pruned = kept + counter.kept, pruned + counter.pruned
    return len(files), kept, pruned


class _Pruner:
    """Prunes the persons of one file in place and counts the joints kept and pruned."""

    def __init__(self, name: str, threshold: float):
        self.name = name
        self.threshold = threshold
        self.kept = 0
        self.pruned = 0

    def keeps(self, score: Any, where: str) -> bool:
        if score is None:
            score = MISSING_SCORE
        if isinstance(score, bool) or not isinstance(score, Real) or not math.isfinite(score):
            raise EvalError(f"{self.name}: {where} has score {score!r}, not a finite number; "
                            "python -m eval check-submission lists every problem.")
        keep = float(score) >= self.threshold
        self.kept += keep
        self.pruned += not keep
        return keep

    def prune_2018(self, annotations: Any) -> None:
        for index, annotation in enumerate(annotations if isinstance(annotations, list) else []):
            keypoints = annotation.get("keypoints") if isinstance(annotation, dict) else None
            if not isinstance(keypoints, list):
                continue
            scores = annotation.get("scores") or [None] * (len(keypoints) // 3)
            where = f"annotation {index}"
            if not isinstance(scores, list) or len(keypoints) != 3 * len(scores):
                raise EvalError(f"{self.name}: {where} has {len(keypoints)} keypoint numbers for "
                                f"{len(scores) if isinstance(scores, list) else 'no list of'} scores; "
                                "python -m eval check-submission lists every problem.")
            for joint, score in enumerate(scores):
                triplet = keypoints[3 * joint:3 * joint + 3]
                if triplet == [0, 0, 0] or self.keeps(score, f"{where}, joint {joint}"):
                    continue
                keypoints[3 * joint:3 * joint + 3] = [0, 0, 0]
                if annotation.get("scores"):
                    scores[joint] = 0

    def prune_2017(self, annolist: Any) -> None:
        for entry in annolist if isinstance(annolist, list) else []:
            rects = entry.get("annorect") if isinstance(entry, dict) else None
            for number, rect in enumerate(rects if isinstance(rects, list) else []):
                annopoints = rect.get("annopoints") if isinstance(rect, dict) else None
                if not isinstance(annopoints, list) or not annopoints or not isinstance(annopoints[0], dict) \
                        or not isinstance(annopoints[0].get("point"), list):
                    continue
                where = f"frame {_first(entry.get('imgnum'))}, person {number}"
                annopoints[0]["point"] = [point for point in annopoints[0]["point"]
                                          if self.keeps(_first(point.get("score")) if isinstance(point, dict)
                                                        else None, where)]


def _first(value: Any) -> Any:
    """2017 files wrap every value in a one-element list."""
    return (value[0] if value else None) if isinstance(value, list) else value


def _write(data: Any, path: Path) -> None:
    try:
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, allow_nan=False)
    except ValueError:
        raise EvalError(f"{path.name} holds NaN or infinite numbers; python -m eval check-submission "
                        "lists every problem.") from None
    except OSError as failure:
        raise EvalError(f"cannot write {path}: {failure.strerror}.") from None
