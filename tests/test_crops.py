"""pose.crops reproduces the official HRNet crop geometry (../shared/reference/hrnet/postprocess.*)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pose.crops import (
    affine_points,
    box_to_center_scale,
    crops_to_tensor,
    get_affine_transform,
    heatmap_to_image,
    warp_crop,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def post(reference_dir):
    with np.load(reference_dir / "hrnet" / "postprocess.npz") as data:
        return dict(data)


def _corners(xywh: np.ndarray) -> np.ndarray:
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


@pytest.mark.parametrize("size_wh, suffix", [((192, 256), ""), ((288, 384), "_288x384")])
def test_box_to_center_scale_matches_official_xywh2cs(post, size_wh, suffix):
    centers, scales = box_to_center_scale(_corners(post["cs_boxes_xywh"]), size_wh[0] / size_wh[1])
    assert centers.dtype == scales.dtype == np.float32
    np.testing.assert_allclose(centers, post["cs_center" + suffix], rtol=1e-6)
    np.testing.assert_allclose(scales, post["cs_scale" + suffix], rtol=1e-6)


def test_box_to_center_scale_matches_official_demo_corners(post):
    boxes = post["cs_demo_corners_x1y1x2y2"]
    with_score = np.concatenate([boxes, np.full((len(boxes), 1), 0.9)], axis=1)
    centers, scales = box_to_center_scale(with_score, 0.75)
    np.testing.assert_allclose(centers, post["cs_demo_center"], rtol=1e-6)
    np.testing.assert_allclose(scales, post["cs_demo_scale"], rtol=1e-6)


def test_center_x_minus_one_is_not_padded_like_official(post):
    """The official quirk: a centre at x == -1 skips the 1.25 padding (two fixture cases)."""
    centers, scales = box_to_center_scale(_corners(post["cs_boxes_xywh"]), 0.75)
    quirk = centers[:, 0] == -1
    assert quirk.sum() == 2
    _, unpadded = box_to_center_scale(_corners(post["cs_boxes_xywh"]), 0.75, padding=1.0)
    np.testing.assert_array_equal(scales[quirk], unpadded[quirk])
    np.testing.assert_allclose(scales[~quirk], unpadded[~quirk] * 1.25, rtol=1e-6)


def test_affine_matrices_and_points_match_official(post, reference_dir):
    cases = json.loads((reference_dir / "hrnet" / "postprocess.json").read_text())["aff_cases"]
    assert len(cases) == len(post["aff_trans"]) == 16
    for i in range(16):
        matrix = get_affine_transform(
            post["aff_center"][i], post["aff_scale"][i], post["aff_rot"][i],
            post["aff_output_size"][i], shift=post["aff_shift"][i], inverse=bool(post["aff_inv"][i]),
        )
        assert matrix.shape == (2, 3) and matrix.dtype == np.float64
        np.testing.assert_allclose(matrix, post["aff_trans"][i], rtol=1e-5, atol=1e-6, err_msg=str(cases[i]))
        np.testing.assert_allclose(affine_points(post["aff_pts_in"][i], matrix), post["aff_pts_out"][i],
                                   rtol=1e-5, atol=1e-3, err_msg=str(cases[i]))


def test_inverse_transform_undoes_forward_with_rotation_and_shift():
    args = ((321.5, 87.25), (1.3, 1.7), 37.0, (192, 256))
    forward = get_affine_transform(*args, shift=(0.1, -0.2))
    backward = get_affine_transform(*args, shift=(0.1, -0.2), inverse=True)
    points = np.array([[0.0, 0.0], [100.0, 20.0], [-50.0, 400.0]])
    np.testing.assert_allclose(affine_points(affine_points(points, forward), backward), points, atol=1e-3)


def test_positive_rotation_turns_the_image_counter_clockwise_in_the_crop():
    matrix = get_affine_transform((100.0, 100.0), (1.0, 1.0), 90.0, (200, 200))
    right_of_center = affine_points(np.array([150.0, 100.0]), matrix)
    np.testing.assert_allclose(right_of_center, [100.0, 50.0], atol=1e-3)  # now above the centre


def test_warp_crop_is_bit_identical_to_official_crops(post):
    for i in range(3):
        crop = warp_crop(post["crop_image"], post["crop_center"][i], post["crop_scale"][i], (192, 256),
                         rot_deg=post["crop_rot"][i])
        assert crop.dtype == np.uint8 and crop.shape == (256, 192, 3)
        np.testing.assert_array_equal(crop, post["crop_out"][i])
        matrix = get_affine_transform(post["crop_center"][i], post["crop_scale"][i], post["crop_rot"][i],
                                      (192, 256))
        np.testing.assert_allclose(matrix, post["crop_trans"][i], rtol=1e-5, atol=1e-6)


def test_crops_to_tensor_is_the_official_network_input(post):
    tensor = crops_to_tensor(post["crop_out"], IMAGENET_MEAN, IMAGENET_STD)
    assert tuple(tensor.shape) == (3, 3, 256, 192)
    np.testing.assert_array_equal(tensor[0].numpy(), post["crop_tensor0"])


def test_heatmap_to_image_matches_official_transform_preds(post):
    mapped = heatmap_to_image(post["tp_coords"], post["tp_center"], post["tp_scale"], post["tp_output_size"])
    np.testing.assert_allclose(mapped, post["tp_out"], atol=1e-3)
