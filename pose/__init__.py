"""Pose estimation: HRNet, crops, heatmap coding, the estimator, weights and training.

The three entry points most users need are importable from here:
`build_model(config)`, `load_checkpoint(model, path)` and `PoseEstimator`. They are imported on
first use, so that `pose.skeleton` (which eval needs) does not pull in torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "build_model": "pose.hrnet",
    "load_checkpoint": "pose.state_dict",
    "PoseEstimator": "pose.estimator",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pose' has no attribute {name!r}")
