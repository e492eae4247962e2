"""Joint-score thresholds: ``eval sweep`` gives at every threshold what ``eval posetrack`` gives on the
predictions ``eval prune`` writes at that threshold, and the commands print and write what they say."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval.__main__ import main
from eval.errors import EvalError
from eval.posetrack.evaluate import evaluate, evaluate_folders, sweep
from eval.posetrack.prune import prune_folder
from eval.posetrack.read import read_folder
from eval.posetrack.sweep import parse_thresholds
from eval.posetrack.types import Frame, Person, Sequence
from eval.posetrack.write import write_posetrack18

CASES = ("p1_exact_gt", "p2_pose_errors", "p3_tracking_errors", "p4_pt17_format", "p5_real_single_frame_ap")
# 0.95 empties whole frames with ignore regions of p2-p4 (MOT placeholders); 1.0 keeps only p1's joints.
THRESHOLDS = [0.2, 0.5, 0.8, 0.95, 1.0]


@pytest.fixture(scope="module")
def public(reference_dir):
    return reference_dir / "posetrack" / "public"


def _assert_same(mine, expected, where: str = "") -> None:
    """Equal JSON trees: same keys, lists, strings and None; numbers within 1e-9."""
    if isinstance(expected, dict):
        assert list(mine) == list(expected), where
        for key in expected:
            _assert_same(mine[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, list):
        assert len(mine) == len(expected), where
        for index, (a, b) in enumerate(zip(mine, expected)):
            _assert_same(a, b, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert mine == pytest.approx(expected, abs=1e-9), where
    else:
        assert mine == expected, where


@pytest.mark.parametrize("case", CASES)
def test_sweep_equals_evaluations_of_pruned_predictions(public, case, tmp_path):
    gt, pred = public / case / "gt", public / case / "pred"
    results = sweep(read_folder(gt), read_folder(pred), THRESHOLDS)
    for threshold, result in zip(THRESHOLDS, results):
        pruned = tmp_path / f"at_{threshold}"
        prune_folder(pred, pruned, threshold)
        _assert_same(result.to_json(), evaluate_folders(gt, pruned).to_json(), f"{case} at {threshold}")
    unthresholded = evaluate_folders(gt, pred).to_json()
    if case == "p1_exact_gt":  # every score is 1.0: no threshold up to 1 changes anything
        for result in results:
            _assert_same(result.to_json(), unthresholded)
    elif case != "p5_real_single_frame_ap":
        mota = [result.total.total("MOTA") for result in results]
        assert mota[-1] == -100.0 and len(set(mota)) == len(mota)


def _frame(index: int, persons: list[Person]) -> Frame:
    return Frame(f"images/val/000001_mpii_test/{index:06d}.jpg", 10000010000 + index, persons,
                 ignore_regions=[np.array([[900.0, 900.0], [990.0, 900.0], [990.0, 990.0], [900.0, 990.0]])])


def _person(track_id: int | None, x: float, score: float, head: bool = False) -> Person:
    keypoints = np.column_stack([x + 3.0 * np.arange(17), 200.0 + 5.0 * np.arange(17), np.ones(17)])
    return Person(track_id, keypoints, None if head else np.full(17, score),
                  head_box=(x, 100.0, x + 40.0, 150.0) if head else None)


def test_a_person_without_track_id_leaves_mot_only_at_thresholds_that_keep_its_joints(tmp_path):
    """In frames with ignore regions, a person whose joints are all under the threshold is gone
    (poseval's rule for persons without joints), so its missing track id no longer matters."""
    gt = {"000001_mpii_test": Sequence("000001_mpii_test", [_frame(i, [_person(1, 100.0 + i, 1.0, head=True)])
                                                            for i in range(3)])}
    frames = [_frame(i, [_person(7, 100.0 + i, 0.9), _person(None, 400.0, 0.1)]) for i in range(3)]
    (tmp_path / "pred").mkdir()
    write_posetrack18(Sequence("000001_mpii_test", frames), tmp_path / "pred" / "000001_mpii_test.json")
    low, high = sweep(gt, read_folder(tmp_path / "pred"), [0.05, 0.5])
    assert math.isnan(low.total.total("MOTA")) and low.mot_sequences == []
    assert "sequence 000001_mpii_test: some persons have no track_id, so it is left out of MOT." in low.warnings
    assert high.total.total("MOTA") == 100.0 and high.mot_sequences == ["000001_mpii_test"]
    for threshold, result in ((0.05, low), (0.5, high)):
        prune_folder(tmp_path / "pred", tmp_path / f"at_{threshold}", threshold)
        _assert_same(result.to_json(), evaluate(gt, read_folder(tmp_path / f"at_{threshold}")).to_json())


def test_threshold_lists():
    values = parse_thresholds("0.1:0.9:0.05")
    assert len(values) == 17 and values[0] == 0.1 and values[1] == 0.15 and values[-1] == 0.9
    assert parse_thresholds("0.3, 0.1:0.3:0.1") == [0.3, 0.1, 0.2, 0.3]
    for bad, words in (("0.1:0.9", "is not a number or START:STOP:STEP"), ("low", "'low' is not a number"),
                       ("0.9:0.1:0.1", "needs STEP > 0 and STOP >= START"), ("0:1:0.0001", "more than 1001")):
        with pytest.raises(EvalError, match=words):
            parse_thresholds(bad)


def test_sweep_command_prints_each_threshold_and_the_best_and_writes_percent(public, tmp_path, capsys):
    case = public / "p3_tracking_errors"
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--kpt-thr", "0.1:0.9:0.2",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    data = json.loads(out.read_text())
    assert data["unit"] == "percent" and [row["kpt_thr"] for row in data["thresholds"]] == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert printed[0].split() == ["kpt-thr", "mAP", "MOTA"]
    for line, row in zip(printed[1:6], data["thresholds"]):
        assert line.split() == [f"{row['kpt_thr']:g}", f"{row['mAP']:.1f}", f"{row['MOTA']:.1f}"]
    best_mota = max(data["thresholds"], key=lambda row: row["MOTA"])
    assert data["best"]["MOTA"] == {"kpt_thr": best_mota["kpt_thr"], "total": best_mota["MOTA"]}
    assert f"best MOTA: {best_mota['MOTA']:.1f} at kpt-thr {best_mota['kpt_thr']:g}" in printed
    single = tmp_path / "single.json"
    assert main(["posetrack", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--kpt-thr", "0.5",
                 "--json", str(single)]) == 0
    assert json.loads(single.read_text())["MOTA"]["total"] == pytest.approx(data["thresholds"][2]["MOTA"], abs=1e-9)


def test_prune_command_keeps_every_other_field_and_refuses_its_input_folder(public, tmp_path, capsys):
    pred = public / "p2_pose_errors" / "pred"
    out = tmp_path / "upload"
    assert main(["prune", "--kpt-thr", "0.5", str(pred), str(out)]) == 0
    assert capsys.readouterr().out.strip() == (f"3 file(s) written to {out} at kpt-thr 0.5: "
                                               "1237 joint(s) kept, 578 removed.")
    for file in sorted(pred.glob("*.json")):
        before, after = json.loads(file.read_text()), json.loads((out / file.name).read_text())
        assert after["images"] == before["images"] and after["categories"] == before["categories"]
        for old, new in zip(before["annotations"], after["annotations"]):
            assert {k: v for k, v in new.items() if k not in ("keypoints", "scores")} == \
                   {k: v for k, v in old.items() if k not in ("keypoints", "scores")}
            for joint, score in enumerate(old["scores"]):
                triplet = new["keypoints"][3 * joint:3 * joint + 3]
                assert triplet == (old["keypoints"][3 * joint:3 * joint + 3] if score >= 0.5 else [0, 0, 0])
    assert main(["prune", "--kpt-thr", "0.5", str(out), str(out)]) == 1
    assert "is the input folder" in capsys.readouterr().err
    assert main(["sweep", "--gt", str(pred), "--pred", str(pred), "--kpt-thr", "0.1:x:0.1"]) == 1
    assert capsys.readouterr().err.strip() == ("error: --kpt-thr '0.1:x:0.1' is not a number or START:STOP:STEP "
                                               "(e.g. 0.1:0.9:0.05).")
