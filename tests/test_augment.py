"""Augmentation: joints follow the pixels through the same affine crop; flip swaps left and right."""
from __future__ import annotations

import numpy as np
import pytest

from pose.datasets.augment import AugmentConfig, CropParams, crop_sample, flip_joints, half_body_box, sample_crop
from pose.skeleton import COCO, MPII

WIDTH, HEIGHT = 240, 320
OUTPUT = (96, 128)


def _joints(rng: np.random.Generator) -> np.ndarray:
    return np.stack([rng.uniform(40, WIDTH - 40, 17), rng.uniform(40, HEIGHT - 40, 17)], axis=1).astype(np.float32)


def _dot_image(point: np.ndarray) -> np.ndarray:
    """A black RGB image with a smooth round dot (Gaussian, sigma 4 px) centred on `point`."""
    ys, xs = np.mgrid[:HEIGHT, :WIDTH]
    blob = np.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * 4.0 ** 2))
    return np.repeat(np.round(255 * blob).astype(np.uint8)[..., None], 3, axis=2)


def _centroid(crop: np.ndarray) -> np.ndarray:
    mass = crop[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:crop.shape[0], :crop.shape[1]]
    return np.array([(xs * mass).sum(), (ys * mass).sum()]) / mass.sum()


@pytest.mark.parametrize("params", [
    CropParams(np.array([120.0, 160.0], np.float32), np.array([1.2, 1.6], np.float32), 0.0, False),
    CropParams(np.array([110.0, 170.0], np.float32), np.array([1.0, 1.33], np.float32), 30.0, False),
    CropParams(np.array([WIDTH - 110.0 - 1, 150.0], np.float32), np.array([1.4, 1.87], np.float32), -45.0, True),
])
def test_dots_land_where_the_joints_go(params):
    rng = np.random.default_rng(0)
    joints = _joints(rng)
    visibility = np.ones(17, np.float32)
    flip = COCO.flip_permutation()
    _, moved, moved_vis = crop_sample(_dot_image(joints[0]), joints, visibility, params, OUTPUT, flip)
    assert moved.shape == (17, 2) and (moved_vis == 1).all()
    checked = 0
    for joint in range(17):
        crop, _, _ = crop_sample(_dot_image(joints[joint]), joints, visibility, params, OUTPUT, flip)
        # After a flip, slot flip[joint] holds the mirrored joint `joint`.
        slot = flip[joint] if params.flip else joint
        inside = (moved[slot] > 6).all() and (moved[slot] < np.array(OUTPUT) - 7).all()
        if inside:
            np.testing.assert_allclose(_centroid(crop), moved[slot], atol=0.2)
            checked += 1
    assert checked >= 10


def test_flip_swaps_left_and_right():
    joints = np.zeros((17, 2), np.float32)
    visibility = np.zeros(17, np.float32)
    left, right = COCO.index("left_wrist"), COCO.index("right_wrist")
    joints[left], joints[right] = (10.0, 50.0), (100.0, 60.0)
    visibility[left] = 1.0
    flipped, flipped_vis = flip_joints(joints, visibility, 200, COCO.flip_permutation())
    np.testing.assert_allclose(flipped[left], (200 - 1 - 100.0, 60.0))
    np.testing.assert_allclose(flipped[right], (200 - 1 - 10.0, 50.0))
    assert flipped_vis[right] == 1.0 and flipped_vis[left] == 0.0
    assert flipped[COCO.index("nose")][0] == 199.0  # unpaired joints stay in their slot


def test_random_draws_follow_the_official_ranges():
    config = AugmentConfig(half_body_prob=0.0)
    center, scale = np.array([120.0, 160.0], np.float32), np.array([1.0, 1.0], np.float32)
    joints, visibility = _joints(np.random.default_rng(1)), np.ones(17, np.float32)
    draws = [sample_crop(center, scale, joints, visibility, WIDTH, config, COCO, 0.75, np.random.default_rng(seed))
             for seed in range(2000)]
    scales = np.array([d.scale[0] for d in draws])
    rotations = np.array([d.rotation for d in draws])
    flips = np.array([d.flip for d in draws])
    assert scales.min() >= 0.65 - 1e-6 and scales.max() <= 1.35 + 1e-6
    assert np.abs(rotations).max() <= 90.0
    assert 0.35 < (rotations == 0).mean() < 0.45  # rotation applied with probability 0.6
    assert 0.45 < flips.mean() < 0.55
    mirrored = np.array([d.center[0] for d in draws])[flips]
    np.testing.assert_allclose(mirrored, WIDTH - 120.0 - 1)
    again = sample_crop(center, scale, joints, visibility, WIDTH, config, COCO, 0.75, np.random.default_rng(7))
    assert np.array_equal(again.scale, draws[7].scale) and again.rotation == draws[7].rotation


def test_half_body_crops_one_half_and_needs_enough_joints():
    joints = np.array([[float(i), float(i * 10)] for i in range(17)], np.float32)
    visibility = np.ones(17, np.float32)
    centers = set()
    for seed in range(40):
        center, scale = half_body_box(joints, visibility, COCO, 0.75, np.random.default_rng(seed))
        centers.add(round(float(center[1]), 3))
        assert scale[0] / scale[1] == pytest.approx(0.75, rel=1e-5)
    assert centers == {50.0, 135.0}  # mean y of the upper (0-10) or lower (11-16) joints
    few = np.zeros(17, np.float32)
    few[:8] = 1.0  # 8 labelled joints: not more than 8, so no half-body crop
    config = AugmentConfig(half_body_prob=1.0, scale_factor=0.0, rotation_prob=0.0, flip=False)
    params = sample_crop(np.array([5.0, 5.0]), np.array([1.0, 1.0]), joints, few, 100, config, COCO, 0.75,
                         np.random.default_rng(0))
    np.testing.assert_allclose(params.center, [5.0, 5.0])
    lower = [MPII.index(n) for n in ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee",
                                     "left_ankle", "pelvis")]
    assert sorted(lower) == list(range(7))  # MPII's official lower body (0-6) by name
