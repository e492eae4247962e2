"""HRNet equals the official network: state-dict layout, parameter and multiply-add counts of W32 and
W48, and outputs of the tiny reference model (see ../shared/reference/hrnet/README.md)."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from pose.config import load_model_config
from pose.errors import PoseError
from pose.flops import conv_multiply_adds, paper_gflops
from pose.hrnet import HRNet, build_model, fold_batchnorm

TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}  # the reference README's suggestion (measured noise ~2e-6)


def _layout(model: nn.Module) -> list:
    return [[key, list(value.shape)] for key, value in model.state_dict().items()]


def _reference(reference_dir, name: str) -> dict:
    return json.loads((reference_dir / "hrnet" / name).read_text())


@pytest.fixture(scope="module")
def tiny_config(reference_dir):
    return _reference(reference_dir, "tiny_config.json")


@pytest.fixture(scope="module")
def tiny_io(reference_dir):
    return dict(np.load(reference_dir / "hrnet" / "tiny_io.npz"))


@pytest.fixture(scope="module")
def tiny_model(reference_dir, tiny_config):
    """The tiny reference model, built from the official experiment text, reference weights loaded."""
    model = build_model(yaml.safe_load(tiny_config["tiny_overrides_yaml"])).eval()
    state = torch.load(reference_dir / "hrnet" / "tiny_state_dict.pt", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model


@pytest.mark.parametrize("name, reference_file, parameters, multiply_adds, gflops", [
    ("hrnet_w32_256x192", "keys_w32_256x192.json", 28_536_113, 7_645_003_776, 7.12),
    ("hrnet_w48_384x288", "keys_w48_384x288.json", 63_595_745, 35_306_606_592, 32.88),
])
def test_layout_parameters_and_multiply_adds_equal_official(
        reference_dir, name, reference_file, parameters, multiply_adds, gflops):
    # Built on the meta device: real shapes and hook counts, without computing on 28-64M weights
    # (the tiny model's tests below run real numbers through the same code).
    reference = _reference(reference_dir, reference_file)
    config = load_model_config(name)
    with torch.device("meta"):
        model = build_model(config).eval()
    assert _layout(model) == reference["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == reference["total_parameters"] == parameters
    macs = conv_multiply_adds(model, config.image_size)
    assert macs == reference["flops"]["conv_macs_by_hook_weightnumel_x_outHW"] == multiply_adds
    assert round(paper_gflops(macs), 2) == gflops
    width, height = config.image_size
    with torch.no_grad():
        output = model(torch.zeros(1, 3, height, width, device="meta"))
    assert list(output.shape) == reference["output_shape_nchw"]


def test_w48_256x192_has_the_w48_weights():
    with torch.device("meta"):
        small, large = build_model("hrnet_w48_256x192"), build_model("hrnet_w48_384x288")
    assert _layout(small) == _layout(large)


def test_tiny_model_state_dict_layout_in_official_order(tiny_model, tiny_config):
    assert _layout(tiny_model) == tiny_config["state_dict_keys"]
    assert sum(p.numel() for p in tiny_model.parameters()) == tiny_config["total_parameters"]


def test_tiny_model_reproduces_output_and_every_feature(tiny_model, tiny_io):
    with torch.no_grad():
        features = tiny_model.forward_features(torch.from_numpy(tiny_io["input"]))
    np.testing.assert_allclose(features["heatmaps"].numpy(), tiny_io["output"], **TOLERANCE)
    names = [name for name in tiny_io if name.startswith("feat_")]
    assert len(names) == 8
    for name in names:
        np.testing.assert_allclose(features[name[len("feat_"):]].numpy(), tiny_io[name],
                                   err_msg=name, **TOLERANCE)


def test_tiny_model_in_float64(tiny_model, tiny_io):
    model = copy.deepcopy(tiny_model).double()
    with torch.no_grad():
        output = model(torch.from_numpy(tiny_io["input"]).double())
    assert output.dtype == torch.float64
    np.testing.assert_allclose(output.numpy(), tiny_io["output_f64"], **TOLERANCE)


def test_tiny_model_batch_of_two(tiny_model, tiny_io):
    with torch.no_grad():
        output = tiny_model(torch.from_numpy(tiny_io["input_b2"]))
    np.testing.assert_allclose(output.numpy(), tiny_io["output_b2"], **TOLERANCE)


def test_tiny_model_channels_last_gives_the_same_heatmaps(tiny_model, tiny_io):
    model = copy.deepcopy(tiny_model).to(memory_format=torch.channels_last)
    x = torch.from_numpy(tiny_io["input"]).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        output = model(x)
    np.testing.assert_allclose(output.numpy(), tiny_io["output"], **TOLERANCE)


def test_folding_batchnorm_keeps_outputs_and_leaves_no_batchnorm(tiny_model, tiny_io):
    folded = fold_batchnorm(tiny_model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in tiny_model.modules()) == 118  # original kept
    with torch.no_grad():
        output = folded(torch.from_numpy(tiny_io["input_b2"]))
    assert np.abs(output.numpy() - tiny_io["output_b2"]).max() < 1e-4


def test_fold_batchnorm_rejects_other_networks():
    with pytest.raises(PoseError, match="fold_batchnorm takes an HRNet, got Sequential"):
        fold_batchnorm(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)))


def test_hrnet_constructor_names_the_bad_stage():
    with pytest.raises(PoseError, match=r"stage 3: num_branches is 3 but num_blocks has 2 entries"):
        HRNet(num_joints=17, num_modules=[1, 1, 1], num_blocks=[[1, 1], [1, 1], [1, 1, 1, 1]],
              num_channels=[[8, 16], [8, 16, 32], [8, 16, 32, 64]])

