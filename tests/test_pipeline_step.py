"""`Pipeline.step`, one frame at a time with stub models: when the detector runs, which boxes flow
propagates, the pose-score floor, OKS-NMS, undecodable frames and ids that stay with a person."""
from __future__ import annotations

import numpy as np
import pytest

import flow
from pose.skeleton import COCO
from tracker.config import load_track_config
from tracker.core.pipeline import Pipeline
from tracker.io.video import VideoFrame

WIDTH, HEIGHT = 640, 480


class SpreadPoses:
    """Joints spread corner to corner over each box, as a real person fills it; records the boxes it gets."""

    keypoint_set = COCO

    def __init__(self, score: float | list[float] = 0.9):
        self.score = score
        self.calls: list[np.ndarray] = []

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.calls.append(np.array(boxes))
        fractions = np.linspace(0.0, 1.0, COCO.num_joints)
        poses = np.zeros((len(boxes), COCO.num_joints, 3), np.float32)
        poses[:, :, 0] = boxes[:, None, 0] + fractions * (boxes[:, None, 2] - boxes[:, None, 0])
        poses[:, :, 1] = boxes[:, None, 1] + fractions * (boxes[:, None, 3] - boxes[:, None, 1])
        poses[:, :, 2] = np.asarray(self.score, np.float32).reshape(-1, 1)[: len(boxes)] if isinstance(
            self.score, list) else self.score
        return poses


class Boxes:
    """Fixed boxes per frame index (the last entry for later frames); records the frames asked."""

    def __init__(self, *per_frame: list[list[float]]):
        self.per_frame = per_frame
        self.asked: list[int] = []

    def boxes(self, frame, image) -> np.ndarray:
        self.asked.append(frame.index)
        return np.array(self.per_frame[min(frame.index, len(self.per_frame) - 1)], np.float32).reshape(-1, 5)


def frame(index: int, image: bool = True) -> VideoFrame:
    return VideoFrame(index, index / 30.0, np.zeros((HEIGHT, WIDTH, 3), np.uint8) if image else None)


def pipeline(estimator, boxes, **sections) -> Pipeline:
    config = load_track_config(overrides={"poses": {"min_pose_score": 0.3}, **sections})
    return Pipeline(estimator, boxes, flow.create("none"), config)


def test_the_detector_runs_on_every_nth_processed_frame():
    source = Boxes([[100, 100, 200, 300, 0.9]])
    step = pipeline(SpreadPoses(), source, detection={"detect_every": 3}).step
    for index in range(7):
        step(frame(index))
    assert source.asked == [0, 3, 6]


def test_a_pose_is_carried_into_the_next_frame_as_its_grown_extent():
    estimator = SpreadPoses()
    step = pipeline(estimator, Boxes([[100, 100, 200, 300, 0.9]]), detection={"detect_every": 10}).step
    first, second = step(frame(0)), step(frame(1))
    # joints span x 100-200 and y 100-300; the paper's 15% growth adds 7.5 and 15 px on each side
    np.testing.assert_allclose(estimator.calls[1], [[92.5, 85.0, 207.5, 315.0, 0.9]], atol=1e-4)
    assert first.ids.tolist() == second.ids.tolist() == [0]


def test_propagated_and_detected_boxes_of_one_person_merge():
    estimator = SpreadPoses()
    step = pipeline(estimator, Boxes([[100, 100, 200, 300, 0.9]])).step
    step(frame(0))
    step(frame(1))
    assert len(estimator.calls[1]) == 1  # box NMS kept one of the two overlapping boxes


def test_poses_under_the_score_floor_are_dropped_and_kept_ones_rescored():
    estimator = SpreadPoses(score=[0.25, 0.9])
    result = pipeline(estimator, Boxes([[10, 10, 110, 210, 0.9], [300, 50, 400, 250, 0.9]])).step(frame(0))
    # pose score = box score x mean joint score: 0.9 x 0.25 = 0.225 < 0.3 is dropped; 0.9 x 0.9 kept
    assert len(result.poses) == 1
    assert result.boxes[0, 4] == pytest.approx(0.81, abs=1e-6)
    assert result.boxes[0, 0] == pytest.approx(300)


def test_oks_nms_keeps_one_of_two_poses_of_one_person():
    boxes = [[100, 100, 200, 300, 0.9], [101, 101, 201, 301, 0.8], [400, 100, 500, 300, 0.7]]
    result = pipeline(SpreadPoses(), Boxes(boxes), detection={"box_nms_iou": 1.0}).step(frame(0))
    assert sorted(result.boxes[:, 0].round().tolist()) == [100, 400]  # the near copy went, the other person stayed
    off = pipeline(SpreadPoses(), Boxes(boxes), detection={"box_nms_iou": 1.0},
                   poses={"min_pose_score": 0.3, "oks_nms_threshold": 1.0})
    assert len(off.step(frame(0)).poses) == 3


def test_an_undecodable_frame_is_empty_and_the_track_goes_on():
    step = pipeline(SpreadPoses(), Boxes([[100, 100, 200, 300, 0.9]])).step
    first = step(frame(0))
    gap = step(frame(1, image=False))
    after = step(frame(2))
    assert (len(gap.poses), gap.image) == (0, None)
    assert first.ids.tolist() == after.ids.tolist() == [0]


def test_two_people_keep_their_ids_while_they_move():
    moves = [[[100 + 5 * i, 100, 200 + 5 * i, 300, 0.9], [400 - 5 * i, 100, 500 - 5 * i, 300, 0.9]] for i in range(6)]
    step = pipeline(SpreadPoses(), Boxes(*moves)).step
    ids = [dict(zip(result.boxes[:, 0].round().astype(int).tolist(), result.ids.tolist()))
           for result in (step(frame(i)) for i in range(6))]
    assert [entry[100 + 5 * i] for i, entry in enumerate(ids)] == [ids[0][100]] * 6
    assert [entry[400 - 5 * i] for i, entry in enumerate(ids)] == [ids[0][400]] * 6
    assert ids[0][100] != ids[0][400]


def test_a_frame_with_too_many_boxes_keeps_the_best_scoring_and_warns_once(caplog):
    """700 small separate boxes above the score floor: only `detection.max_boxes` (300) reach NMS and the pose
    network, the best-scoring ones; one warning names the first frame that had more."""
    cells = [(20 * (cell % 32), 20 * (cell // 32)) for cell in range(700)]
    crowd = [[x, y, x + 16, y + 16, 0.5 + 0.4 * cell / 700] for cell, (x, y) in enumerate(cells)]
    estimator = SpreadPoses()
    step = pipeline(estimator, Boxes([[100, 100, 200, 300, 0.9]], crowd),
                    flow={"box_min_keypoints": 18}).step  # no propagated boxes: only detections
    with caplog.at_level("WARNING"):
        for index in range(3):
            step(frame(index))
    assert [len(boxes) for boxes in estimator.calls] == [1, 300, 300]
    assert estimator.calls[1][:, 4].min() == pytest.approx(0.5 + 0.4 * 400 / 700)  # the 300 best of 700
    warnings = [record.getMessage() for record in caplog.records if "max_boxes" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("frame 1 has 700 detected boxes"), warnings
