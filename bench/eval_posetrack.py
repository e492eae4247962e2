"""Benchmark of the PoseTrack evaluators: seconds to read and score (AP and MOT) the public reference
cases, and a large set built by repeating them to about 50 sequences and 5,000 labelled frames; the
cost of the joint-score threshold sweep (0.1:0.9:0.05, 17 thresholds) against one evaluation; and
PoseTrack21 keypoint HOTA of 51 sequences of 40 frames made from the PoseTrack21 reference cases, the
size the official kit was timed on (89-105 s, 45-55 ms per labelled frame, README §8 there).

Run from the repo root: ``python -m bench.eval_posetrack [--reference DIR]``; prints one JSON line.
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

from bench.machine import emit
from eval.posetrack.evaluate import evaluate, evaluate_folders, sweep
from eval.posetrack.evaluate21 import evaluate21_folders, sweep21
from eval.posetrack.read import read_folder
from eval.posetrack.sweep import parse_thresholds
from eval.posetrack.types import Sequence
from eval.posetrack.write import write_posetrack18
from pose.posetrack_ids import image_id as posetrack_image_id

DEFAULT_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "posetrack"
TRACKING_CASES = ("p1_exact_gt", "p2_pose_errors", "p3_tracking_errors", "p4_pt17_format")
SWEEP = "0.1:0.9:0.05"
# The PoseTrack21 kit's timing set: 51 sequences of 40 frames with p4's mix of predictions.
HOTA_CASE, HOTA_SEQUENCES, HOTA_FRAMES = "p4_missed_and_false", 51, 40
KIT_MS_PER_LABELLED_FRAME = 45.0  # the fastest the kit was measured at on this machine


def _repeated(sequence: Sequence, name: str, length: int) -> Sequence:
    """The sequence's frames repeated to `length` frames, renamed as one longer video called `name`."""
    frames = []
    for number in range(length):
        clone = copy.copy(sequence.frames[number % len(sequence.frames)])
        clone.file_name = f"images/val/{name}/{number:06d}.jpg"
        clone.image_id = posetrack_image_id(int(name[:6]), number)
        frames.append(clone)
    return Sequence(name, frames)


def build_large_set(reference: Path, num_sequences: int = 50,
                    labelled_frames: int = 5000) -> tuple[dict[str, Sequence], dict[str, Sequence]]:
    """(GT, predictions) with `num_sequences` sequences and about `labelled_frames` labelled frames,
    made by renaming and repeating the public tracking cases' sequences."""
    sources = []
    for case in TRACKING_CASES:
        gt, pred = read_folder(reference / "public" / case / "gt"), read_folder(reference / "public" / case / "pred")
        sources += [(gt[name], pred[name]) for name in gt]
    labelled = sum(sum(bool(f.persons) for f in gt.frames) for gt, _ in sources) / len(sources)
    copies = max(1, round(labelled_frames / num_sequences / labelled))
    gt_set, pred_set = {}, {}
    for index in range(num_sequences):
        gt, pred = sources[index % len(sources)]
        name = f"{index:06d}_mpii_test"
        gt_set[name] = _repeated(gt, name, copies * len(gt.frames))
        pred_set[name] = _repeated(pred, name, copies * len(pred.frames))
    return gt_set, pred_set


def hota_figures(reference: Path) -> dict:
    """PoseTrack21 HOTA of the kit's timing size, read from files and scored, and its 17-threshold sweep."""
    case = reference.parent / "posetrack21" / "public" / HOTA_CASE
    gt, pred = read_folder(case / "gt"), read_folder(case / "pred")
    names = list(gt)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for role in ("gt", "pred"):
            (Path(folder) / role).mkdir()
        for index in range(HOTA_SEQUENCES):
            name, source = f"{index:06d}_mpii_test", names[index % len(names)]
            write_posetrack18(_repeated(gt[source], name, HOTA_FRAMES), Path(folder) / "gt" / f"{name}.json")
            write_posetrack18(_repeated(pred[source], name, HOTA_FRAMES), Path(folder) / "pred" / f"{name}.json")
        start, start_cpu = time.perf_counter(), time.process_time()
        result = evaluate21_folders(Path(folder) / "gt", Path(folder) / "pred")
        seconds, one_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        labelled = result.count["COMBINED"]["Frames"]
        kit_seconds = KIT_MS_PER_LABELLED_FRAME * labelled / 1000
        # CPU seconds of this process as well: on a busy machine they vary less than wall-clock seconds.
        figures.update(hota_sequences=len(result.per_sequence), hota_labelled_frames=labelled,
                       hota_gt_persons=result.count["COMBINED"]["GT_Dets"],
                       hota_pred_persons=result.count["COMBINED"]["Dets"], hota_read_and_score_s=round(seconds, 3),
                       hota_read_and_score_cpu_s=round(one_cpu, 3),
                       hota_ms_per_labelled_frame=round(1000 * seconds / labelled, 3),
                       hota_faster_than_kit=round(kit_seconds / seconds, 1),
                       hota_faster_than_kit_cpu=round(kit_seconds / one_cpu, 1))
        thresholds = parse_thresholds(SWEEP)
        gt_set, pred_set = read_folder(Path(folder) / "gt"), read_folder(Path(folder) / "pred")
        start_cpu = time.process_time()
        sweep21(gt_set, pred_set, thresholds)
        figures["hota_sweep_over_one_evaluation_cpu"] = round((time.process_time() - start_cpu) / one_cpu, 2)
    return figures


def main() -> None:
    """Time the public cases and the large set; emit one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="the posetrack reference folder")
    args = parser.parse_args()
    figures: dict = {"benchmark": "eval_posetrack"}
    start = time.perf_counter()
    for case in TRACKING_CASES + ("p5_real_single_frame_ap",):
        evaluate_folders(args.reference / "public" / case / "gt", args.reference / "public" / case / "pred")
    figures["public_cases_read_and_score_s"] = round(time.perf_counter() - start, 3)

    gt, pred = build_large_set(args.reference)
    figures["large_sequences"] = len(gt)
    figures["large_labelled_frames"] = sum(sum(bool(f.persons) for f in s.frames) for s in gt.values())
    figures["large_persons"] = sum(len(f.persons) for s in gt.values() for f in s.frames)
    start, start_cpu = time.perf_counter(), time.process_time()
    evaluate(gt, pred)
    figures["large_score_s"] = round(time.perf_counter() - start, 3)
    one_cpu = time.process_time() - start_cpu
    thresholds = parse_thresholds(SWEEP)
    start, start_cpu = time.perf_counter(), time.process_time()
    sweep(gt, pred, thresholds)
    figures["large_sweep_score_s"] = round(time.perf_counter() - start, 3)
    swept_cpu = time.process_time() - start_cpu
    figures["sweep_thresholds"] = len(thresholds)
    # CPU seconds of this process: on a busy machine they vary less than wall-clock seconds.
    figures["large_score_cpu_s"] = round(one_cpu, 3)
    figures["large_sweep_score_cpu_s"] = round(swept_cpu, 3)
    figures["sweep_over_one_evaluation_cpu"] = round(swept_cpu / one_cpu, 2)
    with tempfile.TemporaryDirectory() as folder:
        for role, sequences in (("gt", gt), ("pred", pred)):
            (Path(folder) / role).mkdir()
            for name, sequence in sequences.items():
                write_posetrack18(sequence, Path(folder) / role / f"{name}.json")
        start = time.perf_counter()
        evaluate_folders(Path(folder) / "gt", Path(folder) / "pred")
        figures["large_read_and_score_s"] = round(time.perf_counter() - start, 3)
    figures.update(hota_figures(args.reference))
    emit(figures)


if __name__ == "__main__":
    main()
