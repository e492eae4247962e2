"""`--resume`: what an interrupted run leaves so that a later one continues it exactly.

When a video stops early (Ctrl-C, SIGTERM, an error), the outputs hold the frames done and a small
state file `.NAME.resume.json` beside them holds what the pipeline carries between frames (tracks,
previous poses and boxes) and the settings that shaped them. A run with `--resume` reads it, checks
it was made with the same settings, copies the finished frames into its outputs and goes on from
the next frame, so its result equals a run that was never interrupted. A finished run removes it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from common.files import atomic_open
from common.jsonio import read_json
from tracker.config import TrackConfig
from tracker.errors import TrackerError

FORMAT = 1


def resumable(config: TrackConfig) -> bool:
    """Whether a run can be resumed exactly: not when the CSV's Kalman smoothing runs (its filters are not saved)."""
    return not (config.output.smoothing and config.output.csv)


def state_path(out_dir: Path, name: str) -> Path:
    """Where the resume state of the outputs called `name` lives."""
    return out_dir / f".{name}.resume.json"


def _settings(config: TrackConfig) -> dict:
    """The settings a resumed run must share with the first: everything but how outputs are shown and threads."""
    settings = json.loads(json.dumps(dataclasses.asdict(config)))
    settings["runtime"].pop("threads", None)
    settings["runtime"].pop("prefetch", None)
    return settings


@dataclass
class ResumePoint:
    """Where an interrupted run stopped: frames in its outputs and the pipeline's state after the last."""

    frames: int
    pipeline: dict


def save(out_dir: Path, name: str, frames: int, pipeline_state: dict, config: TrackConfig) -> Path:
    """Write the state of a run stopped after `frames` frames (atomically); returns its path."""
    path = state_path(out_dir, name)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump({"format": FORMAT, "frames": frames, "settings": _settings(config), "pipeline": pipeline_state},
                  handle)
    return path


def load(out_dir: Path, name: str, config: TrackConfig) -> ResumePoint | None:
    """The point to resume the outputs `name` from; None when there is nothing to resume (no state file)."""
    path = state_path(out_dir, name)
    if not resumable(config):
        raise TrackerError("--resume cannot continue the Kalman smoothing of the CSV (--smooth); "
                           "run again without --resume.")
    if not path.exists():
        return None
    data = read_json(path, "resume state", error=TrackerError)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("frames"), int):
        raise TrackerError(f"{path} is not a resume state this version wrote; delete it and run without --resume.")
    first, now = data["settings"], _settings(config)
    for section, values in now.items():
        for key, value in values.items():
            if first.get(section, {}).get(key) != value:
                raise TrackerError(f"the run being resumed had {section}.{key} = {first.get(section, {}).get(key)!r}, "
                                   f"this one {value!r}; resume with the same options, or run again without --resume.")
    return ResumePoint(data["frames"], data["pipeline"])


def clear(out_dir: Path, name: str) -> None:
    """Remove the resume state of `name` (its run has finished)."""
    state_path(out_dir, name).unlink(missing_ok=True)
