"""Flow backends by name: RAFT (random weights: shape and padding only), zero flow, ptlflow."""
from __future__ import annotations

import sys
import types
import urllib.error

import numpy as np
import pytest
import torch

import flow
from flow import FlowError


@pytest.fixture(scope="module")
def raft():
    torch.manual_seed(0)
    return flow.create("raft_small", weights=None, iterations=2)


@pytest.mark.parametrize("size_hw", [(131, 197), (37, 53)])
def test_raft_pads_odd_sizes_and_crops_back(raft, size_hw):
    rng = np.random.default_rng(0)
    prev = rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8)
    cur = np.roll(prev, 2, axis=1)
    field = raft.flow(prev, cur)
    assert field.shape == (*size_hw, 2) and field.dtype == np.float32
    # The same network on frames padded by hand (edge-replicated to multiples of 8, at least
    # 128) and scaled to [-1, 1] gives that field in its top-left corner.
    height, width = size_hw
    pad = ((0, max(-(-height // 8) * 8, 128) - height), (0, max(-(-width // 8) * 8, 128) - width),
           (0, 0))
    tensors = [torch.from_numpy(np.pad(image, pad, mode="edge")).permute(2, 0, 1)[None].float()
               / 127.5 - 1.0 for image in (prev, cur)]
    with torch.inference_mode():
        direct = raft.model(*tensors, num_flow_updates=2)[-1][0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(field, direct[:height, :width], atol=1e-4)


def test_raft_missing_weights_name_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(FlowError, match="raft_small_C_T_V2-01064c6d.pth is not in "
                                        + str(tmp_path / "hub" / "checkpoints")):
        flow.create("raft_small")


def test_none_is_zero_flow_at_the_frame_size():
    frame = np.zeros((20, 30, 3), dtype=np.uint8)
    field = flow.create("none").flow(frame, frame)
    assert field.shape == (20, 30, 2) and field.dtype == np.float32 and not field.any()


def test_unknown_names_list_the_choices():
    with pytest.raises(FlowError, match="dis, raft_small, raft_large, none, ptlflow:<model>"):
        flow.create("farneback")
    with pytest.raises(FlowError, match="iteration"):
        flow.create("raft_small", weights=None, iterations=0)


def test_ptlflow_missing_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ptlflow", None)  # makes `import ptlflow` fail, installed or not
    with pytest.raises(FlowError, match=r"install it with `pip install \"ptlflow>=0.4\"`"):
        flow.create("ptlflow:flownet2")


def test_ptlflow_missing_checkpoint_names_url_and_folder(monkeypatch, tmp_path):
    """With a stand-in for the ptlflow package whose download fails as without network."""
    url = ("https://github.com/hmorimitsu/ptlflow/releases/download/weights1/"
           "flownet2-things-d63b53a7.ckpt")

    def get_model(name, ckpt_path=None):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    reference = types.SimpleNamespace(pretrained_checkpoints={"things": url})
    stand_in = types.SimpleNamespace(get_model_names=lambda: ["flownet2"],
                                     get_model_reference=lambda name: reference,
                                     get_model=get_model)
    monkeypatch.setitem(sys.modules, "ptlflow", stand_in)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FlowError) as caught:
        flow.create("ptlflow:flownet2")
    assert f"download {url} and put it in {tmp_path / 'hub' / 'checkpoints'}." in str(caught.value)
    with pytest.raises(FlowError, match="ptlflow has no model 'flownet3'"):
        flow.create("ptlflow:flownet3")
