"""Moving poses by flow (exact under affine motion), boxes from poses, merging boxes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from flow import FlowError
from flow.propagate import move_poses
from pose.boxes import bound_boxes, clip_boxes, merge_boxes, poses_to_boxes
from pose.crops import PADDING

HEIGHT, WIDTH = 120, 160
MATRIX = np.array([[0.02, -0.01], [0.015, 0.03]])
OFFSET = np.array([3.5, -2.25])


def _affine_flow() -> np.ndarray:
    """flow(x, y) = MATRIX @ (x, y) + OFFSET at every pixel centre (integer positions)."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    field = np.stack([xs, ys], axis=-1) @ MATRIX.T + OFFSET
    return field.astype(np.float32)


def test_affine_flow_moves_subpixel_keypoints_exactly():
    rng = np.random.default_rng(0)
    points = rng.uniform([0, 0], [WIDTH - 1, HEIGHT - 1], size=(4, 17, 2))
    poses = np.concatenate([points, rng.uniform(0, 1, (4, 17, 1))], axis=2).astype(np.float32)
    moved = move_poses(poses, _affine_flow())
    start = poses[..., :2].astype(np.float64)
    expected = start + start @ MATRIX.T + OFFSET
    assert moved.dtype == np.float32 and moved.shape == poses.shape
    np.testing.assert_allclose(moved[..., :2], expected, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(moved[..., 2], poses[..., 2])  # scores carry over


def test_keypoints_outside_move_by_the_flow_at_the_clamped_border():
    poses = np.array([[[-5.0, 10.5, 0.9], [WIDTH + 3.0, HEIGHT + 7.0, 0.8],
                       [np.nan, 4.0, 0.0]]], dtype=np.float32)
    moved = move_poses(poses, _affine_flow())
    border = np.array([[0.0, 10.5], [WIDTH - 1.0, HEIGHT - 1.0]])
    expected = poses[0, :2, :2] + border @ MATRIX.T + OFFSET
    np.testing.assert_allclose(moved[0, :2, :2], expected, atol=1e-4)
    assert np.isnan(moved[0, 2, 0]) and moved[0, 2, 1] == 4.0
    with pytest.raises(FlowError, match=r"\(N,K,3\)"):
        move_poses(poses[0], _affine_flow())


def test_poses_to_boxes_grows_the_confident_extent_by_15_percent():
    poses = np.array([
        [[10, 20, 0.9], [110, 220, 0.8], [60, 100, 0.5], [500, 500, 0.1]],  # 3 confident
        [[0, 0, 0.9], [5, 5, 0.9], [9, 9, 0.2], [1, 1, 0.1]],              # only 2
        [[30, 40, 0.6], [70, 40, 0.6], [50, 140, 0.6], [50, 90, 0.6]],     # 4 confident
    ], dtype=np.float32)
    boxes, source = poses_to_boxes(poses, keypoint_threshold=0.3, grow=0.15, min_keypoints=3)
    # pose 0: x 10..110 (w 100), y 20..220 (h 200) -> 7.5 and 15 px more on each side
    # pose 2: x 30..70 (w 40), y 40..140 (h 100) -> 3 and 7.5 px more on each side
    np.testing.assert_allclose(boxes, [[2.5, 5.0, 117.5, 235.0, (0.9 + 0.8 + 0.5) / 3],
                                       [27.0, 32.5, 73.0, 147.5, 0.6]], rtol=1e-6)
    np.testing.assert_array_equal(source, [0, 2])
    assert boxes.dtype == np.float32
    empty, none = poses_to_boxes(poses[:, :, :] * [1, 1, 0])
    assert empty.shape == (0, 5) and none.shape == (0,)


def test_merge_boxes_drops_overlapping_and_tells_the_origin():
    detected = np.array([[0, 0, 100, 200, 0.9], [300, 0, 400, 200, 0.6]], dtype=np.float32)
    propagated = np.array([[5, 5, 100, 205, 0.7],      # same person as detected 0
                           [600, 50, 700, 250, 0.8]],  # a person the detector missed
                          dtype=np.float32)
    boxes, origin = merge_boxes(detected, propagated, iou_threshold=0.5)
    np.testing.assert_array_equal(origin, [0, 3, 1])
    np.testing.assert_array_equal(boxes, [detected[0], propagated[1], detected[1]])
    boxes, origin = merge_boxes(detected, propagated, iou_threshold=0.95)
    assert len(boxes) == 4
    boxes, origin = merge_boxes(np.zeros((0, 5)), np.zeros((0, 5)), 0.5)
    assert boxes.shape == (0, 5) and origin.shape == (0,)


def test_clip_boxes_keeps_the_frame_part_and_drops_outside_thin_and_non_finite_boxes():
    boxes = np.array([[-20, -10, 50, 30, 0.9],        # overlaps the top-left corner
                      [10, 10, 150, 100, 0.8],        # inside
                      [200, 10, 260, 90, 0.7],        # right of the frame
                      [20, 20, 22.5, 90, 0.6],        # 2.5 px wide
                      [np.nan, 0, 10, 10, 0.5],
                      [-np.inf, -np.inf, np.inf, np.inf, 0.4],
                      [1e30, 1e30, 1e30, 1e30, 0.3]], dtype=np.float32)
    clipped, kept = clip_boxes(boxes, WIDTH, HEIGHT)
    np.testing.assert_array_equal(kept, [0, 1])
    np.testing.assert_allclose(clipped, [[0, 0, 50, 30, 0.9], [10, 10, 150, 100, 0.8]])
    assert clipped.dtype == np.float32
    full, kept = clip_boxes(np.array([[-1e30, -1e30, 1e30, 1e30, 1.0]]), 16, 16)
    np.testing.assert_array_equal(full, [[0, 0, 15, 15, 1.0]])


def test_bound_boxes_shrinks_an_oversized_box_about_its_centre_only():
    boxes = np.array([[0, 0, 300, 100, 0.7], [10, 20, 40, 60, 0.6]], dtype=np.float32)
    limits = np.array([[0, 0, 100, 100, 0.9], [0, 0, 100, 100, 0.9]], dtype=np.float32)
    bounded = bound_boxes(boxes, limits, factor=1.15)
    np.testing.assert_allclose(bounded, [[92.5, 0, 207.5, 100, 0.7], boxes[1]], rtol=1e-6)


def test_bound_leaves_boxes_of_real_coco_persons_as_the_paper_makes_them(reference_dir):
    """The annotated joints of real persons stand in for a good model's poses, their annotated
    boxes for the boxes the poses were estimated in: no propagated box is shrunk."""
    data = json.loads((reference_dir / "coco" / "test_coco.json").read_text())
    people = [person for person in data["annotations"] if person["num_keypoints"] >= 3]
    poses = np.array([np.reshape(person["keypoints"], (17, 3)) for person in people], np.float32)
    poses[..., 2] = poses[..., 2] > 0
    x, y, w, h = np.array([person["bbox"] for person in people], np.float32).T
    detected = np.stack([x, y, x + w, y + h, np.ones_like(x)], axis=1)
    boxes, source = poses_to_boxes(poses, keypoint_threshold=0.2, grow=0.15, min_keypoints=3)
    assert len(boxes) == len(people) >= 10
    np.testing.assert_array_equal(bound_boxes(boxes, detected[source], factor=PADDING), boxes)


def test_bounding_no_boxes_gives_no_boxes():
    """A frame whose poses give no propagated box (too few confident joints) must not fail."""
    assert bound_boxes(np.zeros((0, 5), np.float32), np.zeros((0, 5), np.float32), 1.25).shape == (0, 5)
