"""NAME.run.json beside a run's outputs: what was tracked (the source as given and the frames taken from it).

tracker.analyze reads it to draw over, and take the frame rate of, the original video or image folder
rather than the annotated NAME.mp4, whose boxes and ids would show twice.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from common.files import atomic_open
from common.jsonio import read_json
from tracker.errors import TrackerError


@dataclass(frozen=True)
class RunRecord:
    """The source of a run: a path (absolute) or glob, a webcam or stream URL (`stream` True, which cannot be
    read again), the frames taken (`start`, `end`, `stride` as in tracker.run) and their rate in frames/s."""

    source: str
    stream: bool
    start: int
    end: int | None
    stride: int
    fps: float


def record_path(out_dir: Path, name: str) -> Path:
    """Where the record of the outputs called `name` lives."""
    return out_dir / f"{name}.run.json"


def write_record(out_dir: Path, name: str, record: RunRecord) -> Path:
    """Write the record (atomically); returns its path."""
    path = record_path(out_dir, name)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(dataclasses.asdict(record), handle, indent=1)
        handle.write("\n")
    return path


def read_record(json_path: Path) -> RunRecord | None:
    """The record beside a run's PoseTrack JSON (`NAME.json` -> `NAME.run.json`); None when there is none."""
    path = json_path.with_name(f"{json_path.stem}.run.json")
    if not path.is_file():
        return None
    data = read_json(path, "run record", error=TrackerError)
    try:
        return RunRecord(**data)
    except TypeError:
        raise TrackerError(f"{path} is not a run record tracker.run wrote; delete it or give --video.") from None
