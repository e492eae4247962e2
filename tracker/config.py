"""The tracking configuration: YAML files (defaults, presets, the user's) read into frozen dataclasses.

Order of precedence, lowest first: `configs/track_posetrack.yaml` (the paper's settings), a preset
(`configs/track_<preset>.yaml`), the user's `--config FILE`, then command-line flags. Every key
of every layer must exist in the dataclasses below; an unknown key is an error naming it.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


import configs
from common.jsonio import read_yaml
from pose.runtime.choice import PRECISIONS, RUNTIMES
from tracker.errors import TrackerError

CONFIG_DIR = Path(configs.__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "track_posetrack.yaml"
PRESETS = ("accurate", "fast")


@dataclass(frozen=True)
class PoseOptions:
    """Which HRNet runs and how: model config source, weights (registry name or path), flip test."""

    config: str
    weights: str | None
    flip: bool
    batch_size: int


@dataclass(frozen=True)
class DetectionOptions:
    """Person boxes: detector name (or a precomputed file), how often it runs, the score floor."""

    detector: str
    detections: str | None
    detect_every: int
    min_box_score: float


@dataclass(frozen=True)
class FlowOptions:
    """Optical flow and the flow-propagated boxes merged with detections."""

    name: str
    box_grow: float
    box_keypoint_threshold: float
    box_min_keypoints: int
    box_nms_iou: float


@dataclass(frozen=True)
class PoseFilterOptions:
    """Which estimated poses are kept: joint visibility threshold, pose score floor, OKS-NMS."""

    keypoint_threshold: float
    min_pose_score: float
    oks_nms_threshold: float


@dataclass(frozen=True)
class AssociationOptions:
    """Greedy OKS matching of poses to flow-propagated tracks, and when a track ends."""

    oks_threshold: float
    keypoint_threshold: float
    max_age: int


@dataclass(frozen=True)
class OutputOptions:
    """What is written per video and how."""

    format: str
    kpt_thr: float
    video: bool
    json: bool
    csv: bool
    smoothing: bool
    smoothing_process_noise: float
    smoothing_measurement_noise: float


@dataclass(frozen=True)
class RuntimeOptions:
    """Device, network runtime and precision, frame range and threads."""

    device: str
    engine: str
    precision: str
    start: int
    end: int | None
    stride: int
    folder_fps: float
    prefetch: int
    threads: int


@dataclass(frozen=True)
class TrackConfig:
    """The whole tracking configuration; `configs/track_posetrack.yaml` gives every key, its default and meaning."""

    pose: PoseOptions
    detection: DetectionOptions
    flow: FlowOptions
    poses: PoseFilterOptions
    association: AssociationOptions
    output: OutputOptions
    runtime: RuntimeOptions


_SECTIONS = (PoseOptions, DetectionOptions, FlowOptions, PoseFilterOptions, AssociationOptions, OutputOptions,
             RuntimeOptions)


def _read_yaml(path: Path) -> dict:
    data = read_yaml(path, "config", error=TrackerError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TrackerError(f"config file {path} must hold a mapping of sections, not a {type(data).__name__}.")
    return data


def _check_type(where: str, default_type: Any, value: Any) -> Any:
    """Coerce ints to floats where a float is expected; reject other type mismatches."""
    expected = {"float": float, "int": int, "bool": bool, "str": str}
    kinds = [expected[name.strip()] for name in str(default_type).split("|") if name.strip() in expected]
    if value is None and "None" in str(default_type):
        return None
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if any(isinstance(value, kind) and not (kind is int and isinstance(value, bool)) for kind in kinds):
        return value
    raise TrackerError(f"config key {where} must be of type {default_type}, got {value!r}.")


def _build(layer: Mapping[str, Any], origin: str) -> TrackConfig:
    """The full configuration from a layer that gives every key of every section (the defaults file)."""
    sections = {}
    for section_field in dataclasses.fields(TrackConfig):
        section_type = {cls.__name__: cls for cls in _SECTIONS}[section_field.type]
        values = layer.get(section_field.name) or {}
        missing = [f.name for f in dataclasses.fields(section_type) if f.name not in values]
        if missing:
            raise TrackerError(f"{origin}: section {section_field.name!r} lacks the keys {', '.join(missing)}.")
        sections[section_field.name] = section_type(**{key: None for key in values})
    return merge(TrackConfig(**sections), layer, origin)


def merge(config: TrackConfig, layer: Mapping[str, Any], origin: str) -> TrackConfig:
    """Return `config` with the sections/keys of `layer` replaced; `origin` names the layer in errors."""
    sections = {}
    for section_name, values in layer.items():
        if section_name not in {f.name for f in dataclasses.fields(TrackConfig)}:
            raise TrackerError(f"{origin}: unknown section {section_name!r}; known sections: "
                               f"{', '.join(f.name for f in dataclasses.fields(TrackConfig))}.")
        section = getattr(config, section_name)
        if not isinstance(values, Mapping):
            raise TrackerError(f"{origin}: section {section_name!r} must be a mapping of keys.")
        types = {f.name: f.type for f in dataclasses.fields(section)}
        changes = {}
        for key, value in values.items():
            if key not in types:
                raise TrackerError(f"{origin}: unknown key {section_name}.{key}; known keys: {', '.join(types)}.")
            changes[key] = _check_type(f"{section_name}.{key}", types[key], value)
        sections[section_name] = dataclasses.replace(section, **changes)
    return dataclasses.replace(config, **sections)


def load_track_config(config_file: str | os.PathLike | None = None, *, preset: str | None = None,
                      overrides: Mapping[str, Mapping[str, Any]] | None = None) -> TrackConfig:
    """Build the configuration: defaults file, then `preset`, then `config_file`, then `overrides`."""
    config = _build(_read_yaml(DEFAULTS_FILE), str(DEFAULTS_FILE))
    if preset is not None:
        if preset not in PRESETS:
            raise TrackerError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        preset_file = CONFIG_DIR / f"track_{preset}.yaml"
        config = merge(config, _read_yaml(preset_file), str(preset_file))
    if config_file is not None:
        config = merge(config, _read_yaml(Path(config_file)), str(config_file))
    if overrides:
        config = merge(config, overrides, "command line")
    validate(config)
    return config


def validate(config: TrackConfig) -> None:
    """Raise TrackerError for values outside their meaningful range."""
    checks = [
        (config.detection.detect_every >= 1, "detection.detect_every (--detect-every) must be at least 1"),
        (config.pose.batch_size >= 1, "pose.batch_size (--batch) must be at least 1"),
        (config.association.max_age >= 1, "association.max_age (--max-age) must be at least 1"),
        (0.0 <= config.association.oks_threshold <= 1.0, "association.oks_threshold must lie in [0, 1]"),
        (0.0 <= config.poses.oks_nms_threshold <= 1.0, "poses.oks_nms_threshold must lie in [0, 1]"),
        (0.0 <= config.flow.box_nms_iou <= 1.0, "flow.box_nms_iou must lie in [0, 1]"),
        (config.flow.box_grow >= 0.0, "flow.box_grow must not be negative"),
        (config.output.format in ("posetrack18", "posetrack17"),
         "output.format (--format) must be posetrack18 or posetrack17"),
        (config.runtime.stride >= 1, "runtime.stride (--stride) must be at least 1"),
        (config.runtime.start >= 0, "runtime.start (--start) must not be negative"),
        (config.runtime.end is None or config.runtime.end > config.runtime.start,
         "runtime.end (--end) must be greater than runtime.start (--start)"),
        (config.runtime.threads >= 0, "runtime.threads (--threads) must be 0 (automatic) or more"),
        (config.runtime.engine in RUNTIMES, f"runtime.engine (--runtime) must be one of {', '.join(RUNTIMES)}"),
        (config.runtime.precision in PRECISIONS,
         f"runtime.precision (--precision) must be one of {', '.join(PRECISIONS)}"),
    ]
    for ok, sentence in checks:
        if not ok:
            raise TrackerError(sentence + ".")


def resolve_config_path(value: str) -> str:
    """A model config named in the tracking config: an existing path, or a file in `configs/`."""
    if Path(value).exists() or not (CONFIG_DIR / value).exists():
        return value
    return str(CONFIG_DIR / value)
