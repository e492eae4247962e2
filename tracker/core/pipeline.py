"""The per-frame step: detect, propagate by flow, merge boxes, estimate poses, filter, associate.

`Pipeline` holds only what must live between frames of one video: the previous frame's poses and
the boxes they were estimated in (they become this frame's propagated boxes), the flow stage (the
previous image) and the `Associator` (the tracks). The tracks keep each person's last matched pose,
carried over the frames it went unseen, which is other data than the previous frame's poses. All of it
is `PipelineState` for `--resume`, each part restored by the object that owns it. Models come in from
outside through their protocols (`tracker.runner` builds them), so tests and benchmarks hand in stubs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from detection.protocol import FrameBoxes, FrameKey
from flow.protocol import FlowEstimator
from pose.boxes import MIN_BOX_SIDE, bound_boxes, clip_boxes, merge_boxes, poses_to_boxes
from pose.crops import PADDING
from pose.oks import oks_nms, rescore
from pose.protocol import PoseModel
from tracker.config import TrackConfig
from tracker.core.association import Associator
from tracker.core.flow_stage import FlowStage, FlowState, Motion
from tracker.core.timing import StageTimer
from tracker.core.tracks import TrackSetState
from tracker.io.video import VideoFrame

log = logging.getLogger(__name__)


@dataclass
class FrameResult:
    """One processed frame: poses (N,K,3) float32 in the model's keypoint set, boxes (N,5) float32
    (x1, y1, x2, y2, pose score), track ids (N,) int64, frame index and time (s), the RGB image
    (None when the frame failed to decode) and the image's file name (frames from a folder)."""

    index: int
    time: float
    poses: np.ndarray
    boxes: np.ndarray
    ids: np.ndarray
    image: np.ndarray | None
    name: str | None = None


@dataclass(frozen=True)
class PipelineState:
    """What lives between frames after a frame is done: frames processed, the warnings given once, the frame's
    poses (N,K,3) and boxes (N,5) float32, the flow stage's and the tracks' state."""

    processed: int
    warned_outside: bool
    warned_crowded: bool
    previous_poses: np.ndarray
    previous_boxes: np.ndarray
    flow: FlowState
    tracks: TrackSetState

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file."""
        return {"processed": self.processed, "warned_outside": self.warned_outside,
                "warned_crowded": self.warned_crowded, "previous_poses": self.previous_poses.tolist(),
                "previous_boxes": self.previous_boxes.tolist(), "flow": self.flow.to_data(),
                "tracks": self.tracks.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any], joints: int) -> PipelineState:
        """The state `to_data` gave, for poses of `joints` joints."""
        return cls(int(data["processed"]), bool(data["warned_outside"]), bool(data["warned_crowded"]),
                   np.asarray(data["previous_poses"], np.float32).reshape(-1, joints, 3),
                   np.asarray(data["previous_boxes"], np.float32).reshape(-1, 5),
                   FlowState.from_data(data["flow"]), TrackSetState.from_data(data["tracks"], joints))


class Pipeline:
    """Tracks poses through the frames of one video; call `step` per frame, in order."""

    def __init__(self, estimator: PoseModel, boxes: FrameBoxes, flow: FlowEstimator, config: TrackConfig,
                 timer: StageTimer | None = None):
        self.estimator = estimator
        self.box_source = boxes
        self.config = config
        self.timer = timer or StageTimer()
        self.keypoint_set = estimator.keypoint_set
        association = config.association
        self.associator = Associator(self.keypoint_set.sigmas, oks_threshold=association.oks_threshold,
                                     keypoint_threshold=association.keypoint_threshold,
                                     max_age=association.max_age, timer=self.timer)
        self.flow_stage = FlowStage(flow, self.timer)
        self._previous_poses = np.zeros((0, self.keypoint_set.num_joints, 3), np.float32)
        self._previous_boxes = np.zeros((0, 5), np.float32)
        self._processed = 0
        self._warned_outside = False
        self.boxes_detected = self.boxes_below_floor = 0  # counted for the warning when no person is found
        self._warned_crowded = False

    def state(self) -> PipelineState:
        """What lives between frames now, so `--resume` can go on exactly here."""
        return PipelineState(self._processed, self._warned_outside, self._warned_crowded, self._previous_poses,
                             self._previous_boxes, self.flow_stage.state(), self.associator.state())

    def restore(self, state: PipelineState, image_of: Callable[[int], np.ndarray | None]) -> None:
        """Continue from `state()`; `image_of(index)` decodes a frame of the video again (the flow's start)."""
        self._processed = state.processed
        self._warned_outside, self._warned_crowded = state.warned_outside, state.warned_crowded
        self._previous_poses, self._previous_boxes = state.previous_poses, state.previous_boxes
        self.flow_stage.restore(state.flow, image_of)
        self.associator.restore(state.tracks)

    def tracks_started(self) -> int:
        """How many tracks this video has started so far."""
        return self.associator.tracks_started()

    def step(self, frame: VideoFrame) -> FrameResult:
        """Tracked poses of one frame; an undecodable frame (image None) gives an empty result."""
        if frame.image is None:
            return FrameResult(frame.index, frame.time, self._previous_poses[:0], np.zeros((0, 5), np.float32),
                               np.zeros(0, np.int64), None, frame.name)
        image = frame.image
        detected = self._detect(frame, image)
        motion = self.flow_stage.motion(frame.index, image, needed=self.associator.live_tracks() > 0)
        propagated = self._propagated_boxes(motion, image.shape[1], image.shape[0])
        with self.timer("merge"):
            boxes, _ = merge_boxes(detected, propagated, self.config.detection.box_nms_iou)
        with self.timer("pose"):
            poses = self.estimator.estimate(image, boxes) if len(boxes) else self._previous_poses[:0]
        with self.timer("filter"):
            poses, boxes = self._filter(poses, boxes)
        ids = self.associator.assign(poses, motion)
        self._previous_poses, self._previous_boxes = poses, boxes
        return FrameResult(frame.index, frame.time, poses, boxes, ids, image, frame.name)

    def _detect(self, frame: VideoFrame, image: np.ndarray) -> np.ndarray:
        """This frame's detected boxes above the score floor (on every detect_every-th frame)."""
        detect_now = self._processed % self.config.detection.detect_every == 0
        self._processed += 1
        if not detect_now:
            return np.zeros((0, 5), np.float32)
        with self.timer("detect"):
            key = FrameKey(frame.index, frame.name)
            detected = np.asarray(self.box_source.boxes(key, image), np.float32).reshape(-1, 5)
        above = detected[:, 4] >= self.config.detection.min_box_score
        self.boxes_detected += len(detected)
        self.boxes_below_floor += int(np.count_nonzero(~above))
        detected = self._at_most(detected[above], frame.index)
        height, width = image.shape[:2]
        clipped, kept = clip_boxes(detected, width, height)
        self._warn_outside(detected, clipped, kept, frame.index, width, height)
        return clipped

    def _at_most(self, boxes: np.ndarray, index: int) -> np.ndarray:
        """The `detection.max_boxes` best-scoring boxes (all when fewer), in their order; warns once per video.

        A real frame has far fewer persons; a runaway detector or a broken detections file would otherwise
        make every later stage (NMS, pose crops, OKS) grow with the square of the box count."""
        limit = self.config.detection.max_boxes
        if len(boxes) <= limit:
            return boxes
        if not self._warned_crowded:
            log.warning("frame %d has %d detected boxes above the score floor; only the %d best-scoring are kept "
                        "in it and in every later frame with more (detection.max_boxes)", index, len(boxes), limit)
            self._warned_crowded = True
        kept = np.sort(np.argsort(-boxes[:, 4], kind="stable")[:limit])
        return boxes[kept]

    def _warn_outside(self, boxes: np.ndarray, clipped: np.ndarray, kept: np.ndarray, index: int,
                      width: int, height: int) -> None:
        """Warn once per video when detected boxes were dropped or lost half their area to the clip
        (detections made for another video, or in another unit, look like this)."""
        if self._warned_outside:
            return
        with np.errstate(invalid="ignore", over="ignore"):
            area = np.prod(boxes[kept, 2:4] - boxes[kept, :2], axis=1, dtype=np.float64)
            inside = np.prod(clipped[:, 2:4] - clipped[:, :2], axis=1, dtype=np.float64)
            bad = len(boxes) - int(np.count_nonzero(inside >= area / 2.0))
        if bad:
            log.warning("%d of the %d detected boxes of frame %d lie mostly outside its %dx%d image or are "
                        "thinner than %g pixels, so they were clipped to it or dropped; do the detections "
                        "belong to this video?", bad, len(boxes), index, width, height, MIN_BOX_SIDE)
            self._warned_outside = True

    def _propagated_boxes(self, motion: Motion | None, width: int, height: int) -> np.ndarray:
        """Boxes around the previous frame's poses moved here: pose extent grown by `flow.box_grow`,
        no larger than the padded crop of the box the pose came from (see `bound_boxes`), clipped to the frame."""
        if motion is None or len(self._previous_poses) == 0:
            return np.zeros((0, 5), np.float32)
        with self.timer("propagate"):
            options = self.config.flow
            boxes, source = poses_to_boxes(motion(self._previous_poses),
                                           keypoint_threshold=options.box_keypoint_threshold,
                                           grow=options.box_grow, min_keypoints=options.box_min_keypoints)
            boxes = bound_boxes(boxes, self._previous_boxes[source], PADDING)
            boxes, _ = clip_boxes(boxes, width, height)
        return boxes

    def _filter(self, poses: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop poses under the score floor, then OKS-NMS; boxes keep the rescored pose score."""
        options = self.config.poses
        if len(poses) == 0:
            return poses, boxes
        scores = rescore(poses, boxes[:, 4], options.keypoint_threshold).astype(np.float32)
        keep = np.flatnonzero(scores >= options.min_pose_score)
        poses, boxes, scores = poses[keep], boxes[keep], scores[keep]
        if len(poses) == 0:
            return poses, boxes
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        kept = oks_nms(poses, scores, areas, options.oks_nms_threshold, self.keypoint_set.sigmas,
                       keypoint_threshold=options.keypoint_threshold)
        boxes = np.concatenate([boxes[kept, :4], scores[kept, None]], axis=1).astype(np.float32)
        return poses[kept], boxes
