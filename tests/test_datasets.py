"""Dataset loaders on the real reference samples, their error sentences, and the Dataset items."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pose.crops import box_to_center_scale
from pose.datasets.augment import AugmentConfig
from pose.datasets.coco import load_coco_detections, load_coco_persons
from pose.datasets.dataset import KeypointDataset
from pose.datasets.mpii import load_mpii
from pose.datasets.posetrack import load_posetrack18
from pose.errors import PoseError
from pose.skeleton import COCO


@pytest.fixture(scope="module")
def coco(reference_dir):
    return reference_dir / "coco"


def test_coco_persons_with_keypoints_and_shrunk_boxes(coco):
    records = load_coco_persons(coco / "test_coco.json", coco, 0.75)
    assert len(records) == 12  # 14 persons, two of them without a labelled keypoint
    first = records[0]  # annotation 442619: bbox [280.79, 44.73, 218.7, 346.68] in a 640x425 image
    assert first.record_id == 442619
    np.testing.assert_allclose(first.box, [280.79, 44.73, 280.79 + 217.7, 44.73 + 345.68], atol=1e-3)
    center, scale = box_to_center_scale(first.box[None], 0.75)
    np.testing.assert_allclose(first.center, center[0])
    np.testing.assert_allclose(first.scale, scale[0])
    assert first.visibility.sum() == 17 and tuple(first.joints[0]) == (367.0, 81.0)


def test_coco_detections_with_threshold(coco):
    all_boxes = load_coco_detections(coco / "test_coco_det_AP_H_56.json", coco / "test_coco.json", coco, 0.75)
    confident = load_coco_detections(coco / "test_coco_det_AP_H_56.json", coco / "test_coco.json", coco,
                                     0.75, score_threshold=0.5)
    assert len(all_boxes) == 118 and 0 < len(confident) < 118
    assert all(r.score >= 0.5 for r in confident)
    first = all_boxes[0]  # bbox x,y,w,h used as given, no shrinking
    np.testing.assert_allclose(first.box, [277.1183, 45.6997, 277.1183 + 225.0913, 45.6997 + 333.5603], atol=1e-3)


def test_mpii_record_adjustments(reference_dir):
    records = load_mpii(reference_dir / "mpii" / "test_mpii.json", reference_dir / "mpii")
    assert len(records) == 5
    first = records[0]  # center [966, 340], scale 4.718488, 1-based
    np.testing.assert_allclose(first.center, [965.0, 340 + 15 * 4.718488 - 1], rtol=1e-6)
    np.testing.assert_allclose(first.scale, [4.718488 * 1.25] * 2, rtol=1e-6)
    np.testing.assert_allclose(first.joints[0], [803.0, 710.0])


def test_posetrack18_boxes_from_keypoints(reference_dir):
    root = reference_dir / "posetrack" / "data"
    records = load_posetrack18(root / "annotations" / "test_posetrack18_val.json", root, 0.75)
    from_folder = load_posetrack18(root / "annotations" / "val", root, 0.75)
    assert len(records) == len(from_folder) == 14
    for record in records:
        labelled = record.joints[record.visibility > 0]
        low, high = labelled.min(axis=0), labelled.max(axis=0)
        grown = (high - low) * 0.075
        np.testing.assert_allclose(record.box[:2], np.maximum(low - grown, 0), atol=1e-3)
        assert (record.box[2:] >= high - 1e-3).all()


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _one_person_coco(keypoints):
    annotation = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 100], "area": 500}
    if keypoints is not None:
        annotation["keypoints"] = keypoints
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 200}], "annotations": [annotation]}


def test_malformed_file_is_one_sentence(tmp_path):
    path = _write(tmp_path, "broken.json", "{not json")
    with pytest.raises(PoseError, match=r"broken\.json is not valid JSON"):
        load_coco_persons(path, tmp_path, 0.75)
    with pytest.raises(PoseError, match=r"nothing\.json does not exist"):
        load_mpii(tmp_path / "nothing.json", tmp_path)


def test_annotation_without_joints_names_file_and_record(tmp_path):
    path = _write(tmp_path, "ann.json", _one_person_coco(None))
    with pytest.raises(PoseError, match=r"annotation 7 in .*ann\.json has no list of 17 joints"):
        load_coco_persons(path, tmp_path, 0.75)
    mpii = _write(tmp_path, "mpii.json", [{"image": "x.jpg", "center": [5, 5], "scale": 1.0}])
    with pytest.raises(PoseError, match=r"record 0 \(x\.jpg\) in .*mpii\.json has no joints"):
        load_mpii(mpii, tmp_path)


def test_missing_image_names_image_record_and_file(tmp_path):
    keypoints = [30, 40, 2] + [0, 0, 0] * 16
    path = _write(tmp_path, "ann.json", _one_person_coco(keypoints))
    with pytest.raises(PoseError, match=r"image .*a\.jpg of record 7 in .*ann\.json does not exist"):
        load_coco_persons(path, tmp_path, 0.75)


def test_dataset_items_are_reproducible(coco):
    records = load_coco_persons(coco / "test_coco.json", coco, 0.75)
    dataset = KeypointDataset(records, COCO, (96, 128), (24, 32), 2.0, (0.485, 0.456, 0.406),
                              (0.229, 0.224, 0.225), AugmentConfig(), seed=3)
    item = dataset[2]
    assert item["image"].shape == (3, 128, 96) and item["target"].shape == (17, 32, 24)
    assert item["target_weight"].shape == (17, 1)
    again = dataset[2]
    assert all((item[k] == again[k]).all() for k in ("image", "target", "target_weight"))
    dataset.set_epoch(1)
    assert not (dataset[2]["image"] == item["image"]).all()


def test_mpii_and_posetrack_items_use_their_joint_sets(reference_dir):
    from pose.skeleton import MPII, POSETRACK18

    mpii = load_mpii(reference_dir / "mpii" / "test_mpii.json", reference_dir / "mpii")
    root = reference_dir / "posetrack" / "data"
    posetrack = load_posetrack18(root / "annotations" / "test_posetrack18_val.json", root, 0.75)
    for records, keypoint_set, size in ((mpii, MPII, (64, 64)), (posetrack, POSETRACK18, (64, 96))):
        dataset = KeypointDataset(records, keypoint_set, size, (size[0] // 4, size[1] // 4), 2.0,
                                  (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), AugmentConfig(), seed=0)
        item = dataset[0]
        assert item["target"].shape == (keypoint_set.num_joints, size[1] // 4, size[0] // 4)
        assert item["target_weight"].sum() > 0
