"""The registry of known HRNet weights: name, published file, URL, hash, model config, keypoint set, metric.

Names are `arch.tag` (`hrnet_w32_256x192.coco`); `REGISTRY` maps each to a frozen `WeightsEntry`.
This module only describes weights; `pose.weights` finds or downloads the files and
`pose.state_dict` reads them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pose.config import CONFIG_DIR, ModelConfig, load_model_config
from pose.errors import PoseError

__all__ = ["REGISTRY", "WeightsEntry", "get_entry", "preferred_weights", "with_keypoint_set_of"]


@dataclass(frozen=True)
class WeightsEntry:
    """One published set of weights: where it comes from, how to check it, what it predicts."""

    name: str  # "arch.tag", e.g. "hrnet_w32_256x192.coco"
    file_name: str  # the file's name in the cache folder (the published name)
    url: str | None  # direct download; None where only a web folder offers the file
    sha256: str | None  # full hex digest, when known
    hash_prefix: str | None  # leading sha256 digits the published file name carries
    config: str | None  # our model config under configs/ (None: not a pose model)
    keypoint_set: str | None  # pose.skeleton set the heatmaps follow
    input_size: tuple[int, int] | None  # network input (width, height) in pixels
    metric: tuple[str, float] | None  # (what was measured, published value)
    source: str  # where a person can get the file by hand
    params_m: float  # the network's parameters in millions (the file's size is not published; this estimates it)

    @property
    def expected_hash(self) -> str | None:
        """The full sha256 when known, else the file-name prefix (checked as a prefix)."""
        return self.sha256 or self.hash_prefix

    @property
    def config_path(self) -> Path | None:
        """Path of the model config shipped in the `configs` package, or None."""
        if self.config is None:
            return None
        return CONFIG_DIR / self.config

    def model_config(self) -> ModelConfig:
        """The model config these weights need, with the keypoint set they were trained on
        (PoseTrack18 weights run our COCO-layout network configs but predict PoseTrack18 slots,
        whose flip pairs differ)."""
        if self.config is None:
            raise PoseError(f"Weights {self.name} are an ImageNet backbone, not a pose model; "
                            "use them to initialise training, not for pose estimation.")
        return with_keypoint_set_of(load_model_config(CONFIG_DIR / self.config), self.name)


_MMPOSE_HRNET = "https://download.openmmlab.com/mmpose/top_down/hrnet/"
_MMPOSE1_COCO = "https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/"
_MMPOSE_PRETRAIN = "https://download.openmmlab.com/mmpose/pretrain_models/"
_MMPOSE_ZOO = "mmpose's model zoo (https://mmpose.readthedocs.io, HRNet on COCO and PoseTrack18)"
_OFFICIAL_ZOO = ("the official HRNet model zoo, Google Drive "
                 "https://drive.google.com/drive/folders/1hOTihvbyIxsm5ygDpbUuJ7O_tzv4oXjC or "
                 "OneDrive https://1drv.ms/f/s!AhIXJn_J-blW231MH2krnmLq5kkQ")
_COCO_AP = "COCO val2017 AP, person detections of AP 56.4"
_POSETRACK_MAP = "PoseTrack18 val mAP, ground-truth boxes"
_SIZES = {"256x192": (192, 256), "384x288": (288, 384)}
# parameters in millions: the HRNet paper's Table 1 for the pose networks (our build_model counts the same), the
# HRNet classification release for the ImageNet backbones (HRNet-W32-C, HRNet-W48-C)
_PARAMS_M = {"hrnet_w32_256x192": 28.5, "hrnet_w48_256x192": 63.6, "hrnet_w48_384x288": 63.6,
             "hrnet_w32": 41.2, "hrnet_w48": 77.5}


def _pose(arch: str, tag: str, file_name: str, url: str | None, hash_prefix: str | None,
          keypoint_set: str, metric: tuple[str, float], source: str) -> WeightsEntry:
    """A pose-model entry; config file and input size follow from `arch` (hrnet_wNN_HxW)."""
    return WeightsEntry(name=f"{arch}.{tag}", file_name=file_name, url=url, sha256=None,
                        hash_prefix=hash_prefix, config=f"{arch}.yaml", keypoint_set=keypoint_set,
                        input_size=_SIZES[arch.rsplit("_", 1)[1]], metric=metric, source=source,
                        params_m=_PARAMS_M[arch])


# mmpose tag -> (download folder, keypoint set, what the metric measures)
_MMPOSE_TAGS = {
    "coco": (_MMPOSE_HRNET, "coco", _COCO_AP),  # mmpose 0.x: backbone.*, keypoint_head.*
    "coco_mmpose1": (_MMPOSE1_COCO, "coco", _COCO_AP),  # mmpose 1.x: backbone.*, head.*
    # COCO-pretrained, fine-tuned on PoseTrack18: 17 slots in PoseTrack18 order (mmpose 0.x keys)
    "posetrack18": (_MMPOSE_HRNET, "posetrack18", _POSETRACK_MAP),
}
# (arch, tag, published file name, published metric value), from mmpose's model zoo pages
_MMPOSE_FILES = (
    ("hrnet_w32_256x192", "coco", "hrnet_w32_coco_256x192-c78dce93_20200708.pth", 0.746),
    ("hrnet_w48_256x192", "coco", "hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth", 0.756),
    ("hrnet_w48_384x288", "coco", "hrnet_w48_coco_384x288-314c8528_20200708.pth", 0.767),
    ("hrnet_w32_256x192", "coco_mmpose1",
     "td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth", 0.749),
    ("hrnet_w48_256x192", "coco_mmpose1",
     "td-hm_hrnet-w48_8xb32-210e_coco-256x192-0e67c616_20220913.pth", 0.756),
    ("hrnet_w48_384x288", "coco_mmpose1",
     "td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth", 0.767),
    ("hrnet_w32_256x192", "posetrack18",
     "hrnet_w32_posetrack18_256x192-1ee951c4_20201028.pth", 83.4),
    ("hrnet_w48_256x192", "posetrack18",
     "hrnet_w48_posetrack18_256x192-b5d9b3f1_20211130.pth", 84.6),
    ("hrnet_w48_384x288", "posetrack18",
     "hrnet_w48_posetrack18_384x288-5fd6d3ff_20211130.pth", 84.6),
)
# the paper's own release (bare state dicts, official key names): arch -> COCO val2017 AP
_OFFICIAL_FILES = {"hrnet_w32_256x192": 0.744, "hrnet_w48_256x192": 0.751,
                   "hrnet_w48_384x288": 0.763}
_IMAGENET_FILES = {"hrnet_w32": "hrnet_w32-36af842e.pth", "hrnet_w48": "hrnet_w48-8ef0771d.pth"}


def _mmpose(arch: str, tag: str, file_name: str, value: float) -> WeightsEntry:
    """An mmpose-hosted entry: its file name ends in -<8 sha256 digits>_<date>.pth."""
    folder, keypoint_set, measured = _MMPOSE_TAGS[tag]
    found = re.search(r"-([0-9a-f]{8})_\d{8}\.pth$", file_name)
    if found is None:
        raise ValueError(f"mmpose file name {file_name} does not end in -<8 hex digits>_<date>.pth")
    prefix = found.group(1)
    return _pose(arch, tag, file_name, folder + file_name, prefix, keypoint_set,
                 (measured, value), _MMPOSE_ZOO)


def _official(arch: str, coco_ap: float) -> WeightsEntry:
    """An official-release entry: no direct URL, no published hash (Drive/OneDrive folder)."""
    return _pose(arch, "coco_official", f"pose_{arch}.pth", None, None, "coco",
                 (_COCO_AP, coco_ap), _OFFICIAL_ZOO + ", folder models/pytorch/pose_coco/")


def _imagenet(arch: str, file_name: str) -> WeightsEntry:
    """An ImageNet-classification backbone (training initialisation, not a pose model).

    The 8 hex digits in these names follow the torch.hub convention, but that they are a sha256
    prefix is not confirmed, so they are not checked.
    """
    return WeightsEntry(name=f"{arch}.imagenet", file_name=file_name,
                        url=_MMPOSE_PRETRAIN + file_name, sha256=None, hash_prefix=None,
                        config=None, keypoint_set=None, input_size=None, metric=None,
                        source=_OFFICIAL_ZOO + ", folder models/pytorch/imagenet/", params_m=_PARAMS_M[arch])


_ENTRIES = (*(_mmpose(*row) for row in _MMPOSE_FILES),
            *(_official(arch, ap) for arch, ap in _OFFICIAL_FILES.items()),
            *(_imagenet(arch, name) for arch, name in _IMAGENET_FILES.items()))
REGISTRY: dict[str, WeightsEntry] = {entry.name: entry for entry in _ENTRIES}


def get_entry(name: str) -> WeightsEntry:
    """The registry entry called `name`; PoseError listing the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise PoseError(f"{name!r} is neither an existing file nor a known weights name; "
                        f"known names: {', '.join(REGISTRY)}.") from None


def with_keypoint_set_of(config: ModelConfig, weights: str | os.PathLike | None) -> ModelConfig:
    """`config` with the keypoint set that registered `weights` predict; unchanged for a path or None.

    PoseTrack18 weights run the COCO-layout network configs but predict PoseTrack18's slots, whose
    flip pairs differ, so the weights, not the config file, decide the joints.
    """
    entry = REGISTRY.get(weights) if isinstance(weights, str) else None
    if entry is None or entry.keypoint_set is None:
        return config
    return replace(config, keypoint_set=entry.keypoint_set)


def preferred_weights(config_file: str | os.PathLike, tags: tuple[str, ...]) -> str | None:
    """The registry name of the first of `tags` published for a shipped model config (by file name), or None."""
    name = Path(config_file).name
    for tag in tags:
        for entry in REGISTRY.values():
            if entry.config == name and entry.name.endswith("." + tag):
                return entry.name
    return None

