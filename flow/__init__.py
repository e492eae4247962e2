"""Dense optical flow between frames (`create` picks a backend by name) and, in
`flow.propagate`, moving poses by a flow field and turning them into boxes."""
from __future__ import annotations

from functools import partial
from typing import Callable, Protocol, runtime_checkable

import numpy as np
from torchvision.models import optical_flow as tv

from flow.dis import DisFlow
from flow.errors import FlowError
from flow.raft import RaftFlow
from flow.zero import ZeroFlow

__all__ = ["FlowError", "FlowEstimator", "NAMES", "PTLFLOW_PREFIX", "create"]


@runtime_checkable
class FlowEstimator(Protocol):
    """Dense flow: RGB uint8 HxWx3 `prev`, `cur` -> (H,W,2) float32 (dx, dy) moving prev to cur."""

    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """The field at the frames' own size, in pixels."""
        ...


_BACKENDS: dict[str, Callable[..., FlowEstimator]] = {
    "dis": DisFlow,
    "raft_small": partial(RaftFlow, tv.raft_small, tv.Raft_Small_Weights),
    "raft_large": partial(RaftFlow, tv.raft_large, tv.Raft_Large_Weights),
    "none": ZeroFlow,
}
PTLFLOW_PREFIX = "ptlflow:"
"""`ptlflow:<model>` (e.g. `ptlflow:flownet2`) picks a model of the optional ptlflow package."""
NAMES: tuple[str, ...] = (*_BACKENDS, PTLFLOW_PREFIX + "<model>")
"""Flow backend names `create` accepts; the first is the default."""


def create(name: str = "dis", **options) -> FlowEstimator:
    """The flow backend called `name` (see NAMES), built with `options` (DIS: preset, scale;
    RAFT: weights, iterations, device; ptlflow: checkpoint, device)."""
    if name.startswith(PTLFLOW_PREFIX):
        from flow.ptlflow_backend import PtlflowFlow  # imports ptlflow only when chosen

        return PtlflowFlow(name[len(PTLFLOW_PREFIX):], **options)
    if name not in _BACKENDS:
        raise FlowError(f"unknown flow backend {name!r}; choose one of {', '.join(NAMES)}.")
    return _BACKENDS[name](**options)
