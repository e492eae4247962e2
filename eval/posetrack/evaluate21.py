"""PoseTrack21 keypoint HOTA of a prediction folder, equal to the official kit (``python -m eval posetrack21``).

What is scored follows the kit (README §5 of ``../shared/reference/posetrack21``): frames paired by
position, labelled frames only, a joint where x > 0 and y > 0, ignore polygons, one assignment per frame
and joint for all alphas, its totals, and its quirks Q6 and Q7, each reported in a warning when it fires.
Where the kit crashes on valid ground truth (a labelled frame without a person, or whose persons all lie in
ignore regions) the frame is scored and a warning names it; a sequence without a prediction file counts
as all missed. Malformed predictions, which crash the kit, are refused naming file, frame and person.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from eval.errors import EvalError
from eval.posetrack.frames21 import Prepared, prepare, score
from eval.posetrack.hota import FIELDS, combine, printed, sequence_fields
from eval.posetrack.read import read_folder
from eval.posetrack.sequence import listing, shared_sequences
from eval.posetrack.types import Sequence
from eval.posetrack.validate import posetrack21_problems
from pose.skeleton import POSETRACK21_JOINTS

log = logging.getLogger(__name__)

JOINT_COLUMNS = tuple(column for column, _ in POSETRACK21_JOINTS)
COUNT_FIELDS = ("Dets", "GT_Dets", "IDs", "GT_IDs")
_CHECK = "python -m eval check-submission DIR --gt GT_DIR --format posetrack21 lists every problem"


@dataclass
class HotaResult:
    """The printed values of every HOTA field, (16,) per field (15 joints then Total; percent, counts
    as integers), in total and per sequence; the Count table per sequence and COMBINED; warnings."""

    total: dict[str, np.ndarray]
    per_sequence: dict[str, dict[str, np.ndarray]]
    count: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    def value(self, name: str) -> float:
        """The Total of one field."""
        return float(self.total[name][-1])

    def to_json(self) -> dict:
        """The layout of ``python -m eval posetrack21 --json`` (percent, as ``eval posetrack --json``)."""
        return {**_fields_json(self.total),
                "per_sequence": {name: _fields_json(values) for name, values in self.per_sequence.items()},
                "count": {name: dict(row) for name, row in self.count.items()},
                "sequences": list(self.per_sequence), "warnings": list(self.warnings)}


def _fields_json(values: dict[str, np.ndarray]) -> dict:
    def number(name: str, value: float) -> float | int:
        return int(value) if name.startswith("HOTA_") else float(value)
    return {name: {"per_joint": {joint: number(name, values[name][i]) for i, joint in enumerate(JOINT_COLUMNS)},
                   "total": number(name, values[name][-1])} for name in FIELDS}


def evaluate21_folders(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike,
                       kpt_thr: float | None = None) -> HotaResult:
    """Read a PoseTrack21 GT folder and a prediction folder (one file per sequence) and score them."""
    return sweep21(read_folder(gt_dir), read_folder(pred_dir), [kpt_thr])[0]


def sweep21(gt: dict[str, Sequence], pred: dict[str, Sequence],
            thresholds: Iterable[float | None]) -> list[HotaResult]:
    """Keypoint HOTA at each joint-score threshold (None keeps every joint; a joint under the threshold is
    scored as if absent), sharing reading, checks, ignore regions and similarities across thresholds.

    EvalError (one sentence) for malformed files, which the kit would crash on.
    """
    common, unpaired = shared_sequences(gt, pred, " (the official kit stops)")
    for truth in gt.values():
        _refuse(posetrack21_problems(truth, is_gt=True), "ground-truth")
    for name in common:
        _refuse(posetrack21_problems(pred[name], gt[name]), "prediction")
    prepared = {name: prepare(gt[name], pred.get(name)) for name in gt}
    shared = _ground_truth_warnings(gt, prepared) + unpaired
    results = []
    for threshold in thresholds:
        warnings = list(shared)
        per_sequence, fields, count = {}, [], {}
        for sequence in prepared.values():
            scored = score(sequence, threshold)
            values = sequence_fields(scored.matches)
            fields.append(values)
            per_sequence[sequence.name] = printed(values)
            count[sequence.name] = scored.count
            warnings += _quirk_warnings(sequence.name, scored.empty_frames, scored.count,
                                        sequence.ground_truth_only)
        count["COMBINED"] = {key: sum(row[key] for row in count.values()) for key in COUNT_FIELDS + ("Frames",)}
        results.append(HotaResult(printed(combine(fields)), per_sequence, count, warnings))
    for text in dict.fromkeys(text for result in results for text in result.warnings):
        log.warning(text)
    return results


def _refuse(problems: list[str], role: str) -> None:
    if problems:
        more = f" ({len(problems) - 1} more problem(s) like it)" if len(problems) > 1 else ""
        raise EvalError(f"{problems[0].rstrip('.')}{more}; the official PoseTrack21 kit crashes on such "
                        f"{role} files, so fix them ({_CHECK}).")


def _ground_truth_warnings(gt: dict[str, Sequence], prepared: dict[str, Prepared]) -> list[str]:
    """Where valid ground truth makes the official kit crash and hrtrack scores it anyway."""
    warnings = []
    for name, sequence in gt.items():
        labelled = [frame for frame in sequence.frames if frame.is_labeled]
        if not labelled:
            warnings.append(f"sequence {name}: no image is labelled (is_labeled), so it adds nothing to the totals.")
        empty = [frame.file_name for frame in labelled if not frame.persons]
        if empty:
            warnings.append(f"sequence {name}: {len(empty)} labelled frame(s) have no ground-truth person "
                            f"({listing(empty)}); the official kit crashes on them, hrtrack counts their "
                            "predicted joints as false positives.")
        ignored = prepared[name].ignored_frames
        if ignored:
            warnings.append(f"sequence {name}: on {len(ignored)} labelled frame(s) every ground-truth person "
                            f"lies in ignore regions ({listing(ignored)}); the official kit crashes on them, "
                            "hrtrack scores them as frames without persons.")
        short = [frame.file_name for frame in labelled if any(len(polygon) < 3 for polygon in frame.ignore_regions)]
        if short:
            warnings.append(f"sequence {name}: {len(short)} labelled frame(s) have an ignore region of fewer than "
                            f"3 points ({listing(short)}), which is skipped (the official kit crashes on it).")
    return warnings


def _quirk_warnings(name: str, empty_frames: list[str], count: dict[str, int], ground_truth_only: bool) -> list[str]:
    if ground_truth_only or not count["GT_Dets"]:
        return []
    if not count["Dets"]:
        return [f"sequence {name}: no predicted person on any labelled frame, so every ground-truth joint counts "
                "as missed and its LocA is 100, as the official kit reports it (Q7)."]
    if empty_frames:
        return [f"sequence {name}: {len(empty_frames)} labelled frame(s) have no predicted person "
                f"({listing(empty_frames)}); as the official kit does, each counts all of the sequence's "
                "ground-truth joints as missed, not only its own (Q6)."]
    return []


def format_hota(result: HotaResult, *, per_sequence: bool = False) -> str:
    """The per-joint table of every field (percent, one decimal; counts as integers), the Count table and,
    with ``per_sequence``, the main totals of each sequence."""
    width = max(len(name) for name in FIELDS) + 1
    lines = [f"{'':<{width}}" + "".join(f"{column:>7}" for column in JOINT_COLUMNS + ("Total",))]
    for name in FIELDS:
        lines.append(f"{name:<{width}}" + "".join(_cell(name, value) for value in result.total[name]))
    lines.append("")
    rows = list(result.count.items()) if per_sequence else [("COMBINED", result.count["COMBINED"])]
    label = max(len(name) for name, _ in rows) + 1
    lines.append(f"{'Count':<{label}}" + "".join(f"{key:>9}" for key in COUNT_FIELDS))
    lines += [f"{name:<{label}}" + "".join(f"{row[key]:>9}" for key in COUNT_FIELDS) for name, row in rows]
    if per_sequence:
        shown = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")
        label = max(len(name) for name in result.per_sequence) + 1
        lines += ["", f"{'sequence':<{label}}" + "".join(f"{name:>7}" for name in shown)]
        lines += [f"{name:<{label}}" + "".join(_cell(field_name, values[field_name][-1]) for field_name in shown)
                  for name, values in result.per_sequence.items()]
    lines.append("")
    lines.append(f"{len(result.per_sequence)} sequence(s), {result.count['COMBINED']['Frames']} labelled frame(s) "
                 "evaluated; percent, mean over alphas 0.05-0.95 as the official kit prints.")
    return "\n".join(lines)


def _cell(name: str, value: float) -> str:
    return f"{int(value):>7d}" if name.startswith("HOTA_") else f"{value:>7.1f}"
