"""The per-frame step: detect, propagate by flow, merge boxes, estimate poses, filter, associate.

`Pipeline` holds only what must live between frames of one video: the previous image, the
previous frame's poses and the tracks. Models come in from outside (`tracker.run` builds them),
so tests and benchmarks can hand in stubs.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from flow.propagate import merge_boxes, move_poses, poses_to_boxes
from pose.oks import oks_nms
from tracker.association import Associator
from tracker.config import TrackConfig
from tracker.outputs import FrameResult
from tracker.timing import StageTimer
from tracker.video import VideoFrame

# (frame index, image file name or None, RGB image) -> person boxes (N,5) float32
BoxSource = Callable[[int, "str | None", np.ndarray], np.ndarray]


def pose_scores(poses: np.ndarray, box_scores: np.ndarray, keypoint_threshold: float) -> np.ndarray:
    """Official test rescoring: box score x mean score of the joints above the threshold -> (N,)."""
    visible = poses[:, :, 2] > keypoint_threshold
    mean = np.where(visible, poses[:, :, 2], 0.0).sum(axis=1) / np.maximum(visible.sum(axis=1), 1)
    return (box_scores * mean).astype(np.float32)


class Pipeline:
    """Tracks poses through the frames of one video; call `step` per frame in order.

    `estimator` has `.estimate(image, boxes) -> poses` and `.keypoint_set` (pose.estimator.PoseEstimator);
    `boxes` gives detected boxes of a frame; `flow` has `.flow(prev, cur)` (a flow.FlowEstimator).
    """

    def __init__(self, estimator, boxes: BoxSource, flow, config: TrackConfig, timer: StageTimer | None = None):
        self.estimator = estimator
        self.boxes = boxes
        self.flow = flow
        self.config = config
        self.timer = timer or StageTimer()
        self.keypoint_set = estimator.keypoint_set
        association = config.association
        self.associator = Associator(self.keypoint_set.sigmas, oks_threshold=association.oks_threshold,
                                     keypoint_threshold=association.keypoint_threshold, max_age=association.max_age)
        self._previous_image: np.ndarray | None = None
        self._previous_poses = np.zeros((0, self.keypoint_set.num_joints, 3), np.float32)
        self._processed = 0

    def step(self, frame: VideoFrame) -> FrameResult:
        """Tracked poses of one frame; an undecodable frame (image None) gives an empty result."""
        empty = FrameResult(frame.index, frame.time, self._previous_poses[:0], np.zeros((0, 5), np.float32),
                            np.zeros(0, np.int64), None, frame.name)
        if frame.image is None:
            return empty
        image = frame.image
        detect_now = self._processed % self.config.detection.detect_every == 0
        self._processed += 1
        detected = np.zeros((0, 5), np.float32)
        if detect_now:
            with self.timer("detect"):
                detected = np.asarray(self.boxes(frame.index, frame.name, image), np.float32).reshape(-1, 5)
                detected = detected[detected[:, 4] >= self.config.detection.min_box_score]

        move = None
        propagated = np.zeros((0, 5), np.float32)
        if self._previous_image is not None and self.associator.tracks.live:
            with self.timer("flow"):
                field = self.flow.flow(self._previous_image, image)
            move = lambda poses: move_poses(poses, field)  # noqa: E731  (carries tracks into this frame)
            with self.timer("associate"):
                options = self.config.flow
                propagated, _ = poses_to_boxes(move(self._previous_poses), score_thr=options.box_keypoint_threshold,
                                               grow=options.box_grow, min_keypoints=options.box_min_keypoints)

        with self.timer("associate"):
            boxes, _ = merge_boxes(detected, propagated, self.config.flow.box_nms_iou)
        with self.timer("pose"):
            poses = self.estimator.estimate(image, boxes) if len(boxes) else self._previous_poses[:0]
        with self.timer("associate"):
            poses, boxes = self._filter(poses, boxes)
            ids = self.associator.step(poses, move)
        self._previous_image = image
        self._previous_poses = poses
        return FrameResult(frame.index, frame.time, poses, boxes, ids, image, frame.name)

    def _filter(self, poses: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop poses under the score floor, then OKS-NMS; boxes keep the rescored pose score."""
        options = self.config.poses
        if len(poses) == 0:
            return poses, boxes
        scores = pose_scores(poses, boxes[:, 4], options.keypoint_threshold)
        keep = np.flatnonzero(scores >= options.min_pose_score)
        poses, boxes, scores = poses[keep], boxes[keep], scores[keep]
        if len(poses) == 0:
            return poses, boxes
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        keep = oks_nms(poses, scores, areas, options.oks_nms_threshold, self.keypoint_set.sigmas,
                       vis_threshold=options.keypoint_threshold)
        boxes = np.concatenate([boxes[keep, :4], scores[keep, None]], axis=1).astype(np.float32)
        return poses[keep], boxes
