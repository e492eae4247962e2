"""`tracker.track_video(...)`: track a whole video from Python, as `python -m tracker.run VIDEO -o OUT` does."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import TrackerError
from tracker.io.naming import SUFFIXES, output_name, output_path
from tracker.io.video import check_input, expand_inputs
from tracker.runner import VideoSummary, track_all

__all__ = ["TrackedVideo", "track_video"]


@dataclass(frozen=True)
class TrackedVideo:
    """What `track_video` gave: the summary (frames, persons, tracks, seconds per stage) and the files written
    (`json`: PoseTrack, `csv`: one row per joint, `video`: the annotated MP4; None for one not written)."""

    summary: VideoSummary
    json: Path | None
    csv: Path | None
    video: Path | None


def track_video(video: str | os.PathLike, output: str | os.PathLike = "hrtrack_output", *,
                preset: str | None = None, config: str | os.PathLike | None = None,
                settings: Mapping[str, Mapping[str, Any]] | None = None, progress: bool = False) -> TrackedVideo:
    """Track one video (a file, a folder of frames, an image, a glob or a stream) and write its outputs into
    `output`; returns what was written.

    `preset` ("fast", "accurate"), `config` (a tracking YAML) and `settings` (keys of
    `configs/track_posetrack.yaml` by section, e.g. `{"pose": {"weights": "my.pth"}}`) apply in that order, as
    `--preset`, `--config` and the flags do. Weights are checked, and fetched, before any model loads. Raises
    TrackerError (or the error of the package concerned) with one sentence.
    """
    inputs = expand_inputs([str(video)])
    if len(inputs) != 1:
        raise TrackerError(f"{video} holds {len(inputs)} videos; call track_video for each of them.")
    name = output_name(check_input(inputs[0]))
    summary, = track_all(inputs, output, [dict(settings or {})], config_file=None if config is None else str(config),
                         preset=preset, progress=progress, quiet=True)
    written = {kind: output_path(Path(output), name, kind) for kind in SUFFIXES}
    found = {kind: path if path.is_file() else None for kind, path in written.items()}
    return TrackedVideo(summary, json=found["json"], csv=found["csv"], video=found["video"])
