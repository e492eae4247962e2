"""`--resume`: what an interrupted run leaves so that a later one continues it exactly.

When a video stops early (Ctrl-C, SIGTERM, an error, a full disk), the outputs hold the frames done and a
small state file `.NAME.resume.json` beside them holds `ResumeState`: the frames done, what the pipeline
carries between frames (`PipelineState`: flow stage, tracks, previous poses and boxes), what each output holds
and the CSV smoother's filters (`OutputsState`), and the settings that shaped them. A run with `--resume` reads
it, checks it was made with the same settings, copies the finished frames into its outputs and goes on from
the next frame, so its result equals a run that was never interrupted. A finished run removes it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.files import atomic_open
from common.jsonio import read_json
from tracker.config import TrackConfig
from tracker.core.pipeline import PipelineState
from tracker.errors import TrackerError
from tracker.io.naming import state_path
from tracker.outputs.writers import OutputsState

FORMAT = 2


def _settings(config: TrackConfig) -> dict:
    """The settings a resumed run must share with the first: everything but how outputs are shown and threads."""
    settings = json.loads(json.dumps(dataclasses.asdict(config)))
    settings["runtime"].pop("threads", None)
    settings["runtime"].pop("prefetch", None)
    return settings


@dataclass(frozen=True)
class ResumeState:
    """Where an interrupted run stopped: frames done, the pipeline's state after the last, what the outputs hold."""

    frames: int
    pipeline: PipelineState
    outputs: OutputsState

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file."""
        return {"frames": self.frames, "pipeline": self.pipeline.to_data(), "outputs": self.outputs.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any], joints: int) -> ResumeState:
        """The state `to_data` gave, for poses of `joints` joints."""
        return cls(int(data["frames"]), PipelineState.from_data(data["pipeline"], joints),
                   OutputsState.from_data(data["outputs"]))


def save(out_dir: Path, name: str, state: ResumeState, config: TrackConfig) -> Path:
    """Write the state of a stopped run (atomically); returns its path."""
    path = state_path(out_dir, name)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump({"format": FORMAT, "settings": _settings(config), **state.to_data()}, handle)
    return path


def load(out_dir: Path, name: str, config: TrackConfig, joints: int) -> ResumeState | None:
    """The point to resume the outputs `name` from; None when there is nothing to resume (no state file)."""
    path = state_path(out_dir, name)
    if not path.exists():
        return None
    data = read_json(path, "resume state", error=TrackerError)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TrackerError(f"{path} is not a resume state this version wrote; delete it and run without --resume.")
    first, now = data["settings"], _settings(config)
    for section, values in now.items():
        for key, value in values.items():
            if first.get(section, {}).get(key) != value:
                raise TrackerError(f"the run being resumed had {section}.{key} = {first.get(section, {}).get(key)!r}, "
                                   f"this one {value!r}; resume with the same options, or run again without --resume.")
    try:
        return ResumeState.from_data(data, joints)
    except (KeyError, TypeError, ValueError) as error:
        raise TrackerError(f"{path} is damaged ({type(error).__name__}: {error}); delete it and run without "
                           "--resume.") from None


def clear(out_dir: Path, name: str) -> None:
    """Remove the resume state of `name` (its run has finished)."""
    state_path(out_dir, name).unlink(missing_ok=True)
