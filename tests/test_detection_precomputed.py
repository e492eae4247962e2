"""Precomputed detections: the real PoseTrack and COCO detection files come back per frame."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import detection
from detection import DetectionError
from detection.protocol import FrameKey


@pytest.fixture(scope="module")
def posetrack(reference_dir):
    return reference_dir / "posetrack" / "data" / "annotations"


def test_posetrack_human_detections_by_file_name(posetrack):
    found = detection.from_file(posetrack / "test_posetrack18_human_detections.json",
                                images=posetrack / "test_posetrack18_val.json")
    counts = {name: len(found.boxes_for(0, f"images/val/{name}/000000.jpg"))
              for name in ("012834_mpii_test", "003418_mpii_test", "009473_mpii_test")}
    assert counts == {"012834_mpii_test": 100, "003418_mpii_test": 100, "009473_mpii_test": 78}
    # 009473: first and last entries of the file, bbox x,y,w,h -> x1,y1,x+w,y+h (computed by hand)
    boxes = found.boxes_for(0, "009473_mpii_test/000000.jpg")
    assert boxes.dtype == np.float32 and boxes.shape == (78, 5)
    np.testing.assert_allclose(boxes[0], [639.72394, 226.87175, 984.39288, 890.50537, 0.98867556],
                               atol=1e-3)
    np.testing.assert_allclose(boxes[-1], [69.670586, 417.23105, 741.69177, 728.88031, 0.050916232],
                               atol=1e-3)
    # an absolute path ending in the listed name matches too
    first = found.boxes_for(0, "/data/posetrack/images/val/012834_mpii_test/000000.jpg")[0]
    np.testing.assert_allclose(first, [1475.2755, 2.7196581, 1572.2427, 255.60208, 0.92902005],
                               atol=1e-3)


def test_posetrack_frame_index_with_one_video_list(posetrack):
    found = detection.from_file(posetrack / "test_posetrack18_human_detections.json",
                                images=posetrack / "val" / "012834_mpii_test.json")
    assert found.boxes_for(0).shape == (100, 5)
    with pytest.raises(DetectionError, match="beyond the 1 images listed"):
        found.boxes_for(1)


def test_ambiguous_names_and_indices_are_refused(posetrack):
    with_list = detection.from_file(posetrack / "test_posetrack18_human_detections.json",
                                    images=posetrack / "test_posetrack18_val.json")
    with pytest.raises(DetectionError, match=r"000000.jpg matches 3 images"):
        with_list.boxes_for(0, "000000.jpg")
    with pytest.raises(DetectionError, match="3 folders"):
        with_list.boxes_for(0)
    bare = detection.from_file(posetrack / "test_posetrack18_human_detections.json")
    with pytest.raises(DetectionError, match="fits 3 images"):
        bare.boxes_for(0)


def test_coco_results_by_number_and_name(reference_dir):
    found = detection.from_file(reference_dir / "coco" / "test_coco_det_AP_H_56.json")
    assert {image_id: len(found.boxes_for(image_id)) for image_id in (785, 40083, 196141, 197388)} \
        == {785: 22, 40083: 26, 196141: 33, 197388: 37}
    boxes = found.boxes_for(0, "000000197388.jpg")
    np.testing.assert_allclose(boxes[0], [376.91788, 172.73053, 638.17750, 388.31555, 0.99995792],
                               atol=1e-3)
    np.testing.assert_allclose(boxes[-1], [246.15395, 55.575170, 360.73288, 207.08615,
                                           0.0061941667], atol=1e-3)
    assert found.boxes_for(3).shape == (0, 5)  # no detections for that frame


def test_coco_results_with_image_list(reference_dir):
    coco = reference_dir / "coco"
    found = detection.from_file(coco / "test_coco_det_AP_H_56.json", images=coco / "test_coco.json")
    assert len(found.boxes_for(0)) == 22  # the first listed image is 785
    assert len(found.boxes_for(0, "000000040083.jpg")) == 26
    with pytest.raises(DetectionError, match="not among the 4 images"):
        found.boxes_for(0, "000000000001.jpg")


@pytest.mark.parametrize("content, problem", [
    ("[{\"image_id\": 1, \"bbox\": [1, 2, 3]", "is not valid JSON"),
    ("{\"images\": []}", "without 'annotations'"),
    ("[{\"image_id\": 1, \"score\": 0.5}]", "detection 0 has no 'bbox'"),
    ("[{\"image_id\": 1, \"bbox\": [1, 2, 3], \"score\": 0.5}]", "not 4 finite numbers"),
    ("[{\"image_id\": 1, \"bbox\": [1, 2, -3, 4], \"score\": 0.5}]", "width and height >= 0"),
    ("[{\"image_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": \"high\"}]", "score 'high'"),
    ("[7]", "detection 0 is a int"),
    ("{\"annotations\": 3}", "holds a int"),
])
def test_malformed_files_name_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "dets.json"
    path.write_text(content)
    with pytest.raises(DetectionError, match=problem) as caught:
        detection.from_file(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_other_categories(tmp_path):
    with pytest.raises(DetectionError, match=r"detections file .*absent.json does not exist"):
        detection.from_file(tmp_path / "absent.json")
    path = tmp_path / "dets.json"
    path.write_text(json.dumps({"annotations": [
        {"image_id": 5, "bbox": [10, 20, 30, 40], "score": 0.5, "category_id": 1},
        {"image_id": 5, "bbox": [0, 0, 5, 5], "score": 0.8, "category_id": 3}],
        "images": [{"id": 5, "file_name": "clip/000000.jpg"}]}))
    found = detection.from_file(path)
    np.testing.assert_array_equal(found.boxes_for(0), [[10, 20, 40, 60, 0.5]])


def _ask(found, frames: range) -> None:
    for index in frames:
        found.boxes(FrameKey(index, f"{index:06d}.jpg"))


def test_ids_matching_no_frame_warn_early_and_in_the_report(tmp_path, caplog):
    path = tmp_path / "det.json"
    path.write_text(json.dumps([{"image_id": f"frame_{index}", "bbox": [0, 0, 10, 20], "score": 0.9}
                                for index in range(30)]))
    found = detection.from_file(path)
    with caplog.at_level(logging.INFO, logger="detection.precomputed"):
        _ask(found, range(9))
        assert caplog.text == ""
        _ask(found, range(9, 30))
        assert found.report_matches() == (0, 30)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        f"none of the first 10 frames has a detection in {path}; frames are matched to its image ids (such as "
        "'frame_0', 'frame_1', 'frame_2') by the number in their file name, or their index; do the detections "
        "belong to this video?",
        f"only 0 of 30 frames had detections in {path}; frames are matched to its image ids (such as 'frame_0', "
        "'frame_1', 'frame_2') by the number in their file name, or their index; do the detections belong to "
        "this video?"]


def test_the_report_counts_each_video_apart(reference_dir, caplog):
    found = detection.from_file(reference_dir / "coco" / "test_coco_det_AP_H_56.json")
    with caplog.at_level(logging.INFO, logger="detection.precomputed"):
        _ask(found, [785, 40083, 3])  # two of the images, and a frame the file lacks
        assert found.report_matches() == (2, 3)
        _ask(found, [1, 2, 196141])
        assert found.report_matches() == (1, 3)
    assert [record.levelname for record in caplog.records] == ["INFO", "WARNING"]
    assert caplog.records[0].getMessage().startswith("2 of 3 frames had detections in ")


def test_a_multi_video_file_is_bound_to_a_video_by_its_folder_name(posetrack, tmp_path, caplog):
    found = detection.from_file(posetrack / "test_posetrack18_human_detections.json")
    with caplog.at_level(logging.INFO, logger="detection.precomputed"):
        bound = {name: found.for_video(tmp_path / name) for name in ("003418_mpii_test", "009473_mpii_test")}
    assert {name: len(video.boxes(FrameKey(0, "000000.jpg"))) for name, video in bound.items()} == {
        "003418_mpii_test": 100, "009473_mpii_test": 78}
    assert "009473_mpii_test: detections of test_posetrack18_human_detections.json matched by folder name " \
           "(video 009473)" in caplog.text
    assert len(bound["003418_mpii_test"].boxes(FrameKey(1, "000001.jpg"))) == 0  # a frame the file lacks
    with pytest.raises(DetectionError, match=r"holds detections of 3 PoseTrack videos .* starts with none"):
        found.for_video(tmp_path / "match_footage")


def test_a_video_is_bound_by_ground_truth_image_ids_or_frame_numbers(posetrack, reference_dir, tmp_path, caplog):
    found = detection.from_file(posetrack / "test_posetrack18_human_detections.json")
    with caplog.at_level(logging.INFO, logger="detection.precomputed"):
        by_id = found.for_video(tmp_path / "anything", image_ids=[10094730000])
    assert by_id.how == "image id" and len(by_id.boxes(FrameKey(0, None))) == 78
    coco = detection.from_file(reference_dir / "coco" / "test_coco_det_AP_H_56.json")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    by_index = coco.for_video(video)
    assert by_index.how == "frame index"
    assert len(by_index.boxes(FrameKey(785, None))) == len(coco.boxes_for(785))
    assert by_index.report_matches() == (1, 1)


def test_a_sequence_is_bound_by_image_path_when_ids_are_file_names(posetrack, tmp_path):
    path = tmp_path / "det.json"
    names = [f"images/val/000101_mpii_test/{index:06d}.jpg" for index in range(3)]
    path.write_text(json.dumps([{"image_id": name, "bbox": [index, 0, 10, 20], "score": 0.9}
                                for index, name in enumerate(names)]))
    found = detection.from_file(path).for_video(tmp_path / "000101_mpii_test", image_ids=[1, 2, 3],
                                                image_paths=["/data/" + name for name in names])
    assert found.how == "image path"
    assert [found.boxes(FrameKey(index, "x.jpg"))[0, 0] for index in range(3)] == [0, 1, 2]
    listed = detection.from_file(posetrack / "test_posetrack18_human_detections.json",
                                 images=posetrack / "test_posetrack18_val.json")
    bound = listed.for_video(tmp_path / "009473_mpii_test", image_ids=["not", "these"],
                             image_paths=["images/val/009473_mpii_test/000000.jpg"])
    assert bound.how == "image path" and len(bound.boxes(FrameKey(0, "000000.jpg"))) == 78
