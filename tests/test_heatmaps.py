"""pose.heatmaps reproduces official HRNet target generation, decoding and flip-back."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pose.crops import heatmap_to_image
from pose.heatmaps import HeatmapCodec, flip_average, flip_back
from pose.skeleton import COCO

FLIP = COCO.flip_permutation()


@pytest.fixture(scope="module")
def post(reference_dir):
    with np.load(reference_dir / "hrnet" / "postprocess.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def tiny(reference_dir):
    with np.load(reference_dir / "hrnet" / "tiny_io.npz") as data:
        return dict(data)


def test_fixture_flip_pairs_are_the_skeleton_pairs(post):
    assert [tuple(pair) for pair in post["flip_pairs"]] == list(COCO.flip_pairs)


@pytest.mark.parametrize("prefix, sizes", [
    ("maxp", ((192, 256), (48, 64))),
    ("maxp96", ((288, 384), (72, 96))),
])
def test_decode_without_refinement_is_official_get_max_preds(post, prefix, sizes):
    coords, maxvals = HeatmapCodec(*sizes).decode(post[f"{prefix}_heatmaps"], refine=False)
    assert coords.dtype == maxvals.dtype == np.float32
    np.testing.assert_array_equal(coords, post[f"{prefix}_coords"])
    np.testing.assert_array_equal(maxvals, post[f"{prefix}_maxvals"])


@pytest.mark.parametrize("heatmaps, center, scale, preds, maxvals, refine, sizes", [
    ("maxp_heatmaps", "maxp_center", "maxp_scale", "final_preds_pp", "final_maxvals_pp", True,
     ((192, 256), (48, 64))),
    ("maxp_heatmaps", "maxp_center", "maxp_scale", "final_preds_nopp", "final_maxvals_nopp", False,
     ((192, 256), (48, 64))),
    ("maxp96_heatmaps", "maxp96_center", "maxp96_scale", "final96_preds_pp", "final96_maxvals_pp", True,
     ((288, 384), (72, 96))),
])
def test_decode_and_map_back_is_official_get_final_preds(post, heatmaps, center, scale, preds, maxvals,
                                                         refine, sizes):
    coords, values = HeatmapCodec(*sizes).decode(post[heatmaps], refine=refine)
    mapped = heatmap_to_image(coords, post[center], post[scale], sizes[1])
    np.testing.assert_allclose(mapped, post[preds], atol=1e-3)
    np.testing.assert_array_equal(values, post[maxvals])


def test_flip_back_is_official_and_leaves_its_input_alone(post):
    flipped = post["flip_in"].copy()
    np.testing.assert_array_equal(flip_back(flipped, FLIP, shift=False), post["flip_back_out"])
    np.testing.assert_array_equal(flip_back(flipped, FLIP), post["flip_back_shifted"])
    tensor = torch.from_numpy(flipped)
    np.testing.assert_array_equal(flip_back(tensor, FLIP).numpy(), post["flip_back_shifted"])
    np.testing.assert_array_equal(flipped, post["flip_in"])  # the official code swaps it in place
    averaged = flip_average(torch.from_numpy(post["flip_base"]), tensor, FLIP)
    np.testing.assert_allclose(averaged.numpy(), post["flip_avg"], rtol=0, atol=1e-7)


def test_encode_is_official_generate_target(post):
    codec = HeatmapCodec((192, 256), (48, 64), sigma=2)
    for joints, vis, target, weight in zip(post["gt_joints"], post["gt_joints_vis"], post["gt_target"],
                                           post["gt_target_weight"]):
        ours, our_weight = codec.encode(joints, vis[:, 0])
        assert ours.dtype == our_weight.dtype == np.float32
        np.testing.assert_allclose(ours, target, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(our_weight, weight)


def test_encode_at_384x288_with_sigma_3_draws_a_19_pixel_patch_that_decodes_back():
    codec = HeatmapCodec((288, 384), (72, 96), sigma=3)
    joints = np.array([[101.0, 202.0], [2.0, 3.0], [-80.0, 50.0]])
    target, weight = codec.encode(joints, np.ones(3))
    assert target.shape == (3, 96, 72)
    np.testing.assert_array_equal(weight[:, 0], [1.0, 1.0, 0.0])
    assert (target[0] > 0).sum() == 19 * 19 and target[0, 51, 25] == 1.0  # int(x/4 + 0.5)
    assert (target[1] > 0).sum() == 11 * 11  # centre (1,1): clipped at the top-left corner
    assert not target[2].any()
    coords, maxvals = codec.decode(target[None], refine=False)
    np.testing.assert_array_equal(coords[0, :2], [[25, 51], [1, 1]])
    np.testing.assert_array_equal(maxvals[0, :2, 0], [1.0, 1.0])


def test_tiny_model_outputs_decode_to_official_final_preds(tiny):
    perm_output = flip_back(tiny["flip_output_of_flipped_input"], FLIP, shift=False)
    np.testing.assert_array_equal(perm_output, tiny["flip_back_noshift"])
    np.testing.assert_array_equal(flip_back(tiny["flip_output_of_flipped_input"], FLIP),
                                  tiny["flip_back_shifted"])
    averaged = flip_average(torch.from_numpy(tiny["output"]),
                            torch.from_numpy(tiny["flip_output_of_flipped_input"]), FLIP)
    np.testing.assert_allclose(averaged.numpy(), tiny["flip_avg"], rtol=0, atol=1e-7)
    codec = HeatmapCodec((96, 128), (24, 32), sigma=2)
    for heatmaps, name in ((tiny["output"], "noflip"), (tiny["flip_avg"], "flip")):
        coords, maxvals = codec.decode(heatmaps)
        mapped = heatmap_to_image(coords, tiny["center"], tiny["scale"], codec.heatmap_size)
        np.testing.assert_allclose(mapped, tiny[f"final_preds_{name}"], atol=1e-3)
        np.testing.assert_array_equal(maxvals, tiny[f"final_maxvals_{name}"])
