"""Model configs: our YAML files, official HRNet experiment files, and the errors a user sees."""
from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import yaml

from pose.config import CONFIG_DIR, StageConfig, load_model_config, shipped_configs
from pose.errors import PoseError

W32_STAGES = (
    StageConfig(1, 2, "basic", (4, 4), (32, 64)),
    StageConfig(4, 3, "basic", (4, 4, 4), (32, 64, 128)),
    StageConfig(3, 4, "basic", (4, 4, 4, 4), (32, 64, 128, 256)),
)


def _official_w32() -> dict:
    """The MODEL section of the official experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml."""
    def stage(modules, branches):
        return {"NUM_MODULES": modules, "NUM_BRANCHES": branches, "BLOCK": "BASIC",
                "NUM_BLOCKS": [4] * branches, "NUM_CHANNELS": [32 * 2 ** b for b in range(branches)],
                "FUSE_METHOD": "SUM"}
    return {
        "MODEL": {
            "NAME": "pose_hrnet", "NUM_JOINTS": 17, "PRETRAINED": "models/pytorch/imagenet/x.pth",
            "TARGET_TYPE": "gaussian", "IMAGE_SIZE": [192, 256], "HEATMAP_SIZE": [48, 64], "SIGMA": 2,
            "EXTRA": {"PRETRAINED_LAYERS": ["conv1", "bn1"], "FINAL_CONV_KERNEL": 1,
                      "STAGE2": stage(1, 2), "STAGE3": stage(4, 3), "STAGE4": stage(3, 4)},
        },
        "DATASET": {"DATASET": "coco"},  # sections other than MODEL are ignored
        "TEST": {"FLIP_TEST": True},
    }


def _ours_w32() -> dict:
    return yaml.safe_load((CONFIG_DIR / "hrnet_w32_256x192.yaml").read_text())


@pytest.mark.parametrize("name, width, size, sigma", [
    ("hrnet_w32_256x192", 32, (192, 256), 2.0),
    ("hrnet_w48_256x192", 48, (192, 256), 2.0),
    ("hrnet_w48_384x288", 48, (288, 384), 3.0),
])
def test_shipped_configs(name, width, size, sigma):
    config = load_model_config(name)
    assert name in shipped_configs()
    assert (config.name, config.num_joints, config.keypoint_set) == (name, 17, "coco")
    assert config.image_size == size and config.heatmap_size == (size[0] // 4, size[1] // 4)
    assert config.sigma == sigma and config.aspect_ratio == 0.75
    assert [s.num_channels for s in config.stages] == [
        tuple(width * 2 ** b for b in range(n)) for n in (2, 3, 4)]
    assert [s.num_modules for s in config.stages] == [1, 4, 3]
    assert config.mean == (0.485, 0.456, 0.406) and config.std == (0.229, 0.224, 0.225)


def test_official_experiment_and_our_yaml_give_the_same_model(tmp_path):
    path = tmp_path / "w32_256x192_adam_lr1e-3.yaml"
    path.write_text(yaml.safe_dump(_official_w32()))
    official = load_model_config(path)
    assert official == load_model_config("hrnet_w32_256x192")
    assert official.stages == W32_STAGES
    assert load_model_config(_official_w32()) == official  # a mapping works as well as a file


def test_tiny_reference_overrides_file_loads_unchanged(reference_dir, tmp_path):
    text = json.loads((reference_dir / "hrnet" / "tiny_config.json").read_text())["tiny_overrides_yaml"]
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    config = load_model_config(str(path))
    assert (config.image_size, config.heatmap_size, config.keypoint_set) == ((96, 128), (24, 32), "coco")
    assert [(s.num_modules, s.num_blocks, s.num_channels) for s in config.stages] == [
        (1, (2, 2), (8, 16)), (2, (2, 2, 2), (8, 16, 32)), (2, (2, 2, 2, 2), (8, 16, 32, 64))]
    assert config.name == "hrnet_w8_128x96"


def test_official_file_lacking_keys_takes_the_official_defaults():
    data = _official_w32()
    for key in ("NAME", "NUM_JOINTS", "IMAGE_SIZE", "HEATMAP_SIZE", "SIGMA", "TARGET_TYPE"):
        del data["MODEL"][key]
    for stage in ("STAGE2", "STAGE3", "STAGE4"):
        del data["MODEL"]["EXTRA"][stage]["FUSE_METHOD"]
    config = load_model_config(data)
    # lib/config/default.py: NUM_JOINTS 17, IMAGE_SIZE [256, 256], HEATMAP_SIZE [64, 64], SIGMA 2
    assert (config.num_joints, config.image_size, config.heatmap_size, config.sigma) == (
        17, (256, 256), (64, 64), 2.0)


def test_keypoint_set_follows_the_joint_count_unless_named():
    data = _official_w32()
    data["MODEL"]["NUM_JOINTS"] = 16
    assert load_model_config(data).keypoint_set == "mpii"
    ours = _ours_w32()
    ours["model"]["keypoint_set"] = "posetrack18"
    assert load_model_config(ours).keypoint_set == "posetrack18"


def test_a_model_config_passes_through_and_is_frozen():
    config = load_model_config("hrnet_w32_256x192")
    assert load_model_config(config) is config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_joints = 16


def _ours_with(change) -> dict:
    data = copy.deepcopy(_ours_w32())
    change(data["model"])
    return data


def _official_with(change) -> dict:
    data = _official_w32()
    change(data["MODEL"])
    return data


@pytest.mark.parametrize("data, message", [
    (_ours_with(lambda m: m.update(colour="red")),
     r"model has unknown key 'colour' \(value 'red'\); known keys: heatmap_size, image_size"),
    (_ours_with(lambda m: m.update(image_size=[200, 256])),
     r"image_size \[200, 256\] must be a multiple of 32 in width and height: the lowest of the 4 "
     "branches runs at 1/32 of the input"),
    (_ours_with(lambda m: m["stages"][1].update(num_blocks=[4, 4])),
     r"model.stages\[1\]: num_branches is 3 but num_blocks has 2 entries and num_channels 3"),
    (_ours_with(lambda m: m.update(heatmap_size=[96, 128])),
     r"heatmap_size \[96, 128\] must be image_size \[192, 256\] / 4"),
    (_ours_with(lambda m: m.update(keypoint_set="mpii")),
     "num_joints is 17 but keypoint_set 'mpii' has 16 joints"),
    (_ours_with(lambda m: m.update(keypoint_set="hands")), "keypoint_set 'hands' is unknown"),
    (_ours_with(lambda m: m.update(num_joints=14, keypoint_set=None)),
     "num_joints 14 matches no keypoint set; name one with model.keypoint_set"),
    (_ours_with(lambda m: m.update(sigma=-1)), "sigma must be a positive number, got -1"),
    (_ours_with(lambda m: m.pop("stages")), "model.stages is missing"),
    (_ours_with(lambda m: m["stages"][2].update(block="bottleneck")),
     r"model.stages\[2\]: block 'bottleneck' is not supported"),
    (_ours_with(lambda m: m["stages"][0].update(num_channels=[32, "64"])),
     r"model.stages\[0\]: num_channels must be a positive integer, got '64'"),
    (_official_with(lambda m: m.update(NAME="pose_resnet")),
     "MODEL.NAME is 'pose_resnet', but only 'pose_hrnet' is supported"),
    (_official_with(lambda m: m["EXTRA"]["STAGE3"].update(FUSE_METHOD="CAT")),
     "MODEL.EXTRA.STAGE3.FUSE_METHOD is 'CAT', but only 'SUM' is supported"),
    (_official_with(lambda m: m["EXTRA"]["STAGE4"].update(NUM_CHANNELS=[32, 64, 128])),
     "MODEL.EXTRA.STAGE4: num_branches is 4 but num_blocks has 4 entries and num_channels 3"),
    (_official_with(lambda m: m["EXTRA"].pop("STAGE3")), "MODEL.EXTRA.STAGE3 is missing"),
    (_official_with(lambda m: m.update(IMAGE_SIZE=[192])),
     r"MODEL.IMAGE_SIZE must be \[width, height\] in positive whole pixels, got \[192\]"),
    (_official_with(lambda m: m.update(NUM_JOINTS="17")),
     "MODEL.NUM_JOINTS must be a positive integer, got '17'"),
    ({"TRAIN": {}}, "a model config needs a 'model' section"),
])
def test_bad_values_are_named(data, message):
    with pytest.raises(PoseError, match=message):
        load_model_config(data)


def test_missing_file_names_the_shipped_configs(tmp_path):
    with pytest.raises(PoseError, match=r"not a file nor a shipped config \(shipped: hrnet_w32_256x192"):
        load_model_config(tmp_path / "nope.yaml")
    with pytest.raises(PoseError, match="must be a YAML path, a mapping or a ModelConfig, got int"):
        load_model_config(42)
