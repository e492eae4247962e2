"""The tracking pipeline: frames in, tracked poses, annotated video and PoseTrack JSON out.

`tracker.track_video(video, output, ...)` tracks a whole video from Python (`tracker.api`); it is imported on
first use, so that `python -m tracker.run --help` loads no torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"track_video": "tracker.api", "TrackedVideo": "tracker.api"}
__all__ = ["TrackedVideo", "track_video"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
