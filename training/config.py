"""Training configuration: a YAML file -> frozen dataclasses, with `key.sub=value` overrides.

Layout (every section optional except `model` and `data`; defaults are the official COCO W32
recipe)::

    model: hrnet_w32_256x192            # a shipped model config, a path (relative to this file),
                                        # {file: ..., key: value} to change keys of one, or the
                                        # hrtrack `model:` mapping itself
    data: {dataset: coco, train_annotations: ..., train_images: ..., val_annotations: ..., ...}
    augment: {scale_factor: 0.35, rotation_factor: 45, ...}
    optim: {optimizer: adam, lr: 0.001, lr_steps: [170, 200], lr_factor: 0.1, epochs: 210, batch_size: 32}
    loss: {use_target_weight: true, ohkm: false, topk: 8}
    val: {every: 1, flip: true, batch_size: 32}
    output_dir: runs/coco_w32_256x192
    pretrained: null                    # ImageNet HRNet checkpoint (hrnet_w32-36af842e.pth style)
    init_weights: null                  # a pose checkpoint to fine-tune from (all keys must match)
    seed: 0
    workers: 4
    device: auto
    amp: true
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import config as common_config
from common.config import within
from common.jsonio import read_yaml
from pose.config import ModelConfig, load_model_config
from pose.datasets.augment import AugmentConfig
from training.errors import TrainingError

DATASETS = ("coco", "mpii", "posetrack18")
MAX_BATCH = 65536  # samples per process and step
MAX_EPOCHS = 100_000
MAX_WORKERS = 256  # data loader processes per rank


@dataclass(frozen=True)
class DataConfig:
    """Where the annotations and images are; paths relative to the working directory.

    `val_detections` (COCO only) is a person detection results file to validate on instead of
    ground-truth boxes; boxes below `det_score_threshold` are dropped.
    """

    dataset: str = "coco"
    train_annotations: str = ""
    train_images: str = ""
    val_annotations: str = ""
    val_images: str = ""
    val_detections: str | None = None
    det_score_threshold: float = field(default=0.0, metadata=within(0, 1))


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and step schedule: lr times `lr_factor` at each epoch of `lr_steps`.

    `batch_size` is per process. `max_steps` (None = all) cuts every epoch short, for smoke runs.
    """

    optimizer: str = field(default="adam", metadata=within(choices=("adam", "sgd")))
    lr: float = field(default=1e-3, metadata=within(above=0, high=10, note=" (--lr)"))
    lr_steps: tuple[int, ...] = (170, 200)
    lr_factor: float = field(default=0.1, metadata=within(above=0, high=1))
    # SGD only (the official Adam runs use no weight decay)
    momentum: float = field(default=0.9, metadata=within(0, 1))
    weight_decay: float = field(default=0.0, metadata=within(0, 1))
    nesterov: bool = False
    epochs: int = field(default=210, metadata=within(1, MAX_EPOCHS, note=" (--epochs)"))
    batch_size: int = field(default=32, metadata=within(1, MAX_BATCH, note=" (--batch-size)"))
    max_steps: int | None = field(default=None, metadata=within(1))


@dataclass(frozen=True)
class LossConfig:
    """Joint MSE loss, weighted by target weight; `ohkm` keeps the `topk` worst joints per sample."""

    use_target_weight: bool = True
    ohkm: bool = False
    topk: int = field(default=8, metadata=within(1))


@dataclass(frozen=True)
class ValConfig:
    """Validation every `every` epochs (0 = never), with the flip test when `flip`."""

    every: int = field(default=1, metadata=within(0))
    flip: bool = True
    batch_size: int = field(default=32, metadata=within(1, MAX_BATCH))


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run."""

    model: ModelConfig
    data: DataConfig
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    val: ValConfig = field(default_factory=ValConfig)
    output_dir: str = "runs/train"
    pretrained: str | None = None
    init_weights: str | None = None
    seed: int = field(default=0, metadata=within(0, 2**32 - 1, note=" (--seed)"))
    workers: int = field(default=4, metadata=within(0, MAX_WORKERS, note=" (--workers)"))
    device: str = "auto"
    amp: bool = True


_SECTIONS = {"data": DataConfig, "augment": AugmentConfig, "optim": OptimConfig, "loss": LossConfig,
             "val": ValConfig}


def load_train_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read a training YAML and apply `section.key=value` overrides (values parsed as YAML)."""
    path = Path(path)
    raw = read_yaml(path, "training config", error=TrainingError) or {}
    if not isinstance(raw, dict):
        raise TrainingError(f"training config {path} holds no mapping of keys.")
    for override in overrides:
        _apply_override(raw, override)
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def config_from_dict(raw: dict, base_dir: Path = Path("."), source: str = "the config") -> TrainConfig:
    """Build a TrainConfig from a plain mapping (the YAML layout, or `config_to_dict`'s output)."""
    values = dict(raw)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainingError(f"unknown key {unknown[0]!r} in {source}; known keys: {', '.join(sorted(known))}.")
    if "model" not in values or "data" not in values:
        raise TrainingError(f"{source} needs a 'model' and a 'data' section.")
    values["model"] = _model(values["model"], base_dir)
    for name, cls in _SECTIONS.items():
        if name in values:
            values[name] = _section(cls, values[name] or {}, name, source)
    if values["data"].dataset not in DATASETS:
        raise TrainingError(f"data.dataset {values['data'].dataset!r} in {source} is unknown; "
                        f"choose one of {', '.join(DATASETS)}.")
    config = TrainConfig(**values)
    common_config.check_ranges(config, TrainingError)
    return config


def config_to_dict(config: TrainConfig) -> dict:
    """The config as plain data (dicts, lists, numbers, strings), for checkpoints and logs."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    data = plain(config)
    data["model"] = {"model": data["model"]}  # the hrtrack model-config layout
    return data


def _model(value: Any, base_dir: Path) -> ModelConfig:
    if isinstance(value, ModelConfig):
        return value
    if isinstance(value, str):
        local = base_dir / value
        return load_model_config(local if local.is_file() else value)
    if isinstance(value, dict) and "file" in value:
        changes: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items() if k != "file"}
        base = _model(value["file"], base_dir)
        try:
            return dataclasses.replace(base, **changes)
        except TypeError as exc:
            raise TrainingError(f"model override {sorted(changes)} is not a model config key ({exc}).") from None
    if isinstance(value, dict):
        return load_model_config(value if ("model" in value or "MODEL" in value) else {"model": value})
    raise TrainingError(f"'model' must name a model config or hold one, got {value!r}.")


def _section(cls: type, values: Any, name: str, source: str) -> Any:
    if isinstance(values, cls):
        return values
    return common_config.merge(cls(), values, source, TrainingError, f"{name}.")


def _apply_override(raw: dict, override: str) -> None:
    """Lay one `section.key=value` override (common.config's syntax) over the raw YAML mapping."""
    _lay_over(raw, common_config.parse_overrides([override], TrainingError), override)


def _lay_over(raw: dict, layer: dict, override: str) -> None:
    for key, value in layer.items():
        child = raw.get(key)
        if isinstance(value, dict):
            if child is None or (isinstance(child, str) and key == "model"):  # a model file gets keys: {file: ...}
                child = raw[key] = {} if child is None else {"file": child}
            if not isinstance(child, dict):
                raise TrainingError(f"override {override!r}: {key!r} is not a section.")
            _lay_over(child, value, override)
        else:
            raw[key] = value
