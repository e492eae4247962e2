"""The tracking configuration: YAML files (defaults, presets, the user's) read into frozen dataclasses.

Order of precedence, lowest first: `configs/track_posetrack.yaml` (the paper's settings), a preset
(`configs/track_<preset>.yaml`), the user's `--config FILE`, then command-line flags. Every key
of every layer must exist in the dataclasses below; an unknown key is an error naming it.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import config as common_config
from common.config import within
from common.jsonio import read_yaml
from common.runtime import ENGINES, PRECISIONS
from eval.posetrack.write import LAYOUTS
from pose.config import CONFIG_DIR, shipped_config
from tracker.errors import TrackerError

log = logging.getLogger(__name__)
DEFAULTS_FILE = CONFIG_DIR / "track_posetrack.yaml"
PRESETS = ("accurate", "fast")
# Where the annotated video's frame/time overlay goes (--overlay-corner); the first is the default, away from the
# scoreboard broadcasts put top-left.
OVERLAY_CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")
MAX_BATCH = 4096  # crops per forward pass: far beyond any memory's use, and below what torch overflows on
MAX_THREADS = 1024  # torch, OpenCV and OpenVINO threads


@dataclass(frozen=True)
class PoseOptions:
    """Which HRNet runs and how: model config source, weights (registry name or path), flip test."""

    config: str
    weights: str | None
    flip: bool
    batch_size: int = field(metadata=within(1, MAX_BATCH, note=" (--batch-size)"))


@dataclass(frozen=True)
class DetectionOptions:
    """Person boxes: detector name (or a precomputed file), how often it runs, the score floor, the most kept,
    and the box NMS that merges them with the flow-propagated boxes."""

    detector: str
    detections: str | None
    detect_every: int = field(metadata=within(1, note=" (--detect-every)"))
    min_box_score: float = field(metadata=within(0, 1, note=" (--box-thr)"))
    box_nms_iou: float = field(metadata=within(0, 1, note=" (--nms-thr)"))
    max_boxes: int = field(metadata=within(1))


@dataclass(frozen=True)
class FlowOptions:
    """Optical flow and the boxes of the flow-propagated poses."""

    name: str
    box_grow: float = field(metadata=within(0))
    box_keypoint_threshold: float = field(metadata=within(0, 1))
    box_min_keypoints: int = field(metadata=within(0))


@dataclass(frozen=True)
class PoseFilterOptions:
    """Which estimated poses are kept: joint visibility threshold, pose score floor, OKS-NMS."""

    keypoint_threshold: float = field(metadata=within(0, 1))
    min_pose_score: float = field(metadata=within(0, 1))
    oks_nms_threshold: float = field(metadata=within(0, 1))


@dataclass(frozen=True)
class AssociationOptions:
    """Greedy OKS matching of poses to flow-propagated tracks, and when a track ends."""

    oks_threshold: float = field(metadata=within(0, 1))
    keypoint_threshold: float = field(metadata=within(0, 1))
    max_age: int = field(metadata=within(1, note=" (--max-age)"))


@dataclass(frozen=True)
class OutputOptions:
    """What is written per video and how."""

    format: str = field(metadata=within(choices=LAYOUTS, note=" (--format)"))
    kpt_thr: float = field(metadata=within(0, 1, note=" (--kpt-thr)"))
    video: bool
    crf: int = field(metadata=within(0, 51, note=" (--crf)"))
    json: bool
    csv: bool
    smoothing: bool
    smoothing_process_noise: float = field(metadata=within(above=0))
    smoothing_measurement_noise: float = field(metadata=within(above=0))


@dataclass(frozen=True)
class RuntimeOptions:
    """Device, network runtime and precision, frame range and threads."""

    device: str
    engine: str = field(metadata=within(choices=ENGINES, note=" (--runtime)"))
    precision: str = field(metadata=within(choices=PRECISIONS, note=" (--precision)"))
    start: int = field(metadata=within(0, note=" (--start)"))
    end: int | None = field(metadata=within(1, note=" (--end)"))
    stride: int = field(metadata=within(1, note=" (--stride)"))
    folder_fps: float = field(metadata=within(above=0))
    prefetch: int = field(metadata=within(1))
    threads: int = field(metadata=within(0, MAX_THREADS, note=" (--threads; 0: automatic)"))


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


def _build(layer: Mapping[str, Any], origin: str) -> TrackConfig:
    """The full configuration from a layer that gives every key of every section (the defaults file)."""
    sections = {}
    for section_field in dataclasses.fields(TrackConfig):
        section_type = typing.get_type_hints(TrackConfig)[section_field.name]
        values = layer.get(section_field.name) or {}
        missing = [f.name for f in dataclasses.fields(section_type) if f.name not in values]
        if missing:
            raise TrackerError(f"{origin}: section {section_field.name!r} lacks the keys {', '.join(missing)}.")
        sections[section_field.name] = section_type(**dict.fromkeys(values))
    return merge(TrackConfig(**sections), layer, origin)


def merge(config: TrackConfig, layer: Mapping[str, Any], origin: str) -> TrackConfig:
    """Return `config` with the sections/keys of `layer` replaced; `origin` names the layer in errors."""
    return common_config.merge(config, _renamed(layer, origin), origin, TrackerError)


# Keys of the previous release and their new names, read under the old name until the release after
# 0.1 (a log line says so each time): the box NMS merges detected and propagated boxes alike.
_RENAMED = {("flow", "box_nms_iou"): ("detection", "box_nms_iou")}


def _renamed(layer: Mapping[str, Any], origin: str) -> Mapping[str, Any]:
    """`layer` with the keys of `_RENAMED` under their new names (a new name given too wins)."""
    if not isinstance(layer, Mapping):
        return layer  # merge names the problem
    moved = dict(layer)
    for (old_section, old_key), (new_section, new_key) in _RENAMED.items():
        values, target = moved.get(old_section), moved.get(new_section)
        if not (isinstance(values, Mapping) and old_key in values and isinstance(target, Mapping | None)):
            continue
        log.warning("%s: %s.%s is now %s.%s; the old name is read until the next release", origin, old_section,
                    old_key, new_section, new_key)
        moved[old_section] = {key: value for key, value in values.items() if key != old_key}
        moved[new_section] = {new_key: values[old_key], **(target or {})}
    return moved


def load_track_config(config_file: str | os.PathLike | None = None, *, preset: str | None = None,
                      overrides: Mapping[str, Mapping[str, Any]] | list[Mapping] | None = None) -> TrackConfig:
    """Build the configuration: defaults file, then `preset`, then `config_file`, then `overrides` (one
    layer, or a list of layers applied in order)."""
    config = _build(_read_yaml(DEFAULTS_FILE), str(DEFAULTS_FILE))
    if preset is not None:
        if preset not in PRESETS:
            raise TrackerError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        preset_file = CONFIG_DIR / f"track_{preset}.yaml"
        config = merge(config, _read_yaml(preset_file), str(preset_file))
    if config_file is not None:
        config = merge(config, _read_yaml(Path(config_file)), str(config_file))
    for layer in overrides if isinstance(overrides, list) else [overrides] if overrides else []:
        config = merge(config, layer, "command line")
    validate(config)
    return config


def validate(config: TrackConfig) -> None:
    """Raise TrackerError for a value outside its range (the fields' metadata) or keys that disagree."""
    common_config.check_ranges(config, TrackerError)
    if config.runtime.end is not None and config.runtime.end <= config.runtime.start:
        raise TrackerError("runtime.end (--end) must be greater than runtime.start (--start).")


def preset_default(section: str, key: str) -> str:
    """A key's default as `--help` shows it: `32`, or `1 in accurate, 5 in fast` where the presets differ."""
    defaults = _read_yaml(DEFAULTS_FILE)[section][key]
    values = {preset: (_read_yaml(CONFIG_DIR / f"track_{preset}.yaml").get(section) or {}).get(key, defaults)
              for preset in PRESETS}
    if len(set(map(str, values.values()))) == 1:
        return str(defaults)
    return ", ".join(f"{value} in {preset}" for preset, value in values.items())


def resolve_config_path(value: str) -> str:
    """A model config named in the tracking config: an existing path, or a file in `configs/`."""
    shipped = None if Path(value).exists() else shipped_config(value)
    return value if shipped is None else str(shipped)
