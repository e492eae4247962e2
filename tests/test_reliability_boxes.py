"""Issue 10, items 1 and 15: boxes stay inside the frame and propagated boxes do not feed on themselves.

A model that answers anywhere in its crop (random weights) used to make each propagated box about
1.4 times the last, until coordinates overflowed and drawing crashed; boxes made for a larger video
put persons far outside a small one without a word.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np

from detection.protocol import FrameKey
from flow.zero import ZeroFlow
from pose.crops import PIXEL_STD, box_to_center_scale
from pose.skeleton import COCO
from tracker.config import load_track_config
from tracker.core.pipeline import Pipeline
from tracker.io.video import VideoFrame
from tracker.run import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WIDTH, HEIGHT = 1280, 720
CLIP_BOXES = np.array([[360, 270, 560, 580, 0.95], [600, 256, 840, 520, 0.9], [600, 390, 850, 530, 0.8]],
                      np.float32)  # the clip's detections of frame 0 (examples/clip_detections.json)


class CropWideRandomPoses:
    """Stands in for random weights: every joint anywhere in the padded crop of its box, scores 0.5..1."""

    keypoint_set = COCO

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)

    def estimate(self, image_rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        centers, scales = box_to_center_scale(boxes, aspect_ratio=0.75)
        half = scales * PIXEL_STD / 2.0
        unit = self._rng.uniform(-1.0, 1.0, (len(boxes), COCO.num_joints, 2))
        points = centers[:, None, :] + unit * half[:, None, :]
        scores = self._rng.uniform(0.5, 1.0, (len(boxes), COCO.num_joints, 1))
        return np.concatenate([points, scores], axis=2).astype(np.float32)


class FixedBoxes:
    """The same person boxes on every frame."""

    def __init__(self, boxes: np.ndarray):
        self._boxes = boxes

    def boxes(self, frame: FrameKey, image: np.ndarray) -> np.ndarray:
        return self._boxes.copy()


def test_random_poses_over_300_frames_keep_boxes_in_the_frame_and_persons_bounded():
    config = load_track_config(overrides={"poses": {"min_pose_score": 0.0}})
    pipeline = Pipeline(CropWideRandomPoses(seed=0), FixedBoxes(CLIP_BOXES), ZeroFlow(), config)
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    persons, extent = [], 0.0
    for index in range(300):
        result = pipeline.step(VideoFrame(index, index / 30.0, image))
        boxes = result.boxes
        assert np.all(boxes[:, [0, 2]] >= 0) and np.all(boxes[:, [0, 2]] <= WIDTH - 1), f"frame {index}"
        assert np.all(boxes[:, [1, 3]] >= 0) and np.all(boxes[:, [1, 3]] <= HEIGHT - 1), f"frame {index}"
        assert np.isfinite(result.poses).all()
        persons.append(len(result.ids))
        extent = max(extent, float(np.abs(result.poses[..., :2]).max(initial=0.0)))
    # each detected box gives at most one person and each person at most one propagated box; the
    # boxes bounded by the boxes their poses came from never reach the frame-wide sizes that
    # overlapped everything before, so the count stays near the detections' three
    assert max(persons) <= 3 * len(CLIP_BOXES), persons
    assert min(persons[1:]) >= len(CLIP_BOXES)
    # joints lie in the crop of a box inside the frame: never beyond the padded frame-wide crop
    assert extent < 1.25 * WIDTH * 1.5


def _folder(path: Path, count: int, width: int, height: int) -> Path:
    path.mkdir()
    rng = np.random.default_rng(1)
    for index in range(count):
        cv2.imwrite(str(path / f"{index:06d}.png"), rng.integers(0, 255, (height, width, 3), np.uint8))
    return path


def _detections(path: Path, frames: int, boxes: list[list[float]]) -> Path:
    entries = [{"image_id": index, "bbox": box, "score": 0.9, "category_id": 1}
               for index in range(frames) for box in boxes]
    path.write_text(json.dumps(entries))
    return path


def _track(reference_dir: Path, video: Path, detections: Path, out: Path, *extra: str) -> int:
    return main([str(video), "-o", str(out), "--quiet", "--flow", "none",
                 "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                 "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                 "--detections", str(detections), "--config", str(EXAMPLES / "keep_all_poses.yaml"), *extra])


def _written_boxes(json_file: Path) -> tuple[dict[int, int], np.ndarray]:
    data = json.loads(json_file.read_text())
    per_image = {image["id"]: 0 for image in data["images"]}
    boxes = []
    for person in data["annotations"]:
        per_image[person["image_id"]] += 1
        boxes.append(person["bbox"])
    return per_image, np.array(boxes, np.float64).reshape(-1, 4)


def test_a_box_of_1e30_is_dropped_with_a_warning_and_the_video_is_drawn(reference_dir, tmp_path, caplog):
    video = _folder(tmp_path / "frames", 3, 64, 48)
    detections = _detections(tmp_path / "det.json", 3, [[1e30, 1e30, 1e30, 1e30], [10, 5, 30, 40]])
    with caplog.at_level(logging.WARNING, logger="tracker.core.pipeline"):
        assert _track(reference_dir, video, detections, tmp_path / "out") == 0
    assert "1 of the 2 detected boxes of frame 0 lie mostly outside its 64x48 image" in caplog.text
    per_image, boxes = _written_boxes(tmp_path / "out" / "frames.json")
    # the sane box's person on every frame, and at most its propagation from the frame before
    assert set(per_image.values()) <= {1, 2} and per_image[min(per_image)] == 1
    x, y, w, h = boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= 63).all() and (y + h <= 47).all()
    assert cv2.VideoCapture(str(tmp_path / "out" / "frames.mp4")).read()[0]


def test_boxes_of_a_1280x720_video_on_a_16x16_one_are_clipped_with_a_warning(reference_dir, tmp_path, caplog):
    video = _folder(tmp_path / "tiny", 2, 16, 16)
    clip_boxes = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2, _ in CLIP_BOXES]
    detections = _detections(tmp_path / "det.json", 2, clip_boxes + [[0, 0, 1280, 720]])
    with caplog.at_level(logging.WARNING, logger="tracker.core.pipeline"):
        assert _track(reference_dir, video, detections, tmp_path / "out", "--no-video") == 0
    assert "4 of the 4 detected boxes of frame 0 lie mostly outside its 16x16 image" in caplog.text
    per_image, boxes = _written_boxes(tmp_path / "out" / "tiny.json")
    assert list(per_image.values()) == [1, 1]  # the frame-wide box, clipped; the others fall outside
    np.testing.assert_allclose(boxes[0], [0, 0, 15, 15])  # frame 1 may keep its propagated box instead
    assert (boxes[:, :2] >= 0).all() and (boxes[:, :2] + boxes[:, 2:] <= 15).all()


def test_the_warning_comes_once_per_video(caplog):
    config = load_track_config()
    pipeline = Pipeline(CropWideRandomPoses(seed=1), FixedBoxes(np.array([[0, 0, 500, 500, 0.9]], np.float32)),
                        ZeroFlow(), config)
    with caplog.at_level(logging.WARNING, logger="tracker.core.pipeline"):
        for index in range(3):
            pipeline.step(VideoFrame(index, 0.0, np.zeros((20, 20, 3), np.uint8)))
    assert caplog.text.count("lie mostly outside its 20x20 image") == 1
