"""COCO keypoint evaluation: pycocotools on real annotations, the official post-processing, errors."""
import argparse
import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO as CocoApi
from pycocotools.cocoeval import COCOeval

from eval import coco
from eval.errors import EvalError
from pose.oks import oks_matrix


@pytest.fixture(scope="module")
def gt_path(reference_dir):
    return reference_dir / "coco" / "test_coco.json"


@pytest.fixture(scope="module")
def gt_data(gt_path):
    with open(gt_path, encoding="utf-8") as handle:
        return json.load(handle)


def _results_from_gt(gt_data):
    """Every labelled, non-crowd person of the GT as a result with its keypoints as given."""
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": list(a["keypoints"]),
             "score": 1.0} for a in gt_data["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]


def _perturbed(gt_data, seed=7):
    rng = np.random.default_rng(seed)
    results = _results_from_gt(gt_data)
    for index, result in enumerate(results):
        keypoints = np.asarray(result["keypoints"], dtype=np.float64).reshape(-1, 3)
        keypoints[:, :2] += rng.normal(0.0, 6.0, (keypoints.shape[0], 2))
        keypoints[:, 2] = rng.uniform(0.3, 1.0, keypoints.shape[0])
        result["keypoints"] = keypoints.reshape(-1).tolist()
        result["score"] = 0.5 + 0.01 * index  # distinct scores: the detection order is defined
    return results


def test_ground_truth_as_results_scores_one(gt_path, gt_data):
    stats = coco.evaluate_keypoints(gt_path, _results_from_gt(gt_data))
    assert list(stats) == list(coco.STAT_NAMES)
    assert stats == dict.fromkeys(coco.STAT_NAMES, 1.0)


def test_results_file_and_list_agree_and_ap_drops_when_perturbed(gt_path, gt_data, tmp_path):
    results = _perturbed(gt_data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    from_list = coco.evaluate_keypoints(gt_path, results)
    assert coco.evaluate_keypoints(str(gt_path), str(path)) == from_list
    assert coco.evaluate_keypoints(gt_path, path) == from_list
    assert 0.0 < from_list["AP"] < 1.0


def test_our_oks_equals_pycocotools_compute_oks(gt_path, gt_data):
    results = _perturbed(gt_data)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = CocoApi(str(gt_path))
        evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
        evaluator.evaluate()
    compared = 0
    for image_id in gt.getImgIds():
        ious = evaluator.ious[(image_id, 1)]
        dts = sorted((r for r in results if r["image_id"] == image_id), key=lambda r: -r["score"])
        gts = [a for a in gt_data["annotations"] if a["image_id"] == image_id]
        labelled = np.array([a["num_keypoints"] > 0 for a in gts])
        detections = np.array([d["keypoints"] for d in dts]).reshape(len(dts), -1, 3)
        truths = np.array([a["keypoints"] for a in gts], dtype=np.float64).reshape(len(gts), -1, 3)
        areas = np.array([a["area"] for a in gts])
        ours = oks_matrix(detections, truths, np.zeros(len(dts)), 2.0 * areas, keypoint_threshold=0)
        np.testing.assert_allclose(ours[:, labelled], np.asarray(ious)[:, labelled], rtol=0, atol=1e-12)
        compared += labelled.sum() * len(dts)
    assert compared > 30


def test_rescore_and_nms_reproduces_the_official_pipeline(reference_dir):
    with open(reference_dir / "hrnet" / "postprocess.json", encoding="utf-8") as handle:
        pipeline = json.load(handle)["evaluate_pipeline"]
    boxes = np.asarray(pipeline["input_all_boxes"], dtype=np.float64)
    got = coco.rescore_and_nms(np.asarray(pipeline["input_all_preds"], dtype=np.float32),
                               boxes[:, 5], boxes[:, 4], pipeline["input_image_ids"],
                               centers=boxes[:, 0:2], scales=boxes[:, 2:4],
                               keypoint_threshold=pipeline["in_vis_thre"], oks_threshold=pipeline["oks_thre"])
    expected = pipeline["output_results"]
    def ids(results):
        return [(r["image_id"], r["category_id"]) for r in results]

    assert ids(got) == ids(expected)
    for ours, theirs in zip(got, expected):
        assert set(ours) == set(theirs)
        np.testing.assert_array_equal(ours["keypoints"], theirs["keypoints"])
        np.testing.assert_allclose(ours["score"], theirs["score"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours["center"] + ours["scale"], theirs["center"] + theirs["scale"], atol=0)


def test_nms_output_feeds_the_evaluation(gt_path, gt_data):
    """GT poses plus slightly moved, lower-scored duplicates: NMS removes the copies, AP stays 1."""
    annotations = [a for a in gt_data["annotations"] if a["num_keypoints"] > 0]
    poses = np.array([a["keypoints"] for a in annotations], dtype=np.float32).reshape(-1, 17, 3)
    poses[:, :, 2] = np.where(poses[:, :, 2] > 0, 0.9, 0.1)
    copies = poses.copy()
    copies[:, :, :2] += 1.0
    image_ids = np.array([a["image_id"] for a in annotations] * 2)
    areas = np.array([a["area"] for a in annotations] * 2)
    box_scores = np.r_[np.ones(len(poses)), np.full(len(poses), 0.5)]
    results = coco.rescore_and_nms(np.concatenate([poses, copies]), box_scores, areas, image_ids)
    assert len(results) == len(poses) and all(r["score"] == pytest.approx(0.9) for r in results)
    assert coco.evaluate_keypoints(gt_path, results)["AP"] == 1.0


def test_rescoring_without_confident_joints_gives_zero():
    poses = np.zeros((2, 17, 3), np.float32)
    poses[0, :, 2] = 0.2  # not > 0.2
    poses[1, :3, 2] = [0.3, 0.5, 0.1]
    poses[1, :, 0] = 500.0  # far apart: NMS keeps both
    results = coco.rescore_and_nms(poses, np.array([0.9, 0.8]), np.array([1e4, 1e4]), [5, 5])
    assert [r["score"] for r in results] == pytest.approx([0.8 * 0.4, 0.0])
    assert all(r.keys() == {"image_id", "category_id", "keypoints", "score"} for r in results)


def _problem(tmp_path, gt_path, results):
    path = tmp_path / "bad.json"
    path.write_text(results if isinstance(results, str) else json.dumps(results), encoding="utf-8")
    with pytest.raises(EvalError) as caught:
        coco.evaluate_keypoints(gt_path, path)
    return str(caught.value)


def test_malformed_results_are_explained(tmp_path, gt_path, gt_data):
    good = _results_from_gt(gt_data)[0]
    message = _problem(tmp_path, gt_path, '[{"image_id": 785,')
    assert "bad.json" in message and "not valid JSON" in message and "line 1" in message
    assert "has no results" in _problem(tmp_path, gt_path, [])
    assert "must be a list" in _problem(tmp_path, gt_path, {"annotations": []})
    assert "result 1 has no 'score'" in _problem(tmp_path, gt_path,
                                                 [good, {k: v for k, v in good.items() if k != "score"}])
    assert "image_id 12345, which is not an image of the ground truth" in _problem(
        tmp_path, gt_path, [dict(good, image_id=12345)])
    short = dict(good, keypoints=good["keypoints"][:-1])
    assert "length 50; expected 51" in _problem(tmp_path, gt_path, [short])
    assert "not a finite number" in _problem(tmp_path, gt_path, [dict(good, score="high")])
    with pytest.raises(EvalError, match="does not exist"):
        coco.evaluate_keypoints(tmp_path / "missing.json", [good])


def test_cli_prints_the_table_and_writes_json(tmp_path, gt_path, gt_data, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results_from_gt(gt_data)), encoding="utf-8")
    parser = argparse.ArgumentParser()
    coco.add_arguments(parser)
    out = tmp_path / "stats.json"
    args = parser.parse_args(["--gt", str(gt_path), "--pred", str(results), "--json", str(out)])
    assert coco.cli(args) == 0
    header, values = capsys.readouterr().out.strip().splitlines()
    assert "AP (M)" in header and values.split(" | ")[0].strip() == "100.00"
    written = json.loads(out.read_text(encoding="utf-8"))
    assert list(written) == list(coco.STAT_NAMES) and written["AR .75"] == 100.0  # percent, as printed


def test_percent_is_what_the_table_prints_and_no_ground_truth_is_null():
    assert coco.in_percent({"AP": 0.725, "AP (M)": -1.0}) == {"AP": 72.5, "AP (M)": None}
