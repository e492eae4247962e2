"""The detector looking ahead (`detection.lookahead`): the frames due next run as one batch, each frame gets
the boxes per-frame detection gives it, and the tracker asks for exactly the frames it asked for before."""
from __future__ import annotations

from itertools import chain
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import detection
import flow
from detection import torchvision_detector
from detection.lookahead import LookAhead
from detection.protocol import FrameKey, ImageBoxSource
from pose.skeleton import COCO
from tracker.config import load_track_config
from tracker.runner import Models, looking_ahead, track_video


class RecordingDetector:
    """Boxes made from each image's content, and the batches it was given."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size, self.batches = batch_size, []

    def detect(self, frames):
        self.batches.append([int(frame[0, 0, 0]) for frame in frames])
        return [np.array([[frame[0, 0, 0], 0, 10, 20, 0.9]], np.float32) for frame in frames]


def _frames(count: int, undecodable: set[int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(index=index, name=None,
                            image=None if index in undecodable else np.full((4, 4, 3), index, np.uint8))
            for index in range(count)]


def _run(source, frames, every: int):
    """What the pipeline does: boxes of every `every`-th decoded frame, in order; returns {index: boxes}."""
    asked, decoded = {}, 0
    for frame in frames:
        if frame.image is None:
            continue
        if decoded % every == 0:
            asked[frame.index] = source.boxes(FrameKey(frame.index, frame.name), frame.image)
        decoded += 1
    return asked


@pytest.mark.parametrize("every", [1, 2, 3])
def test_the_due_frames_run_in_batches_and_get_their_own_boxes(every):
    frames = _frames(20, undecodable={4, 11})
    single = RecordingDetector(batch_size=1)
    expected = _run(LookAhead(single, every, window=1), frames, every)  # one frame a call, as before
    batched = RecordingDetector(batch_size=3)
    ahead = LookAhead(batched, every, window=every * 3)  # room for the frames that did not decode
    found = _run(ahead, ahead.watch(iter(frames), lambda f: (FrameKey(f.index, f.name), f.image)), every)
    assert list(found) == list(expected)  # the same frames asked for, each once
    for index, boxes in expected.items():
        np.testing.assert_array_equal(found[index], boxes)
    assert [*chain(*single.batches)] == [*chain(*batched.batches)] == list(expected)  # nothing detected twice
    assert max(map(len, batched.batches)) == 3 and len(batched.batches) < len(expected) / 2  # batches of up to 3


def test_a_frame_not_foreseen_is_detected_on_its_own():
    frames = _frames(6, undecodable=set())
    detector = RecordingDetector(batch_size=2)
    ahead = LookAhead(detector, every=1, window=1)
    watched = ahead.watch(iter(frames), lambda f: (FrameKey(f.index, f.name), f.image))
    first = next(watched)
    ahead.boxes(FrameKey(first.index), first.image)  # frames 0 and 1
    for frame in watched:
        if frame.index == 3:  # the schedule changed: 1 and 2 were never asked for
            assert ahead.boxes(FrameKey(frame.index), frame.image)[0, 0] == 3
    assert detector.batches == [[0, 1], [3, 4]]


def test_a_real_detector_gives_each_frame_its_own_boxes_in_a_batch(monkeypatch):
    """Faster R-CNN (MobileNet, random weights) through the batched path: every frame's boxes as detected
    alone (up to the float32 kernels a batch may pick: boxes within 0.05 px, scores within 1e-4)."""
    torch.manual_seed(0)
    detector = detection.create("fasterrcnn_mobilenet_v3_large_fpn", weights=None, score_threshold=0.0,
                                min_box_size=0.0, batch_size=3, min_size=160, max_size=224, engine="torch")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in detector.model.parameters():  # spread scores: no ties to reorder
            scale = (2 / parameter[0].numel()) ** 0.5 if parameter.dim() > 1 else 0.1
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    detector.model.roi_heads.score_thresh = 0.0
    detector.model.rpn._pre_nms_top_n = detector.model.rpn._post_nms_top_n = {"testing": 300}  # a quicker test
    rng = np.random.default_rng(0)
    frames = [SimpleNamespace(index=i, name=None, image=rng.integers(0, 256, (150, 200, 3), dtype=np.uint8))
              for i in range(3)]
    with torch.inference_mode():  # random weights find few persons: keep the most frequent class instead
        labels = detector.model([torch.from_numpy(frames[0].image).permute(2, 0, 1).float() / 255])[0]["labels"]
    monkeypatch.setattr(torchvision_detector, "PERSON_LABEL", int(labels.mode().values))
    alone = {frame.index: detector.detect([frame.image])[0] for frame in frames[::2]}
    ahead = LookAhead(detector, every=2, window=4)
    found = _run(ahead, ahead.watch(iter(frames), lambda f: (FrameKey(f.index), f.image)), every=2)
    assert list(found) == [0, 2]
    for index, boxes in found.items():
        assert len(alone[index]) > 20 and abs(len(boxes) - len(alone[index])) <= 1
        close = (np.abs(alone[index][:, None, :4] - boxes[None, :, :4]).max(axis=2) <= 0.05) & \
            (np.abs(alone[index][:, None, 4] - boxes[None, :, 4]) <= 1e-4)
        assert close.any(axis=1).mean() >= 0.95


class BrightnessDetector(ImageBoxSource):
    """One box a frame, placed by the frame's mean brightness: a detector whose boxes depend on the image."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size, self.batches = batch_size, []

    def detect(self, frames):
        self.batches.append(len(frames))
        return [np.array([[m, m / 2, m + 300, m / 2 + 400, 0.9]], np.float32) for m in (f.mean() for f in frames)]

    def boxes(self, frame, image):
        return self.detect([image])[0]


class PosesInBoxes:
    """Poses laid along each box's diagonal, score 0.9: stands in for HRNet."""

    keypoint_set = COCO

    def estimate(self, image, boxes):
        boxes = np.asarray(boxes, np.float32).reshape(-1, 5)
        steps = np.linspace(0.0, 1.0, COCO.num_joints)[None]
        x = boxes[:, :1] + (boxes[:, 2:3] - boxes[:, :1]) * steps
        y = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * steps
        return np.stack([x, y, np.full_like(x, 0.9)], axis=2).astype(np.float32)


def test_tracking_with_the_look_ahead_writes_what_per_frame_detection_writes(reference_dir, tmp_path):
    clip = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    config = load_track_config(overrides={"detection": {"detect_every": 2}, "output": {"video": False}})
    outputs = {}
    for name, detector in (("per_frame", BrightnessDetector(1)), ("look_ahead", BrightnessDetector(2))):
        boxes = looking_ahead(detector, config)
        (tmp_path / name).mkdir()
        track_video(str(clip), Models(PosesInBoxes(), boxes, flow.create("none")), config, tmp_path / name)
        outputs[name] = [(tmp_path / name / f"000001_mpiinew_test.{suffix}").read_bytes() for suffix in ("json", "csv")]
        outputs[name + "_batches"] = detector.batches
    assert outputs["look_ahead"] == outputs["per_frame"]
    assert outputs["per_frame_batches"] == [1, 1, 1] and outputs["look_ahead_batches"] == [2, 1]  # frames 0+2, 4
