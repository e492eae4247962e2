"""HRNet model configuration: our YAML layout or an official HRNet experiment file -> ModelConfig.

Two layouts are read:

* hrtrack's own (``configs/hrnet_*.yaml``), lower-case keys under ``model:``::

      model:
        name: hrnet_w32_256x192
        keypoint_set: coco
        num_joints: 17
        image_size: [192, 256]      # [width, height] of the network input
        heatmap_size: [48, 64]      # [width, height], always image_size / 4
        sigma: 2
        stages:                     # stages 2, 3 and 4 of the paper
          - {num_modules: 1, num_branches: 2, block: basic, num_blocks: [4, 4], num_channels: [32, 64]}
          - ...

* the official one (``experiments/coco/hrnet/*.yaml`` of the HRNet release), upper-case keys under
  ``MODEL:`` with the stages in ``MODEL.EXTRA.STAGE2..4``. Keys an official file leaves out take the
  official defaults (``lib/config/default.py``); everything outside ``MODEL`` is ignored.

Both become the same frozen :class:`ModelConfig`, which validates itself on construction.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from common.jsonio import read_yaml
from pose.errors import PoseError
from pose.skeleton import KEYPOINT_SETS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The stem halves the input twice (stride 4); a branch created by a stage halves it once more.
STEM_STRIDE = 4
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

# Official defaults for keys an experiment file may omit (lib/config/default.py of the release).
_OFFICIAL_DEFAULTS = {"NUM_JOINTS": 17, "IMAGE_SIZE": [256, 256], "HEATMAP_SIZE": [64, 64], "SIGMA": 2}
# Official MODEL / MODEL.EXTRA keys that do not change the network's shape or output.
_OFFICIAL_IGNORED = {"INIT_WEIGHTS", "PRETRAINED", "TAG_PER_JOINT"}
_OFFICIAL_EXTRA_IGNORED = {"PRETRAINED_LAYERS"}
_OFFICIAL_STAGES = ("STAGE2", "STAGE3", "STAGE4")
_STAGE_FIELDS = ("num_modules", "num_branches", "block", "num_blocks", "num_channels")
_OUR_MODEL_KEYS = {"name", "keypoint_set", "num_joints", "image_size", "heatmap_size", "sigma",
                   "stages", "mean", "std"}
# Joint count -> keypoint set, for configs that name no set (PoseTrack18 must be named).
_SET_BY_JOINTS = {17: "coco", 16: "mpii"}

ConfigSource = Union[str, os.PathLike, Mapping, "ModelConfig"]


@dataclass(frozen=True)
class StageConfig:
    """One HRNet stage: `num_modules` exchange modules over `num_branches` parallel resolutions.

    Branch b runs at 1/(4 * 2**b) of the input size with `num_channels[b]` channels and
    `num_blocks[b]` residual blocks per module. Only "basic" blocks are supported (every official
    pose experiment uses them).
    """

    num_modules: int
    num_branches: int
    block: str
    num_blocks: tuple[int, ...]
    num_channels: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_positive_int(self.num_modules, "num_modules")
        _check_positive_int(self.num_branches, "num_branches")
        if self.block != "basic":
            raise PoseError(f"block {self.block!r} is not supported: stages 2-4 take 'basic' blocks, "
                            "as in every official HRNet pose experiment")
        for key in ("num_blocks", "num_channels"):
            values = getattr(self, key)
            if not isinstance(values, tuple):
                raise PoseError(f"{key} must be a tuple of positive integers, got {values!r}")
            for value in values:
                _check_positive_int(value, key)
        if not len(self.num_blocks) == len(self.num_channels) == self.num_branches:
            raise PoseError(
                f"num_branches is {self.num_branches} but num_blocks has {len(self.num_blocks)} "
                f"entries and num_channels {len(self.num_channels)}; give one per branch")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes an HRNet pose model and its input/output geometry.

    Sizes are (width, height) in pixels; the heatmaps are image_size / 4. `stages` are stages 2-4
    of the paper (stage 1 is fixed: 4 bottlenecks, 256 channels). `mean`/`std` normalise RGB in
    [0, 1] (ImageNet). `keypoint_set` names a `pose.skeleton` set with `num_joints` joints.
    """

    name: str
    num_joints: int
    image_size: tuple[int, int]
    heatmap_size: tuple[int, int]
    sigma: float
    keypoint_set: str
    stages: tuple[StageConfig, ...]
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        _check_positive_int(self.num_joints, "num_joints")
        if self.keypoint_set not in KEYPOINT_SETS:
            raise PoseError(f"keypoint_set {self.keypoint_set!r} is unknown; "
                            f"choose one of {sorted(KEYPOINT_SETS)}")
        expected = KEYPOINT_SETS[self.keypoint_set].num_joints
        if expected != self.num_joints:
            raise PoseError(f"num_joints is {self.num_joints} but keypoint_set "
                            f"{self.keypoint_set!r} has {expected} joints")
        if isinstance(self.sigma, bool) or not (isinstance(self.sigma, (int, float)) and self.sigma > 0):
            raise PoseError(f"sigma must be a positive number, got {self.sigma!r}")
        if len(self.stages) != 3 or not all(isinstance(s, StageConfig) for s in self.stages):
            raise PoseError(f"stages must be 3 StageConfig (stages 2, 3 and 4), got {self.stages!r}")
        previous = 1
        for number, stage in enumerate(self.stages, start=2):
            if stage.num_branches < previous:
                raise PoseError(f"stage {number} has {stage.num_branches} branches, fewer than the "
                                f"{previous} of the stage before; a stage can only add branches")
            previous = stage.num_branches
        # Branch b is the input shrunk by 4 * 2**b, and the exchange units upsample it back by
        # exact powers of two, so every branch size must divide evenly or the sums mismatch.
        stride = STEM_STRIDE * 2 ** (previous - 1)
        for key in ("image_size", "heatmap_size"):
            _check_size(getattr(self, key), key)
        if any(side % stride for side in self.image_size):
            raise PoseError(
                f"image_size {list(self.image_size)} must be a multiple of {stride} in width and "
                f"height: the lowest of the {previous} branches runs at 1/{stride} of the input, and "
                "the exchange units upsample it back by exact powers of two")
        if tuple(side // STEM_STRIDE for side in self.image_size) != tuple(self.heatmap_size):
            raise PoseError(f"heatmap_size {list(self.heatmap_size)} must be image_size "
                            f"{list(self.image_size)} / {STEM_STRIDE}: the network outputs heatmaps "
                            f"at a quarter of its input size")
        for key in ("mean", "std"):
            values = getattr(self, key)
            if (not isinstance(values, tuple) or len(values) != 3
                    or not all(isinstance(v, (int, float)) for v in values)):
                raise PoseError(f"{key} must be 3 numbers (R, G, B), got {values!r}")
        if min(self.std) <= 0:
            raise PoseError(f"std must be positive, got {list(self.std)}")

    @property
    def aspect_ratio(self) -> float:
        """Input width / height (0.75 for 256x192)."""
        return self.image_size[0] / self.image_size[1]


def load_model_config(source: ConfigSource) -> ModelConfig:
    """Read a model config from a YAML path, a mapping (our or the official layout) or a ModelConfig.

    A string naming no existing file but a shipped config (e.g. "hrnet_w32_256x192") loads
    `configs/<name>.yaml`. Problems raise PoseError naming the key and the value.
    """
    if isinstance(source, ModelConfig):
        return source
    if isinstance(source, Mapping):
        return _from_mapping(source)
    if isinstance(source, (str, os.PathLike)):
        return _from_mapping(_read_yaml(_resolve_path(source)))
    raise PoseError(f"a model config must be a YAML path, a mapping or a ModelConfig, "
                    f"got {type(source).__name__}")


def shipped_configs() -> list[str]:
    """Names of the model configs in `configs/` (usable as `load_model_config(name)`)."""
    return sorted(path.stem for path in CONFIG_DIR.glob("hrnet_*.yaml"))


def shipped_config(name: str | os.PathLike) -> Path | None:
    """The file in `configs/` a bare name means (`hrnet_w32_256x192` or `hrnet_w32_256x192.yaml`), else None."""
    path = Path(name)
    shipped = CONFIG_DIR / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    return shipped if path.name == str(name) and shipped.is_file() else None


def _resolve_path(source: str | os.PathLike) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    shipped = shipped_config(source)
    if shipped is not None:
        return shipped
    raise PoseError(f"model config {str(source)!r} is not a file nor a shipped config "
                    f"(shipped: {', '.join(shipped_configs())})")


def _read_yaml(path: Path) -> Mapping:
    data = read_yaml(path, "model config", error=PoseError)
    if not isinstance(data, Mapping):
        raise PoseError(f"model config {path} holds no mapping of keys")
    return data


def _from_mapping(data: Mapping) -> ModelConfig:
    if "model" in data:
        return _from_ours(data["model"])
    if "MODEL" in data:
        return _from_official(data["MODEL"])
    raise PoseError(f"a model config needs a 'model' section (hrtrack layout) or a 'MODEL' section "
                    f"(official HRNet layout); found keys {sorted(map(str, data))}")


def _from_ours(model: Any) -> ModelConfig:
    _check_mapping(model, "model")
    _check_known(model, _OUR_MODEL_KEYS, "model")
    for key in ("num_joints", "image_size", "stages"):
        if key not in model:
            raise PoseError(f"model.{key} is missing")
    stages_value = model["stages"]
    if not isinstance(stages_value, list):
        raise PoseError(f"model.stages must be a list of 3 stages, got {stages_value!r}")
    stages = []
    for index, stage in enumerate(stages_value):
        where = f"model.stages[{index}]"
        _check_mapping(stage, where)
        _check_known(stage, set(_STAGE_FIELDS), where)
        stages.append(_stage(where, {field: _required(stage, field, where) for field in _STAGE_FIELDS}))
    image_size = _pair(model["image_size"], "model.image_size")
    return _model_config(
        where="model",
        name=model.get("name"),
        num_joints=model["num_joints"],
        image_size=image_size,
        heatmap_size=_pair(model.get("heatmap_size", _quarter(image_size)), "model.heatmap_size"),
        sigma=model.get("sigma", 2),
        keypoint_set=model.get("keypoint_set"),
        stages=tuple(stages),
        mean=_as_tuple(model.get("mean", IMAGENET_MEAN)),
        std=_as_tuple(model.get("std", IMAGENET_STD)),
    )


def _from_official(model: Any) -> ModelConfig:
    _check_mapping(model, "MODEL")
    known = set(_OFFICIAL_DEFAULTS) | _OFFICIAL_IGNORED | {"NAME", "TARGET_TYPE", "EXTRA"}
    _check_known(model, known, "MODEL")
    _check_value(model.get("NAME", "pose_hrnet"), "pose_hrnet", "MODEL.NAME")
    _check_value(model.get("TARGET_TYPE", "gaussian"), "gaussian", "MODEL.TARGET_TYPE")
    extra = _required(model, "EXTRA", "MODEL")
    _check_mapping(extra, "MODEL.EXTRA")
    _check_known(extra, set(_OFFICIAL_STAGES) | _OFFICIAL_EXTRA_IGNORED
                 | {"FINAL_CONV_KERNEL", "STEM_INPLANES"}, "MODEL.EXTRA")
    _check_value(extra.get("FINAL_CONV_KERNEL", 1), 1, "MODEL.EXTRA.FINAL_CONV_KERNEL")
    _check_value(extra.get("STEM_INPLANES", 64), 64, "MODEL.EXTRA.STEM_INPLANES")
    stages = []
    for key in _OFFICIAL_STAGES:
        where = f"MODEL.EXTRA.{key}"
        stage = _required(extra, key, "MODEL.EXTRA")
        _check_mapping(stage, where)
        _check_known(stage, {f.upper() for f in _STAGE_FIELDS} | {"FUSE_METHOD"}, where)
        # The official network always sums in its exchange units, whatever FUSE_METHOD says.
        _check_value(stage.get("FUSE_METHOD", "SUM"), "SUM", f"{where}.FUSE_METHOD")
        values = {field: _required(stage, field.upper(), where) for field in _STAGE_FIELDS}
        if isinstance(values["block"], str):
            values["block"] = values["block"].lower()
        stages.append(_stage(where, values))
    values = {key: model.get(key, default) for key, default in _OFFICIAL_DEFAULTS.items()}
    return _model_config(
        where="MODEL",
        name=None,
        num_joints=values["NUM_JOINTS"],
        image_size=_pair(values["IMAGE_SIZE"], "MODEL.IMAGE_SIZE"),
        heatmap_size=_pair(values["HEATMAP_SIZE"], "MODEL.HEATMAP_SIZE"),
        sigma=values["SIGMA"],
        keypoint_set=None,
        stages=tuple(stages),
    )


def _model_config(*, where: str, name: Any, num_joints: Any, keypoint_set: Any, sigma: Any,
                  stages: tuple[StageConfig, ...], **values: Any) -> ModelConfig:
    """Fill in the derived name and keypoint set, then construct (and so validate) the config."""
    _check_positive_int(num_joints, "model.num_joints" if where == "model" else "MODEL.NUM_JOINTS")
    if isinstance(sigma, int) and not isinstance(sigma, bool):
        sigma = float(sigma)
    if keypoint_set is None:
        if num_joints not in _SET_BY_JOINTS:
            raise PoseError(f"num_joints {num_joints} matches no keypoint set; name one with "
                            f"model.keypoint_set ({', '.join(sorted(KEYPOINT_SETS))})")
        keypoint_set = _SET_BY_JOINTS[num_joints]
    if name is None:
        width, height = values["image_size"]
        name = f"hrnet_w{stages[-1].num_channels[0]}_{height}x{width}"
    if not isinstance(name, str) or not name:
        raise PoseError(f"{where}.name must be a non-empty string, got {name!r}")
    try:
        return ModelConfig(name=name, num_joints=num_joints, keypoint_set=keypoint_set,
                           sigma=sigma, stages=stages, **values)
    except PoseError as error:
        raise PoseError(f"model config {name!r}: {error}") from None


def make_stage(where: str, num_modules: Any, num_blocks: Any, num_channels: Any,
               num_branches: Any = None, block: Any = "basic") -> StageConfig:
    """Build a StageConfig from plain values (lists allowed), naming `where` in any error."""
    if num_branches is None and isinstance(num_channels, (list, tuple)):
        num_branches = len(num_channels)
    return _stage(where, {"num_modules": num_modules, "num_branches": num_branches, "block": block,
                          "num_blocks": num_blocks, "num_channels": num_channels})


def _stage(where: str, values: dict) -> StageConfig:
    for key in ("num_blocks", "num_channels"):
        values[key] = _as_tuple(values[key])
    try:
        return StageConfig(**values)
    except PoseError as error:
        raise PoseError(f"{where}: {error}") from None


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _quarter(size: tuple[int, int]) -> list[int]:
    return [side // STEM_STRIDE for side in size]


def _pair(value: Any, key: str) -> tuple[int, int]:
    _check_size(value, key)
    return (value[0], value[1])


def _check_size(value: Any, key: str) -> None:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise PoseError(f"{key} must be [width, height] in positive whole pixels, got {value!r}")


def _check_positive_int(value: Any, key: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PoseError(f"{key} must be a positive integer, got {value!r}")


def _check_mapping(value: Any, key: str) -> None:
    if not isinstance(value, Mapping):
        raise PoseError(f"{key} must be a mapping of keys, got {value!r}")


def _check_known(mapping: Mapping, known: set[str], where: str) -> None:
    unknown = [key for key in mapping if key not in known]
    if unknown:
        key = unknown[0]
        raise PoseError(f"{where} has unknown key {key!r} (value {mapping[key]!r}); "
                        f"known keys: {', '.join(sorted(known))}")


def _check_value(value: Any, expected: Any, key: str) -> None:
    if value != expected:
        raise PoseError(f"{key} is {value!r}, but only {expected!r} is supported")


def _required(mapping: Mapping, key: str, where: str) -> Any:
    if key not in mapping:
        raise PoseError(f"{where}.{key} is missing")
    return mapping[key]
