"""Checkpoint reading and strict loading, with the tiny official reference model's weights.

Each layout a user may hold (official bare file, mmpose 0.x / 1.x wrappers, our training
checkpoints, DDP prefixes) must load into the same weights; each kind of wrong file must give
one sentence that says what is wrong.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pose.config import load_model_config
from pose.errors import PoseError
from pose.hrnet import build_model
from pose.state_dict import load_checkpoint, read_state_dict
from pose.weights_registry import REGISTRY


@pytest.fixture(scope="module")
def tiny_config(reference_dir) -> dict:
    """The tiny model's official experiment file (MODEL/EXTRA layout), as a mapping."""
    text = (reference_dir / "hrnet" / "tiny_config.json").read_text(encoding="utf-8")
    return yaml.safe_load(json.loads(text)["tiny_overrides_yaml"])


@pytest.fixture(scope="module")
def tiny_weights(reference_dir) -> dict[str, torch.Tensor]:
    """The official tiny model's state dict (a bare OrderedDict, official key names)."""
    return torch.load(reference_dir / "hrnet" / "tiny_state_dict.pt", map_location="cpu",
                      weights_only=True)


@pytest.fixture
def tiny_model(tiny_config):
    return build_model(tiny_config)


def _assert_holds(model, weights: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    assert list(state) == list(weights)
    for key, value in weights.items():
        assert torch.equal(state[key], value), key


def _mmpose_layout(weights: dict[str, torch.Tensor], head: str) -> dict[str, torch.Tensor]:
    return {(f"{head}.{key}" if key.startswith("final_layer.") else f"backbone.{key}"): value
            for key, value in weights.items()}


def _save(obj, path: Path) -> Path:
    torch.save(obj, path)
    return path


def test_official_bare_file_loads(tiny_model, tiny_weights, reference_dir):
    load_checkpoint(tiny_model, reference_dir / "hrnet" / "tiny_state_dict.pt")
    _assert_holds(tiny_model, tiny_weights)


def test_mmpose0_file_with_wrapper_and_prefixes_loads(tiny_model, tiny_weights, tmp_path):
    checkpoint = {"state_dict": _mmpose_layout(tiny_weights, "keypoint_head"),
                  "meta": {"mmcv_version": "1.3.8", "config": "model = dict(type='TopDown')"}}
    assert load_checkpoint(tiny_model, _save(checkpoint, tmp_path / "mm0.pth")) is tiny_model
    _assert_holds(tiny_model, tiny_weights)


def test_mmpose1_file_with_numpy_metadata_loads(tiny_model, tiny_weights, tmp_path):
    state = _mmpose_layout(tiny_weights, "head")
    state["data_preprocessor.mean"] = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
    checkpoint = {"state_dict": state,
                  "meta": {"dataset_meta": {"sigmas": np.full(17, 0.05),
                                            "flip_indices": [0, 2, 1],
                                            "num_keypoints": np.int64(17)}}}
    load_checkpoint(tiny_model, _save(checkpoint, tmp_path / "mm1.pth"))
    _assert_holds(tiny_model, tiny_weights)


def test_training_checkpoint_from_ddp_loads(tiny_model, tiny_weights, tmp_path):
    checkpoint = {"model": {f"module.{key}": value for key, value in tiny_weights.items()},
                  "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0]}]},
                  "epoch": 3}
    load_checkpoint(tiny_model, _save(checkpoint, tmp_path / "train.pth"))
    _assert_holds(tiny_model, tiny_weights)


def test_read_state_dict_gives_official_names(tiny_weights, tmp_path):
    path = _save({"state_dict": _mmpose_layout(tiny_weights, "keypoint_head")}, tmp_path / "m.pth")
    assert list(read_state_dict(path)) == list(tiny_weights)


def test_file_without_num_batches_tracked_loads(tiny_model, tiny_weights, tmp_path):
    old = {key: value for key, value in tiny_weights.items()
           if not key.endswith("num_batches_tracked")}
    assert len(old) < len(tiny_weights)
    counters = {key: value.clone() for key, value in tiny_model.state_dict().items()
                if key.endswith("num_batches_tracked")}
    load_checkpoint(tiny_model, _save(old, tmp_path / "old.pth"))
    state = tiny_model.state_dict()
    for key, value in old.items():
        assert torch.equal(state[key], value), key
    for key, value in counters.items():
        assert torch.equal(state[key], value), key  # the model keeps its own counters


def _message(model, path: Path) -> str:
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(PoseError) as caught:
        load_checkpoint(model, path)
    for key, value in model.state_dict().items():  # a refused file changes nothing
        assert torch.equal(value, before[key]), key
    message = str(caught.value)
    assert str(path) in message and message.endswith(".") and "\n" not in message
    return message


def test_wrong_shape_names_key_and_both_shapes(tiny_model, tiny_weights, tmp_path):
    weights = dict(tiny_weights)
    weights["final_layer.weight"] = torch.zeros(16, 8, 1, 1)
    message = _message(tiny_model, _save(weights, tmp_path / "k16.pth"))
    assert ("final_layer.weight has shape [16, 8, 1, 1] in the file but [17, 8, 1, 1] in the "
            "model") in message
    assert "(1 shape mismatches, 0 missing and 0 unexpected keys in all)" in message


def test_missing_key_is_named(tiny_model, tiny_weights, tmp_path):
    weights = {key: value for key, value in tiny_weights.items() if key != "final_layer.bias"}
    message = _message(tiny_model, _save(weights, tmp_path / "nobias.pth"))
    assert "the file lacks final_layer.bias" in message and "1 missing" in message


def test_unexpected_key_is_named(tiny_model, tiny_weights, tmp_path):
    weights = dict(tiny_weights, **{"keypoint_head.deconv_layers.0.weight": torch.zeros(2)})
    message = _message(tiny_model, _save(weights, tmp_path / "extra.pth"))
    assert "the file has keypoint_head.deconv_layers.0.weight, which the model does not" in message
    assert "1 unexpected" in message


def test_weights_of_another_model_are_refused(tiny_model, tmp_path):
    # The W32 state dict's keys and shapes, each backed by a single stored zero (stride 0).
    with torch.device("meta"):
        w32 = build_model("hrnet_w32_256x192").state_dict()
    weights = {key: torch.zeros((), dtype=value.dtype).expand(value.shape)
               for key, value in w32.items()}
    message = _message(tiny_model, _save(weights, tmp_path / "w32.pth"))
    assert ("transition1.0.0.weight has shape [32, 256, 3, 3] in the file but [8, 256, 3, 3] "
            "in the model") in message
    counts = re.search(r"\((\d+) shape mismatches, 0 missing and (\d+) unexpected keys", message)
    assert counts and int(counts.group(1)) > 0 and int(counts.group(2)) > 0


@pytest.mark.parametrize("content", [
    b"model weights are in another castle\n",  # a text file
    b"",  # an empty file
    bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)),  # random bytes
    pickle.dumps({"not": "torch"}, protocol=4),  # a plain pickle
], ids=["text", "empty", "random", "pickle"])
def test_non_checkpoints_say_so(tiny_model, tmp_path, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    assert "is not a PyTorch checkpoint" in _message(tiny_model, path)


def test_truncated_checkpoint_says_so(tiny_model, reference_dir, tmp_path):
    whole = (reference_dir / "hrnet" / "tiny_state_dict.pt").read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[: len(whole) // 2])
    message = _message(tiny_model, path)
    assert "is not a PyTorch checkpoint" in message and "truncated" in message


def test_pickled_objects_are_refused_without_running_them(tiny_model, tiny_weights, tmp_path):
    path = _save({"state_dict": dict(tiny_weights), "args": argparse.Namespace(lr=1.0)},
                 tmp_path / "objects.pth")
    message = _message(tiny_model, path)
    assert "holds code-like objects besides tensors (argparse.Namespace), which hrtrack refuses" in message


class _RunsCommand:
    """Pickles as a call of os.system, the classic malicious checkpoint."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Optimizer:
    """Some class of the training script, pickled by reference like any user class."""


@pytest.mark.parametrize("layout", ["zip", "legacy", "pickle"])
def test_a_pickle_calling_os_system_is_refused_as_code_like(tiny_model, tiny_weights, tmp_path, layout):
    marker = tmp_path / "ran"
    payload = {"state_dict": dict(tiny_weights), "hook": _RunsCommand(marker)}
    path = tmp_path / "evil.pth"
    if layout == "pickle":
        path.write_bytes(pickle.dumps(_RunsCommand(marker), protocol=2))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=layout == "zip")
    message = _message(tiny_model, path)
    assert f"{path} holds code-like objects besides tensors ({os.system.__module__}.system), which " \
           "hrtrack refuses to unpickle because unpickling them can run code" in message
    assert not marker.exists()


def test_a_pickled_class_is_refused_as_code_like(tiny_model, tiny_weights, tmp_path):
    path = _save({"state_dict": dict(tiny_weights), "optimizer": _Optimizer()}, tmp_path / "class.pth")
    message = _message(tiny_model, path)
    assert f"holds code-like objects besides tensors ({__name__}._Optimizer)" in message


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_weights_are_refused_naming_a_tensor(tiny_model, tiny_weights, tmp_path, bad):
    weights = {key: value.clone() for key, value in tiny_weights.items()}
    weights["final_layer.weight"][0, 0, 0, 0] = bad
    weights["conv1.weight"][1, 0, 0, 0] = bad
    message = _message(tiny_model, _save(weights, tmp_path / "diverged.pth"))
    assert message == (f"{tmp_path / 'diverged.pth'} holds NaN or infinite weights in conv1.weight and 1 other "
                       "tensors, so the file is damaged or comes from a training run that diverged; use other weights.")


@pytest.mark.parametrize("payload, found", [
    (torch.zeros(3), "holds a Tensor, not model weights"),
    ({"epoch": 3, "lr": 0.1}, "holds a dict with keys epoch, lr, not model weights"),
    ({"state_dict": {"conv1.weight": "oops"}}, "holds a str under 'conv1.weight'"),
], ids=["tensor", "no-weights", "non-tensor"])
def test_files_without_a_state_dict_say_so(tmp_path, payload, found):
    path = _save(payload, tmp_path / "odd.pth")
    with pytest.raises(PoseError, match=re.escape(found)):
        read_state_dict(path)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(PoseError, match="does not exist"):
        read_state_dict(tmp_path / "nothing.pth")


def test_registry_entries_are_consistent():
    for name, entry in REGISTRY.items():
        arch, tag = name.split(".")
        assert entry.name == name and tag
        if entry.hash_prefix is not None:
            assert f"-{entry.hash_prefix}_" in entry.file_name
            assert re.fullmatch(r"[0-9a-f]{8}", entry.hash_prefix)
        if entry.url is not None:
            assert entry.url.startswith("https://download.openmmlab.com/mmpose/")
            assert entry.url.endswith("/" + entry.file_name)
        else:
            assert "drive.google.com" in entry.source
        if entry.config is None:  # ImageNet backbones
            assert entry.keypoint_set is None and entry.metric is None
            continue
        assert entry.config == f"{arch}.yaml" and entry.config_path.is_file()
        config = entry.model_config()
        assert config.name == arch and tuple(config.image_size) == entry.input_size
        assert config.keypoint_set == entry.keypoint_set


def test_posetrack_weights_bring_their_keypoint_set():
    entry = REGISTRY["hrnet_w32_256x192.posetrack18"]
    assert load_model_config(entry.config_path).keypoint_set == "coco"
    assert entry.model_config().keypoint_set == "posetrack18"  # no eye flip pair for the head


def test_imagenet_backbones_are_no_pose_model():
    with pytest.raises(PoseError, match="ImageNet backbone, not a pose model"):
        REGISTRY["hrnet_w32.imagenet"].model_config()
