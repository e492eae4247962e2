"""Known HRNet weights, where to find them, and strict loading of official and mmpose files.

`REGISTRY` maps `arch.tag` names (`hrnet_w32_256x192.coco`) to `WeightsEntry` records;
`resolve_weights` turns a name or a path into a local file (cache, then download);
`read_state_dict` reads the official, mmpose and hrtrack-training layouts into our key names;
`load_checkpoint` loads strictly and explains a mismatch in one sentence.
"""
from __future__ import annotations

import argparse
import logging
import os
import pickle
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pose.config import CONFIG_DIR, ModelConfig, load_model_config
from pose.download import _fetch, _TransferFailed, cache_dir, download, weights_dir
from pose.errors import PoseError

LOG = logging.getLogger(__name__)

__all__ = ["WeightsEntry", "REGISTRY", "cache_dir", "weights_dir", "download", "get_entry",
           "resolve_weights", "read_state_dict", "load_checkpoint"]


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
        config = load_model_config(self.config_path)
        return replace(config, keypoint_set=self.keypoint_set)


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


def _pose(arch: str, tag: str, file_name: str, url: str | None, hash_prefix: str | None,
          keypoint_set: str, metric: tuple[str, float], source: str) -> WeightsEntry:
    """A pose-model entry; config file and input size follow from `arch` (hrnet_wNN_HxW)."""
    return WeightsEntry(name=f"{arch}.{tag}", file_name=file_name, url=url, sha256=None,
                        hash_prefix=hash_prefix, config=f"{arch}.yaml", keypoint_set=keypoint_set,
                        input_size=_SIZES[arch.rsplit("_", 1)[1]], metric=metric, source=source)


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
    prefix = re.search(r"-([0-9a-f]{8})_\d{8}\.pth$", file_name).group(1)
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
                        source=_OFFICIAL_ZOO + ", folder models/pytorch/imagenet/")


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


def resolve_weights(name_or_path: str | os.PathLike, *, download: bool = True,
                    option: str = "--pose-weights PATH") -> Path:
    """A local weights file for a path or a registry name.

    A path that exists is returned as is. A registry name is looked up in `weights_dir()`
    and, when absent and `download` is true, downloaded there (hash-checked). When the file
    cannot be had, PoseError says which file, where it was looked for, and how to provide it
    (`option` is the command-line way to give a path instead).
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.exists():
        raise PoseError(f"Weights path {candidate} is not a file; pass a .pth file.")
    entry = get_entry(str(name_or_path))
    folder = weights_dir()
    target = folder / entry.file_name
    if target.is_file():
        return target
    remedy = f"put the file in that folder or pass {option}"
    if entry.url is None:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and have "
                        f"no direct download; get them from {entry.source}, then {remedy}.")
    if not download:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and "
                        f"downloading is off; download {entry.url}, then {remedy}.")
    try:
        return _fetch(entry.url, target, entry.expected_hash, progress=True, timeout=30.0)
    except _TransferFailed as failure:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and "
                        f"downloading {entry.url} failed because {failure.reason}; download it "
                        f"yourself, then {remedy}.") from None


# numpy arrays and scalars, as mmengine keeps them in checkpoint metadata; rebuilding one runs
# no code of the file's choosing. Files pickled under numpy 1 name the module numpy.core.
_MULTIARRAY = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
_NUMPY_GLOBALS = [_MULTIARRAY._reconstruct, _MULTIARRAY.scalar, np.ndarray, np.dtype,
                  (_MULTIARRAY._reconstruct, "numpy.core.multiarray._reconstruct"),
                  (_MULTIARRAY.scalar, "numpy.core.multiarray.scalar"),
                  *sorted({type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG"}, key=str)]
_MODULE_PREFIX = "module."  # DistributedDataParallel
_BACKBONE_PREFIX = "backbone."  # mmpose
_HEAD_PREFIXES = ("keypoint_head.", "head.")  # mmpose 0.x / 1.x; their final_layer is ours
_DROPPED_PREFIXES = ("data_preprocessor.",)  # mmpose 1.x mean/std buffers; our config has them


def _load_file(path: Path) -> object:
    """torch.load with weights_only=True, turning every failure into one sentence."""
    if not path.exists():
        raise PoseError(f"Checkpoint {path} does not exist.")
    if not path.is_file():
        raise PoseError(f"Checkpoint {path} is not a file.")
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS), warnings.catch_warnings():
            # torch warns about the pickle protocol of files that are no checkpoint at all
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = re.search(r"Unsupported (?:global|class):? (?:GLOBAL )?([\w.]+)"
                            r"|but got <class '([\w.]+)'>", str(error))
        if refused:
            what = refused.group(1) or refused.group(2)
            raise PoseError(
                f"{path} holds a Python object ({what}) besides tensors, and hrtrack does not "
                "unpickle such objects because that can run code; if you trust the file, "
                "save just its weights with torch.save(torch.load(PATH, weights_only=False)"
                "['state_dict'], NEW_PATH) and pass the new file.") from None
        raise _not_a_checkpoint(path, error) from None
    except OSError as error:
        raise PoseError(f"Checkpoint {path} cannot be read ({error.strerror or error}).") from None
    except Exception as error:  # noqa: BLE001 - any parse failure of a foreign file
        raise _not_a_checkpoint(path, error) from None


def _not_a_checkpoint(path: Path, error: Exception) -> PoseError:
    LOG.debug("torch.load(%s) failed: %r", path, error)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        what = "the file is empty"
    elif head.startswith(b"PK"):
        what = "its zip archive is truncated or damaged"
    else:
        what = "it is neither a PyTorch zip archive nor a legacy torch.save file"
    return PoseError(f"{path} is not a PyTorch checkpoint ({what}); download it again or pass "
                     "the .pth file of HRNet weights.")


def _unwrap(raw: object, path: Path) -> Mapping:
    """The state dict inside a bare, mmpose (`state_dict`) or hrtrack-training (`model`) file."""
    if isinstance(raw, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(raw.get(key), Mapping):
                return raw[key]
        if raw and all(isinstance(value, torch.Tensor) for value in raw.values()):
            return raw
        found = f"a dict with keys {', '.join(map(str, list(raw)[:5]))}" if raw else "an empty dict"
    else:
        found = f"a {type(raw).__name__}"
    raise PoseError(f"{path} is a PyTorch file but holds {found}, not model weights; pass a file "
                    "with a state dict (bare, or under 'state_dict' or 'model').")


def _our_key(key: str) -> str | None:
    """Our name for a checkpoint key, or None for keys that carry no network weights."""
    while key.startswith(_MODULE_PREFIX):
        key = key[len(_MODULE_PREFIX):]
    if key.startswith(_DROPPED_PREFIXES):
        return None
    if key.startswith(_BACKBONE_PREFIX):
        return key[len(_BACKBONE_PREFIX):]
    for head in _HEAD_PREFIXES:
        if key.startswith(head + "final_layer."):
            return key[len(head):]
    return key


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint file under our (= the official) key names, on the CPU.

    Reads official files (bare state dict), mmpose files (`state_dict` wrapper, `backbone.`
    and `keypoint_head.` / `head.` prefixes) and hrtrack training checkpoints (`model`), and
    strips DistributedDataParallel's `module.`. Anything else raises PoseError with one sentence.
    """
    path = Path(path)
    wrapped = _unwrap(_load_file(path), path)
    state: dict[str, torch.Tensor] = {}
    for key, value in wrapped.items():
        if not isinstance(value, torch.Tensor):
            raise PoseError(f"{path} holds a {type(value).__name__} under {key!r} where a tensor "
                            "belongs, so it is not a state dict of model weights.")
        ours = _our_key(str(key))
        if ours is None:
            continue
        if ours in state:
            raise PoseError(f"{path} holds two tensors that both mean {ours!r} (one of them is "
                            f"{key!r}), so it is not a single model's state dict.")
        state[ours] = value
    return state


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the weights in `path` into `model` strictly and return the model.

    Every parameter and buffer must be present with the same shape, except BatchNorm's
    `num_batches_tracked` counters, which old files lack (they do not affect inference; the
    model keeps its own). A mismatch raises PoseError naming the first differing key, both
    shapes or the missing/unexpected key, and how many keys differ.
    """
    path = Path(path)
    state = read_state_dict(path)
    own = model.state_dict()
    reshaped = [key for key in own if key in state and state[key].shape != own[key].shape]
    missing = [key for key in own if key not in state]
    lacking_counters = {key for key in missing if key.endswith("num_batches_tracked")}
    missing = [key for key in missing if key not in lacking_counters]
    unexpected = [key for key in state if key not in own]
    if reshaped or missing or unexpected:
        if reshaped:
            key = reshaped[0]
            first = (f"{key} has shape {list(state[key].shape)} in the file but "
                     f"{list(own[key].shape)} in the model")
        elif missing:
            first = f"the file lacks {missing[0]}"
        else:
            first = f"the file has {unexpected[0]}, which the model does not"
        raise PoseError(
            f"{path} does not fit this {type(model).__name__} model: {first} ({len(reshaped)} "
            f"shape mismatches, {len(missing)} missing and {len(unexpected)} unexpected keys in "
            "all); use weights made for this model's config, or the config the weights were "
            "trained with.")
    for key in lacking_counters:
        state[key] = own[key]
    model.load_state_dict(state, strict=True)
    return model


def _print_registry() -> None:
    cached = weights_dir()
    for entry in REGISTRY.values():
        metric = f"{entry.metric[1]:g} {entry.metric[0]}" if entry.metric else "ImageNet backbone"
        mark = "cached" if (cached / entry.file_name).is_file() else (
            "download" if entry.url else "manual")
        print(f"{entry.name:36s} {mark:8s} {metric}")


def main(argv: list[str] | None = None) -> int:
    """`python -m pose.checkpoints list | fetch NAME...`: show the registry, or fill the cache."""
    parser = argparse.ArgumentParser(prog="python -m pose.checkpoints",
                                     description="Known HRNet weights and the download cache.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list known weights and whether each is cached")
    fetch = commands.add_parser("fetch", help="download weights into the cache, print the paths")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _print_registry()
        else:
            for name in args.names:
                print(resolve_weights(name))
    except PoseError as error:
        if args.debug:
            raise
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
