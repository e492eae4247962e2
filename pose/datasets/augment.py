"""Training augmentation as in the HRNet paper and its official code.

Random choices, in this order, all drawn from the `np.random.Generator` the caller gives (one per
sample, so a run reproduces whatever the worker count):
half-body crop (probability 0.3, only with more than 8 labelled joints), scale
s * clip(N(0,1)*0.35 + 1, 0.65, 1.35), rotation clip(N(0,1)*45, -90, 90) degrees applied with
probability 0.6, horizontal flip with probability 0.5 (joints swap left/right). Flipping mirrors the
image, the joints (x -> W - 1 - x) and the crop center (the official c_x = W - c_x - 1).
Pixels and joints then go through one and the same affine crop (`pose.crops`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose.crops import PIXEL_STD, affine_points, get_affine_transform, warp_crop
from pose.skeleton import KeypointSet

# Joints that count as lower body for the half-body crop (every other joint is upper body);
# the official split for COCO (11-16) and MPII (0-6).
LOWER_BODY_JOINTS = frozenset({
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "pelvis",
})
HALF_BODY_GROWTH = 1.5  # official: the half-body box is enlarged 1.5 times


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation switches and magnitudes (official COCO values by default)."""

    enabled: bool = True
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip: bool = True
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8


@dataclass(frozen=True)
class CropParams:
    """One sample's crop: center (2,) px and scale (2,) in PIXEL_STD units in the image frame after
    the flip, rotation in degrees (counter-clockwise), and whether the image is mirrored first."""

    center: np.ndarray
    scale: np.ndarray
    rotation: float = 0.0
    flip: bool = False


def half_body_box(joints: np.ndarray, visibility: np.ndarray, keypoint_set: KeypointSet,
                  aspect_ratio: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """Center and scale of a crop around the upper or the lower body's labelled joints.

    Upper body is chosen when N(0,1) < 0.5 (the official rule) and it has more than two joints,
    else lower body if it has more than two, else upper. None when fewer than two joints remain.
    """
    lower = np.array([name in LOWER_BODY_JOINTS for name in keypoint_set.joints])
    labelled = visibility > 0
    upper_points, lower_points = joints[labelled & ~lower], joints[labelled & lower]
    if rng.standard_normal() < 0.5 and len(upper_points) > 2:
        chosen = upper_points
    else:
        chosen = lower_points if len(lower_points) > 2 else upper_points
    if len(chosen) < 2:
        return None
    center = chosen.mean(axis=0)
    width, height = chosen.max(axis=0) - chosen.min(axis=0)
    if width > aspect_ratio * height:
        height = width / aspect_ratio
    elif width < aspect_ratio * height:
        width = height * aspect_ratio
    scale = np.array([width, height], np.float64) / PIXEL_STD * HALF_BODY_GROWTH
    return center.astype(np.float32), scale.astype(np.float32)


def sample_crop(center: np.ndarray, scale: np.ndarray, joints: np.ndarray, visibility: np.ndarray,
                image_width: int, config: AugmentConfig, keypoint_set: KeypointSet,
                aspect_ratio: float, rng: np.random.Generator) -> CropParams:
    """Draw one sample's crop from the record's center (2,) and scale (2,) and its image-pixel joints."""
    center = np.array(center, np.float32)
    scale = np.array(scale, np.float32)
    if not config.enabled:
        return CropParams(center, scale)
    if visibility.sum() > config.half_body_min_joints and rng.random() < config.half_body_prob:
        half = half_body_box(joints, visibility, keypoint_set, aspect_ratio, rng)
        if half is not None:
            center, scale = half
    sf, rf = config.scale_factor, config.rotation_factor
    scale = scale * np.float32(np.clip(rng.standard_normal() * sf + 1.0, 1.0 - sf, 1.0 + sf))
    rotation = float(np.clip(rng.standard_normal() * rf, -2.0 * rf, 2.0 * rf))
    if rng.random() > config.rotation_prob:
        rotation = 0.0
    flip = bool(config.flip and rng.random() <= 0.5)
    if flip:
        center[0] = image_width - center[0] - 1.0
    return CropParams(center, scale, rotation, flip)


def flip_joints(joints: np.ndarray, visibility: np.ndarray, image_width: int,
                flip_permutation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror image-pixel joints (K,2) (x -> W - 1 - x) and swap left/right slots with their visibility."""
    mirrored = joints.copy()
    mirrored[:, 0] = image_width - 1.0 - mirrored[:, 0]
    return mirrored[flip_permutation], visibility[flip_permutation]


def crop_sample(image: np.ndarray, joints: np.ndarray, visibility: np.ndarray, params: CropParams,
                output_size: tuple[int, int], flip_permutation: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply `params` to an RGB image and its joints.

    Returns the uint8 crop (H,W,3) of `output_size` (w,h), the joints (K,2) float32 in crop pixels
    and the visibility (K,) after the flip's left/right swap.
    """
    if params.flip:
        image = image[:, ::-1]
        joints, visibility = flip_joints(joints, visibility, image.shape[1], flip_permutation)
    crop = warp_crop(np.ascontiguousarray(image), params.center, params.scale, output_size, params.rotation)
    matrix = get_affine_transform(params.center, params.scale, params.rotation, output_size)
    return crop, affine_points(joints, matrix).astype(np.float32), visibility
