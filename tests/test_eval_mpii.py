"""MPII PCKh on hand-built cases with known answers, and the `eval mpii` command on real records."""
import argparse
import json

import numpy as np
import pytest
from scipy.io import savemat

from eval import mpii
from eval.errors import EvalError
from pose.skeleton import MPII

J = MPII.index


def _one_person(offsets_x, head_box=(10.0, 10.0, 40.0, 50.0)):
    """One record with GT joints on a row and predictions moved right by the given pixels."""
    gt = np.stack([np.arange(16) * 20.0 + 100.0, np.full(16, 200.0)], axis=1)[None]
    pred = gt.copy()
    pred[0, :, 0] += offsets_x
    return pred, gt, np.ones((1, 16)), np.array([head_box])


def test_head_size_is_0_6_times_the_head_box_diagonal():
    np.testing.assert_allclose(mpii.head_sizes(np.array([[10, 10, 40, 50], [0, 0, 60, 80]])), [30.0, 60.0])


def test_thresholds_are_inclusive():
    offsets = np.zeros(16)
    offsets[:5] = [3.0, 3.0001, 15.0, 15.0001, 40.0]  # head size 30: 0.1 -> 3 px, 0.5 -> 15 px
    per_joint_05 = mpii.pckh(*_one_person(offsets), threshold=0.5)
    per_joint_01 = mpii.pckh(*_one_person(offsets), threshold=0.1)
    np.testing.assert_array_equal(per_joint_05[:5], [100, 100, 100, 0, 0])
    np.testing.assert_array_equal(per_joint_01[:5], [100, 0, 0, 0, 0])
    np.testing.assert_array_equal(per_joint_05[5:], 100)


def _two_people():
    """Two records (head sizes 30 and 60) with a known pattern of misses and missing joints."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(100, 400, (2, 16, 2))
    offsets = np.zeros((2, 16))
    visible = np.ones((2, 16))
    visible[0, J("left_wrist")] = 0
    visible[1, J("pelvis")] = 0
    visible[1, J("head_top")] = 0
    offsets[0, J("right_wrist")] = offsets[0, J("upper_neck")] = 100.0  # misses
    offsets[1, J("left_knee")] = offsets[1, J("thorax")] = 100.0
    offsets[1, J("right_ankle")] = 6.3  # 0.105 head sizes: a miss at 0.1, a hit at 0.11
    pred = gt.copy()
    pred[:, :, 0] += offsets
    pred[0, J("left_wrist")] = np.nan  # not annotated, so never looked at
    pred[1, J("head_top")] = [1e6, -1e6]
    return pred, gt, visible, np.array([[10.0, 10.0, 40.0, 50.0], [0.0, 0.0, 60.0, 80.0]])


def test_groups_mean_and_missing_joints():
    result = mpii.evaluate(*_two_people())
    at05, at01 = result["PCKh@0.5"], result["PCKh@0.1"]
    assert at05["per_joint"]["head_top"] == 100.0  # only record 0 has it
    assert at05["per_joint"]["left_wrist"] == 100.0  # only record 1 has it
    assert at05["per_joint"]["right_wrist"] == 50.0
    assert at05["per_joint"]["thorax"] == 50.0 and at05["per_joint"]["pelvis"] == 100.0
    assert at05["groups"] == {"Head": 100.0, "Shoulder": 100.0, "Elbow": 100.0, "Wrist": 75.0,
                              "Hip": 100.0, "Knee": 75.0, "Ankle": 100.0,
                              "Mean": pytest.approx(100.0 * 23 / 26)}  # 26 present, 3 missed
    # Mean counts upper_neck (missed once) and leaves out pelvis and thorax.
    assert at01["groups"]["Ankle"] == 75.0
    assert at01["groups"]["Mean"] == pytest.approx(100.0 * 22 / 26)
    assert result["Mean@0.1 (HRNet code, threshold 0.11)"] == pytest.approx(100.0 * 23 / 26)
    assert result["present"]["head_top"] == 1 and result["present"]["right_ankle"] == 2


def test_a_joint_present_nowhere_is_nan_and_leaves_the_mean_alone():
    pred, gt, visible, boxes = _two_people()
    visible[:, J("left_ankle")] = 0
    result = mpii.evaluate(pred, gt, visible, boxes)["PCKh@0.5"]
    assert np.isnan(result["per_joint"]["left_ankle"]) and np.isnan(result["groups"]["Ankle"])
    assert result["groups"]["Mean"] == pytest.approx(100.0 * 21 / 24)


def test_bad_inputs_raise_eval_error():
    pred, gt, visible, boxes = _two_people()
    boxes[1] = [5, 5, 5, 5]
    with pytest.raises(EvalError, match="record 1 has head box"):
        mpii.evaluate(pred, gt, visible, boxes)
    with pytest.raises(EvalError, match=r"predictions must have shape \(2, 16, 2\)"):
        mpii.pckh(pred[:, :15], gt, visible, boxes)
    pred, gt, visible, boxes = _two_people()
    pred[1, J("left_wrist")] = np.nan
    with pytest.raises(EvalError, match="record 1 has a predicted left_wrist that is not a finite number"):
        mpii.evaluate(pred, gt, visible, boxes)


@pytest.fixture()
def mpii_files(reference_dir, tmp_path):
    """The real MPII records with head boxes added (JSON), and the same as an official-layout .mat."""
    with open(reference_dir / "mpii" / "test_mpii.json", encoding="utf-8") as handle:
        records = json.load(handle)
    joints = np.array([r["joints"] for r in records])
    head = joints[:, [J("upper_neck"), J("head_top")]]
    boxes = np.concatenate([head.min(axis=1) - 5, head.max(axis=1) + 5], axis=1)
    for record, box in zip(records, boxes):
        record["headbox"] = box.tolist()
    gt_json = tmp_path / "gt.json"
    gt_json.write_text(json.dumps(records), encoding="utf-8")
    mat_names = ["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thrx", "neck", "head",
                 "rwri", "relb", "rsho", "lsho", "lelb", "lwri"]
    shuffle = np.random.default_rng(1).permutation(16)  # the reader must map joints by name
    names = np.empty((1, 16), dtype=object)
    names[0, :] = [mat_names[i] for i in shuffle]
    visible = np.array([r["joints_vis"] for r in records])
    gt_mat = tmp_path / "gt_valid.mat"
    savemat(gt_mat, {"dataset_joints": names, "jnt_missing": (1 - visible).T[shuffle],
                     "pos_gt_src": np.transpose(joints, (1, 2, 0))[shuffle],
                     "headboxes_src": np.stack([boxes[:, :2].T, boxes[:, 2:].T])})
    return records, gt_json, gt_mat


def _run(tmp_path, gt, predictions, *extra):
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(predictions), encoding="utf-8")
    parser = argparse.ArgumentParser()
    mpii.add_arguments(parser)
    out = tmp_path / "out.json"
    assert mpii.cli(parser.parse_args(["--gt", str(gt), "--pred", str(pred), "--json", str(out), *extra])) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_cli_on_real_records_json_and_mat_agree(mpii_files, tmp_path, capsys):
    records, gt_json, gt_mat = mpii_files
    # Our predictions are 0-based pixels; MPII annotations are 1-based, so GT - 1 is a perfect guess.
    perfect = [{"image": r["image"], "joints": (np.array(r["joints"]) - 1.0).tolist()} for r in records]
    result = _run(tmp_path, gt_json, perfect)
    assert result["PCKh@0.5"]["groups"]["Mean"] == 100.0
    assert "Shoulder" in capsys.readouterr().out
    rng = np.random.default_rng(2)
    moved = [dict(p, joints=(np.array(p["joints"]) + rng.normal(0, 15, (16, 2))).tolist()) for p in perfect]
    from_json = _run(tmp_path, gt_json, moved)
    assert from_json == _run(tmp_path, gt_mat, moved)
    assert from_json["PCKh@0.1"]["groups"]["Mean"] < 100.0
    one_based = [dict(p, joints=(np.array(p["joints"]) + 1.0).tolist()) for p in perfect]
    assert _run(tmp_path, gt_json, one_based, "--pred-one-based")["PCKh@0.1"]["groups"]["Mean"] == 100.0


def test_cli_explains_bad_files(mpii_files, tmp_path):
    records, gt_json, _ = mpii_files
    perfect = [{"image": r["image"], "joints": r["joints"]} for r in records]
    with pytest.raises(EvalError, match=r"prediction 0 is for image .* ground-truth record 0"):
        _run(tmp_path, gt_json, perfect[::-1])
    with pytest.raises(EvalError, match=r"4 predictions|shape \(4, 16, 2\) for 5"):
        _run(tmp_path, gt_json, perfect[:4])
    no_box = tmp_path / "nobox.json"
    no_box.write_text(json.dumps([{k: v for k, v in r.items() if k != "headbox"} for r in records]),
                      encoding="utf-8")
    with pytest.raises(EvalError, match=r"record 0 has no 'headbox'.*gt_valid.mat"):
        _run(tmp_path, no_box, perfect)
