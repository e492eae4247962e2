"""Checks at the start of a run, before any model loads: every weights file it needs, and a busy machine.

`check_weights` finds the files of the pose network, the detector and the flow network a tracking config names,
fetches the missing ones, and names all that could not be had in one message (file, URL, folder, alternative), so a
user learns at once what a run lacks instead of one file per attempt. `busy_machine_hint` says when fewer cores are
free than the run would use threads: torch's threads then wait for each other, and fewer run faster.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import detection
import flow
from common.weight_files import WeightFile, fetch_missing, missing_message
from pose.weights import weight_file as pose_weight_file
from pose.weights_registry import preferred_weights
from tracker.config import TrackConfig, resolve_config_path
from tracker.errors import TrackerError

log = logging.getLogger(__name__)
# Weights the tracker prefers for a model config: fine-tuned on PoseTrack18 as in the paper, then COCO.
WEIGHT_TAGS = ("posetrack18", "coco", "coco_mmpose1", "coco_official")


def default_weights(pose_config: str) -> str:
    """The registry name of the preferred weights for a model config in configs/."""
    name = preferred_weights(pose_config, WEIGHT_TAGS)
    if name is not None:
        return name
    raise TrackerError(f"no known weights fit the model config {pose_config}; pass --pose-weights PATH.")


def pose_weights(config: TrackConfig) -> str:
    """The pose weights a run uses: the configured registry name or path, else the preferred ones of its model."""
    return config.pose.weights or default_weights(resolve_config_path(config.pose.config))


def needed_files(config: TrackConfig) -> list[WeightFile]:
    """The downloadable weights files a run with `config` loads: pose (unless a file of the user's), the detector
    (unless detections are given) and the flow network (RAFT; DIS needs none)."""
    files = []
    weights = pose_weights(config)
    if not Path(weights).expanduser().exists():  # a path of the user's is used as it is
        files.append(pose_weight_file(weights))
    if config.detection.detections is None:
        files.append(detection.weight_file(config.detection.detector))
    flow_file = flow.weight_file(config.flow.name)
    if flow_file is not None:
        files.append(flow_file)
    return files


def check_weights(config: TrackConfig, *, download: bool = True) -> None:
    """Fetch every missing file the run needs; TrackerError naming all that could not be had, in one message."""
    failed = fetch_missing(needed_files(config), download=download)
    if failed:
        raise TrackerError(missing_message(failed))


def busy_machine_hint(threads: int, ranks: int = 1) -> str | None:
    """A suggestion of `--threads N` when the cores other processes leave free (cores minus the 1-minute load
    average, shared among this node's `ranks`) are fewer than `threads`; None when they are not, or unknown."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system
        return None
    cores = os.cpu_count() or 1
    free = max(0.0, cores - load) / ranks
    suggested = max(1, round(free))
    if suggested >= threads:
        return None
    return (f"the machine is busy (load {load:.1f} on {cores} cores, about {free:.1f} free for this run), so "
            f"{threads} threads would wait for each other; --threads {suggested} (runtime.threads) is likely faster")


def warn_if_busy(threads: int, ranks: int = 1) -> None:
    """Log `busy_machine_hint` as one warning line when it has one."""
    hint = busy_machine_hint(threads, ranks)
    if hint is not None:
        log.warning(hint)
