"""PoseTrack metrics equal poseval's numbers on every reference case, and our documented
differences (pairing by name, missing/extra frames, single-frame sequences) behave as stated."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from eval.errors import EvalError
from eval.posetrack.evaluate import evaluate
from eval.posetrack.frames import People, inside_polygons
from eval.posetrack.mot import SequenceAccumulator
from eval.posetrack.read import read_folder
from eval.posetrack.types import Frame, Person, Sequence
from pose.skeleton import POSEVAL_JOINTS

CASES = ("p1_exact_gt", "p2_pose_errors", "p3_tracking_errors", "p4_pt17_format", "p5_real_single_frame_ap")
TOLERANCE = 1e-6  # percent points; the brief asks 0.01, poseval's own values agree to ~1e-12


def _values(per_joint: dict) -> np.ndarray:
    return np.array([np.nan if per_joint[j] is None else per_joint[j] for j in POSEVAL_JOINTS], dtype=float)


def _close(mine, expected, what: str) -> None:
    mine = np.atleast_1d(np.asarray(mine, dtype=float))
    expected = np.atleast_1d(np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], float))
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(expected), err_msg=f"{what}: NaN pattern")
    np.testing.assert_allclose(mine[~np.isnan(mine)], expected[~np.isnan(expected)], rtol=0, atol=TOLERANCE,
                               err_msg=what)


@pytest.fixture(scope="module")
def results(reference_dir):
    """(expected.json, our result) per case, evaluated once for the module."""
    public = reference_dir / "posetrack" / "public"
    out = {}
    for case in CASES:
        expected = json.loads((public / case / "expected.json").read_text())
        out[case] = (expected, evaluate(read_folder(public / case / "gt"), read_folder(public / case / "pred")))
    return out


@pytest.mark.parametrize("case", CASES)
def test_ap_equals_poseval(results, case):
    expected, result = results[case]
    ap = expected["ap"]
    _close(result.total.values["mAP"], _values(ap["per_joint"]), f"{case} AP per joint")
    _close(result.total.total("mAP"), ap["total_mAP"], f"{case} mAP")
    _close(result.total.ap_precision, _values(ap["precision_per_joint"]), f"{case} AP precision")
    _close(result.total.ap_recall, _values(ap["recall_per_joint"]), f"{case} AP recall")
    summary = expected["summary"]
    _close(result.total.total("mAP"), summary["mAP_total"], f"{case} summary mAP")
    _close(result.total.values["mAP"], _values(summary["AP_per_joint"]), f"{case} summary AP")
    for name, sequence in expected["per_sequence"].items():
        _close(result.per_sequence[name].values["mAP"], _values(sequence["ap"]["per_joint"]), f"{case} {name} AP")
        _close(result.per_sequence[name].total("mAP"), sequence["ap"]["total_mAP"], f"{case} {name} mAP")
    printed = expected["printed_tables"]["ap"]["values"]
    groups = result.total.groups("mAP")
    for ours, theirs in zip(groups.values(), printed.values()):
        assert round(ours, 1) == pytest.approx(theirs)


@pytest.mark.parametrize("case", CASES[:4])
def test_mot_equals_poseval(results, case):
    """MOTA, precision, recall as poseval prints them; MOTP as the leaderboard (py-motmetrics 1.0.2)."""
    expected, result = results[case]
    leaderboard = expected["mot_with_2018_motmetrics"]
    for key, metric in (("mota", "MOTA"), ("motp", "MOTP"), ("pre", "precision"), ("rec", "recall")):
        _close(result.total.values[metric], _values(leaderboard[key]["per_joint"]), f"{case} {metric}")
        _close(result.total.total(metric), leaderboard[key]["total"], f"{case} {metric} total")
        if key != "motp":  # poseval's own mot.motp uses newer py-motmetrics (README §5)
            _close(result.total.values[metric], _values(expected["mot"][key]["per_joint"]), f"{case} {metric}")
    summary = expected["summary"]
    _close(result.total.total("MOTA"), summary["MOTA_total"], f"{case} summary MOTA")
    _close(result.total.values["MOTA"], _values(summary["MOTA_per_joint"]), f"{case} summary MOTA per joint")
    _close(result.total.total("precision"), summary["Precision_total"], f"{case} summary precision")
    _close(result.total.total("recall"), summary["Recall_total"], f"{case} summary recall")
    _close(result.total.total("MOTP"), summary["MOTP_total_with_2018_motmetrics"], f"{case} summary MOTP")
    mot_values = expected["printed_tables"]["mot"]["values"]
    for ours, group in zip(result.total.groups("MOTA").values(), ("Head", "Shou", "Elb", "Wri", "Hip", "Knee",
                                                                  "Ankl", "Total")):
        assert round(ours, 1) == pytest.approx(mot_values[f"MOTA {group}"])


@pytest.mark.parametrize("case", CASES[:4])
def test_mot_per_sequence_equals_poseval(results, case):
    """Per sequence: MOTA/precision/recall, the event counts of the diagnostics, and the 2018 MOTP
    (100 x (1 - matched distance sum / detections), from the diagnostics' distance sums)."""
    expected, result = results[case]
    for name, sequence in expected["per_sequence"].items():
        scores = result.per_sequence[name]
        for key, metric in (("mota", "MOTA"), ("pre", "precision"), ("rec", "recall")):
            _close(scores.values[metric], _values(sequence["mot"][key]["per_joint"]), f"{case} {name} {metric}")
            _close(scores.total(metric), sequence["mot"][key]["total"], f"{case} {name} {metric} total")
        counts = expected["diagnostics"]["sequences"][name]["mot_counts"]
        for field, attribute in (("num_objects", "objects"), ("num_misses", "misses"),
                                 ("num_false_positives", "false_positives"), ("num_switches", "switches"),
                                 ("num_detections", "detections")):
            np.testing.assert_array_equal(getattr(scores.mot_counts, attribute),
                                          [counts[j][field] for j in POSEVAL_JOINTS], err_msg=f"{name} {field}")
        matched = np.array([counts[j]["sum_dist_match"] + counts[j]["sum_dist_switch"] for j in POSEVAL_JOINTS])
        detections = np.array([counts[j]["num_detections"] for j in POSEVAL_JOINTS], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            motp = np.where(detections > 0, 100 * (1 - matched / detections), 0.0)
        _close(scores.values["MOTP"], motp, f"{case} {name} MOTP")


def test_single_frame_sequences_keep_ap_and_leave_mot_with_warning(results):
    _, result = results["p5_real_single_frame_ap"]
    assert result.mot_sequences == []
    assert result.sequences == ["003418_mpii_test", "009473_mpii_test", "012834_mpii_test"]
    for name in result.sequences:
        assert any(name in w and "left out of MOT" in w for w in result.warnings)
        assert result.per_sequence[name].values["MOTA"] is None
    assert "MOT totals cover 0 of 3 sequences." in result.warnings
    assert np.isnan(result.total.total("MOTA"))


@pytest.fixture(scope="module")
def p3(reference_dir):
    public = reference_dir / "posetrack" / "public" / "p3_tracking_errors"
    return read_folder(public / "gt"), read_folder(public / "pred")


def test_frames_are_paired_by_name_not_position(p3, results):
    gt, pred = p3
    shuffled = copy.deepcopy(pred)
    for sequence in shuffled.values():
        sequence.frames.reverse()
    result = evaluate(gt, shuffled)
    expected = results["p3_tracking_errors"][1]
    for metric in ("mAP", "MOTA", "MOTP", "precision", "recall"):
        np.testing.assert_allclose(result.total.values[metric], expected.total.values[metric], atol=1e-12)


def test_missing_and_extra_predictions_are_listed(p3, results):
    gt, pred = p3
    partial = copy.deepcopy(pred)
    del partial["003418_mpii_test"]
    lost = partial["009473_mpii_test"].frames.pop(2)
    partial["999999_mpii_test"] = copy.deepcopy(pred["009473_mpii_test"])
    stray = copy.deepcopy(lost)
    stray.file_name, stray.image_id = "images/val/009473_mpii_test/000099.jpg", 10094730099
    partial["009473_mpii_test"].frames.append(stray)
    result = evaluate(gt, partial)
    text = "\n".join(result.warnings)
    assert "003418_mpii_test" in text and "count as all missed" in text
    assert lost.file_name in text
    assert "999999_mpii_test" in text and "ignored" in text
    assert stray.file_name in text
    missing = result.per_sequence["003418_mpii_test"]
    np.testing.assert_array_equal(missing.values["mAP"], 0.0)
    counts = missing.mot_counts
    np.testing.assert_array_equal(counts.misses, counts.objects)
    assert counts.false_positives.sum() == 0 and counts.detections.sum() == 0
    assert "999999_mpii_test" not in result.per_sequence
    untouched = results["p3_tracking_errors"][1].per_sequence["012834_mpii_test"]
    np.testing.assert_allclose(result.per_sequence["012834_mpii_test"].values["MOTA"], untouched.values["MOTA"])


def test_no_common_sequence_and_nan_coordinates_raise(p3):
    gt, pred = p3
    renamed = {f"x{name}": sequence for name, sequence in pred.items()}
    with pytest.raises(EvalError, match="no sequence in common"):
        evaluate(gt, renamed)
    broken = copy.deepcopy(pred)
    broken["012834_mpii_test"].frames[0].persons[1].keypoints[4, 0] = np.nan
    with pytest.raises(EvalError, match=r"012834_mpii_test.*000000\.jpg, person 1 has NaN"):
        evaluate(gt, broken)


def test_json_layout_is_stable(results):
    _, result = results["p3_tracking_errors"]
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert list(data) == ["mAP", "MOTA", "MOTP", "precision", "recall", "per_sequence", "sequences", "warnings"]
    assert list(data["mAP"]["per_joint"]) == list(POSEVAL_JOINTS)
    sequence = data["per_sequence"]["003418_mpii_test"]
    assert sequence["mAP"]["per_joint"]["right_ankle"] is None  # NaN: predicted, never annotated
    assert list(sequence) == ["mAP", "MOTA", "MOTP", "precision", "recall"]


def test_inside_polygons_excludes_edges_and_uses_even_odd():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    bow_tie = np.array([[20, 0], [30, 10], [30, 0], [20, 10]], float)  # self-intersecting
    points = np.array([[5, 5], [10, 5], [0, 0], [5, 10], [15, 5], [22, 5], [25, 5], [28, 5]], float)
    inside = inside_polygons(points, [square, bow_tie])
    assert inside.tolist() == [True, False, False, False, False, True, False, True]


def _people(ids, xs) -> People:
    xy = np.zeros((len(ids), 15, 2))
    xy[:, :, 0] = np.asarray(xs, float)[:, None]
    return People(xy, np.ones((len(ids), 15), bool), np.ones((len(ids), 15)), np.array(ids, np.int64),
                  np.ones(len(ids)) / 0.6)


def _update(accumulator: SequenceAccumulator, gt: People, pred: People) -> None:
    """One frame for the 15 joint channels, the distance being the x offset."""
    distance = np.abs(pred.xy[:, None, :, 0] - gt.xy[None, :, :, 0]).transpose(2, 1, 0)
    accumulator.update(gt.track_ids, pred.track_ids, gt.has.T, pred.has.T, distance <= 0.5, distance)


def test_mot_prefers_more_pairs_then_shorter_distances_and_counts_switches():
    """Object 1 is close to both hypotheses, object 2 only to hypothesis 20: pairing 1-20 by
    distance alone would leave 2 unpaired; the assignment pairs 1-10 and 2-20. Later, object 1
    reappears after a gap with hypothesis 20: a switch, because it last paired with 10."""
    accumulator = SequenceAccumulator(np.array([1, 2]), np.array([10, 20]), 15)
    gt, pred = _people([1, 2], [0.0, 0.45]), _people([10, 20], [-0.4, 0.05])
    _update(accumulator, gt, pred)
    counts = accumulator.counts
    assert counts.detections.tolist() == [2] * 15 and counts.misses.sum() == 0
    np.testing.assert_allclose(counts.distance, 0.8)
    gt, pred = _people([2], [0.0]), _people([30], [5.0])
    _update(accumulator, gt, pred)
    assert counts.misses.tolist() == [1] * 15 and counts.false_positives.tolist() == [1] * 15
    gt, pred = _people([1], [0.0]), _people([20], [0.1])
    _update(accumulator, gt, pred)
    assert counts.switches.tolist() == [1] * 15
    metrics = counts.metrics()
    np.testing.assert_allclose(metrics["MOTA"], 100 * (1 - 3 / 4))
    np.testing.assert_allclose(metrics["MOTP"], 100 * (1 - 0.9 / 3))


def test_previous_pair_is_kept_over_a_closer_hypothesis():
    accumulator = SequenceAccumulator(np.array([1]), np.array([10, 20]), 15)
    gt, first = _people([1], [0.0]), _people([10], [0.0])
    _update(accumulator, gt, first)
    both = _people([10, 20], [0.4, 0.0])
    _update(accumulator, gt, both)
    assert accumulator.counts.switches.sum() == 0
    assert accumulator.counts.false_positives.tolist() == [1] * 15
    np.testing.assert_allclose(accumulator.counts.distance, 0.4)


def test_sequence_without_track_ids_keeps_ap_and_leaves_mot():
    person = Person(track_id=None, keypoints=np.tile([100.0, 100.0, 1.0], (17, 1)), scores=np.ones(17),
                    head_box=(0.0, 0.0, 30.0, 40.0))
    frames = [Frame(f"images/val/000001_mpii_test/{i:06d}.jpg", i, [copy.deepcopy(person)]) for i in range(3)]
    gt = {"000001_mpii_test": Sequence("000001_mpii_test", frames)}
    result = evaluate(gt, copy.deepcopy(gt))
    assert result.total.total("mAP") == pytest.approx(100.0)
    assert result.mot_sequences == [] and any("track_id" in w for w in result.warnings)


def test_ground_truth_without_head_box_or_with_nan_raises(p3):
    gt, pred = p3
    broken = copy.deepcopy(gt)
    broken["009473_mpii_test"].frames[1].persons[0].head_box = None
    with pytest.raises(EvalError, match=r"000001\.jpg, person 0 has no finite head box"):
        evaluate(broken, pred)


def test_mixed_formats_give_the_same_numbers(reference_dir, results):
    """p4's predictions (2017 files) against p1's ground truth (the same GT, as 2018 files)."""
    public = reference_dir / "posetrack" / "public"
    result = evaluate(read_folder(public / "p1_exact_gt" / "gt"), read_folder(public / "p4_pt17_format" / "pred"))
    expected = results["p4_pt17_format"][1]
    for metric in ("mAP", "MOTA", "MOTP", "precision", "recall"):
        np.testing.assert_allclose(result.total.values[metric], expected.total.values[metric], atol=1e-9)
