"""Drawing: left/right shades, labels inside the frame, the drawing options, trails, the overlay, and the
video writer's codec choice; then tracker.run's drawing flags on the real clip with the tiny model."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pose.skeleton import POSETRACK18
from tracker.errors import TrackerError
from tracker.outputs.render import (
    Renderer,
    RenderOptions,
    draw_tracks,
    label_size,
    place_label,
    put_label,
    side_shades,
    text_colour,
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
    for box in ((-40, -40, 10, 10), (700, 20, 760, 90), (630, 400, 700, 480)):
        canvas = np.zeros_like(BLACK)
        width, height, _ = label_size("12 0.87", 0.8, 2)
        rect = place_label((width, height), box, canvas.shape, [])
        put_label(canvas, "12 0.87", rect, (255, 255, 255), 0.8, 2)
        ys, xs = np.nonzero(canvas.any(axis=2))
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == rect  # the whole filled box, inside the frame
        assert 0 <= rect[0] and rect[2] <= 640 and 0 <= rect[1] and rect[3] <= 360


def test_labels_are_filled_boxes_in_the_track_colour_with_contrasting_text_and_do_not_cover_each_other():
    assert text_colour((255, 230, 40)) == (0, 0, 0) and text_colour((20, 40, 200)) == (255, 255, 255)
    boxes = np.array([[150, 60, 300, 330, 0.9], [160, 62, 310, 330, 0.8], [170, 58, 320, 330, 0.7]], np.float32)
    poses = np.concatenate([_pose(-150)] * 3)
    ids = np.array([9, 7, 97])
    canvas = draw_tracks(BLACK, poses, boxes, ids, POSETRACK18, 0.2, RenderOptions(boxes=False))
    for track_id in ids:
        colour = np.array(track_colour(int(track_id)))
        filled = (canvas == colour).all(axis=2)
        ys, xs = np.nonzero(filled)
        assert filled.sum() > 150, track_id  # a filled box of the track's colour
        inside = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        text = np.array(text_colour(tuple(colour.tolist())))
        near_text = np.abs(inside.astype(int) - text).sum(axis=2) < 150
        assert near_text.sum() > 20, track_id  # the id written on it in the contrasting colour
    rects = []
    for box, track_id in zip(boxes, ids):
        width, height, _ = label_size(str(track_id), 0.4 * 2 + 0.3, 2)
        rects.append(place_label((width, height), tuple(int(v) for v in box[:4]), BLACK.shape, rects))
    assert all(not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
               for i, a in enumerate(rects) for b in rects[i + 1:])  # three labels side by side, none covered


@pytest.mark.parametrize("corner, where", [("top-right", (slice(0, 40), slice(440, 640))),
                                           ("top-left", (slice(0, 40), slice(0, 200))),
                                           ("bottom-right", (slice(320, 360), slice(440, 640))),
                                           ("bottom-left", (slice(320, 360), slice(0, 200)))])
def test_the_overlay_goes_in_the_corner_asked_and_by_default_not_over_the_top_left_scoreboard(corner, where):
    grey = np.full((360, 640, 3), 128, np.uint8)
    empty = np.zeros((0, 17, 3), np.float32), np.zeros((0, 5), np.float32), np.zeros(0, np.int64)
    drawn = Renderer(POSETRACK18, 0.2, RenderOptions(overlay_corner=corner)).draw(grey, *empty, 12, 0.4)
    assert (drawn[where] == 255).all(axis=2).sum() > 30 and (drawn[where] == 0).all(axis=2).sum() > 300
    assert (drawn != grey).any(axis=2).sum() == (drawn[where] != grey[where]).any(axis=2).sum()  # nowhere else
    default = Renderer(POSETRACK18, 0.2, RenderOptions()).draw(grey, *empty, 12, 0.4)
    assert (default[:60, :200] == grey[:60, :200]).all()
    with pytest.raises(TrackerError, match="--overlay-corner must be one of top-right, top-left, bottom-right, "
                                           "bottom-left, not 'middle'"):
        RenderOptions(overlay_corner="middle")


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
    corner = canvas[:40, -200:]
    assert (corner == 255).all(axis=2).sum() > 30  # white text on the black overlay box, top-right
    quiet = Renderer(POSETRACK18, 0.2, RenderOptions(overlay=False)).draw(BLACK, _pose(), BOX, np.array([3]), 0, 0.0)
    assert not quiet[:40, -140:].any()  # right of the box
    with pytest.raises(TrackerError, match="--trail-joint elbow is not a joint"):
        Renderer(POSETRACK18, 0.2, RenderOptions(trail=3, trail_joint="elbow"))


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
