"""Drawing: left/right shades, labels inside the frame, the drawing options, trails, the overlay, and the
video writer's codec choice; then tracker.run's drawing flags on the real clip with the tiny model."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose.skeleton import POSETRACK18
from tracker.errors import TrackerError
from tracker.io import video_writer
from tracker.outputs.render import (
    Renderer,
    RenderOptions,
    draw_tracks,
    put_label,
    side_shades,
    track_colour,
)
from tracker.run import main as run_main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BLACK = np.zeros((360, 640, 3), np.uint8)


def _pose(shift: float = 0.0) -> np.ndarray:
    """A (1,17,3) PoseTrack18 figure, arms held out sideways, every joint scoring 1."""
    points = {"nose": (320, 60), "head_bottom": (320, 80), "head_top": (320, 40), "left_ear": (330, 60),
              "right_ear": (310, 60), "left_shoulder": (360, 100), "right_shoulder": (280, 100),
              "left_elbow": (420, 100), "right_elbow": (220, 100), "left_wrist": (480, 100),
              "right_wrist": (160, 100), "left_hip": (340, 200), "right_hip": (300, 200), "left_knee": (345, 260),
              "right_knee": (295, 260), "left_ankle": (350, 320), "right_ankle": (290, 320)}
    pose = np.array([[*points[name], 1.0] for name in POSETRACK18.joints], np.float32)
    pose[:, 0] += shift
    return pose[None]


BOX = np.array([[150, 30, 490, 330, 0.87]], np.float32)


def test_left_and_right_limbs_are_two_shades_of_the_track_colour():
    canvas = draw_tracks(BLACK, _pose(), BOX, np.array([3]), POSETRACK18, 0.2)
    shades = side_shades(track_colour(3))
    left_forearm, right_forearm = canvas[100, 450], canvas[100, 190]
    assert tuple(left_forearm.tolist()) == shades["left"] and tuple(right_forearm.tolist()) == shades["right"]
    assert shades["left"] != shades["right"]
    hues = {int(cv2.cvtColor(np.uint8([[shade]]), cv2.COLOR_RGB2HSV)[0, 0, 0]) for shade in shades.values()}
    assert max(hues) - min(hues) <= 2  # one hue, three brightnesses


def test_labels_stay_inside_the_frame():
    for anchor in ((-40, -40), (700, 20), (630, 400)):
        canvas = np.zeros_like(BLACK)
        put_label(canvas, "12 0.87", anchor, (255, 255, 255), 0.8, 2)
        ys, xs = np.nonzero(canvas.any(axis=2))
        assert len(xs) > 50  # the text was drawn, not cut away
        (width, height), _ = cv2.getTextSize("12 0.87", cv2.FONT_HERSHEY_SIMPLEX, 0.8, 2)
        assert xs.max() - xs.min() >= width - 6 and ys.max() - ys.min() >= height - 6  # whole


def test_boxes_scores_widths_and_radius_follow_the_options():
    ids = np.array([3])
    plain = draw_tracks(BLACK, _pose(), BOX, ids, POSETRACK18, 0.2)
    colour = np.array(track_colour(3))
    assert (plain[200, 150] == colour).all()  # the box's left edge
    no_box = draw_tracks(BLACK, _pose(), BOX, ids, POSETRACK18, 0.2, RenderOptions(boxes=False))
    assert not no_box[200, 150].any()
    scores = draw_tracks(BLACK, _pose(), BOX, ids, POSETRACK18, 0.2, RenderOptions(scores=True))
    label_band = (slice(0, 30), slice(140, 300))
    assert scores[label_band].any(axis=2).sum() > 2 * plain[label_band].any(axis=2).sum()
    wide = draw_tracks(BLACK, _pose(), BOX, ids, POSETRACK18, 0.2, RenderOptions(line_width=9, radius=14))
    assert wide[96:105, 450].any(axis=1).all() and not plain[96, 450].any()  # 9 px thick forearm
    assert wide[320, 350 + 12].any() and not plain[320, 350 + 12].any()      # 14 px ankle dot
    with pytest.raises(TrackerError, match="--line-width must be between 0 and 100, not -1"):
        RenderOptions(line_width=-1)


def test_trail_keeps_the_last_n_positions_and_overlay_shows_frame_and_time():
    renderer = Renderer(POSETRACK18, 0.2, RenderOptions(trail=5, boxes=False))
    for index in range(10):
        canvas = renderer.draw(BLACK, _pose(shift=10.0 * index), BOX, np.array([3]), index, index / 25.0)
    # hip midpoint at x = 320 + 10 i, y = 200: the trail covers frames 5..9 only
    assert canvas[200, 320 + 10 * 5 + 5].any() and not canvas[200, 320 + 10 * 2].any()
    corner = canvas[:40, :200]
    assert (corner == 255).all(axis=2).sum() > 30  # white text on the black overlay box
    quiet = Renderer(POSETRACK18, 0.2, RenderOptions(overlay=False)).draw(BLACK, _pose(), BOX, np.array([3]), 0, 0.0)
    assert not quiet[:40, :140].any()
    with pytest.raises(TrackerError, match="--trail-joint elbow is not a joint"):
        Renderer(POSETRACK18, 0.2, RenderOptions(trail=3, trail_joint="elbow"))


def test_video_writer_says_once_when_it_falls_back_from_h264(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(video_writer, "_codec_that_opened", [])
    caplog.set_level(logging.INFO, logger="tracker.io.video_writer")
    codecs = []
    for name in ("a.mp4", "b.mp4"):
        with video_writer.VideoWriter(tmp_path / name, 25.0, 64, 48) as writer:
            for _ in range(3):
                writer.write(np.zeros((48, 64, 3), np.uint8))
        codecs.append(writer.codec)
        capture = cv2.VideoCapture(str(tmp_path / name))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        capture.release()
    assert codecs[0] == codecs[1] and codecs[0] in ("avc1", "mp4v")
    fallbacks = [r for r in caplog.records if "mp4v" in r.getMessage()]
    assert len(fallbacks) == (1 if codecs[0] == "mp4v" else 0)


def test_tracker_run_draws_with_the_drawing_flags_then_analyzes(reference_dir, tmp_path):
    name = "000001_mpiinew_test"
    clip = reference_dir / "posetrack/data/videos" / name / f"{name}.mp4"
    assert run_main([str(clip), "-o", str(tmp_path), "--quiet", "--no-csv",
                     "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                     "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                     "--detections", str(EXAMPLES / "clip_detections.json"),
                     "--config", str(EXAMPLES / "keep_all_poses.yaml"),
                     "--no-boxes", "--show-scores", "--trail", "4", "--trail-joint", "right_ankle",
                     "--line-width", "5", "--radius", "7", "--no-overlay", "--end", "2", "--analyze"]) == 0
    drawn, source = cv2.VideoCapture(str(tmp_path / f"{name}.mp4")), cv2.VideoCapture(str(clip))
    assert int(drawn.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    pairs = [(drawn.read()[1], source.read()[1]) for _ in range(2)]
    drawn.release(), source.release()
    assert all(ours is not None and ours.shape == (720, 1280, 3) for ours, _ in pairs)
    ours, original = (frame.astype(int) for frame in pairs[1])
    changed = np.abs(ours - original).sum(axis=2) > 90
    assert changed.mean() > 0.002  # skeletons, labels and trails were drawn
    with open(tmp_path / f"{name}_analysis" / "frames.csv", encoding="utf-8") as handle:  # --analyze
        assert {line.split(",")[0] for line in handle.readlines()[1:]} == {"0", "1"}
