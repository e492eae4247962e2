"""Dense optical flow between frames (`create` picks a backend by name) and, in
`flow.propagate`, moving poses by a flow field and turning them into boxes.

Backends are imported when chosen, so that command lines start fast and OpenCV's DIS, the CPU
default, never loads torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from common.runtime import Runtime
from flow.errors import FlowError
from flow.protocol import FlowEstimator

if TYPE_CHECKING:
    from common.weight_files import WeightFile

__all__ = ["NAMES", "PTLFLOW_PREFIX", "FlowError", "FlowEstimator", "create", "weight_file"]

PTLFLOW_PREFIX = "ptlflow:"
"""`ptlflow:<model>` (e.g. `ptlflow:flownet2`) picks a model of the optional ptlflow package."""
_NETWORKS = {"raft_small": ("raft_small", "Raft_Small_Weights"), "raft_large": ("raft_large", "Raft_Large_Weights")}
NAMES: tuple[str, ...] = ("dis", *_NETWORKS, "none", PTLFLOW_PREFIX + "<model>")
"""Flow backend names `create` accepts; the first is the default."""


def create(name: str = "dis", *, runtime: Runtime | None = None, device: str = "cpu", **options) -> FlowEstimator:
    """The flow backend called `name` (see NAMES) with `options` (DIS: preset, scale; RAFT: weights,
    iterations; ptlflow: checkpoint). The networks run in torch on the device of `runtime` (or of `device`
    without one), in fp32 whatever its precision: RAFT's correlation lookups lose sub-pixel detail in
    fp16. DIS and `none` run on the CPU."""
    if name == "dis":
        from flow.dis import DisFlow

        return DisFlow(**options)
    if name == "none":
        from flow.zero import ZeroFlow

        return ZeroFlow(**options)
    if name in _NETWORKS:
        from torchvision.models import optical_flow as tv

        from flow.raft import RaftFlow

        builder, weights_enum = _NETWORKS[name]
        return RaftFlow(getattr(tv, builder), getattr(tv, weights_enum), device=_device(runtime, device), **options)
    if name.startswith(PTLFLOW_PREFIX):
        from flow.ptlflow_backend import PtlflowFlow  # imports ptlflow only when chosen

        return PtlflowFlow(name[len(PTLFLOW_PREFIX):], device=_device(runtime, device), **options)
    raise FlowError(f"unknown flow backend {name!r}; choose one of {', '.join(NAMES)}.")


def _device(runtime: Runtime | None, device: str) -> str:
    return Runtime.given(runtime, device=device, error=FlowError).device


def weight_file(name: str, weights: str = "DEFAULT") -> WeightFile | None:
    """The file `create(name, weights=weights)` loads from torchvision's cache, or None for a backend without
    weights of ours (DIS, none; ptlflow fetches its own checkpoints)."""
    if name not in _NETWORKS:
        return None
    from torchvision.models import optical_flow as tv

    from common.torchvision_weights import torchvision_weight_file

    return torchvision_weight_file(getattr(tv, _NETWORKS[name][1])[weights], name=name, kind="flow",
                                   alternative="pass --flow dis (no weights)")
